//! The built-in rubric templates: the criteria a sales coach uses to score each kind of call.

use roundtable_protocol::{Criterion, Rubric};

fn criterion(name: &str, description: &str, weight: u32) -> Criterion {
    Criterion {
        name: name.into(),
        description: description.into(),
        scale_min: 1,
        scale_max: 5,
        weight,
    }
}

/// The built-in templates, in the order clients list them. Their names are reserved: a group
/// template cannot take one.
pub fn built_in() -> Vec<Rubric> {
    vec![
        Rubric {
            name: "Discovery call".into(),
            criteria: vec![
                criterion(
                    "Agenda and permission",
                    "Set a clear agenda up front, confirmed the time available and got permission to ask questions.",
                    1,
                ),
                criterion(
                    "Open questions",
                    "Asked open, layered questions that got the buyer talking about their situation rather than yes/no answers.",
                    2,
                ),
                criterion(
                    "Pain and impact",
                    "Uncovered a concrete problem and quantified what it costs the buyer (money, time, risk) if nothing changes.",
                    3,
                ),
                criterion(
                    "Decision process",
                    "Found out who decides, how, by when, with what budget, and what else competes for it.",
                    2,
                ),
                criterion(
                    "Listening",
                    "Talked less than the buyer, summarized back accurately and followed up on what was said instead of pitching.",
                    2,
                ),
                criterion(
                    "Next step",
                    "Ended with a specific, calendared next step that the buyer agreed to.",
                    1,
                ),
            ],
            one_thing_differently: true,
        },
        Rubric {
            name: "Objection handling".into(),
            criteria: vec![
                criterion(
                    "Stayed calm",
                    "Welcomed the objection without arguing, rushing or getting defensive.",
                    1,
                ),
                criterion(
                    "Clarified",
                    "Asked questions to understand the real concern behind the stated objection before answering.",
                    3,
                ),
                criterion(
                    "Acknowledged",
                    "Showed the buyer the concern was heard and is reasonable, in the buyer's own words.",
                    1,
                ),
                criterion(
                    "Responded",
                    "Answered the real concern with evidence, a story or a reframe tied to the buyer's priorities.",
                    3,
                ),
                criterion(
                    "Confirmed",
                    "Checked that the answer resolved the concern before moving on.",
                    2,
                ),
            ],
            one_thing_differently: true,
        },
        Rubric {
            name: "Closing".into(),
            criteria: vec![
                criterion(
                    "Recap of value",
                    "Summarized the buyer's problem, its cost and how the proposal solves it, in the buyer's terms.",
                    2,
                ),
                criterion(
                    "Trial close",
                    "Tested readiness along the way and surfaced remaining concerns before asking for the decision.",
                    2,
                ),
                criterion(
                    "Clear ask",
                    "Asked for the business directly and then stayed silent for the answer.",
                    3,
                ),
                criterion(
                    "Handled hesitation",
                    "Met last-minute hesitation (price, timing, risk) without discounting by reflex.",
                    2,
                ),
                criterion(
                    "Commitment",
                    "Left with a firm commitment: signature, date, or a concrete action with an owner.",
                    3,
                ),
            ],
            one_thing_differently: true,
        },
        Rubric {
            name: "Cold call opener".into(),
            criteria: vec![
                criterion(
                    "Pattern interrupt",
                    "Opened in a way that did not sound like every other sales call and earned the next 30 seconds.",
                    2,
                ),
                criterion(
                    "Reason for the call",
                    "Gave a clear, relevant reason for calling this person now (a trigger, a peer, an insight).",
                    3,
                ),
                criterion(
                    "Brevity",
                    "Kept the opener short and conversational; no monologue about the company.",
                    1,
                ),
                criterion(
                    "Question to engage",
                    "Asked a question the buyer could easily answer that opened a conversation about a likely problem.",
                    2,
                ),
                criterion(
                    "Tone",
                    "Sounded confident, curious and relaxed rather than scripted or apologetic.",
                    1,
                ),
                criterion(
                    "Meeting ask",
                    "Asked for a specific, small next step (a short meeting) at the right moment.",
                    2,
                ),
            ],
            one_thing_differently: true,
        },
    ]
}
