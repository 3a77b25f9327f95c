//! The calendar, from the room: when the next meeting is (the schedule's occurrences are
//! computed by the rules in the schedule's zone from the server's time zone database, at the
//! server's clock), and a member's new calendar feed (the room draws its secret; only the
//! member's ack carries the URL, the log keeps its hash).

use super::*;

use roundtable_rules::command::CalendarCommand;
use roundtable_rules::schedule;

impl RoomActor {
    pub(super) async fn calendar_request(
        &mut self,
        member_id: MemberId,
        command: CalendarCommand,
    ) -> Result<Reply, RoomError> {
        self.state.roster().require_member_role(member_id)?;
        match command {
            CalendarCommand::GetNextMeeting => Ok(Reply::NextMeeting {
                next_meeting: crate::calendar::next_meeting(&self.state, self.now_ms),
            }),
            CalendarCommand::RenewFeed => {
                let (secret, secret_hash) = new_secret();
                let events =
                    schedule::decide_renew_feed(self.state.roster(), member_id, secret_hash)?;
                self.record(events).await?;
                // Never the secret.
                info!(group = %self.group_id(), member = %member_id, "calendar feed made anew");
                Ok(Reply::CalendarFeed {
                    url: format!(
                        "{}/api/groups/{}/calendar/{secret}.ics",
                        self.context.public_base,
                        self.group_id()
                    ),
                })
            }
        }
    }
}
