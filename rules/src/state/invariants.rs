//! The invariants of a room's state, checked by tests after every step.

use std::collections::BTreeSet;

use roundtable_protocol as wire;
use roundtable_protocol::MemberId;

use super::RoomState;

impl RoomState {
    /// Checks every invariant of the state; tests call this after every step.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut ids = BTreeSet::new();
        let mut tokens = std::collections::HashSet::new();
        for member in &self.members {
            if !ids.insert(member.id) {
                return Err(format!("member {} appears twice", member.id));
            }
            if !tokens.insert(member.token_hash) {
                return Err(format!("member {} shares a token hash", member.id));
            }
        }
        if let Some(back) = self.former_members.iter().find(|id| ids.contains(id)) {
            return Err(format!("former member {back} is a member again"));
        }
        if let Some(ghost) = self.calendar_feeds.keys().find(|id| !ids.contains(id)) {
            return Err(format!("calendar feed of {ghost} who is not a member"));
        }
        if let Some(ghost) = self
            .online
            .iter()
            .chain(&self.logged_online)
            .find(|id| !ids.contains(id))
        {
            return Err(format!("online member {ghost} is not a member"));
        }

        let mut raised = BTreeSet::new();
        for id in &self.hands {
            if !ids.contains(id) {
                return Err(format!("raised hand of {id} who is not a member"));
            }
            if !raised.insert(*id) {
                return Err(format!("hand of {id} is raised twice"));
            }
        }
        // What former members chose to keep anonymized stays under their ids.
        let ids: BTreeSet<MemberId> = ids.union(&self.former_members).copied().collect();
        let mut commitment_ids = BTreeSet::new();
        for commitment in &self.commitments.commitments {
            if !ids.contains(&commitment.owner) {
                return Err(format!(
                    "commitment {} of a non-member",
                    commitment.commitment_id
                ));
            }
            if !commitment_ids.insert(commitment.commitment_id) {
                return Err(format!("commitment id {} twice", commitment.commitment_id));
            }
            if commitment.commitment_id > self.commitments.next_id {
                return Err("a commitment id is past the next id".into());
            }
        }
        if let Some(stranger) = self.activity.current.keys().find(|id| !ids.contains(id)) {
            return Err(format!("numbers of {stranger} who is not a member"));
        }
        if let Some((id, _)) = self
            .activity
            .current
            .iter()
            .find(|(_, submission)| submission.sharing != wire::Sharing::Named)
        {
            return Err(format!("anonymous numbers kept under the id of {id}"));
        }
        self.flow.check_invariants()?;
        self.flow.votes.check_invariants(&self.flow)?;
        self.access
            .check_invariants(|member_id| ids.contains(&member_id))?;
        self.prep.check_invariants(
            |member_id| self.member(member_id).is_some(),
            &self.commitments,
        )?;
        self.role_play.check_invariants()
    }
}
