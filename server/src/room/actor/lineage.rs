//! The log epoch a room serves, and the earlier ones whose seqs still name the same events
//! (ARCHITECTURE.md, "Log epochs").

use roundtable_protocol::{LogEpoch, ResumePoint, Seq};
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
    /// A fresh epoch for a room loaded up to `head` under `lease`, recorded in the store. A
    /// store that keeps no record, or fails to write it, gives no earlier epochs: every client
    /// that resumes from before this load then gets a snapshot.
    pub async fn begin(store: &dyn Store, lease: &Lease, head: Seq) -> LogLineage {
        let current = LogEpoch::random();
        let earlier = store
            .begin_log_epoch(lease.group_id(), lease.fence(), current, head)
            .await
            .unwrap_or_else(|error| {
                debug!(group = %lease.group_id(), %error, "the log epoch was not recorded");
                Vec::new()
            });
        LogLineage { current, earlier }
    }

    /// A fresh epoch with no earlier one (a room that records none).
    pub fn fresh() -> LogLineage {
        LogLineage {
            current: LogEpoch::random(),
            earlier: Vec::new(),
        }
    }

    /// Whether the seqs up to `resume`'s name the events this room holds under them: its
    /// epoch is this room's, or an earlier one's that wrote at least that far.
    pub fn holds(&self, resume: &ResumePoint) -> bool {
        let Some(epoch) = resume.log_epoch else {
            return false;
        };
        epoch == self.current
            || self
                .earlier
                .iter()
                .any(|earlier| earlier.log_epoch == epoch && resume.seq <= earlier.through_seq)
    }

    /// Whether `resume` names an earlier epoch (held or not): for the metrics.
    pub fn is_earlier(&self, resume: &ResumePoint) -> bool {
        resume.log_epoch.is_some_and(|epoch| epoch != self.current)
    }
}

#[cfg(test)]
mod tests {
    use roundtable_protocol::MeetingId;

    use super::*;

    fn point(log_epoch: Option<LogEpoch>, seq: Seq) -> ResumePoint {
        ResumePoint {
            meeting_id: MeetingId::random(),
            seq,
            log_epoch,
        }
    }

    #[test]
    fn a_resume_is_held_in_the_current_epoch_and_in_an_earlier_one_up_to_its_last_write() {
        let before = LogEpoch::random();
        let older = LogEpoch::random();
        let lineage = LogLineage {
            current: LogEpoch::random(),
            earlier: vec![
                EarlierEpoch {
                    log_epoch: before,
                    through_seq: 40,
                },
                EarlierEpoch {
                    log_epoch: older,
                    through_seq: 12,
                },
            ],
        };
        assert!(lineage.holds(&point(Some(lineage.current), 99)));
        assert!(lineage.holds(&point(Some(before), 40)));
        assert!(lineage.holds(&point(Some(before), 3)));
        assert!(lineage.holds(&point(Some(older), 12)));
        // Seqs the earlier room served past what it wrote are not in this history.
        assert!(!lineage.holds(&point(Some(before), 41)));
        assert!(!lineage.holds(&point(Some(older), 13)));
        // Another epoch, or none (a client from before log epochs).
        assert!(!lineage.holds(&point(Some(LogEpoch::random()), 1)));
        assert!(!lineage.holds(&point(None, 1)));
        assert!(lineage.is_earlier(&point(Some(before), 1)));
        assert!(!lineage.is_earlier(&point(Some(lineage.current), 1)));
        assert!(!LogLineage::fresh().holds(&point(Some(before), 1)));
    }
}
