//! The internal listener: links from other nodes of the fleet (see [`crate::fleet::link`] for
//! the frames and the handshake). Each link's streams are clients another node forwards here;
//! each is served by [`super::connection::serve_forwarded`], the same logic as a direct client.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use roundtable_protocol::{CloseReason, GroupId};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::app::App;
use crate::fleet::link::{
    CHALLENGE_RANDOM_BYTES, CLIENT_LOST, DRAINING, ForwardedStream, HANDSHAKE_TIMEOUT, Inbound,
    Kind, LinkFrame, MADE_AGAIN, READ_BUFFER_BYTES, TAKES, TAKES_IN_FLIGHT_MAX, close_payload,
    proof, read_frame, same_proof, set_up_socket, write_frames,
};

/// Accepts links from other nodes on the internal listener until shutdown.
pub async fn serve_internal(listener: TcpListener, context: Arc<App>, secret: Arc<[u8]>) {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "internal listener: links from other nodes");
    }
    // Connections still in their handshake (not proven yet): bounded, so a flood of
    // connections costs at most this many tasks for HANDSHAKE_TIMEOUT.
    let handshakes = Arc::new(tokio::sync::Semaphore::new(
        context.config.fleet.link_handshakes_max.max(1),
    ));
    loop {
        let accepted = tokio::select! {
            () = context.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, peer)) => {
                let Ok(handshake) = Arc::clone(&handshakes).try_acquire_owned() else {
                    debug!(%peer, "too many links in their handshake; closed");
                    crate::metrics::forwarding::link_connect("refused");
                    continue;
                };
                tokio::spawn(serve_link(
                    tcp,
                    peer,
                    Arc::clone(&context),
                    Arc::clone(&secret),
                    handshake,
                ));
            }
            Err(error) => {
                warn!(%error, "the internal listener could not accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Serves one link from an edge: the handshake, then its streams.
async fn serve_link(
    tcp: TcpStream,
    peer: SocketAddr,
    context: Arc<App>,
    secret: Arc<[u8]>,
    proving: tokio::sync::OwnedSemaphorePermit,
) {
    set_up_socket(&tcp);
    let (mut reader, mut writer) = tcp.into_split();
    // Random bytes, then this node's id, so that an edge that dialed another node (whose
    // address this process took) knows at once that the node it wants is gone.
    let mut challenge = vec![0u8; CHALLENGE_RANDOM_BYTES];
    if getrandom::fill(&mut challenge).is_err() {
        return;
    }
    challenge.extend_from_slice(context.node_id.as_bytes());
    let handshake = async {
        let mut bytes = Vec::new();
        LinkFrame::new(Kind::Challenge, 0, challenge.to_vec()).encode_into(&mut bytes);
        writer.write_all(&bytes).await?;
        read_frame(&mut reader, 32 + 256).await
    };
    let hello = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(hello)) if hello.kind == Kind::Hello && hello.payload.len() > 32 => hello,
        _ => {
            crate::metrics::forwarding::link_connect("refused");
            return;
        }
    };
    let (proven, node_id) = hello.payload.split_at(32);
    let node_id = String::from_utf8_lossy(node_id).into_owned();
    let mut answer = Vec::new();
    if !same_proof(proven, &proof(&secret, &challenge, &node_id)) {
        warn!(%peer, "a link was refused: its proof of the fleet secret is wrong");
        crate::metrics::forwarding::link_connect("refused");
        LinkFrame::new(Kind::Refused, 0, Bytes::new()).encode_into(&mut answer);
        let _ = writer.write_all(&answer).await;
        let _ = writer.shutdown().await;
        return;
    }
    // Proven: the slot among handshakes is free again before the welcome goes out.
    drop(proving);
    let fleet = &context.config.fleet;
    let (queue, outgoing) = mpsc::channel(fleet.link_queue_frames_max.max(1));
    // Noted for the drain notice before the welcome: a drain from now on is either in the
    // welcome or a `draining` frame queued behind it.
    let draining = context
        .fleet
        .get()
        .is_some_and(|nodes| nodes.serve_link(queue.clone()));
    let welcome = Bytes::from_static(if draining { DRAINING } else { TAKES });
    LinkFrame::new(Kind::Welcome, 0, welcome).encode_into(&mut answer);
    if writer.write_all(&answer).await.is_err() {
        return;
    }
    crate::metrics::forwarding::link_connect("accepted");
    debug!(%peer, node = %node_id, "a link from another node");
    let dead = CancellationToken::new();
    tokio::spawn(write_frames(writer, outgoing, dead.clone()));
    // Proven, the edge's frames are read through a buffer: one read takes every frame that has
    // arrived, rather than two reads a frame. (Before, an unproven peer holds no such buffer;
    // the edge sends nothing between its hello and the welcome, so no byte is left behind.)
    let mut reader = tokio::io::BufReader::with_capacity(READ_BUFFER_BYTES, reader);
    let mut streams: HashMap<u64, mpsc::Sender<Inbound>> = HashMap::new();
    let takes = Arc::new(tokio::sync::Semaphore::new(TAKES_IN_FLIGHT_MAX));
    loop {
        let frame = tokio::select! {
            () = dead.cancelled() => break,
            frame = read_frame(&mut reader, fleet.link_frame_bytes_max) => frame,
        };
        let Ok(frame) = frame else { break };
        let inbound = match frame.kind {
            Kind::Open => {
                open_forwarded(&context, &mut streams, &queue, frame.stream, &frame.payload);
                continue;
            }
            Kind::Ping => {
                let _ = queue.try_send(LinkFrame::new(Kind::Pong, 0, frame.payload));
                continue;
            }
            Kind::Take => {
                take_handed_room(&context, &takes, &frame.payload);
                continue;
            }
            Kind::Text => match String::from_utf8(frame.payload.to_vec()) {
                Ok(text) => Inbound::Text(text),
                Err(_) => break,
            },
            Kind::Binary => Inbound::Binary,
            Kind::Close if frame.payload[..] == *CLIENT_LOST => Inbound::Lost,
            Kind::Close => Inbound::Close,
            _ => break,
        };
        let Some(sender) = streams.get(&frame.stream) else {
            continue;
        };
        match sender.try_send(inbound) {
            Ok(()) if frame.kind != Kind::Close => {}
            Ok(()) => {
                streams.remove(&frame.stream);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                streams.remove(&frame.stream);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                // Dropping the sender ends the connection (as a lost one); the edge hears why.
                streams.remove(&frame.stream);
                let close = close_payload(
                    CloseReason::PolicyViolation,
                    "frames arrived faster than the server could read them",
                );
                let _ = queue.try_send(LinkFrame::new(Kind::Close, frame.stream, close));
            }
        }
    }
    dead.cancel();
}

/// Loads the room of a group (`payload`: its id) that the node at the link's other end has
/// just handed over, so that its members find it live when they reconnect (see
/// [`crate::fleet::link`], "Handover"). A hint, so nothing is answered: a take that is not
/// a group id, comes while `takes` has no place left, or finds the room live already is
/// ignored, and a load that fails (this node drains, another holds the lease) leaves the
/// room to whichever node its members' joins reach.
fn take_handed_room(context: &Arc<App>, takes: &Arc<tokio::sync::Semaphore>, payload: &[u8]) {
    let Some(group_id) = std::str::from_utf8(payload)
        .ok()
        .and_then(|text| text.parse::<GroupId>().ok())
    else {
        crate::metrics::forwarding::handover_take("malformed");
        return;
    };
    if context.rooms.is_live(group_id) {
        crate::metrics::forwarding::handover_take("live_already");
        return;
    }
    let Ok(place) = Arc::clone(takes).try_acquire_owned() else {
        crate::metrics::forwarding::handover_take("busy");
        return;
    };
    let rooms = context.rooms.clone();
    tokio::spawn(async move {
        let outcome = match rooms.load_now(group_id).await {
            Ok(()) => "loaded",
            Err(error) => {
                debug!(group = %group_id, %error, "a handed-over room was not loaded here");
                "not_loaded"
            }
        };
        crate::metrics::forwarding::handover_take(outcome);
        drop(place);
    });
}

/// Starts the connection task of a stream an edge opened for a client at `payload` (its
/// address), or refuses the stream.
fn open_forwarded(
    context: &Arc<App>,
    streams: &mut HashMap<u64, mpsc::Sender<Inbound>>,
    queue: &mpsc::Sender<LinkFrame>,
    id: u64,
    payload: &[u8],
) {
    let fleet = &context.config.fleet;
    let refuse = |message: &str| {
        let close = close_payload(CloseReason::PolicyViolation, message);
        let _ = queue.try_send(LinkFrame::new(Kind::Close, id, close));
    };
    if streams.len() >= fleet.link_streams_max {
        streams.retain(|_, sender| !sender.is_closed());
    }
    if streams.len() >= fleet.link_streams_max || streams.contains_key(&id) {
        refuse("this server carries as many forwarded connections as it may");
        return;
    }
    let client: IpAddr = match std::str::from_utf8(payload)
        .ok()
        .and_then(|text| text.parse().ok())
    {
        Some(client) => client,
        None => {
            refuse("the forwarded connection has no client address");
            return;
        }
    };
    let admitted = if id & MADE_AGAIN != 0 {
        Some(context.admit_made_again(client))
    } else {
        context.admit_websocket(client)
    };
    let Some(admitted) = admitted else {
        crate::metrics::admission_refused("unjoined_websockets_per_address");
        refuse("too many connections from your address wait to join; try again shortly");
        return;
    };
    let (sender, inbound) = mpsc::channel(fleet.link_stream_inbound_max.max(1));
    streams.insert(id, sender);
    let stream = ForwardedStream::new(id, inbound, queue.clone());
    tokio::spawn(super::connection::serve_forwarded(
        Box::new(stream),
        Arc::clone(context),
        admitted,
    ));
}
