use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::*;

pub(crate) fn frame(text: &'static str) -> WireFrame {
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

/// The two ends of a loopback TCP connection: the server's, as an outbox takes it, and the
/// client's.
pub(crate) async fn tcp_pair() -> (Arc<TcpStream>, TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (Arc::new(server), client)
}

/// Like [`tcp_pair`], with the kernel's buffers fixed small (64 KiB asked for the server's
/// sending side and the client's receiving side, which the kernel doubles) instead of grown
/// on demand, so that a test knows the socket fills after a few hundred KiB: grown, the
/// buffers of one loopback connection held anything from under 1 MiB to all 4 MiB a test
/// wrote before it.
async fn small_buffered_tcp_pair() -> (Arc<TcpStream>, TcpStream) {
    const BUFFER_BYTES: u32 = 64 * 1024;
    let listening = tokio::net::TcpSocket::new_v4().unwrap();
    // An accepted socket takes its buffer sizes from the listening one.
    listening.set_send_buffer_size(BUFFER_BYTES).unwrap();
    listening.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = listening.listen(8).unwrap();
    let connecting = tokio::net::TcpSocket::new_v4().unwrap();
    connecting.set_recv_buffer_size(BUFFER_BYTES).unwrap();
    let client = connecting
        .connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (Arc::new(server), client)
}

/// Writes `bytes` to `socket` as the connection's task does: waiting until it is ready.
async fn write_when_ready(socket: &TcpStream, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        socket.writable().await.unwrap();
        match socket.try_write(bytes) {
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) => panic!("write failed: {error}"),
        }
    }
}

/// Fails if anything arrives at `client` within 50 ms.
pub(crate) async fn assert_nothing_arrives(client: &mut TcpStream, why: &str) {
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_millis(50), client.read(&mut byte)).await;
    assert!(read.is_err(), "{why}");
}

/// Reads exactly `frames` from `client`, in order.
pub(crate) async fn assert_receives(client: &mut TcpStream, frames: &[WireFrame]) {
    let expected: Vec<u8> = frames.iter().flat_map(|f| f.as_bytes().to_vec()).collect();
    let mut got = vec![0; expected.len()];
    client.read_exact(&mut got).await.unwrap();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_push_goes_straight_to_the_socket_when_nothing_waits() {
    let (server, mut client) = tcp_pair().await;
    let outbox = Outbox::writing_to(8, server);
    outbox.push(frame("hello")).unwrap();
    assert!(outbox.try_next().is_none(), "nothing was queued");
    assert_receives(&mut client, &[frame("hello")]).await;
}

#[tokio::test]
async fn while_the_connection_writes_pushes_queue_and_go_out_in_order_after() {
    let (server, mut client) = tcp_pair().await;
    let outbox = Outbox::writing_to(8, server);
    outbox.hold();
    outbox.push(frame("a")).unwrap();
    outbox.push(frame("b")).unwrap();
    assert_nothing_arrives(&mut client, "nothing reaches the socket while it is held").await;
    outbox.release();
    outbox.push(frame("c")).unwrap();
    assert!(outbox.try_next().is_none(), "all three went out");
    assert_receives(&mut client, &[frame("a"), frame("b"), frame("c")]).await;
}

#[tokio::test]
async fn frames_pushed_for_later_wait_for_the_flush_and_go_out_together() {
    let (server, mut client) = tcp_pair().await;
    let outbox = Outbox::writing_to(8, server);
    assert_eq!(
        outbox.push_later(frame("event"), Urgency::Now),
        Ok(true),
        "the first asks for a flush"
    );
    assert_eq!(outbox.push_later(frame("ack"), Urgency::Now), Ok(false));
    assert_nothing_arrives(&mut client, "nothing is written before the flush").await;
    outbox.flush();
    assert_eq!(
        outbox.push_later(frame("next"), Urgency::Now),
        Ok(true),
        "a new step, a new flush"
    );
    outbox.flush();
    assert_receives(&mut client, &[frame("event"), frame("ack"), frame("next")]).await;
}

#[tokio::test]
async fn a_frame_that_can_wait_asks_for_a_flush_once_and_an_urgent_one_asks_again() {
    let (server, mut client) = tcp_pair().await;
    let outbox = Outbox::writing_to(8, server);
    assert_eq!(
        outbox.push_later(frame("online"), Urgency::Soon),
        Ok(true),
        "the first frame asks for a flush soon"
    );
    assert_eq!(
        outbox.push_later(frame("offline"), Urgency::Soon),
        Ok(false),
        "a second one waits for the same flush"
    );
    assert_eq!(
        outbox.push_later(frame("event"), Urgency::Now),
        Ok(true),
        "an urgent frame asks for a flush now"
    );
    assert_eq!(
        outbox.push_later(frame("again"), Urgency::Soon),
        Ok(false),
        "a flush now is due anyway"
    );
    assert_nothing_arrives(&mut client, "nothing is written before the flush").await;
    outbox.flush();
    // Each frame that can wait replaced the one before it that still waited: only the
    // latest is written, after the urgent frame queued before it.
    assert_receives(&mut client, &[frame("event"), frame("again")]).await;
    assert_eq!(
        outbox.push_later(frame("offline"), Urgency::Soon),
        Ok(true),
        "after a flush, the next frame asks again"
    );
}

#[tokio::test]
async fn a_frame_that_can_wait_replaces_only_the_last_one_still_waiting_whole() {
    // Taken by the connection already: not replaced.
    let outbox = Outbox::new(8);
    outbox.push_later(frame("online 1"), Urgency::Soon).unwrap();
    outbox.push_later(frame("event 1"), Urgency::Now).unwrap();
    let taken = outbox.try_next().expect("a frame waits");
    assert_eq!(taken.text_payload(), "online 1");
    outbox.release();
    outbox.push_later(frame("online 2"), Urgency::Soon).unwrap();
    outbox.push_later(frame("event 2"), Urgency::Now).unwrap();
    outbox.push_later(frame("online 3"), Urgency::Soon).unwrap();
    let rest: Vec<String> = std::iter::from_fn(|| outbox.try_next())
        .map(|frame| frame.text_payload().to_owned())
        .collect();
    assert_eq!(rest, ["event 1", "event 2", "online 3"]);

    // A replacement takes no room of its own: a full queue still takes the newer frame.
    let outbox = Outbox::new(2);
    outbox.push_later(frame("event"), Urgency::Now).unwrap();
    outbox.push_later(frame("online 1"), Urgency::Soon).unwrap();
    assert_eq!(
        outbox.push_later(frame("online 2"), Urgency::Soon),
        Ok(false)
    );
    assert_eq!(
        outbox.push_later(frame("event 2"), Urgency::Now),
        Err(QueueError::Full)
    );
    let rest: Vec<String> = std::iter::from_fn(|| outbox.try_next())
        .map(|frame| frame.text_payload().to_owned())
        .collect();
    assert_eq!(rest, ["event", "online 2"]);
}

#[tokio::test]
async fn a_frame_the_socket_took_part_of_is_finished_not_replaced() {
    // A frame far larger than the socket's buffers, into an empty socket: it takes part.
    let (server, mut client) = small_buffered_tcp_pair().await;
    let outbox = Outbox::writing_to(8, Arc::clone(&server));
    let big = WireFrame::text("x".repeat(4 << 20));
    outbox.push_later(big.clone(), Urgency::Soon).unwrap();
    outbox.flush();
    assert!(
        outbox.lock().front_partial,
        "the socket took part of the frame"
    );
    let newer = frame("online, newer");
    outbox.push_later(newer.clone(), Urgency::Soon).unwrap();
    let queued: Vec<WireFrame> = std::iter::from_fn(|| outbox.try_next()).collect();
    assert_eq!(
        queued.len(),
        2,
        "the rest of the partial frame, then the newer one"
    );
    let expected: Vec<u8> = [big, newer]
        .iter()
        .flat_map(|f| f.as_bytes().to_vec())
        .collect();
    let reader = tokio::spawn(async move {
        let mut got = vec![0; expected.len()];
        client.read_exact(&mut got).await.unwrap();
        assert!(got == expected, "the partial frame is finished, whole");
    });
    for frame in queued {
        write_when_ready(&server, frame.as_bytes()).await;
    }
    outbox.release();
    reader.await.unwrap();
}

#[tokio::test]
async fn what_the_socket_does_not_take_is_written_later_and_the_stream_stays_whole() {
    // The client reads nothing at first, so the socket's buffers fill: the first frames go
    // straight out, one may go out in part, and the rest queue. Then the client reads a
    // little, which makes room, and more frames are pushed: they go out after the waiting
    // ones, never ahead of them, until the socket is full again. The connection then
    // writes the queue while the client reads. The client must get every frame once,
    // whole and in order.
    let (server, mut client) = small_buffered_tcp_pair().await;
    let outbox = Outbox::writing_to(100_000, Arc::clone(&server));
    let frames: Vec<WireFrame> = (0..8_000)
        .map(|i| WireFrame::text(format!("{i:05} {}", "x".repeat(1_000))))
        .collect();
    let (first_half, second_half) = frames.split_at(frames.len() / 2);
    for frame in first_half {
        outbox.push(frame.clone()).unwrap();
    }
    // Read until the runtime sees that the socket has room again: the kernel says so once
    // a good part of the send buffer is free, which a fixed amount read (512 KiB, once)
    // did not always bring about, and then nothing moved again.
    let mut got = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    loop {
        tokio::select! {
            biased;
            ready = server.writable() => {
                ready.unwrap();
                break;
            }
            read = client.read(&mut chunk) => {
                let read = read.unwrap();
                assert!(read > 0, "the server's side stays open");
                got.extend_from_slice(&chunk[..read]);
            }
        }
    }
    for frame in second_half {
        outbox.push(frame.clone()).unwrap();
    }
    let queued: Vec<WireFrame> = std::iter::from_fn(|| outbox.try_next()).collect();
    assert!(
        !queued.is_empty() && queued.len() < frames.len(),
        "some frames went out at once and the rest waited ({} of {} queued)",
        queued.len(),
        frames.len()
    );
    let expected: Vec<u8> = frames.iter().flat_map(|f| f.as_bytes().to_vec()).collect();
    let reader = tokio::spawn(async move {
        let already = got.len();
        got.resize(expected.len(), 0);
        client.read_exact(&mut got[already..]).await.unwrap();
        assert!(
            got == expected,
            "the bytes on the wire are the frames, in order"
        );
    });
    for frame in queued {
        write_when_ready(&server, frame.as_bytes()).await;
    }
    outbox.release();
    reader.await.unwrap();
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

#[tokio::test]
async fn a_close_keeps_what_it_carries_until_the_connection_takes_it_or_shuts() {
    let keep: Keep = Arc::new(());
    let kept = |keep: &Keep| Arc::strong_count(keep) - 1;
    // Taken by the connection, which drops it when it is done.
    let outbox = Outbox::new(8);
    outbox.close_keeping(CloseReason::Draining, "moving", Some(Arc::clone(&keep)));
    assert!(matches!(outbox.next().await, OutboxItem::Close(_)));
    assert_eq!(kept(&keep), 1, "kept after the close was taken");
    let taken = outbox.take_keep().expect("the close's keep");
    assert!(outbox.take_keep().is_none(), "taken once");
    drop(taken);
    assert_eq!(kept(&keep), 0);
    // Not taken: the connection's end lets it go.
    let outbox = Outbox::new(8);
    outbox.close_keeping(CloseReason::Draining, "moving", Some(Arc::clone(&keep)));
    assert_eq!(kept(&keep), 1);
    outbox.shut();
    assert_eq!(
        kept(&keep),
        0,
        "let go when the connection shuts its outbox"
    );
    // A connection closing already, or gone, does not keep it.
    let outbox = Outbox::new(8);
    outbox.close(CloseReason::SlowConsumer, "behind");
    outbox.close_keeping(CloseReason::Draining, "moving", Some(Arc::clone(&keep)));
    assert_eq!(kept(&keep), 0, "a second close keeps nothing");
    let outbox = Outbox::new(8);
    outbox.shut();
    outbox.close_keeping(CloseReason::Draining, "moving", Some(Arc::clone(&keep)));
    assert_eq!(kept(&keep), 0, "a gone connection keeps nothing");
}
