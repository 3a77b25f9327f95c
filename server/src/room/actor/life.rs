//! The room's task from load to stop: its loop (commands, in bursts; flushes; the idle
//! unload; the timer; a lost lease; shutdown), and how it stops: in a drain, or when the
//! process moves it to another node (a rebalance), it hands itself over (the queued commands
//! answered, a final snapshot, the lease released, the next node asked to take the room, and
//! only then its connections closed).

use super::*;

/// The most queued commands a room handles in one step of its loop before it writes what they
/// produced (see [`Flushes`]): enough to batch a burst, few enough that the first
/// command's frames wait only for a handful of others.
const COMMANDS_PER_STEP_MAX: usize = 16;

impl RoomActor {
    pub(super) async fn run(mut self: Box<Self>, mut commands: mpsc::Receiver<RoomCommand>) {
        let shutdown = self.context.shutdown.clone();
        info!(group = %self.group_id(), seq = self.state.seq, "room loaded");
        // The process renews every live room's lease together (`fleet.rs`); a renewal that
        // finds it held by another process says so here.
        let renewed = self
            .context
            .fleet
            .renewals
            .start(self.group_id(), self.lease.epoch());
        // When the process drains and it is this room's turn: it hands itself over.
        let fleet = self.context.fleet.clone();
        let handover = fleet.handover_turn();
        tokio::pin!(handover);
        let mut handover_permit = None;
        // When the room became empty, so that other wake-ups (lease renewals) do not restart
        // the idle wait.
        let mut idle_deadline: Option<tokio::time::Instant> = None;
        loop {
            self.flushes.flush_now();
            if self.deleted || self.moving_away {
                break;
            }
            if self.ownership_lost {
                self.close_all(
                    CloseReason::RoomMoved,
                    "another server now runs this meeting; reconnect to resume",
                );
                break;
            }
            // A room with a pending deadline stays loaded even when empty, so that `time_up`
            // (and auto-advance) happen on time and are in the log for whoever comes back.
            let timer_wait = self.timer_wait();
            let idle = self.subscribers.is_empty() && timer_wait.is_none();
            idle_deadline = match (idle, idle_deadline) {
                (true, None) => Some(tokio::time::Instant::now() + self.context.limits.room_idle()),
                (true, deadline) => deadline,
                (false, _) => None,
            };
            let retry_attendance = self.attendance_out_of_date;
            tokio::select! {
                command = commands.recv() => match command {
                    // Boxed, like every rare or long step below: the room's task then stays
                    // small while it waits, which is most of its life.
                    Some(command) => {
                        Box::pin(self.handle(command)).await;
                        // Commands that queued meanwhile (a burst: everyone resuming at once)
                        // are handled in the same step, so what they send each connection goes
                        // out in one write. Nothing waits for this that was not already queued.
                        for _ in 1..COMMANDS_PER_STEP_MAX {
                            if self.ownership_lost || self.deleted || self.moving_away {
                                break;
                            }
                            let Ok(command) = commands.try_recv() else {
                                break;
                            };
                            Box::pin(self.handle(command)).await;
                        }
                    }
                    None => break,
                },
                () = sleep_until_or_never(self.flushes.soon_at) => self.flushes.flush_all(),
                () = sleep_until_or_never(self.next_grace_end()) => Box::pin(self.end_graces()).await,
                () = sleep_until_or_never(idle_deadline) => {
                    debug!(group = %self.group_id(), "room idle; unloading");
                    break;
                }
                _ = tokio::time::sleep(WRITE_RETRY), if retry_attendance && !idle => {
                    Box::pin(self.record_attendance()).await;
                }
                () = renewed.lost.cancelled() => {
                    self.lose_ownership("another process holds the room's lease");
                }
                permit = &mut handover => {
                    handover_permit = Some(permit);
                    break;
                }
                _ = tokio::time::sleep(timer_wait.unwrap_or_default()), if timer_wait.is_some() => {
                    Box::pin(self.tick()).await;
                }
                () = shutdown.cancelled() => {
                    self.close_all(CloseReason::ServerShutdown, "the server is shutting down; reconnect shortly");
                    break;
                }
            }
        }
        let stopped_at = std::time::Instant::now();
        self.flushes.flush_all();
        let handing_over = handover_permit.is_some() || self.moving_away;
        if self.moving_away && !self.ownership_lost && !self.deleted {
            // Before the queue closes: a join refused by it is not loaded here again (the
            // registry sends it where the room goes).
            self.context.fleet.moving_away(self.group_id());
            crate::metrics::forwarding::room_moved();
        }
        // Commands queued after the decision to stop are refused by the dropped channel; the
        // registry then loads the room again for them (or, in a drain or a move, sends them
        // to another node).
        commands.close();
        if handing_over {
            // What was queued before the room stopped taking commands is handled
            // (bounded by the queue's size), so that requests already sent are answered here
            // and their events are in the final snapshot.
            while let Ok(command) = commands.try_recv() {
                if self.ownership_lost || self.deleted {
                    break;
                }
                Box::pin(self.handle(command)).await;
            }
            self.flushes.flush_all();
        }
        // A deleted group is gone from the store: nothing may write it again.
        if !self.ownership_lost && !self.deleted {
            Box::pin(self.write_final_snapshot()).await;
        }
        // No renewal may take the lease again once it is released: none is sent from now on,
        // and the release fences out one under way.
        renewed.stop();
        Box::pin(self.lease.release()).await;
        if handing_over {
            // Only now, with the lease free, are the connections closed: they reconnect to
            // another process (in a fleet, those joined here follow the room there in place),
            // which takes the lease at once and resumes them. The node that is to run the room
            // next is asked to load it (before they are closed, when a link to it is open), so
            // that the load runs while they reconnect.
            if !self.ownership_lost
                && !self.deleted
                && let Some(nodes) = self.context.fleet.nodes.get()
            {
                Arc::clone(nodes).hand_over(self.group_id());
            }
            let draining = handover_permit.is_some();
            if self.ownership_lost {
                self.close_all(
                    CloseReason::RoomMoved,
                    "another server now runs this meeting; reconnect to resume",
                );
            } else if !self.deleted {
                crate::metrics::forwarding::handed_over(stopped_at.elapsed());
                // Its members here follow it, told when it stopped and where they stand (they
                // resume from there where it goes, which holds this log epoch); in a drain, the room's
                // place among the handovers is held until they have (see `room::fleet`,
                // "pace"): not by a room nobody is in.
                let permit = handover_permit.take().flatten();
                let resume = roundtable_protocol::ResumePoint {
                    meeting_id: self.state.meeting.id,
                    seq: self.state.seq,
                    log_epoch: Some(self.lineage.current),
                };
                let keep = self.context.fleet.hold_turn(
                    permit.filter(|_| !self.subscribers.is_empty()),
                    stopped_at,
                    Some(resume),
                );
                self.close_all_keeping(
                    CloseReason::Draining,
                    if draining {
                        "this server hands its meetings to another; reconnecting"
                    } else {
                        "this meeting moves to another server; reconnecting"
                    },
                    keep.as_ref(),
                );
            }
            self.flushes.flush_all();
        }
        drop(handover_permit);
        info!(group = %self.group_id(), seq = self.state.seq, "room stopped");
    }

    /// How long until the timer's next deadline (zero when it has passed), or `None` when no
    /// `time_up` is pending.
    fn timer_wait(&self) -> Option<Duration> {
        let deadline_ms = self.state.flow.next_deadline_ms()?;
        let wait = Duration::from_millis(deadline_ms.saturating_sub(self.context.clock.now_ms()));
        Some(if self.timer_write_failed {
            wait.max(WRITE_RETRY)
        } else {
            wait
        })
    }

    /// Sends `time_up` (and, with auto-advance, moves the round on) when the deadline has
    /// passed. Waking early (the clock said otherwise) decides nothing; the loop sleeps again.
    async fn tick(&mut self) {
        self.now_ms = self.context.clock.now_ms();
        let now_ms = self.now_ms;
        let events = state::decide_tick(&self.state, now_ms);
        self.timer_write_failed = self.record(events).await.is_err();
    }
}
