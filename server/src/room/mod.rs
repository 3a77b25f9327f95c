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

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use roundtable_protocol::{CloseReason, ServerMessage};

use crate::websocket::WireFrame;

/// Identifies one WebSocket connection within the process, for logs and room bookkeeping.
pub type ConnectionId = u64;

/// A request to close a connection: why, and a sentence for the person.
pub type CloseRequest = (CloseReason, String);

/// Queue capacity kept after a burst has drained; more is given back to the allocator, so an
/// idle connection holds no memory for the largest burst it ever saw.
const OUTBOX_IDLE_CAPACITY: usize = 4;

/// The way to one connection's writer: a bounded queue of frames, and a one-time close request
/// that works even when the queue is full.
///
/// One small allocation per connection: the queue grows only while frames wait and shrinks
/// back when they are written. The room side pushes without waiting; the connection side waits
/// for [`Outbox::next`].
#[derive(Debug, Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    frames_max: usize,
}

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<WireFrame>,
    /// The connection waiting in [`Outbox::next`], woken (once) by the next push or close.
    /// Kept under the same lock as the frames, so no wake-up is lost between a look at an
    /// empty queue and the wait.
    waiting: Option<Waker>,
    close: Option<CloseRequest>,
    /// Set once: a close was requested (it may have been taken already).
    close_requested: bool,
    /// The connection has stopped reading its outbox.
    gone: bool,
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// The client has fallen `outbound_queue_max` frames behind.
    Full,
    /// The connection has gone.
    Closed,
}

/// What the connection should do next, from [`Outbox::next`].
#[derive(Debug)]
pub enum OutboxItem {
    /// Write this frame.
    Frame(WireFrame),
    /// Close with this reason (frames still queued can be taken with [`Outbox::try_next`]).
    Close(CloseRequest),
}

impl Outbox {
    /// A new, empty outbox holding at most `frames_max` unwritten frames.
    pub fn new(frames_max: usize) -> Outbox {
        Outbox {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                frames_max: frames_max.max(1),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues an already serialized frame without waiting.
    pub fn push(&self, frame: WireFrame) -> Result<(), QueueError> {
        let waiting = {
            let mut queue = self.lock();
            if queue.gone {
                return Err(QueueError::Closed);
            }
            if queue.frames.len() >= self.shared.frames_max {
                return Err(QueueError::Full);
            }
            queue.frames.push_back(frame);
            queue.waiting.take()
        };
        if let Some(waker) = waiting {
            waker.wake();
        }
        Ok(())
    }

    /// Serializes and queues a message without waiting.
    pub fn push_message(&self, message: &ServerMessage) -> Result<(), QueueError> {
        self.push(encode(message))
    }

    /// Asks the connection to close with a reason. Only the first call has an effect.
    pub fn close(&self, reason: CloseReason, message: impl Into<String>) {
        let waiting = {
            let mut queue = self.lock();
            if queue.close_requested || queue.gone {
                return;
            }
            queue.close_requested = true;
            queue.close = Some((reason, message.into()));
            queue.waiting.take()
        };
        if let Some(waker) = waiting {
            waker.wake();
        }
    }

    /// The connection side: waits for the next thing to do. A close request goes first, even
    /// ahead of queued frames.
    pub async fn next(&self) -> OutboxItem {
        std::future::poll_fn(|cx| {
            let mut queue = self.lock();
            if let Some(request) = queue.close.take() {
                return Poll::Ready(OutboxItem::Close(request));
            }
            if let Some(frame) = pop(&mut queue) {
                return Poll::Ready(OutboxItem::Frame(frame));
            }
            match &mut queue.waiting {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                waiting => *waiting = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }

    /// The connection side: the next queued frame, if one is waiting.
    pub fn try_next(&self) -> Option<WireFrame> {
        pop(&mut self.lock())
    }

    /// The connection side: the close request, if one is waiting, without taking frames.
    pub fn take_close(&self) -> Option<CloseRequest> {
        self.lock().close.take()
    }

    /// The connection side: it stops reading. Later pushes fail with [`QueueError::Closed`];
    /// queued frames are dropped.
    pub fn shut(&self) {
        let mut queue = self.lock();
        queue.gone = true;
        queue.frames = VecDeque::new();
        queue.close = None;
        queue.waiting = None;
    }
}

fn pop(queue: &mut Queue) -> Option<WireFrame> {
    let frame = queue.frames.pop_front()?;
    if queue.frames.is_empty() && queue.frames.capacity() > OUTBOX_IDLE_CAPACITY {
        queue.frames.shrink_to(OUTBOX_IDLE_CAPACITY);
    }
    Some(frame)
}

/// Serializes and frames a server message once; the bytes are shared by every recipient.
pub fn encode(message: &ServerMessage) -> WireFrame {
    WireFrame::text(serde_json::to_string(message).expect("server messages always serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &'static str) -> WireFrame {
        WireFrame::text(text.to_owned())
    }

    #[tokio::test]
    async fn frames_come_out_in_order_and_the_queue_is_bounded() {
        let outbox = Outbox::new(2);
        outbox.push(frame("a")).unwrap();
        outbox.push(frame("b")).unwrap();
        assert_eq!(outbox.push(frame("c")), Err(QueueError::Full));
        for expected in ["a", "b"] {
            match outbox.next().await {
                OutboxItem::Frame(got) => assert_eq!(got.text_payload(), expected),
                OutboxItem::Close(_) => panic!("no close was requested"),
            }
        }
        assert!(outbox.try_next().is_none());
        outbox.push(frame("d")).unwrap();
    }

    #[tokio::test]
    async fn a_close_request_overtakes_queued_frames_and_counts_once() {
        let outbox = Outbox::new(8);
        outbox.push(frame("a")).unwrap();
        outbox.close(CloseReason::SlowConsumer, "first");
        outbox.close(CloseReason::ServerShutdown, "second");
        match outbox.next().await {
            OutboxItem::Close((reason, message)) => {
                assert_eq!(
                    (reason, message.as_str()),
                    (CloseReason::SlowConsumer, "first")
                );
            }
            OutboxItem::Frame(_) => panic!("the close request goes first"),
        }
        assert_eq!(
            outbox.try_next().map(|f| f.text_payload().to_owned()),
            Some("a".into())
        );
    }

    #[tokio::test]
    async fn a_waiting_connection_is_woken_by_a_push() {
        let outbox = Outbox::new(8);
        let waiter = {
            let outbox = outbox.clone();
            tokio::spawn(async move { outbox.next().await })
        };
        tokio::task::yield_now().await;
        outbox.push(frame("late")).unwrap();
        match waiter.await.unwrap() {
            OutboxItem::Frame(got) => assert_eq!(got.text_payload(), "late"),
            OutboxItem::Close(_) => panic!("no close was requested"),
        }
    }

    #[test]
    fn pushes_fail_once_the_connection_is_gone_and_the_queue_shrinks_when_drained() {
        let outbox = Outbox::new(1000);
        for _ in 0..500 {
            outbox.push(frame("x")).unwrap();
        }
        while outbox.try_next().is_some() {}
        assert!(outbox.lock().frames.capacity() <= OUTBOX_IDLE_CAPACITY);
        outbox.shut();
        assert_eq!(outbox.push(frame("y")), Err(QueueError::Closed));
    }
}
