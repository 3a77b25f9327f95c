//! The meeting's timer as a value: a deadline while it runs, the remaining time while it is
//! paused, never ticks. Every operation takes the current time as an argument and returns a new
//! timer, so the state machine stays pure and tests use exact, made-up times.

use roundtable_protocol::{self as wire, TimerSubject, UnixMs};

/// The timer of one turn or phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub subject: TimerSubject,
    /// The time box it started with, in milliseconds.
    pub time_box_ms: u64,
    pub run: TimerRun,
    /// Running time accumulated before the current running stretch (paused time excluded).
    /// This is the subject's actual talk time.
    pub talked_ms: u64,
    /// Whether `time_up` has been sent for the current deadline. Stays set through pause,
    /// resume and extend as long as the time is still over, so a deadline fires once.
    pub time_up_sent: bool,
}

/// Running (a deadline) or paused (what was left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerRun {
    Running {
        deadline_ms: UnixMs,
        /// When the current running stretch began, for talk time.
        since_ms: UnixMs,
    },
    Paused {
        /// Negative when paused in overrun.
        remaining_ms: i64,
    },
}

/// `now_ms + delta_ms`, clamped at the epoch; wall-clock values are far from both ends.
fn offset(now_ms: UnixMs, delta_ms: i64) -> UnixMs {
    (now_ms as i64).saturating_add(delta_ms).max(0) as UnixMs
}

impl Timer {
    /// A running timer for `subject` with a fresh time box.
    pub fn start(subject: TimerSubject, time_box_ms: u64, now_ms: UnixMs) -> Timer {
        Timer {
            subject,
            time_box_ms,
            run: TimerRun::Running {
                deadline_ms: now_ms.saturating_add(time_box_ms),
                since_ms: now_ms,
            },
            talked_ms: 0,
            time_up_sent: false,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.run, TimerRun::Running { .. })
    }

    /// Time left at `now_ms`; negative means overrun.
    pub fn remaining_ms(&self, now_ms: UnixMs) -> i64 {
        match self.run {
            TimerRun::Running { deadline_ms, .. } => deadline_ms as i64 - now_ms as i64,
            TimerRun::Paused { remaining_ms } => remaining_ms,
        }
    }

    /// Time the subject has had so far, paused time excluded.
    pub fn talk_ms(&self, now_ms: UnixMs) -> u64 {
        match self.run {
            TimerRun::Running { since_ms, .. } => self.talked_ms + now_ms.saturating_sub(since_ms),
            TimerRun::Paused { .. } => self.talked_ms,
        }
    }

    /// The deadline at which `time_up` is due, if the timer runs and has not fired for it.
    pub fn pending_deadline_ms(&self) -> Option<UnixMs> {
        match self.run {
            TimerRun::Running { deadline_ms, .. } if !self.time_up_sent => Some(deadline_ms),
            _ => None,
        }
    }

    /// The timer paused at `now_ms`. Pausing a paused timer changes nothing.
    pub fn paused(&self, now_ms: UnixMs) -> Timer {
        if !self.is_running() {
            return *self;
        }
        Timer {
            run: TimerRun::Paused {
                remaining_ms: self.remaining_ms(now_ms),
            },
            talked_ms: self.talk_ms(now_ms),
            ..*self
        }
    }

    /// The timer resumed at `now_ms` with the time it had left. Resuming a running timer
    /// changes nothing.
    pub fn resumed(&self, now_ms: UnixMs) -> Timer {
        let TimerRun::Paused { remaining_ms } = self.run else {
            return *self;
        };
        Timer {
            run: TimerRun::Running {
                deadline_ms: offset(now_ms, remaining_ms),
                since_ms: now_ms,
            },
            ..*self
        }
    }

    /// The timer with `delta_ms` more time (less when negative). When the new time is still
    /// over, a `time_up` already sent stays sent; when it is not over any more, the next
    /// deadline fires again.
    pub fn extended(&self, delta_ms: i64, now_ms: UnixMs) -> Timer {
        let run = match self.run {
            TimerRun::Running {
                deadline_ms,
                since_ms,
            } => TimerRun::Running {
                deadline_ms: offset(deadline_ms, delta_ms),
                since_ms,
            },
            TimerRun::Paused { remaining_ms } => TimerRun::Paused {
                remaining_ms: remaining_ms.saturating_add(delta_ms),
            },
        };
        let extended = Timer { run, ..*self };
        Timer {
            time_up_sent: self.time_up_sent && extended.remaining_ms(now_ms) <= 0,
            ..extended
        }
    }

    /// The timer as clients see it.
    pub fn to_wire(&self) -> wire::TimerInfo {
        wire::TimerInfo {
            subject: self.subject,
            time_box_ms: self.time_box_ms,
            state: match self.run {
                TimerRun::Running { deadline_ms, .. } => wire::TimerState::Running { deadline_ms },
                TimerRun::Paused { remaining_ms } => wire::TimerState::Paused { remaining_ms },
            },
            time_up: self.time_up_sent,
        }
    }
}
