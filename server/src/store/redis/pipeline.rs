//! Appends of many rooms sent to Redis together, in one round trip.
//!
//! A room waits for its own append before it writes the next one, so under load many rooms
//! wait at the same moment, each for a round trip of its own, and Redis and the server each
//! read and write once per append. [`AppendPipeline`] gathers them instead: an append joins a
//! bounded queue ([`RedisOptions::append_queue_max`]; a full queue makes the room wait, within
//! its time bound), and one writer task takes everything waiting, up to
//! [`RedisOptions::append_batch_max`], and sends it as one pipeline of `EVALSHA` calls of the
//! append script: one write, one read of the answers. Nothing else changes: each call is its
//! own script run, atomic on its own and with its own checks (the script's text and arguments
//! are [`scripts`](super::scripts)'s), and each room gets its own answer. A pipeline is not a
//! transaction: one room's conflict or error is that room's alone.
//!
//! The writer sends one pipeline at a time; the appends that arrive meanwhile make the next
//! one, so a lone append goes at once and a busy server sends bigger pipelines, not more of
//! them. It has a connection of its own (see [`RedisStore::connect`]): on the store's shared
//! connection an append sent while a process's lease renewals (one pipeline of up to 1,000
//! script calls) are under way would be answered only after all of theirs. A script that Redis does not know (after a restart or `SCRIPT FLUSH`) answers
//! `NOSCRIPT` without running: the writer loads it and sends those calls again, once. A
//! pipeline the connection refused to send is sent again once, as [`RedisStore::call`] does
//! with one command. An append whose caller stopped waiting (its time bound passed) while it
//! sat in the queue is dropped unsent, so it is never written late.

use redis::aio::ConnectionManager;
use redis::{ErrorKind, RedisResult, ScriptInvocation, ServerErrorKind};
use tokio::sync::{mpsc, oneshot};

use super::map_error;
#[cfg(doc)]
use super::{RedisOptions, RedisStore};
use crate::store::StoreError;

/// What the append script answers: its status words.
type Answer = Result<Vec<String>, StoreError>;

/// The queue of appends waiting to be sent, and the writer task that sends them. Cheap to
/// clone; the writer stops once every clone is gone.
#[derive(Clone)]
pub(super) struct AppendPipeline {
    queue: mpsc::Sender<Waiting>,
}

/// One append waiting in the queue: its script call and where its answer goes.
struct Waiting {
    invocation: ScriptInvocation<'static>,
    answer: oneshot::Sender<Answer>,
}

impl AppendPipeline {
    /// Starts the writer on the current tokio runtime: it sends at most `batch_max` appends in
    /// one pipeline, and at most `queue_max` wait for it.
    pub(super) fn start(connection: ConnectionManager, batch_max: usize, queue_max: usize) -> Self {
        let (queue, waiting) = mpsc::channel(queue_max.max(1));
        tokio::spawn(write_pipelines(connection, waiting, batch_max.max(1)));
        AppendPipeline { queue }
    }

    /// Sends `invocation` (an append script call) with the next pipeline and returns the
    /// script's answer. Unbounded in time: the store's caller bounds it.
    pub(super) async fn run(&self, invocation: ScriptInvocation<'static>) -> Answer {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Waiting { invocation, answer })
            .await
            .map_err(|_| stopped())?;
        answered.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the redis append writer has stopped".into())
}

/// The writer: takes everything waiting (at least one append, at most `batch_max`), sends it as
/// one pipeline, answers each append, and starts again.
async fn write_pipelines(
    connection: ConnectionManager,
    mut waiting: mpsc::Receiver<Waiting>,
    batch_max: usize,
) {
    let mut batch = Vec::with_capacity(batch_max);
    while waiting.recv_many(&mut batch, batch_max).await > 0 {
        batch.retain(|append| !append.answer.is_closed());
        if !batch.is_empty() {
            crate::metrics::redis_append_pipeline(batch.len());
            send(&connection, std::mem::take(&mut batch)).await;
        }
        batch.clear();
    }
}

/// Sends `batch` as one pipeline and answers each of its appends; calls Redis could not run
/// because it did not know the script are sent again once it is loaded.
async fn send(connection: &ConnectionManager, mut batch: Vec<Waiting>) {
    let mut script_loaded = false;
    loop {
        let answers = match query(connection, &batch).await {
            Ok(answers) if answers.len() == batch.len() => answers,
            Ok(answers) => {
                let error = StoreError::Corrupt(format!(
                    "redis answered {} of {} pipelined appends",
                    answers.len(),
                    batch.len()
                ));
                return answer_all(batch, &error);
            }
            Err(error) => return answer_all(batch, &map_error(&error)),
        };
        let mut unknown_script = Vec::new();
        for (append, answer) in batch.into_iter().zip(answers) {
            match answer {
                Err(error)
                    if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
                        && !script_loaded =>
                {
                    unknown_script.push(append);
                }
                answer => {
                    let _ = append
                        .answer
                        .send(answer.map_err(|error| map_error(&error)));
                }
            }
        }
        let Some(first) = unknown_script.first() else {
            return;
        };
        if let Err(error) = first.invocation.load_async(&mut connection.clone()).await {
            return answer_all(unknown_script, &map_error(&error));
        }
        script_loaded = true;
        batch = unknown_script;
    }
}

/// One round trip: `batch`'s script calls as one pipeline, each call's answer or error apart.
/// Sent a second time only if the first attempt could not connect at all (nothing was sent).
async fn query(
    connection: &ConnectionManager,
    batch: &[Waiting],
) -> RedisResult<Vec<RedisResult<Vec<String>>>> {
    let mut pipeline = redis::pipe();
    pipeline.ignore_errors();
    for append in batch {
        pipeline.invoke_script(&append.invocation);
    }
    match pipeline.query_async(&mut connection.clone()).await {
        Err(error) if error.is_connection_refusal() => {
            pipeline.query_async(&mut connection.clone()).await
        }
        result => result,
    }
}

fn answer_all(batch: Vec<Waiting>, error: &StoreError) {
    for append in batch {
        let _ = append.answer.send(Err(error.clone()));
    }
}
