//! The limits the rules enforce, as plain values: the server fills them from its flags
//! (`roundtable --help`), tests from [`Default`]. Each refusal past a limit is a typed error.

/// Limits on a room's group and members, and on its meeting flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomLimits {
    /// Members a group may have (observers included).
    pub members_per_room_max: usize,
    /// Longest group name, in characters.
    pub group_name_chars_max: usize,
    /// Longest display name, in characters.
    pub display_name_chars_max: usize,
    /// Meetings of the schedule moved away from their regular time at once.
    pub schedule_moves_max: usize,
    /// The meeting flow's limits.
    pub flow: FlowLimits,
    /// Prep's limits.
    pub prep: PrepLimits,
}

/// Limits on what a member writes when they prepare (`crate::prep`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepLimits {
    /// Longest win, challenge or ask of a check-in, in characters.
    pub check_in_field_chars_max: usize,
    /// Longest hot-seat problem statement, in characters.
    pub hot_seat_problem_chars_max: usize,
    /// Most minutes a member may ask for in the hot seat.
    pub hot_seat_minutes_max: u32,
}

impl PrepLimits {
    pub const CHECK_IN_FIELD_CHARS_MAX: usize = 500;
    pub const HOT_SEAT_PROBLEM_CHARS_MAX: usize = 500;
    pub const HOT_SEAT_MINUTES_MAX: u32 = 60;
}

impl Default for PrepLimits {
    fn default() -> Self {
        PrepLimits {
            check_in_field_chars_max: Self::CHECK_IN_FIELD_CHARS_MAX,
            hot_seat_problem_chars_max: Self::HOT_SEAT_PROBLEM_CHARS_MAX,
            hot_seat_minutes_max: Self::HOT_SEAT_MINUTES_MAX,
        }
    }
}

impl RoomLimits {
    pub const MEMBERS_PER_ROOM_MAX: usize = 50;
    pub const GROUP_NAME_CHARS_MAX: usize = 80;
    pub const DISPLAY_NAME_CHARS_MAX: usize = 40;
    pub const SCHEDULE_MOVES_MAX: usize = 12;
}

impl Default for RoomLimits {
    fn default() -> Self {
        RoomLimits {
            members_per_room_max: Self::MEMBERS_PER_ROOM_MAX,
            group_name_chars_max: Self::GROUP_NAME_CHARS_MAX,
            display_name_chars_max: Self::DISPLAY_NAME_CHARS_MAX,
            schedule_moves_max: Self::SCHEDULE_MOVES_MAX,
            flow: FlowLimits::default(),
            prep: PrepLimits::default(),
        }
    }
}

/// Limits on the agenda, rounds, problems and timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLimits {
    /// Agenda items one meeting may have (also the longest agenda template).
    pub agenda_items_max: usize,
    /// Longest agenda item title, in characters.
    pub agenda_title_chars_max: usize,
    /// Longest agenda item notes, in characters.
    pub agenda_notes_chars_max: usize,
    /// Members' agenda proposals waiting for a facilitator at once.
    pub agenda_proposals_open_max: usize,
    /// Suggestions one problem may collect.
    pub suggestions_per_problem_max: usize,
    /// Longest suggestion, in characters.
    pub suggestion_chars_max: usize,
    /// Speakers one round may have.
    pub speakers_per_round_max: usize,
    /// Longest time box (agenda item, speaker, problem phase), in seconds.
    pub time_box_seconds_max: u64,
    /// Most time one extend may add or take away, in seconds.
    pub timer_extend_seconds_max: u64,
}

impl FlowLimits {
    pub const AGENDA_ITEMS_MAX: usize = 40;
    pub const AGENDA_TITLE_CHARS_MAX: usize = 120;
    pub const AGENDA_NOTES_CHARS_MAX: usize = 2_000;
    pub const AGENDA_PROPOSALS_OPEN_MAX: usize = 20;
    pub const SUGGESTIONS_PER_PROBLEM_MAX: usize = 60;
    pub const SUGGESTION_CHARS_MAX: usize = 500;
    pub const SPEAKERS_PER_ROUND_MAX: usize = 50;
    pub const TIME_BOX_SECONDS_MAX: u64 = 4 * 3_600;
    pub const TIMER_EXTEND_SECONDS_MAX: u64 = 3_600;
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            agenda_items_max: Self::AGENDA_ITEMS_MAX,
            agenda_title_chars_max: Self::AGENDA_TITLE_CHARS_MAX,
            agenda_notes_chars_max: Self::AGENDA_NOTES_CHARS_MAX,
            agenda_proposals_open_max: Self::AGENDA_PROPOSALS_OPEN_MAX,
            suggestions_per_problem_max: Self::SUGGESTIONS_PER_PROBLEM_MAX,
            suggestion_chars_max: Self::SUGGESTION_CHARS_MAX,
            speakers_per_round_max: Self::SPEAKERS_PER_ROUND_MAX,
            time_box_seconds_max: Self::TIME_BOX_SECONDS_MAX,
            timer_extend_seconds_max: Self::TIMER_EXTEND_SECONDS_MAX,
        }
    }
}
