use super::*;

#[test]
fn the_proof_is_hmac_sha256_and_depends_on_every_input() {
    // RFC 4231, test case 2.
    let known = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
    let hex: String = known.iter().map(|byte| format!("{byte:02x}")).collect();
    assert_eq!(
        hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    let a = proof(b"secret", &[1; 32], "node-a");
    assert_ne!(a, proof(b"secret", &[2; 32], "node-a"));
    assert_ne!(a, proof(b"secret", &[1; 32], "node-b"));
    assert_ne!(a, proof(b"other", &[1; 32], "node-a"));
    assert_eq!(a, proof(b"secret", &[1; 32], "node-a"));
    assert!(same_proof(&a, &a));
    assert!(!same_proof(&a, &a[..31]));
}

#[tokio::test]
async fn frames_round_trip_and_oversized_ones_are_refused() {
    let mut bytes = Vec::new();
    LinkFrame::new(Kind::Text, 7, "hello").encode_into(&mut bytes);
    LinkFrame::new(Kind::Close, 7, Bytes::new()).encode_into(&mut bytes);
    let mut reader = &bytes[..];
    let first = read_frame(&mut reader, 16).await.expect("a frame");
    assert_eq!((first.kind, first.stream), (Kind::Text, 7));
    assert_eq!(&first.payload[..], b"hello");
    let second = read_frame(&mut reader, 16).await.expect("a frame");
    assert_eq!((second.kind, second.payload.len()), (Kind::Close, 0));
    let mut reader = &bytes[..];
    let error = read_frame(&mut reader, 4).await.expect_err("too long");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
fn a_whole_frame_in_the_buffer_is_told_from_part_of_one() {
    let mut bytes = Vec::new();
    LinkFrame::new(Kind::Text, 7, "hello").encode_into(&mut bytes);
    assert!(whole_frame_buffered(&bytes));
    for cut in 0..bytes.len() {
        assert!(!whole_frame_buffered(&bytes[..cut]), "{cut} bytes");
    }
    LinkFrame::new(Kind::Close, 7, Bytes::new()).encode_into(&mut bytes);
    assert!(whole_frame_buffered(&bytes), "a whole frame and more");
}

/// Writes one frame as an owner of the test's own does.
async fn write_frame(writer: &mut (impl tokio::io::AsyncWrite + Unpin), frame: LinkFrame) {
    let mut bytes = Vec::new();
    frame.encode_into(&mut bytes);
    writer.write_all(&bytes).await.unwrap();
}

/// The test's owner: accepts the edge's connection on `listener`, sends a challenge naming
/// nobody, reads the hello and welcomes it, whatever its proof. Answers the two halves.
async fn welcome_the_edge(
    listener: tokio::net::TcpListener,
) -> (
    tokio::net::tcp::OwnedReadHalf,
    tokio::net::tcp::OwnedWriteHalf,
) {
    let (tcp, _) = listener.accept().await.unwrap();
    let (mut reader, mut writer) = tcp.into_split();
    write_frame(&mut writer, LinkFrame::new(Kind::Challenge, 0, vec![7; 32])).await;
    read_frame(&mut reader, 1024).await.unwrap();
    write_frame(&mut writer, LinkFrame::new(Kind::Welcome, 0, Bytes::new())).await;
    (reader, writer)
}

/// A slow client fills its own outbox and is closed alone: the link reads on, and the
/// other client on it gets its frame. The owner here is the test, speaking the link's
/// protocol over real loopback TCP.
#[tokio::test]
async fn a_slow_client_is_closed_alone_and_the_link_goes_on() {
    use crate::transport::outbox::OutboxItem;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let owner = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let (mut reader, mut writer) = tcp.into_split();
        let mut send = async |frame: LinkFrame| write_frame(&mut writer, frame).await;
        send(LinkFrame::new(Kind::Challenge, 0, vec![7; 32])).await;
        let hello = read_frame(&mut reader, 1024).await.unwrap();
        let (proven, id) = hello.payload.split_at(32);
        assert!(same_proof(proven, &proof(b"s", &[7; 32], "edge")));
        assert_eq!(id, b"edge");
        send(LinkFrame::new(Kind::Welcome, 0, Bytes::new())).await;
        let mut opened = Vec::new();
        while opened.len() < 4 {
            let frame = read_frame(&mut reader, 1024).await.unwrap();
            opened.push((frame.kind, frame.stream));
        }
        assert_eq!(
            opened,
            [
                (Kind::Open, 1),
                (Kind::Text, 1),
                (Kind::Open, 2),
                (Kind::Text, 2)
            ]
        );
        for text in ["one", "two", "three"] {
            send(LinkFrame::new(Kind::Text, 1, text)).await;
        }
        send(LinkFrame::new(Kind::Text, 2, "to the other")).await;
        loop {
            let frame = read_frame(&mut reader, 1024).await.unwrap();
            if frame.kind == Kind::Close {
                return (frame.stream, frame.payload);
            }
        }
    });
    let config = crate::config::FleetConfig::default();
    let link = Link::connect("owner", &addr, "edge", b"s", &config)
        .await
        .expect("the link opens");
    let client: IpAddr = [127, 0, 0, 1].into();
    let slow = Outbox::new(2);
    let other = Outbox::new(8);
    let slow_stream = link
        .open(client, slow.clone(), attached(), "join one")
        .await
        .expect("a stream");
    let _other_stream = link
        .open(client, other.clone(), attached(), "join two")
        .await
        .expect("a stream");
    let (closed, payload) = owner.await.unwrap();
    assert_eq!(
        closed, 1,
        "the owner hears that the slow client's stream ended"
    );
    assert_eq!(
        &payload[..],
        CLIENT_LOST,
        "cut off by the edge, not left by its client"
    );
    match slow.next().await {
        OutboxItem::Close((reason, _)) => assert_eq!(reason, CloseReason::SlowConsumer),
        OutboxItem::Frame(frame) => panic!("a close goes first, got {frame:?}"),
    }
    match other.next().await {
        OutboxItem::Frame(frame) => assert_eq!(frame.text_payload(), "to the other"),
        OutboxItem::Close(close) => panic!("the other client stays, got {close:?}"),
    }
    assert!(link.is_alive(), "the link goes on");
    drop(slow_stream);
}

/// The edge's reader hands each client what it read for it, whole and in order: frames of
/// several clients that came in one read, a close after a client's frames (which go out
/// first), and a frame split across two of the owner's writes. What it read whole is written
/// before it waits for the rest: the first half of a frame does not hold back the frames
/// before it.
#[tokio::test]
async fn a_read_s_frames_reach_each_client_in_order_and_none_wait_for_the_next_read() {
    use crate::transport::outbox::tests::{assert_nothing_arrives, assert_receives, tcp_pair};
    use tokio::sync::oneshot;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (checked_tx, checked_rx) = oneshot::channel::<()>();
    let owner = tokio::spawn(async move {
        let (mut reader, mut writer) = welcome_the_edge(listener).await;
        let mut opened = 0;
        while opened < 2 {
            if read_frame(&mut reader, 1024).await.unwrap().kind == Kind::Open {
                opened += 1;
            }
        }
        // One write: both clients' frames interleaved, the second client's close among them.
        let mut bytes = Vec::new();
        for (stream, text) in [(2, "b1"), (1, "a1"), (2, "b2")] {
            LinkFrame::new(Kind::Text, stream, text).encode_into(&mut bytes);
        }
        LinkFrame::new(
            Kind::Close,
            2,
            close_payload(CloseReason::Removed, "you were removed"),
        )
        .encode_into(&mut bytes);
        for text in ["a2", "a3"] {
            LinkFrame::new(Kind::Text, 1, text).encode_into(&mut bytes);
        }
        // And the first half of one more frame for the first client.
        let mut last = Vec::new();
        LinkFrame::new(Kind::Text, 1, "a4").encode_into(&mut last);
        bytes.extend_from_slice(&last[..7]);
        writer.write_all(&bytes).await.unwrap();
        checked_rx.await.unwrap();
        writer.write_all(&last[7..]).await.unwrap();
        // The link stays open until the test ends.
        let _ = read_frame(&mut reader, 1024).await;
    });
    let config = crate::config::FleetConfig::default();
    let link = Link::connect("owner", &addr, "edge", b"s", &config)
        .await
        .expect("the link opens");
    let client: IpAddr = [127, 0, 0, 1].into();
    let (first_socket, mut first) = tcp_pair().await;
    let (second_socket, mut second) = tcp_pair().await;
    let first_outbox = Outbox::writing_to(8, first_socket);
    let second_outbox = Outbox::writing_to(8, second_socket);
    let _first_stream = link
        .open(client, first_outbox.clone(), attached(), "join one")
        .await
        .expect("a stream");
    let _second_stream = link
        .open(client, second_outbox.clone(), attached(), "join two")
        .await
        .expect("a stream");
    let text = |text: &str| WireFrame::text(text.to_owned());
    let within = Duration::from_secs(2);
    let expected = [text("a1"), text("a2"), text("a3")];
    tokio::time::timeout(within, assert_receives(&mut first, &expected))
        .await
        .expect("the frames read whole are written without waiting for the next read");
    let expected = [text("b1"), text("b2")];
    tokio::time::timeout(within, assert_receives(&mut second, &expected))
        .await
        .expect("the other client's frames are written too");
    match second_outbox.next().await {
        crate::transport::outbox::OutboxItem::Close((reason, _)) => {
            assert_eq!(reason, CloseReason::Removed);
        }
        other => panic!("the close follows the frames, got {other:?}"),
    }
    assert_nothing_arrives(&mut first, "half a frame is not a frame").await;
    checked_tx.send(()).unwrap();
    assert_receives(&mut first, &[text("a4")]).await;
    owner.abort();
}

fn attached() -> Arc<Attachment> {
    Arc::new(Attachment::new(
        roundtable_protocol::GroupId::random(),
        1,
        &roundtable_protocol::Credential::MemberToken {
            token: "a-token".into(),
        },
        None,
    ))
}

/// When the owner closes a stream because the room went away from it (`room_moved`,
/// `draining`, a shutdown), or the link breaks, the edge's client is not closed: its
/// connection hears that the room moved, to join it again where it runs now. A close for any
/// other reason (a removed member) closes the client as the owner said.
#[tokio::test]
async fn a_room_that_went_away_is_told_to_the_clients_connection_and_other_closes_close_it() {
    use crate::transport::outbox::OutboxItem;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (go_on, mut break_link) = tokio::sync::mpsc::channel::<()>(1);
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let (mut reader, mut writer) = tcp.into_split();
        let mut send = async |frame: LinkFrame| write_frame(&mut writer, frame).await;
        send(LinkFrame::new(Kind::Challenge, 0, vec![7; 32])).await;
        read_frame(&mut reader, 1024).await.unwrap();
        send(LinkFrame::new(Kind::Welcome, 0, Bytes::new())).await;
        let mut texts = 0;
        while texts < 4 {
            if read_frame(&mut reader, 1024).await.unwrap().kind == Kind::Text {
                texts += 1;
            }
        }
        send(LinkFrame::new(Kind::Text, 1, "before the move")).await;
        let moved = close_payload(CloseReason::RoomMoved, "lost its lease");
        send(LinkFrame::new(Kind::Close, 1, moved)).await;
        let draining = close_payload(CloseReason::Draining, "handed over");
        send(LinkFrame::new(Kind::Close, 2, draining)).await;
        let removed = close_payload(CloseReason::Removed, "you were removed");
        send(LinkFrame::new(Kind::Close, 3, removed)).await;
        // The fourth stream stays open until the link breaks.
        break_link.recv().await;
    });
    let config = crate::config::FleetConfig::default();
    let link = Link::connect("owner", &addr, "edge", b"s", &config)
        .await
        .expect("the link opens");
    let client: IpAddr = [127, 0, 0, 1].into();
    let mut clients = Vec::new();
    for index in 0..4 {
        let outbox = Outbox::new(8);
        let attachment = attached();
        let stream = link
            .open(
                client,
                outbox.clone(),
                Arc::clone(&attachment),
                &format!("join {index}"),
            )
            .await
            .expect("a stream");
        clients.push((outbox, attachment, stream));
    }
    let moved = async |attachment: &Attachment| {
        tokio::time::timeout(Duration::from_secs(5), attachment.wait_moved())
            .await
            .expect("the connection hears that the room moved");
        attachment.take_moved().expect("why").0
    };
    assert_eq!(moved(&clients[0].1).await, CloseReason::RoomMoved);
    match clients[0].0.next().await {
        OutboxItem::Frame(frame) => assert_eq!(frame.text_payload(), "before the move"),
        OutboxItem::Close(close) => panic!("the client is not closed: {close:?}"),
    }
    assert_eq!(moved(&clients[1].1).await, CloseReason::Draining);
    match clients[2].0.next().await {
        OutboxItem::Close((reason, _)) => assert_eq!(reason, CloseReason::Removed),
        OutboxItem::Frame(frame) => panic!("the removed client is closed, got {frame:?}"),
    }
    assert_eq!(clients[2].1.take_moved(), None);
    drop(go_on);
    assert_eq!(moved(&clients[3].1).await, CloseReason::RoomMoved);
    assert!(!link.is_alive());
}

#[test]
fn close_payloads_carry_the_reason_and_the_sentence() {
    let payload = close_payload(CloseReason::Removed, "bye now");
    assert_eq!(
        parse_close(&payload),
        Some((CloseReason::Removed, "bye now".to_string()))
    );
    assert_eq!(parse_close(b""), None);
    assert_eq!(parse_close(b"no_such_reason\nx"), None);
}

/// An owner at `addr` that sends a challenge naming `owner_id` (none: the random bytes alone,
/// as an earlier build does), then welcomes whatever proof comes.
async fn owner_naming(owner_id: Option<&'static str>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("the edge connects");
        let (mut reader, mut writer) = tcp.into_split();
        let mut challenge = vec![7u8; CHALLENGE_RANDOM_BYTES];
        challenge.extend_from_slice(owner_id.unwrap_or_default().as_bytes());
        let mut bytes = Vec::new();
        LinkFrame::new(Kind::Challenge, 0, challenge).encode_into(&mut bytes);
        writer.write_all(&bytes).await.expect("send the challenge");
        if read_frame(&mut reader, 1024).await.is_ok() {
            let mut welcome = Vec::new();
            LinkFrame::new(Kind::Welcome, 0, TAKES).encode_into(&mut welcome);
            let _ = writer.write_all(&welcome).await;
        }
        // Keep the link open while the edge looks at it.
        let _ = read_frame(&mut reader, 1024).await;
    });
    addr
}

/// An edge that dials a node and meets another one at its address (a supervisor restarted the
/// process there under a new id) finds the node it dialed gone, as when nothing listens; one
/// whose challenge names the node it dialed, or no node (an earlier build), links up.
#[tokio::test]
async fn a_challenge_from_another_node_than_the_one_dialed_means_that_node_is_gone() {
    let config = crate::config::FleetConfig::default();
    let dial = |addr: std::net::SocketAddr| {
        let config = config.clone();
        async move {
            Link::connect(
                "the-dead-node",
                &addr.to_string(),
                "an-edge",
                b"secret",
                &config,
            )
            .await
        }
    };
    match dial(owner_naming(Some("a-new-node")).await).await {
        Err(ConnectError::Gone(why)) => assert!(
            why.contains("a-new-node") && why.contains("the-dead-node"),
            "{why}"
        ),
        other => panic!("the dialed node is gone, not {other:?}"),
    }
    for named in [Some("the-dead-node"), None] {
        let linked = dial(owner_naming(named).await).await;
        assert!(
            linked.as_ref().is_ok_and(|link| link.is_alive()),
            "a challenge naming {named:?} links up: {linked:?}"
        );
    }
}

/// An owner whose pongs never come but whose frames do is alive: on a busy core a pong waits
/// behind every frame queued before it, or is dropped when the owner's queue is full. A link
/// on which nothing at all comes for [`SILENCE_MAX`] is broken.
#[tokio::test]
async fn a_link_is_kept_while_the_owner_is_heard_and_broken_once_it_falls_silent() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Longer than the silence a link may have: kept throughout only if frames count.
    let talking = SILENCE_MAX + Duration::from_secs(1);
    let (last_write, mut last_written) = tokio::sync::watch::channel(None);
    tokio::spawn(async move {
        let (mut reader, mut writer) = welcome_the_edge(listener).await;
        // Reads (and so ignores) the edge's pings, keeping the connection open throughout.
        tokio::spawn(async move { while read_frame(&mut reader, 1024).await.is_ok() {} });
        let until = tokio::time::Instant::now() + talking;
        let mut written = tokio::time::Instant::now();
        while written < until {
            write_frame(&mut writer, LinkFrame::new(Kind::Text, 1, "an event")).await;
            written = tokio::time::Instant::now();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Silent since the last write, the connection open.
        last_write.send_replace(Some(written));
        std::future::pending::<()>().await;
    });
    let config = crate::config::FleetConfig::default();
    let link = Link::connect("owner", &addr, "edge", b"s", &config)
        .await
        .expect("the link opens");
    let outbox = Outbox::new(128);
    let _stream = link
        .open([127, 0, 0, 1].into(), outbox, attached(), "join")
        .await
        .expect("a stream");
    let silent_from = *last_written
        .wait_for(Option::is_some)
        .await
        .expect("the owner falls silent");
    assert!(
        link.is_alive(),
        "no pong came in {talking:?}, but the owner's frames did: the link is kept"
    );
    let silent_from = silent_from.expect("when");
    tokio::time::timeout(
        SILENCE_MAX + Duration::from_secs(3),
        link.broken().cancelled(),
    )
    .await
    .expect("a link on which nothing comes is broken");
    let silent = silent_from.elapsed();
    assert!(
        silent >= SILENCE_MAX,
        "broken after {silent:?} of silence: not before {SILENCE_MAX:?}"
    );
}

/// A frame that comes slowly, a few bytes at a time for longer than a link may be silent,
/// keeps the link: every byte read counts as heard, not only a whole frame.
#[tokio::test]
async fn a_frame_that_comes_slowly_keeps_its_link() {
    use crate::transport::outbox::OutboxItem;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let text = "x".repeat(1_500);
    let mut encoded = Vec::new();
    LinkFrame::new(Kind::Text, 1, text.clone()).encode_into(&mut encoded);
    let pieces = encoded.len().div_ceil(100);
    let every = (SILENCE_MAX + Duration::from_secs(1)) / pieces as u32;
    tokio::spawn(async move {
        let (mut reader, mut writer) = welcome_the_edge(listener).await;
        tokio::spawn(async move { while read_frame(&mut reader, 1024).await.is_ok() {} });
        for piece in encoded.chunks(100) {
            tokio::time::sleep(every).await;
            writer.write_all(piece).await.unwrap();
        }
        std::future::pending::<()>().await;
    });
    let config = crate::config::FleetConfig::default();
    let link = Link::connect("owner", &addr, "edge", b"s", &config)
        .await
        .expect("the link opens");
    let outbox = Outbox::new(8);
    let _stream = link
        .open([127, 0, 0, 1].into(), outbox.clone(), attached(), "join")
        .await
        .expect("a stream");
    let arrived = tokio::time::timeout(SILENCE_MAX + Duration::from_secs(5), outbox.next())
        .await
        .expect("the frame arrives whole");
    match arrived {
        OutboxItem::Frame(frame) => assert_eq!(frame.text_payload(), text),
        OutboxItem::Close(close) => panic!("the client is not closed: {close:?}"),
    }
    assert!(link.is_alive(), "the link was kept while the frame came");
}

/// What the owner sent and the edge's reader has not read yet counts as heard: it is seen in
/// the socket without being taken from it, and so is the owner's close.
#[tokio::test]
async fn bytes_waiting_in_the_socket_are_seen_without_being_taken() {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (edge, owner) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    let (mut edge, (mut owner, _)) = (edge.unwrap(), owner.unwrap());
    let heard = Heard::new(Some(
        std::os::fd::AsFd::as_fd(&edge)
            .try_clone_to_owned()
            .unwrap(),
    ));
    assert!(!heard.unread(), "nothing sent yet");
    owner.write_all(b"abc").await.unwrap();
    let arrived = async {
        while !heard.unread() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), arrived)
        .await
        .expect("the bytes are seen waiting");
    let mut read = [0u8; 3];
    edge.read_exact(&mut read).await.unwrap();
    assert_eq!(&read, b"abc", "looking took nothing");
    assert!(!heard.unread(), "read: nothing waits any more");
    drop(owner);
    let closed = async {
        while !heard.unread() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("the owner's close waits for the reader too");
}

/// A link's socket, either end, receives into a buffer of several loopback segments (64 KiB
/// each), whatever the kernel's autotuning would have given it: its window then never falls
/// below one segment, which stalls a sender (see `LINK_RECEIVE_BUFFER_BYTES`).
#[tokio::test]
async fn a_link_s_socket_receives_into_a_buffer_of_several_loopback_segments() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (edge, owner) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    let (edge, (owner, _)) = (edge.unwrap(), owner.unwrap());
    let untouched = rustix::net::sockopt::socket_recv_buffer_size(&edge).unwrap();
    set_up_socket(&edge);
    set_up_socket(&owner);
    for tcp in [&edge, &owner] {
        let size = rustix::net::sockopt::socket_recv_buffer_size(tcp).unwrap();
        assert!(
            size >= 4 * 64 * 1024,
            "{size} bytes (a socket left alone starts with {untouched})"
        );
        assert!(tcp.nodelay().unwrap());
    }
}
