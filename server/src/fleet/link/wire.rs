//! The link's wire format (see the parent module for what the frames do): the frame kinds and
//! the welcome's payloads, reading and writing frames, the close payloads, and the edge's
//! proof of the fleet secret.

use std::time::Duration;

use bytes::Bytes;
use roundtable_protocol::CloseReason;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The kinds of link frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Challenge = 1,
    Hello = 2,
    Welcome = 3,
    Refused = 4,
    Open = 5,
    Text = 6,
    Binary = 7,
    Close = 8,
    Ping = 9,
    Pong = 10,
    /// From the owner: it drains (see the module documentation).
    Draining = 11,
    /// From the edge: a room it handed over; load it now (see the module documentation).
    Take = 12,
}

/// Loads a link's [`Kind::Take`] frames may run at once on the node that reads them.
pub const TAKES_IN_FLIGHT_MAX: usize = 256;

/// The payload of a welcome from an owner that drains.
pub const DRAINING: &[u8] = b"draining";

/// The payload of a welcome from an owner that does not drain: it loads the rooms it is
/// handed over ([`Kind::Take`]).
pub const TAKES: &[u8] = b"take";

/// The bit set in the id of a stream an edge opens to join its client again (see
/// [`super::Attachment`]). The owner does not count that stream among the client address's
/// WebSockets waiting to join, nor its first join among the address's joins a minute: the
/// client asked for neither, and its own join was counted where it was made. Said in the id
/// rather than in the open's payload, so that an owner of a build before it reads the stream
/// as any other (it counts the join, as it always did). An edge's stream ids count up from 1
/// and never reach it.
pub const MADE_AGAIN: u64 = 1 << 63;

/// The receive buffer each end of a link asks for its socket (the kernel doubles it, and caps
/// it at twice `net.core.rmem_max`).
///
/// Left to the kernel's autotuning, a link's buffer stays near `tcp_rmem`'s default (128 KiB)
/// while the link is quiet, and Linux advertises a window of only a share of it, the share
/// shrinking with the overhead its received packets carried: under 64 KiB after a burst that
/// filled the buffer. Between two nodes on one host (loopback) a segment is 64 KiB, and a sender
/// does not send into a window smaller than one segment; the receiver, sent nothing, never
/// widens the window. Measured (BENCHMARKS.md, "A link stalled by its own window"): an owner
/// with 3 MB for an edge sent nothing for 5 s, pongs included, until the edge broke the link.
/// A fixed buffer of this size keeps the window far above a segment whatever comes.
pub const LINK_RECEIVE_BUFFER_BYTES: usize = 2 * 1024 * 1024;

/// Sets up a link's TCP socket, either end: no delay for small frames, and a receive buffer of
/// [`LINK_RECEIVE_BUFFER_BYTES`].
pub fn set_up_socket(tcp: &tokio::net::TcpStream) {
    let _ = tcp.set_nodelay(true);
    if let Err(error) =
        rustix::net::sockopt::set_socket_recv_buffer_size(tcp, LINK_RECEIVE_BUFFER_BYTES)
    {
        tracing::warn!(%error, "could not size a link's receive buffer");
    }
}

/// The longest a draining node waits for a link to open to send a take on it.
pub const HANDOVER_LINK_WAIT: Duration = Duration::from_secs(1);

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Challenge,
            2 => Kind::Hello,
            3 => Kind::Welcome,
            4 => Kind::Refused,
            5 => Kind::Open,
            6 => Kind::Text,
            7 => Kind::Binary,
            8 => Kind::Close,
            9 => Kind::Ping,
            10 => Kind::Pong,
            11 => Kind::Draining,
            12 => Kind::Take,
            _ => return None,
        })
    }
}

/// One link frame.
#[derive(Debug, Clone)]
pub struct LinkFrame {
    pub kind: Kind,
    pub stream: u64,
    pub payload: Bytes,
}

impl LinkFrame {
    pub fn new(kind: Kind, stream: u64, payload: impl Into<Bytes>) -> LinkFrame {
        LinkFrame {
            kind,
            stream,
            payload: payload.into(),
        }
    }

    /// The frame as written: length, kind, stream, payload.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let len = 1 + 8 + self.payload.len();
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.push(self.kind as u8);
        out.extend_from_slice(&self.stream.to_be_bytes());
        out.extend_from_slice(&self.payload);
    }
}

/// Reads one frame, refusing one longer than `payload_max` (or of an unknown kind) with
/// [`std::io::ErrorKind::InvalidData`].
pub async fn read_frame(
    reader: &mut (impl AsyncRead + Unpin),
    payload_max: usize,
) -> std::io::Result<LinkFrame> {
    let mut head = [0u8; 13];
    reader.read_exact(&mut head).await?;
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    if len < 9 || len - 9 > payload_max {
        return Err(invalid(format!(
            "a link frame of {len} bytes; at most {} are carried",
            payload_max + 9
        )));
    }
    let kind = Kind::from_byte(head[4])
        .ok_or_else(|| invalid(format!("unknown link frame kind {}", head[4])))?;
    let stream = u64::from_be_bytes(head[5..13].try_into().expect("eight bytes"));
    let mut payload = vec![0; len - 9];
    reader.read_exact(&mut payload).await?;
    Ok(LinkFrame::new(kind, stream, payload))
}

/// The bytes a link's reader takes from its socket at a time, at most: one read takes every
/// frame that has arrived (up to this much) instead of two reads a frame, its header and its
/// payload.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Whether `buffered` (what a link's reader holds and has not handed out) starts with a whole
/// frame, so that reading it will not wait for the socket.
pub fn whole_frame_buffered(buffered: &[u8]) -> bool {
    buffered.len() >= 4
        && buffered.len() - 4
            >= u32::from_be_bytes([buffered[0], buffered[1], buffered[2], buffered[3]]) as usize
}

/// The random part of a challenge, which the owner's node id follows.
pub const CHALLENGE_RANDOM_BYTES: usize = 32;

/// The longest challenge an edge reads: the random bytes and a node id of up to 224 bytes
/// (this server's ids have 32; an edge of an earlier build reads at most 64 bytes in all).
pub const CHALLENGE_BYTES_MAX: usize = CHALLENGE_RANDOM_BYTES + 224;

/// The longest a link's handshake may take, either side.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// What every proof starts with: a proof for this protocol is no proof for anything else.
const PROOF_CONTEXT: &[u8] = b"roundtable-link-v1";

/// The edge's proof that it knows the fleet secret: HMAC-SHA256 under `secret` of the
/// owner's `challenge` and the edge's `node_id` (after [`PROOF_CONTEXT`]).
pub fn proof(secret: &[u8], challenge: &[u8], node_id: &str) -> [u8; 32] {
    hmac_sha256(secret, &[PROOF_CONTEXT, challenge, node_id.as_bytes()])
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts`.
pub(super) fn hmac_sha256(secret: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut key = [0u8; BLOCK];
    if secret.len() > BLOCK {
        key[..32].copy_from_slice(&Sha256::digest(secret));
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    let pad = |byte: u8| key.map(|k| k ^ byte);
    let mut inner = Sha256::new().chain_update(pad(0x36));
    for part in parts {
        inner.update(part);
    }
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner.finalize())
        .finalize()
        .into()
}

/// Compares two proofs in time independent of where they differ.
pub fn same_proof(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Writes the frames of `queue` to `writer`, several per system call when several wait, until
/// the queue closes or a write fails; then cancels `dead`.
pub async fn write_frames(
    writer: impl AsyncWrite + Unpin,
    mut queue: mpsc::Receiver<LinkFrame>,
    dead: CancellationToken,
) {
    let mut writer = BufWriter::with_capacity(64 * 1024, writer);
    let mut bytes = Vec::with_capacity(64 * 1024);
    loop {
        let frame = tokio::select! {
            () = dead.cancelled() => break,
            frame = queue.recv() => frame,
        };
        let Some(frame) = frame else { break };
        bytes.clear();
        frame.encode_into(&mut bytes);
        while bytes.len() < 64 * 1024 {
            match queue.try_recv() {
                Ok(frame) => frame.encode_into(&mut bytes),
                Err(_) => break,
            }
        }
        if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
            break;
        }
        if bytes.capacity() > 256 * 1024 {
            bytes = Vec::with_capacity(64 * 1024);
        }
    }
    dead.cancel();
    let _ = writer.shutdown().await;
}

/// The payload of an edge's close: the client left with a close frame.
pub const CLIENT_LEFT: &[u8] = b"left";
/// The payload of an edge's close: the client's connection was lost (or cut off).
pub const CLIENT_LOST: &[u8] = b"lost";

/// Encodes a close request for the link: the reason's name, a newline, the sentence.
pub fn close_payload(reason: CloseReason, message: &str) -> Bytes {
    Bytes::from(format!("{}\n{message}", reason.as_str()))
}

/// Reads a close payload; `None` for an empty one (the client left) or one not understood.
pub fn parse_close(payload: &[u8]) -> Option<(CloseReason, String)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (name, message) = text.split_once('\n')?;
    let reason: CloseReason =
        serde_json::from_value(serde_json::Value::String(name.into())).ok()?;
    Some((reason, message.to_string()))
}

// ---------------------------------------------------------------------------------------------
// The edge's side.
