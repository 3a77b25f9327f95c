//! The best-practice library: what members tried, whether it worked, and what the group thinks.
//! It belongs to the group and grows across meetings; each entry names the meeting and member
//! it came from.

use crate::command::PracticeCommand;
use roundtable_protocol::{
    ErrorCode, MemberId, Practice, PracticeComment, PracticeId, PracticeOutcome, Role, UnixMs,
};

use crate::error::RoomError;
use crate::event::RoomEvent;
use crate::roster::{Meeting, Roster};
use crate::text;

pub const PRACTICE_TITLE_CHARS_MAX: usize = 120;
pub const PRACTICE_DESCRIPTION_CHARS_MAX: usize = 2000;
pub const PRACTICE_TAGS_MAX: usize = 6;
pub const PRACTICE_TAG_CHARS_MAX: usize = 30;
pub const PRACTICE_COMMENT_CHARS_MAX: usize = 1000;
pub const PRACTICE_COMMENTS_MAX: usize = 100;
/// Practices a group's library holds.
pub const PRACTICES_MAX: usize = 2000;
/// Newest practices included in a snapshot; older ones are found by search.
pub const PRACTICES_IN_SNAPSHOT: usize = 30;
/// Matches returned by one search.
pub const SEARCH_RESULTS_MAX: usize = 50;

/// The group's library, oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Library {
    pub practices: Vec<Practice>,
}

impl Library {
    fn get(&self, practice_id: PracticeId) -> Option<&Practice> {
        self.practices
            .iter()
            .find(|practice| practice.practice_id == practice_id)
    }

    fn get_mut(&mut self, practice_id: PracticeId) -> Option<&mut Practice> {
        self.practices
            .iter_mut()
            .find(|practice| practice.practice_id == practice_id)
    }

    fn next_id(&self) -> PracticeId {
        self.practices.last().map_or(1, |last| last.practice_id + 1)
    }

    pub fn add(&mut self, practice: &Practice) {
        if self.get(practice.practice_id).is_none() {
            self.practices.push(practice.clone());
        }
    }

    pub fn upvote(&mut self, practice_id: PracticeId, member_id: MemberId, up: bool) {
        if let Some(practice) = self.get_mut(practice_id) {
            practice.upvoters.retain(|voter| *voter != member_id);
            if up {
                practice.upvoters.push(member_id);
            }
        }
    }

    pub fn comment(&mut self, practice_id: PracticeId, comment: &PracticeComment) {
        if let Some(practice) = self.get_mut(practice_id) {
            practice.comments.push(comment.clone());
        }
    }

    /// Takes out everything a member who left wrote: their practices, their comments and their
    /// upvotes.
    pub fn remove_author(&mut self, member_id: MemberId) {
        remove_author(&mut self.practices, member_id);
    }

    /// The newest practices, newest first.
    pub fn newest(&self, count: usize) -> Vec<Practice> {
        self.practices.iter().rev().take(count).cloned().collect()
    }

    /// Practices whose title or description contains every word of `text` (ignoring case) and
    /// that carry `tag`, newest first: at most [`SEARCH_RESULTS_MAX`], and how many matched.
    pub fn search(&self, text: &str, tag: Option<&str>) -> (Vec<Practice>, u32) {
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        let tag = tag.map(|tag| tag.trim().to_lowercase());
        let matches: Vec<&Practice> = self
            .practices
            .iter()
            .rev()
            .filter(|practice| {
                let haystack =
                    format!("{} {}", practice.title, practice.description).to_lowercase();
                words.iter().all(|word| haystack.contains(word.as_str()))
                    && tag
                        .as_ref()
                        .is_none_or(|tag| practice.tags.iter().any(|own| own == tag))
            })
            .collect();
        let total = matches.len() as u32;
        let page = matches
            .into_iter()
            .take(SEARCH_RESULTS_MAX)
            .cloned()
            .collect();
        (page, total)
    }
}

/// Lowercases, trims and checks tags; drops repeats.
fn valid_tags(tags: &[String]) -> Result<Vec<String>, RoomError> {
    let mut checked: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        let ok = !tag.is_empty()
            && tag.chars().count() <= PRACTICE_TAG_CHARS_MAX
            && tag
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(RoomError::new(
                ErrorCode::Invalid,
                format!(
                    "tag {tag:?} must be 1 to {PRACTICE_TAG_CHARS_MAX} letters, digits, '-' or '_'"
                ),
            ));
        }
        if !checked.contains(&tag) {
            checked.push(tag);
        }
    }
    if checked.len() > PRACTICE_TAGS_MAX {
        return Err(RoomError::new(
            ErrorCode::Invalid,
            format!("at most {PRACTICE_TAGS_MAX} tags"),
        ));
    }
    Ok(checked)
}

/// What a new practice is made of.
#[derive(Debug, Clone, Copy)]
pub struct NewPractice<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub tags: &'a [String],
    pub outcome: PracticeOutcome,
}

/// What the library's rules read of the room: the library, the members, the current meeting.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub library: &'a Library,
    pub roster: Roster<'a>,
    pub meeting: &'a Meeting,
}

/// Decides a change to the best-practice library.
pub fn decide(
    room: Context<'_>,
    by: MemberId,
    command: &PracticeCommand,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    match command {
        PracticeCommand::PostPractice {
            title,
            description,
            tags,
            outcome,
        } => decide_post(
            room,
            by,
            NewPractice {
                title,
                description,
                tags,
                outcome: *outcome,
            },
            now_ms,
        ),
        PracticeCommand::UpvotePractice { practice_id, up } => {
            decide_upvote(room, by, *practice_id, *up)
        }
        PracticeCommand::CommentOnPractice { practice_id, text } => {
            decide_comment(room, by, *practice_id, text, now_ms)
        }
    }
}

pub fn decide_post(
    room: Context<'_>,
    by: MemberId,
    new: NewPractice<'_>,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    if room.roster.role_of(by) == Some(Role::Observer) {
        return Err(RoomError::new(
            ErrorCode::Forbidden,
            "observers do not post practices",
        ));
    }
    if room.library.practices.len() >= PRACTICES_MAX {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            format!("the library holds {PRACTICES_MAX} practices, the most it may"),
        ));
    }
    let practice = Practice {
        practice_id: room.library.next_id(),
        title: text::line("title", new.title, PRACTICE_TITLE_CHARS_MAX)?,
        description: text::required_block(
            "description",
            new.description,
            PRACTICE_DESCRIPTION_CHARS_MAX,
        )?,
        tags: valid_tags(new.tags)?,
        outcome: new.outcome,
        author: by,
        meeting_id: room.meeting.id,
        meeting_number: room.meeting.number,
        created_at_ms: now_ms,
        upvoters: Vec::new(),
        comments: Vec::new(),
    };
    Ok(vec![RoomEvent::PracticePosted { practice }])
}

pub fn decide_upvote(
    room: Context<'_>,
    by: MemberId,
    practice_id: PracticeId,
    up: bool,
) -> Result<Vec<RoomEvent>, RoomError> {
    let practice = found(room, practice_id)?;
    if practice.upvoters.contains(&by) == up {
        return Ok(Vec::new());
    }
    Ok(vec![RoomEvent::PracticeUpvoted {
        practice_id,
        member_id: by,
        up,
    }])
}

pub fn decide_comment(
    room: Context<'_>,
    by: MemberId,
    practice_id: PracticeId,
    text: &str,
    now_ms: UnixMs,
) -> Result<Vec<RoomEvent>, RoomError> {
    let practice = found(room, practice_id)?;
    if practice.comments.len() >= PRACTICE_COMMENTS_MAX {
        return Err(RoomError::new(
            ErrorCode::Conflict,
            format!("a practice holds at most {PRACTICE_COMMENTS_MAX} comments"),
        ));
    }
    let comment = PracticeComment {
        author: by,
        text: text::required_block("comment", text, PRACTICE_COMMENT_CHARS_MAX)?,
        at_ms: now_ms,
    };
    Ok(vec![RoomEvent::PracticeCommented {
        practice_id,
        comment,
    }])
}

fn found<'a>(room: Context<'a>, practice_id: PracticeId) -> Result<&'a Practice, RoomError> {
    room.library.get(practice_id).ok_or_else(|| {
        RoomError::new(
            ErrorCode::NotFound,
            format!("no practice {practice_id} in this library"),
        )
    })
}

/// Takes `member_id`'s practices out of `practices`, and their comments and upvotes out of the
/// others (the library, or a past meeting's minutes).
pub fn remove_author(practices: &mut Vec<Practice>, member_id: MemberId) {
    practices.retain(|practice| practice.author != member_id);
    for practice in practices {
        practice.upvoters.retain(|voter| *voter != member_id);
        practice
            .comments
            .retain(|comment| comment.author != member_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roundtable_protocol::MeetingId;

    fn practice(id: u32, title: &str, tags: &[&str]) -> Practice {
        Practice {
            practice_id: id,
            title: title.into(),
            description: "details".into(),
            tags: tags.iter().map(|tag| tag.to_string()).collect(),
            outcome: PracticeOutcome::Worked,
            author: MemberId(uuid::Uuid::from_u128(1)),
            meeting_id: MeetingId(uuid::Uuid::from_u128(2)),
            meeting_number: 1,
            created_at_ms: 0,
            upvoters: Vec::new(),
            comments: Vec::new(),
        }
    }

    #[test]
    fn search_matches_every_word_and_the_tag_newest_first() {
        let mut library = Library::default();
        library.add(&practice(1, "Ask about budget early", &["discovery"]));
        library.add(&practice(2, "LinkedIn as a lead source", &["lead-source"]));
        library.add(&practice(
            3,
            "Budget questions in discovery calls",
            &["discovery"],
        ));
        let (found, total) = library.search("budget", None);
        assert_eq!(total, 2);
        assert_eq!(
            found.iter().map(|p| p.practice_id).collect::<Vec<_>>(),
            vec![3, 1]
        );
        let (found, _) = library.search("BUDGET discovery", None);
        assert_eq!(found.len(), 1, "every word must match");
        let (found, _) = library.search("", Some("Lead-Source"));
        assert_eq!(found[0].practice_id, 2);
        let (found, total) = library.search("nothing like this", None);
        assert!(found.is_empty() && total == 0);
    }

    #[test]
    fn tags_are_normalised_and_checked() {
        let tags = vec![
            " Discovery ".to_string(),
            "discovery".to_string(),
            "cold-call".to_string(),
        ];
        assert_eq!(valid_tags(&tags).unwrap(), vec!["discovery", "cold-call"]);
        assert!(valid_tags(&["has space".to_string()]).is_err());
        assert!(valid_tags(&vec!["a".to_string(); 1]).is_ok());
        let many: Vec<String> = (0..7).map(|n| format!("t{n}")).collect();
        assert!(valid_tags(&many).is_err());
    }

    #[test]
    fn upvotes_toggle() {
        let mut library = Library::default();
        library.add(&practice(1, "x", &[]));
        let voter = MemberId(uuid::Uuid::from_u128(9));
        library.upvote(1, voter, true);
        library.upvote(1, voter, true);
        assert_eq!(library.practices[0].upvoters, vec![voter]);
        library.upvote(1, voter, false);
        assert!(library.practices[0].upvoters.is_empty());
    }
}
