//! The log epoch a room serves, and the earlier ones whose seqs still name the same events
//! (ARCHITECTURE.md, "Log epochs").

use roundtable_protocol::{LogEpoch, MeetingId, ResumePoint, Seq};
use tracing::debug;

use crate::room::lease::Lease;
use crate::store::{EarlierEpoch, Store};

/// A room's log epoch, fresh at each load, and the earlier epochs of the same log the store
/// recorded ([`Store::begin_log_epoch`]).
#[derive(Debug, Clone)]
pub struct LogLineage {
    pub current: LogEpoch,
    earlier: Vec<EarlierEpoch>,
}

impl LogLineage {
    /// A fresh epoch for a room loaded up to `head` of `meeting_id` under `lease`, recorded in
    /// the store. A store that keeps no record, or fails to write it, gives no earlier epochs:
    /// every client that resumes from before this load then gets a snapshot.
    pub async fn begin(
        store: &dyn Store,
        lease: &Lease,
        meeting_id: MeetingId,
        head: Seq,
    ) -> LogLineage {
        let current = LogEpoch::random();
        let earlier = store
            .begin_log_epoch(lease.group_id(), lease.fence(), current, meeting_id, head)
            .await
            .unwrap_or_else(|error| {
                debug!(group = %lease.group_id(), %error, "the log epoch was not recorded");
                Vec::new()
            });
        LogLineage { current, earlier }
    }

    /// Whether the seqs up to `resume`'s name the events this room holds under them: its
    /// epoch is this room's, or an earlier one's whose last write was in that meeting and at
    /// least that far.
    pub fn holds(&self, resume: &ResumePoint) -> bool {
        let Some(epoch) = resume.log_epoch else {
            return false;
        };
        epoch == self.current
            || self.earlier.iter().any(|earlier| {
                earlier.log_epoch == epoch
                    && earlier.meeting_id == resume.meeting_id
                    && resume.seq <= earlier.through_seq
            })
    }

    /// Whether `resume` names an earlier epoch (held or not): for the metrics.
    pub fn is_earlier(&self, resume: &ResumePoint) -> bool {
        resume.log_epoch.is_some_and(|epoch| epoch != self.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_is_held_in_the_current_epoch_and_in_an_earlier_one_up_to_its_last_write() {
        let (meeting, before_it) = (MeetingId::random(), MeetingId::random());
        let point = |log_epoch: Option<LogEpoch>, meeting_id: MeetingId, seq: Seq| ResumePoint {
            meeting_id,
            seq,
            log_epoch,
        };
        let before = LogEpoch::random();
        let older = LogEpoch::random();
        let lineage = LogLineage {
            current: LogEpoch::random(),
            earlier: vec![
                EarlierEpoch {
                    log_epoch: before,
                    meeting_id: meeting,
                    through_seq: 40,
                },
                EarlierEpoch {
                    log_epoch: older,
                    meeting_id: before_it,
                    through_seq: 12,
                },
            ],
        };
        assert!(lineage.holds(&point(Some(lineage.current), meeting, 99)));
        assert!(lineage.holds(&point(Some(before), meeting, 40)));
        assert!(lineage.holds(&point(Some(before), meeting, 3)));
        assert!(lineage.holds(&point(Some(older), before_it, 12)));
        // Seqs past an earlier room's last write are not in this history, nor are the seqs of
        // a meeting it did not write last.
        assert!(!lineage.holds(&point(Some(before), meeting, 41)));
        assert!(!lineage.holds(&point(Some(older), before_it, 13)));
        assert!(!lineage.holds(&point(Some(before), before_it, 3)));
        assert!(!lineage.holds(&point(Some(older), meeting, 3)));
        // Another epoch, or none (a client from before log epochs).
        assert!(!lineage.holds(&point(Some(LogEpoch::random()), meeting, 1)));
        assert!(!lineage.holds(&point(None, meeting, 1)));
        assert!(lineage.is_earlier(&point(Some(before), meeting, 1)));
        assert!(!lineage.is_earlier(&point(Some(lineage.current), meeting, 1)));
    }
}
