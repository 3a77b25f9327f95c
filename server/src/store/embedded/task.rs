//! The writer task on the `store-writer` thread: queued writes, commits when due, checkpoints.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::background::{BackgroundStart, CommitJobResult, CommitKind, RunningCommit};
use super::journal::Op;
use super::options::{GROUP_OPS_MAX, WRITE_QUEUE_MAX};
use super::writer::{QueuedWrites, Writer};
use crate::clock::sleep_until_or_never;
use crate::store::StoreError;

/// What the writer is asked to do.
#[derive(Debug)]
pub(super) enum Command {
    /// Apply an operation; the answer is the count of meetings trimmed for
    /// [`Op::TrimEnded`], 0 for the others.
    Write {
        op: Op,
        done: oneshot::Sender<Result<usize, StoreError>>,
    },
    /// Commit the open transaction now, so that a read sees every answered write.
    Commit {
        done: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Checkpoint now.
    Checkpoint {
        done: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// The writer, shared by its task, the `store-commit` thread's results and the tests.
pub(super) type SharedWriter = Arc<Mutex<Writer>>;

pub(super) fn lock(writer: &SharedWriter) -> std::sync::MutexGuard<'_, Writer> {
    writer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `work` on the writer on the blocking pool (holding its lock, so inline writes queue
/// meanwhile); `None` when the runtime is shutting down and the work did not run, or it
/// panicked: the writer is then considered gone.
pub(super) async fn blocking<T: Send + 'static>(
    writer: &SharedWriter,
    work: impl FnOnce(&mut Writer) -> T + Send + 'static,
) -> Option<T> {
    let writer = Arc::clone(writer);
    let ran = tokio::task::spawn_blocking(move || work(&mut lock(&writer))).await;
    match ran {
        Ok(result) => Some(result),
        Err(error) => {
            if error.is_panic() {
                tracing::error!(%error, "the store's writer failed; writes are refused until a restart");
            }
            None
        }
    }
}

/// The writer task: applies queued writes in groups, has the open transaction committed when it is
/// due, runs checkpoints, until every sender is gone; then checkpoints a last time.
///
/// It runs on the `store-writer` thread, in a runtime of its own, so that no file I/O happens on
/// the threads the rooms run on: a `write` to the journal that the kernel holds up (dirty page
/// cache throttling while another process writes gigabytes) stalls only this thread, and the
/// callers waiting for an answer. Meanwhile writes queue; the next group takes all of them (up to
/// [`GROUP_OPS_MAX`]) into one journal record, so a group grows with the stall. What can take
/// longer still runs elsewhere: the commits of the open transaction, timed checkpoints'
/// included, on the `store-commit` thread at the lowest priority, while writes go on in a
/// [`CommitWindow`](super::background::CommitWindow); and on this runtime's blocking pool, while
/// the writes behind them wait in the queue, repairs and the checkpoints of
/// [`Store::flush`](crate::store::Store::flush) and of the end.
pub(super) async fn run_writer(
    writer: SharedWriter,
    queue: mpsc::Receiver<Command>,
    attention: Arc<tokio::sync::Notify>,
) {
    let mut task = WriterTask {
        writer,
        queue,
        attention,
        background: None,
        waiting: WaitingForCommit::default(),
    };
    task.run().await;
}

/// The writer task's state between two wake-ups.
struct WriterTask {
    writer: SharedWriter,
    queue: mpsc::Receiver<Command>,
    attention: Arc<tokio::sync::Notify>,
    /// The background commit running, if any: one at a time.
    background: Option<RunningCommit>,
    waiting: WaitingForCommit,
}

/// Why the writer task woke up.
enum Wake {
    /// A command arrived.
    Command(Command),
    /// A deadline passed, an inline write asked for attention, or a background commit ended
    /// (and was dealt with).
    Look,
    /// Every sender is gone: the store was dropped.
    Closed,
    /// The writer is gone (see [`blocking`]).
    Gone,
}

impl WriterTask {
    async fn run(&mut self) {
        loop {
            let command = match self.wake().await {
                Wake::Command(command) => Some(command),
                Wake::Look => None,
                Wake::Closed => break,
                Wake::Gone => return,
            };
            let after_group = match command {
                Some(Command::Write { op, done }) => {
                    let (ops, after_group) = self.take_group(op, done);
                    if !apply_queued(&self.writer, ops).await {
                        return;
                    }
                    after_group
                }
                other => other,
            };
            if let Some(command) = after_group
                && !self.handle(command).await
            {
                return;
            }
            // One background commit at a time: the next is looked at when it ends.
            if self.background.is_none() && !self.begin_due_commit().await {
                return;
            }
        }
        if let Some(task) = self.background.take()
            && !after_background_commit(&self.writer, task.await, &mut self.waiting).await
        {
            return;
        }
        if let Some(Err(error)) = blocking(&self.writer, Writer::checkpoint).await {
            warn!(%error, "final store checkpoint failed; the next start replays the journal");
        }
    }

    /// Waits for a command, the end of the background commit (which it deals with), the
    /// writer's next deadline or an inline write's call for attention.
    async fn wake(&mut self) -> Wake {
        let (deadline, accepting) = {
            let state = lock(&self.writer);
            (
                state.next_deadline(),
                state.deferred.len() < WRITE_QUEUE_MAX,
            )
        };
        tokio::select! {
            received = self.queue.recv(), if accepting => match received {
                Some(command) => Wake::Command(command),
                None => Wake::Closed,
            },
            ended = async { self.background.as_mut().expect("guarded by is_some").await },
                if self.background.is_some() =>
            {
                self.background = None;
                if after_background_commit(&self.writer, ended, &mut self.waiting).await {
                    Wake::Look
                } else {
                    Wake::Gone
                }
            }
            () = self.attention.notified() => Wake::Look,
            () = sleep_until_or_never(deadline.map(Into::into)) => Wake::Look,
        }
    }

    /// The group a first queued write begins: the writes queued behind it, up to
    /// [`GROUP_OPS_MAX`], and the first other command, which comes after the group.
    fn take_group(
        &mut self,
        op: Op,
        done: oneshot::Sender<Result<usize, StoreError>>,
    ) -> (QueuedWrites, Option<Command>) {
        let mut ops = vec![(op, done)];
        while ops.len() < GROUP_OPS_MAX {
            match self.queue.try_recv() {
                Ok(Command::Write { op, done }) => ops.push((op, done)),
                Ok(other) => return (ops, Some(other)),
                Err(_) => break,
            }
        }
        (ops, None)
    }

    /// Carries out a command other than a write. `false` when the writer is gone.
    async fn handle(&mut self, command: Command) -> bool {
        match command {
            Command::Commit { done } if self.background.is_some() => {
                self.waiting.commits.push(done);
            }
            // In place: a read waits for it, and the idle-policy thread can be slow to get the
            // core when the rooms keep it busy.
            Command::Commit { done } => {
                let Some(result) = commit_or_repair(&self.writer).await else {
                    return false;
                };
                let _ = done.send(result);
            }
            Command::Checkpoint { done } if self.background.is_some() => {
                self.waiting.checkpoints.push(done);
            }
            Command::Checkpoint { done } => {
                let Some(result) = blocking(&self.writer, Writer::checkpoint).await else {
                    return false;
                };
                let _ = done.send(result);
            }
            Command::Write { .. } => {}
        }
        true
    }

    /// Begins the commit or checkpoint that is due, if any: in the background when it can,
    /// otherwise in place. `false` when the writer is gone.
    async fn begin_due_commit(&mut self) -> bool {
        let due = lock(&self.writer).due();
        let Some(kind) = due else {
            return true;
        };
        let begun = lock(&self.writer).begin_background(kind);
        match begun {
            BackgroundStart::Running(task) => {
                self.background = Some(task);
                true
            }
            BackgroundStart::InPlace => commit_in_place(&self.writer, kind).await,
        }
    }
}

/// Does what a background commit of `kind` that could not begin was for, holding the writer:
/// a commit (or repair) here, a checkpoint on the blocking pool. `false` when the writer is
/// gone.
pub(super) async fn commit_in_place(writer: &SharedWriter, kind: CommitKind) -> bool {
    let result = match kind {
        CommitKind::Visible => commit_or_repair(writer).await,
        CommitKind::Checkpoint => blocking(writer, Writer::checkpoint).await,
    };
    match result {
        None => false,
        Some(result) => {
            if let Err(error) = result {
                warn!(%error, ?kind, "store commit failed; the journal keeps the writes");
            }
            true
        }
    }
}

/// Requests that wait for a background commit's end.
#[derive(Default)]
pub(super) struct WaitingForCommit {
    pub(super) commits: Vec<oneshot::Sender<Result<(), StoreError>>>,
    pub(super) checkpoints: Vec<oneshot::Sender<Result<(), StoreError>>>,
}

/// Applies queued writes, here on the writer thread (with [`JournalSync::Always`](super::JournalSync::Always)
/// each group's fdatasync too). `false` when the writer is gone.
pub(super) async fn apply_queued(writer: &SharedWriter, ops: QueuedWrites) -> bool {
    lock(writer).write_queued(ops);
    true
}

/// After a background commit: ends its window (or repairs, should it have failed), then
/// applies the writes and answers the requests that waited for it. `false` when the writer is
/// gone.
pub(super) async fn after_background_commit(
    writer: &SharedWriter,
    ended: Result<CommitJobResult, oneshot::error::RecvError>,
    waiting: &mut WaitingForCommit,
) -> bool {
    let result = ended.unwrap_or_else(|error| {
        Err(StoreError::Unavailable(format!(
            "the store's commit thread failed: {error}"
        )))
    });
    let broken = lock(writer).end_commit_window(result);
    if broken {
        match blocking(writer, Writer::repair).await {
            None => return false,
            Some(Err(error)) => warn!(%error, "the store's repair failed"),
            Some(Ok(())) => {}
        }
    }
    let deferred = std::mem::take(&mut lock(writer).deferred);
    if !deferred.is_empty() && !apply_queued(writer, deferred).await {
        return false;
    }
    if !waiting.commits.is_empty() {
        let Some(result) = commit_or_repair(writer).await else {
            return false;
        };
        for done in waiting.commits.drain(..) {
            let _ = done.send(result.clone());
        }
    }
    if !waiting.checkpoints.is_empty() {
        let Some(result) = blocking(writer, Writer::checkpoint).await else {
            return false;
        };
        for done in waiting.checkpoints.drain(..) {
            let _ = done.send(result.clone());
        }
    }
    true
}

/// Commits the open transaction here; should that fail (or the transaction be broken
/// already), repairs on the blocking pool. `None` when the writer is gone.
pub(super) async fn commit_or_repair(writer: &SharedWriter) -> Option<Result<(), StoreError>> {
    let (result, broken) = {
        let mut state = lock(writer);
        let result = state.commit();
        (result, state.broken)
    };
    if broken {
        return blocking(writer, Writer::repair).await;
    }
    Some(result)
}
