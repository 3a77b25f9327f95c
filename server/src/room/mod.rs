//! Live rooms. A room is one group's current meeting while anyone is in it.
//!
//! - [`state`]: the pure state machine (rules, events, invariants).
//! - [`actor`]: the task that alone owns one room's state: it decides commands, persists their
//!   events, then fans them out to the room's connections.
//! - [`flow`]: the meeting flow's rules (agenda, timer, rounds, speaker queue, problems).
//! - [`registry`]: finds the live room of a group, loading it from the store on first use.
//! - [`commitments`], [`benchmarks`], [`practices`]: the group's accountability features, each
//!   with its own state, rules and limits, dispatched from [`state`].

pub mod actor;
pub mod benchmarks;
pub mod commitments;
pub mod flow;
pub mod minutes;
pub mod practices;
pub mod registry;
pub mod roleplay;
pub mod state;

use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use roundtable_protocol::{CloseReason, ServerMessage};
use tokio::sync::{mpsc, oneshot};

/// Identifies one WebSocket connection within the process, for logs and room bookkeeping.
pub type ConnectionId = u64;

/// A request to close a connection: why, and a sentence for the person.
pub type CloseRequest = (CloseReason, String);

/// The way to one connection's writer: a bounded queue of frames, and a one-time close signal
/// that works even when the queue is full.
#[derive(Debug, Clone)]
pub struct Outbox {
    frames: mpsc::Sender<Utf8Bytes>,
    closer: Arc<Mutex<Option<oneshot::Sender<CloseRequest>>>>,
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// The client has fallen `outbound_queue_max` frames behind.
    Full,
    /// The connection has gone.
    Closed,
}

impl Outbox {
    /// A new outbox and the receiving ends its connection task reads.
    pub fn new(
        frames_max: usize,
    ) -> (
        Outbox,
        mpsc::Receiver<Utf8Bytes>,
        oneshot::Receiver<CloseRequest>,
    ) {
        let (frames, frames_rx) = mpsc::channel(frames_max);
        let (close, close_rx) = oneshot::channel();
        let outbox = Outbox {
            frames,
            closer: Arc::new(Mutex::new(Some(close))),
        };
        (outbox, frames_rx, close_rx)
    }

    /// Queues an already serialized frame without waiting.
    pub fn push(&self, frame: Utf8Bytes) -> Result<(), QueueError> {
        self.frames.try_send(frame).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => QueueError::Full,
            mpsc::error::TrySendError::Closed(_) => QueueError::Closed,
        })
    }

    /// Serializes and queues a message without waiting.
    pub fn push_message(&self, message: &ServerMessage) -> Result<(), QueueError> {
        self.push(encode(message))
    }

    /// Asks the connection to close with a reason. Only the first call has an effect.
    pub fn close(&self, reason: CloseReason, message: impl Into<String>) {
        let sender = self
            .closer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(sender) = sender {
            let _ = sender.send((reason, message.into()));
        }
    }
}

/// Serializes a server message once; the bytes are shared by every recipient.
pub fn encode(message: &ServerMessage) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(message).expect("server messages always serialize"))
}
