//! The way from a room to one connection's socket (see [`Outbox`]).

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use roundtable_protocol::{CloseReason, ServerMessage};
use tokio::net::TcpStream;

use super::frame::{WireFrame, encode};
use super::socket::WRITE_BATCH_BYTES_MAX;

/// A request to close a connection: why, and a sentence for the person.
pub type CloseRequest = (CloseReason, String);

/// Something a close keeps alive for whoever sent it until the connection is done with it
/// (see [`Outbox::close_keeping`]).
pub type Keep = Arc<dyn std::any::Any + Send + Sync>;

/// Queue capacity kept after a burst has drained; more is given back to the allocator, so an
/// idle connection holds no memory for the largest burst it ever saw.
const OUTBOX_IDLE_CAPACITY: usize = 4;

/// The way to one connection's socket: a bounded queue of frames, and a one-time close request
/// that works even when the queue is full.
///
/// **Frames are written by whoever sends them, when they can be.** An outbox made with
/// [`Outbox::writing_to`] holds the connection's TCP stream. [`Outbox::flush`] writes what is
/// queued straight to the socket, in one system call and without waiting, unless the
/// connection is writing itself: when the kernel takes it all (the usual case), that is the end
/// of it, and the connection's task is not even woken. A room queues what a step of its work
/// has for each connection with [`Outbox::push_later`] (an event and the ack behind it, a
/// replay) and flushes once at the end of the step, so it reaches each member with one system
/// call and no other per-connection work; [`Outbox::push`] flushes at once. What the socket
/// does not take (a full send buffer, or the rest of a frame it took part of) stays queued, and
/// the connection's task writes it when the socket is ready, before anything sent later. The
/// lock makes this safe: every direct write happens under it, and only while the socket is at
/// a frame boundary that nobody else is writing past ([`Outbox::hold`] / [`Outbox::release`]).
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
    /// The socket that pushes may write to directly; `None` for an outbox that only queues, and
    /// once the connection has shut it.
    socket: Option<Arc<TcpStream>>,
    /// The connection is writing (frames it took from the queue, or bytes of tungstenite's own),
    /// so a flush must leave the frames queued behind it rather than write.
    held: bool,
    /// How soon the frames queued by [`Outbox::push_later`] since the last flush must be
    /// written: the most urgent of them; `None` when none were.
    flush_due: Option<Urgency>,
    /// The front frame is what is left of one the socket took part of.
    front_partial: bool,
    /// Frames pushed so far, less those a newer one replaced: the place the next frame takes,
    /// counted from the first frame (the front is at `pushed - frames.len()`).
    pushed: u64,
    /// Where the last [`Urgency::Soon`] frame was queued, which a newer one replaces while it
    /// is still waiting whole.
    soon_at: Option<u64>,
    /// The connection waiting in [`Outbox::next`], woken (once) by the next push or close.
    /// Kept under the same lock as the frames, so no wake-up is lost between a look at an
    /// empty queue and the wait.
    waiting: Option<Waker>,
    close: Option<CloseRequest>,
    /// What the close keeps alive, until the connection takes it ([`Outbox::take_keep`]) or
    /// shuts the outbox.
    keep: Option<Keep>,
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

/// How soon a frame queued with [`Outbox::push_later`] must be written. Whoever queues it
/// flushes the outbox accordingly; the frames of one outbox are written in the order they were
/// queued whatever their urgency, so a flush for an urgent frame takes the ones before it along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    /// Within a few tens of milliseconds, and only the latest counts: a frame that says all of
    /// something as it is now (who is online), which nobody waits for to act. It may share a
    /// write with what follows it, and a newer `Soon` frame pushed while it still waits whole
    /// replaces it (the newer one is queued last; the older one is never written).
    Soon,
    /// At the end of the sender's step: an event, an ack, a replay.
    Now,
}

/// What the connection should do next, from [`Outbox::next`].
#[derive(Debug)]
pub enum OutboxItem {
    /// Write this frame (the connection holds the outbox until it calls [`Outbox::release`]).
    Frame(WireFrame),
    /// Close with this reason (frames still queued can be taken with [`Outbox::try_next`]).
    Close(CloseRequest),
}

impl Outbox {
    /// A new, empty outbox holding at most `frames_max` unwritten frames, which only queues:
    /// every frame comes out of [`Outbox::next`].
    pub fn new(frames_max: usize) -> Outbox {
        Outbox::with_socket(frames_max, None)
    }

    /// A new, empty outbox for the connection on `socket`, which its flushes write to directly
    /// (see [`Outbox`]).
    pub fn writing_to(frames_max: usize, socket: Arc<TcpStream>) -> Outbox {
        Outbox::with_socket(frames_max, Some(socket))
    }

    fn with_socket(frames_max: usize, socket: Option<Arc<TcpStream>>) -> Outbox {
        Outbox {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue {
                    socket,
                    ..Queue::default()
                }),
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

    /// Sends an already serialized frame without waiting: queues it and flushes.
    pub fn push(&self, frame: WireFrame) -> Result<(), QueueError> {
        self.push_later(frame, Urgency::Now)?;
        self.flush();
        Ok(())
    }

    /// Queues a frame for the next [`Outbox::flush`], which writes everything queued in one
    /// system call. Answers whether the frame made a flush due sooner than before (it is the
    /// first since the last flush, or more urgent than those): whoever gets `true` must flush
    /// this outbox within the frame's `urgency` (the connection is not woken until then).
    pub fn push_later(&self, frame: WireFrame, urgency: Urgency) -> Result<bool, QueueError> {
        let mut queue = self.lock();
        if queue.gone {
            return Err(QueueError::Closed);
        }
        if urgency == Urgency::Soon {
            queue.drop_waiting_soon();
        }
        if queue.frames.len() >= self.shared.frames_max {
            return Err(QueueError::Full);
        }
        if urgency == Urgency::Soon {
            queue.soon_at = Some(queue.pushed);
        }
        queue.frames.push_back(frame);
        queue.pushed += 1;
        let sooner = queue.flush_due.is_none_or(|due| due < urgency);
        if sooner {
            queue.flush_due = Some(urgency);
        }
        Ok(sooner)
    }

    /// Writes what is queued straight to the socket, without waiting, in one system call (up to
    /// [`WRITE_BATCH_BYTES_MAX`]), unless the connection is writing itself; wakes the
    /// connection's task for whatever is left.
    pub fn flush(&self) {
        let waiting = {
            let mut queue = self.lock();
            let Queue {
                frames,
                socket,
                held,
                flush_due,
                front_partial,
                waiting,
                ..
            } = &mut *queue;
            *flush_due = None;
            if let (false, Some(socket)) = (*held, socket) {
                write_some(socket, frames, front_partial);
            }
            if frames.is_empty() {
                return;
            }
            waiting.take()
        };
        if let Some(waker) = waiting {
            waker.wake();
        }
    }

    /// Serializes and sends a message without waiting.
    pub fn push_message(&self, message: &ServerMessage) -> Result<(), QueueError> {
        self.push(encode(message))
    }

    /// Asks the connection to close with a reason. Only the first call has an effect.
    pub fn close(&self, reason: CloseReason, message: impl Into<String>) {
        self.close_keeping(reason, message, None);
    }

    /// As [`Outbox::close`], and the connection keeps `keep` alive until it takes it
    /// ([`Outbox::take_keep`]) and drops it, or shuts the outbox: how the sender learns when
    /// the connection is done with the close. Dropped at once when the connection has a close
    /// already, or has gone.
    pub fn close_keeping(
        &self,
        reason: CloseReason,
        message: impl Into<String>,
        keep: Option<Keep>,
    ) {
        let waiting = {
            let mut queue = self.lock();
            if queue.close_requested || queue.gone {
                return;
            }
            queue.close_requested = true;
            queue.close = Some((reason, message.into()));
            queue.keep = keep;
            queue.waiting.take()
        };
        if let Some(waker) = waiting {
            waker.wake();
        }
    }

    /// The connection side: waits for the next thing to do. A close request goes first, even
    /// ahead of queued frames. A frame comes out held: pushes queue until [`Outbox::release`].
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

    /// The connection side: the next queued frame, if one is waiting (held, as from
    /// [`Outbox::next`]).
    pub fn try_next(&self) -> Option<WireFrame> {
        pop(&mut self.lock())
    }

    /// The connection side: it is about to write to the socket itself (tungstenite's pong, or
    /// the close), so pushes must queue until [`Outbox::release`].
    pub fn hold(&self) {
        self.lock().held = true;
    }

    /// The connection side: what it took or wrote is all on the socket, which is at a frame
    /// boundary again; pushes may write to it directly.
    pub fn release(&self) {
        self.lock().held = false;
    }

    /// The connection side, when the client has gone or is leaving: the rest of a frame the
    /// socket took part of, if there is one (held, as from [`Outbox::next`]). Written before a
    /// close frame, it keeps the stream whole; the frames queued behind it are not worth
    /// writing to a client that is not reading any more.
    pub fn take_unfinished(&self) -> Option<WireFrame> {
        let mut queue = self.lock();
        if queue.front_partial {
            pop(&mut queue)
        } else {
            None
        }
    }

    /// The connection side: a close request it took is not acted on (the connection stays,
    /// joined again elsewhere), so the next one counts.
    pub fn rearm_close(&self) {
        let mut queue = self.lock();
        queue.close = None;
        queue.close_requested = false;
    }

    /// The connection side: what the last close keeps alive (see [`Outbox::close_keeping`]).
    pub fn take_keep(&self) -> Option<Keep> {
        self.lock().keep.take()
    }

    /// The connection side: the close request, if one is waiting, without taking frames.
    pub fn take_close(&self) -> Option<CloseRequest> {
        self.lock().close.take()
    }

    /// The connection side: it stops reading. Later pushes fail with [`QueueError::Closed`];
    /// queued frames are dropped, and the socket is no longer written to from here.
    pub fn shut(&self) {
        let mut queue = self.lock();
        queue.gone = true;
        queue.socket = None;
        queue.frames = VecDeque::new();
        queue.close = None;
        let keep = queue.keep.take();
        queue.waiting = None;
        drop(queue);
        drop(keep);
    }
}

impl Queue {
    /// Drops the last [`Urgency::Soon`] frame queued if it still waits whole: a newer one
    /// replaces it.
    fn drop_waiting_soon(&mut self) {
        let Some(at) = self.soon_at.take() else {
            return;
        };
        let front = self.pushed - self.frames.len() as u64;
        let Some(index) = at.checked_sub(front) else {
            return; // written already
        };
        if index == 0 && self.front_partial {
            return; // the socket took part of it
        }
        if self.frames.remove(index as usize).is_some() {
            self.pushed -= 1;
        }
    }
}

/// The most frames gathered into one direct write (the `iovec`s of one `writev`).
const WRITE_BATCH_FRAMES_MAX: usize = 64;

/// Writes the queued frames the socket takes now, in one `writev`, and leaves the rest queued:
/// the front frame cut to what is left of it when the socket took part of it (`front_partial`
/// says so).
fn write_some(socket: &TcpStream, frames: &mut VecDeque<WireFrame>, front_partial: &mut bool) {
    let mut slices = [IoSlice::new(&[]); WRITE_BATCH_FRAMES_MAX];
    let mut count = 0;
    let mut bytes = 0;
    for frame in frames.iter().take(WRITE_BATCH_FRAMES_MAX) {
        if count > 0 && bytes + frame.as_bytes().len() > WRITE_BATCH_BYTES_MAX {
            break;
        }
        slices[count] = IoSlice::new(frame.as_bytes());
        count += 1;
        bytes += frame.as_bytes().len();
    }
    if count == 0 {
        return;
    }
    // Full (`WouldBlock`), or failed: either way the frames stay queued, and the connection's
    // own write waits for room or finds out that the socket is broken.
    let Ok(mut written) = socket.try_write_vectored(&slices[..count]) else {
        return;
    };
    while let Some(front) = frames.front_mut() {
        let len = front.as_bytes().len();
        if written >= len {
            written -= len;
            frames.pop_front();
            *front_partial = false;
        } else {
            if written > 0 {
                *front = front.unwritten_part(written);
                *front_partial = true;
            }
            break;
        }
    }
    shrink_when_drained(frames);
}

/// Gives a drained queue's memory back, but for [`OUTBOX_IDLE_CAPACITY`].
fn shrink_when_drained(frames: &mut VecDeque<WireFrame>) {
    if frames.is_empty() && frames.capacity() > OUTBOX_IDLE_CAPACITY {
        frames.shrink_to(OUTBOX_IDLE_CAPACITY);
    }
}

/// Takes the front frame for the connection to write, holding the outbox meanwhile.
fn pop(queue: &mut Queue) -> Option<WireFrame> {
    let frame = queue.frames.pop_front()?;
    queue.held = true;
    queue.front_partial = false;
    shrink_when_drained(&mut queue.frames);
    Some(frame)
}

#[cfg(test)]
pub(crate) mod tests;
