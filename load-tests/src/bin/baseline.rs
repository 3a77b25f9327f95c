//! The limit of our stack: a minimal room-broadcast server on tokio + tokio-tungstenite.
//!
//! Protocol (identical to `peers/node-ws/server.js`):
//! - the first text frame must be `{"join":"<room>"}`; the server answers `{"joined":"<room>"}`;
//! - every later text frame is relayed, unchanged, to every member of that room, the sender
//!   included;
//! - a member whose outbound queue holds more than [`QUEUE_MAX`] frames is disconnected (the
//!   slow-consumer policy), so a run that overloads the server shows up as lost deliveries.
//!
//! The relayed frame is built once ([`Utf8Bytes`] is reference counted) and shared by every
//! recipient's queue. Usage: `baseline [PORT]` (or `PORT` in the environment); binds 127.0.0.1.
//!
//! `BASELINE_READ_BUFFER` sets each connection's read buffer in bytes (default 4096).
//! tungstenite's own default is 128 KiB per connection, which dominates idle memory; the
//! baseline is meant to show the best our stack can do, so it uses a small one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Frames a member may have queued before it counts as a slow consumer.
const QUEUE_MAX: usize = 8192;
/// Largest accepted frame.
const FRAME_MAX: usize = 64 * 1024;
/// Default per-connection read buffer.
const READ_BUFFER_DEFAULT: usize = 4096;

type Members = Vec<(u64, mpsc::Sender<Message>)>;

#[derive(Default)]
struct Rooms {
    rooms: Mutex<HashMap<String, Members>>,
    next_id: AtomicU64,
}

impl Rooms {
    fn join(&self, room: &str, tx: mpsc::Sender<Message>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut rooms = self.rooms.lock().expect("rooms lock");
        rooms.entry(room.to_owned()).or_default().push((id, tx));
        id
    }

    fn leave(&self, room: &str, id: u64) {
        let mut rooms = self.rooms.lock().expect("rooms lock");
        if let Some(members) = rooms.get_mut(room) {
            members.retain(|(member, _)| *member != id);
            if members.is_empty() {
                rooms.remove(room);
            }
        }
    }

    /// Queue `frame` for every member of `room`; members whose queue is full are dropped from
    /// the room (their writer then sees the channel close and ends the connection).
    fn broadcast(&self, room: &str, frame: Utf8Bytes) {
        let mut rooms = self.rooms.lock().expect("rooms lock");
        if let Some(members) = rooms.get_mut(room) {
            members.retain(|(_, tx)| tx.try_send(Message::Text(frame.clone())).is_ok());
        }
    }
}

#[derive(serde::Deserialize)]
struct JoinFrame {
    join: String,
}

async fn serve_connection(stream: TcpStream, rooms: Arc<Rooms>, read_buffer: usize) {
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .max_message_size(Some(FRAME_MAX))
        .max_frame_size(Some(FRAME_MAX));
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();

    // The first frame must be the join.
    let room = loop {
        match source.next().await {
            Some(Ok(Message::Text(text))) => match serde_json::from_str::<JoinFrame>(&text) {
                Ok(join) => break join.join,
                Err(_) => return,
            },
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => return,
        }
    };
    let reply = serde_json::json!({ "joined": room }).to_string();
    if sink.send(Message::text(reply)).await.is_err() {
        return;
    }

    let (tx, mut rx) = mpsc::channel::<Message>(QUEUE_MAX);
    let id = rooms.join(&room, tx);

    let writer = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            if sink.feed(first).await.is_err() {
                return;
            }
            // Batch whatever else is queued into one flush.
            let mut batched = 0;
            while batched < 256 {
                match rx.try_recv() {
                    Ok(message) => {
                        if sink.feed(message).await.is_err() {
                            return;
                        }
                        batched += 1;
                    }
                    Err(_) => break,
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });

    while let Some(message) = source.next().await {
        match message {
            Ok(Message::Text(text)) => rooms.broadcast(&room, text),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    rooms.leave(&room, id);
    writer.abort();
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .and_then(|p| p.parse().ok())
        .unwrap_or(8091);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = TcpListener::bind(addr).await?;
    eprintln!("baseline listening on {addr}");
    let read_buffer = std::env::var("BASELINE_READ_BUFFER")
        .ok()
        .and_then(|bytes| bytes.parse().ok())
        .unwrap_or(READ_BUFFER_DEFAULT);
    let rooms = Arc::new(Rooms::default());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: back off briefly instead of spinning.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(serve_connection(stream, rooms.clone(), read_buffer));
    }
}
