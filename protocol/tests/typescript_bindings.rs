//! The browser client type-checks against TypeScript declarations generated from these types.
//! This test regenerates them and fails if the committed file differs, so the two cannot drift.
//! To update the file after changing the protocol:
//! `UPDATE_BINDINGS=1 cargo test -p roundtable-protocol --test typescript_bindings`.

use std::path::PathBuf;

use roundtable_protocol::*;
use ts_rs::{Config, TS};

/// Appends the declaration of each listed type, exported.
macro_rules! declarations {
    ($config:expr, $($ty:ty),+ $(,)?) => {{
        let mut text = String::new();
        $(
            text.push_str("export ");
            text.push_str(&<$ty as TS>::decl($config));
            text.push_str("\n\n");
        )+
        text
    }};
}

fn generate() -> String {
    // Every 64-bit number on the wire (seqs, ids, milliseconds) stays below 2^53, so it is a
    // plain JavaScript number.
    let config = Config::new().with_large_int("number");
    let body = declarations!(
        &config,
        GroupId,
        MeetingId,
        MemberId,
        RolePlayId,
        LogEpoch,
        ClientFrame,
        Request,
        Credential,
        ResumePoint,
        Role,
        ServerMessage,
        Hello,
        LimitsInfo,
        Reply,
        Joined,
        CatchUp,
        Snapshot,
        GroupInfo,
        MeetingInfo,
        MeetingPhase,
        MemberInfo,
        EventFrame,
        Event,
        PresenceReason,
        CloseReason,
        ErrorCode,
        CreateGroupRequest,
        CreateGroupResponse,
        HttpError,
        ErrorBody,
        Health,
        Commitment,
        CommitmentStatus,
        CommitmentSource,
        MemberAccountability,
        Metric,
        Sharing,
        Quartiles,
        NamedValue,
        MetricView,
        RatioView,
        BenchmarkView,
        MyBenchmarks,
        MySubmission,
        TrendPoint,
        PracticeOutcome,
        Practice,
        PracticeComment,
        Minutes,
        Attendee,
        MeetingList,
        MeetingSummary,
        Criterion,
        Rubric,
        RubricTemplate,
        RolePlayPhase,
        RolePlayInfo,
        RolePlayRequest,
        RolePlayEvent,
        CriterionResult,
        RolePlayResults,
        SellerTrendPoint,
        SellerTrend,
        RolePlayView,
        AgendaItemKind,
        AgendaItemStatus,
        AgendaItemOrigin,
        AgendaItemDraft,
        AgendaItem,
        Proposal,
        TemplateItem,
        ProblemPhase,
        ProblemInfo,
        Suggestion,
        SuggestionChoice,
        RoundInfo,
        RoundSpeaker,
        SpeakerStatus,
        TimerSubject,
        TimerInfo,
        TimerState,
        FloorInfo,
        TalkTime,
        FlowInfo,
        ProblemVotes,
        SuggestionVotes,
        Reaction,
        ReactionFrame,
        PresenceFrame,
        PresenceChange,
        LinkKind,
        LinkVersions,
        SessionInfo,
        ErasureChoice,
        MyHistory,
        HistorySummary,
        CommitmentHistory,
        CommitmentMeeting,
        MetricTrend,
        MetricTrendPoint,
        TrendDirection,
        RolePlayScores,
        Weekday,
        Cadence,
        Schedule,
        MovedMeeting,
        NextMeeting,
        ScheduleDraft,
        CheckIn,
        HotSeatPriority,
        HotSeatRequest,
        MemberCheckIn,
        RankedHotSeat,
        ReportBack,
        HeldReportBack,
        MyPrep,
        PrepView,
    );
    format!(
        "// Generated from the roundtable-protocol crate by protocol/tests/typescript_bindings.rs.\n\
         // Do not edit by hand: run `UPDATE_BINDINGS=1 cargo test -p roundtable-protocol --test typescript_bindings`.\n\n{}",
        body.trim_end().to_string() + "\n"
    )
}

#[test]
fn typescript_declarations_match_the_protocol() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web-client/js/protocol.d.ts");
    let generated = generate();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("write the bindings");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with the protocol crate; regenerate it with \
         `UPDATE_BINDINGS=1 cargo test -p roundtable-protocol --test typescript_bindings`",
        path.display()
    );
}
