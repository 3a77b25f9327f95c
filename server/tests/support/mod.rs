//! Test support: a real server on 127.0.0.1:0 and real WebSocket clients.

#![allow(dead_code)] // Each test binary uses a different part of the support code.

pub mod counting;
pub mod redis;
pub mod redis_cluster;
pub mod takeover;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use roundtable_protocol::{
    ClientFrame, CreateGroupResponse, Credential, ErrorCode, Event, EventFrame, GroupId, LogEpoch,
    MeetingId, MemberId, Reply, Request, RequestId, ResumePoint, Role, ServerMessage, Snapshot,
};
use roundtable_server::clock::SystemClock;
use roundtable_server::store::{EmbeddedOptions, Store, fixtures};
use roundtable_server::{Config, Limits, Server};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for any one frame before failing.
pub const FRAME_WAIT: Duration = Duration::from_secs(5);

/// A server running in this process on a free loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The admin listener's address, when the configuration set `admin_listen`.
    pub admin: Option<SocketAddr>,
    pub data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start(data_dir: &Path) -> TestServer {
        Self::start_with(data_dir, Limits::default()).await
    }

    pub async fn start_with(data_dir: &Path, limits: Limits) -> TestServer {
        // The embedded store lets go of its file only when its writer thread ends; a restarted
        // test server waits for it.
        let store = fixtures::open_embedded(data_dir, EmbeddedOptions::default()).await;
        Self::start_with_store(data_dir, limits, Arc::new(store)).await
    }

    /// A server over any store (the Redis store, for instance).
    pub async fn start_with_store(
        data_dir: &Path,
        limits: Limits,
        store: Arc<dyn Store>,
    ) -> TestServer {
        Self::start_configured(data_dir, store, |config| config.limits = limits).await
    }

    /// A server over `store`, configured for tests (`Config::for_tests`) and then by `configure`.
    pub async fn start_configured(
        data_dir: &Path,
        store: Arc<dyn Store>,
        configure: impl FnOnce(&mut Config),
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local addr");
        let mut config = Config::for_tests(addr, data_dir.to_path_buf());
        configure(&mut config);
        let admin_listener = match config.admin_listen {
            Some(admin) => Some(
                tokio::net::TcpListener::bind(admin)
                    .await
                    .expect("bind the admin listener"),
            ),
            None => None,
        };
        let mut server = Server::with_parts(config, listener, store, Arc::new(SystemClock));
        if let Some(admin_listener) = admin_listener {
            server = server.with_admin_listener(admin_listener);
        }
        let admin = server.admin_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            admin,
            data_dir: data_dir.to_path_buf(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server gracefully and waits until it has.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Sends SIGTERM to a server process started by a test (a planned stop: on a shared store
/// it drains); answers when.
pub fn sigterm(child: &tokio::process::Child) -> std::time::Instant {
    let pid = child.id().expect("the process runs");
    let terminated = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(terminated.success(), "kill -TERM {pid} failed");
    std::time::Instant::now()
}

/// Starts the real `roundtable` binary on `127.0.0.1:0` with `args`, and returns it with the
/// address it printed at start. The process is killed if the handle is dropped. It logs
/// warnings, or what `ROUNDTABLE_TEST_BINARY_LOG` says (a `RUST_LOG` filter), to the test's
/// standard error.
pub async fn start_binary(args: &[&std::ffi::OsStr]) -> (tokio::process::Child, SocketAddr) {
    let (child, mut addrs) = start_binary_reading(args, 1).await;
    (child, addrs.remove(0))
}

/// Starts the binary as [`start_binary`] does, with an admin listener on a port of the
/// system's choosing (`--admin-listen 127.0.0.1:0`, whose address the binary prints): its
/// process, client address and admin address. A port picked by the test and let go before
/// the binary binds it may be taken meanwhile by another test's process.
pub async fn start_binary_with_admin(
    args: &[&std::ffi::OsStr],
) -> (tokio::process::Child, SocketAddr, SocketAddr) {
    let mut all: Vec<&std::ffi::OsStr> = vec!["--admin-listen".as_ref(), "127.0.0.1:0".as_ref()];
    all.extend_from_slice(args);
    let (child, addrs) = start_binary_reading(&all, 2).await;
    (child, addrs[0], addrs[1])
}

/// Starts the binary with `args` and reads the first address from each of its first `lines`
/// lines of standard output.
async fn start_binary_reading(
    args: &[&std::ffi::OsStr],
    lines_wanted: usize,
) -> (tokio::process::Child, Vec<SocketAddr>) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roundtable"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env(
            "RUST_LOG",
            std::env::var("ROUNDTABLE_TEST_BINARY_LOG").unwrap_or_else(|_| "warn".to_string()),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the roundtable binary");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut addrs = Vec::new();
    for _ in 0..lines_wanted {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("the server prints its addresses within 10 s")
            .expect("read stdout")
            .expect("a line (the server exited: its error is in the test's standard error)");
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"));
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(['.', ','])
            .parse()
            .unwrap_or_else(|error| panic!("bad address in {url}: {error}"));
        addrs.push(addr);
    }
    (child, addrs)
}

/// A group made over HTTP, with the secrets cut out of its links.
#[derive(Debug, Clone)]
pub struct TestGroup {
    pub group_id: GroupId,
    pub meeting_id: MeetingId,
    pub facilitator_secret: String,
    pub invite_secret: String,
    pub response: CreateGroupResponse,
}

/// The value of the series in the Prometheus text `text` that starts with `series` (its name
/// and labels); 0 when there is none yet.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A minimal HTTP/1.1 client over a raw socket: the tests need POST and GET only.
pub async fn http_request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    http_call(addr, method, path, body, None).await
}

/// `GET path` with an optional `Authorization: Bearer` credential; returns status and body.
pub async fn http_get(addr: SocketAddr, path: &str, bearer: Option<&str>) -> (u16, String) {
    http_call(addr, "GET", path, "", bearer).await
}

/// `GET path` with an optional `Authorization: Bearer` credential; returns the status, the
/// response's head (its header lines, as sent) and its body.
pub async fn http_get_with_head(
    addr: SocketAddr,
    path: &str,
    bearer: Option<&str>,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let authorization = bearer
        .map(|credential| format!("Authorization: Bearer {credential}\r\n"))
        .unwrap_or_default();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{authorization}Connection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut response = Vec::new();
    tokio::time::timeout(FRAME_WAIT, stream.read_to_end(&mut response))
        .await
        .expect("response in time")
        .expect("read response");
    let text = String::from_utf8(response).expect("a UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line");
    (status, head.to_string(), body.to_string())
}

async fn http_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    bearer: Option<&str>,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let authorization = bearer
        .map(|credential| format!("Authorization: Bearer {credential}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut response = Vec::new();
    tokio::time::timeout(FRAME_WAIT, stream.read_to_end(&mut response))
        .await
        .expect("response in time")
        .expect("read response");
    let text = String::from_utf8_lossy(&response).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// How many rooms the server holds in memory, from its `/healthz`.
pub async fn live_rooms(server: &TestServer) -> u64 {
    let (status, body) = http_get(server.addr, "/healthz", None).await;
    assert_eq!(status, 200, "{body}");
    let health: roundtable_protocol::Health = serde_json::from_str(&body).expect("health");
    health.live_rooms
}

pub async fn create_group(addr: SocketAddr, name: &str) -> TestGroup {
    let body = serde_json::json!({ "name": name }).to_string();
    let (status, body) = http_request(addr, "POST", "/api/groups", &body).await;
    assert_eq!(status, 201, "group creation answers 201: {body}");
    let response: CreateGroupResponse = serde_json::from_str(&body).expect("creation response");
    let secret = |url: &str, key: &str| {
        url.split_once(&format!("#{key}="))
            .map(|(_, secret)| secret.to_string())
            .expect("the link carries its secret in the fragment")
    };
    TestGroup {
        group_id: response.group_id,
        meeting_id: response.meeting_id,
        facilitator_secret: secret(&response.facilitator_url, "facilitator"),
        invite_secret: secret(&response.invite_url, "invite"),
        response,
    }
}

/// A WebSocket client that records every frame it receives.
pub struct TestClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: RequestId,
    /// Every server message received, in order.
    pub received: Vec<ServerMessage>,
    pub member_id: Option<MemberId>,
    pub member_token: Option<String>,
    pub role: Option<Role>,
    /// The last seq seen (from a snapshot or an event).
    pub last_seq: u64,
    pub meeting_id: Option<MeetingId>,
    /// The room's log epoch from the last join's ack, sent back in [`TestClient::resume_point`].
    pub log_epoch: Option<LogEpoch>,
    /// WebSocket pongs received (the answers to [`Message::Ping`] frames sent raw).
    pub pongs: usize,
}

/// How a frame read ended when it was not a message.
#[derive(Debug)]
pub enum Closed {
    /// A close frame with this code and reason.
    Frame(u16, String),
    /// The stream ended without a close frame.
    Ended,
}

impl TestClient {
    pub async fn connect(addr: SocketAddr) -> TestClient {
        match TestClient::try_connect(addr).await {
            Ok(client) => client,
            Err(why) => panic!("WebSocket connects: {why}"),
        }
    }

    /// Like [`TestClient::connect`], but a refused upgrade (or connection) is answered as
    /// `Err` with what went wrong, e.g. `HTTP error: 503 Service Unavailable`.
    pub async fn try_connect(addr: SocketAddr) -> Result<TestClient, String> {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .map_err(|error| error.to_string())?;
        let mut client = TestClient {
            socket,
            next_id: 1,
            received: Vec::new(),
            member_id: None,
            member_token: None,
            role: None,
            last_seq: 0,
            meeting_id: None,
            log_epoch: None,
            pongs: 0,
        };
        match client.recv().await {
            ServerMessage::Hello(hello) => assert_eq!(hello.v, 1),
            other => panic!("the server speaks first with hello, got {other:?}"),
        }
        Ok(client)
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("send frame");
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.send_raw(Message::text(text.into())).await;
    }

    /// Sends a request and returns its id.
    pub async fn send(&mut self, request: Request) -> RequestId {
        let id = self.next_id;
        self.next_id += 1;
        let frame = ClientFrame::new(id, request);
        self.send_text(frame.to_json()).await;
        id
    }

    /// Sends a request unless the connection is gone; its id if it went.
    pub async fn try_send(&mut self, request: Request) -> Option<RequestId> {
        let id = self.next_id;
        self.next_id += 1;
        let frame = ClientFrame::new(id, request);
        self.socket
            .send(Message::text(frame.to_json()))
            .await
            .ok()
            .map(|()| id)
    }

    /// The next message, failing the test after [`FRAME_WAIT`] or on a close.
    pub async fn recv(&mut self) -> ServerMessage {
        match self.try_recv(FRAME_WAIT).await {
            Ok(Some(message)) => message,
            Ok(None) => panic!("no frame within {FRAME_WAIT:?}"),
            Err(closed) => panic!("connection closed while waiting for a frame: {closed:?}"),
        }
    }

    /// The next message within `wait`; `Ok(None)` if none came, `Err` if the connection closed.
    pub async fn try_recv(&mut self, wait: Duration) -> Result<Option<ServerMessage>, Closed> {
        loop {
            let next = match tokio::time::timeout(wait, self.socket.next()).await {
                Err(_) => return Ok(None),
                Ok(next) => next,
            };
            match next {
                Some(Ok(Message::Text(text))) => {
                    let message: ServerMessage =
                        serde_json::from_str(&text).unwrap_or_else(|error| {
                            panic!("server frame {text} does not parse: {error}")
                        });
                    self.track(&message);
                    self.received.push(message.clone());
                    return Ok(Some(message));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(match frame {
                        Some(frame) => Closed::Frame(frame.code.into(), frame.reason.to_string()),
                        None => Closed::Frame(1005, String::new()),
                    });
                }
                Some(Ok(Message::Pong(_))) => self.pongs += 1,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(Closed::Ended),
            }
        }
    }

    fn track(&mut self, message: &ServerMessage) {
        match message {
            ServerMessage::Snapshot(snapshot) => {
                self.last_seq = snapshot.seq;
                self.meeting_id = Some(snapshot.meeting.meeting_id);
            }
            ServerMessage::Event(frame) => {
                assert!(
                    frame.seq > self.last_seq,
                    "events arrive in strictly increasing seq: {} after {}",
                    frame.seq,
                    self.last_seq
                );
                self.last_seq = frame.seq;
            }
            ServerMessage::Ack {
                result: Reply::Joined(joined),
                ..
            } => {
                self.member_id = Some(joined.member_id);
                self.role = Some(joined.role);
                self.meeting_id = Some(joined.meeting_id);
                self.log_epoch = Some(joined.log_epoch);
                if let Some(token) = &joined.member_token {
                    self.member_token = Some(token.clone());
                }
            }
            _ => {}
        }
    }

    /// Reads until the ack or error for `id`, returning it; events on the way are kept.
    pub async fn answer(&mut self, id: RequestId) -> Result<Reply, (ErrorCode, String)> {
        loop {
            match self.recv().await {
                ServerMessage::Ack { id: acked, result } if acked == id => return Ok(result),
                ServerMessage::Error {
                    id: Some(failed),
                    code,
                    message,
                } if failed == id => {
                    return Err((code, message));
                }
                _ => {}
            }
        }
    }

    /// Sends a request and expects it to succeed.
    pub async fn ok(&mut self, request: Request) {
        let id = self.send(request.clone()).await;
        if let Err(error) = self.answer(id).await {
            panic!("{request:?} failed: {error:?}");
        }
    }

    /// Facilitator: starts the group's upcoming meeting and waits for its `meeting_started`.
    /// A new group's first meeting, and the meeting after an ended one, are upcoming; the round,
    /// the timer, hands, problems, votes, role play and reactions need a live one.
    pub async fn start_meeting(&mut self) {
        let from = self.received.len();
        self.ok(Request::StartMeeting).await;
        let started = |message: &ServerMessage| matches!(message, ServerMessage::Event(frame) if matches!(frame.event, Event::MeetingStarted { .. }));
        if !self.received[from..].iter().any(started) {
            self.event_where(|frame| matches!(frame.event, Event::MeetingStarted { .. }))
                .await;
        }
    }

    /// Sends a request and expects this error code.
    pub async fn fails(&mut self, request: Request, code: ErrorCode) -> String {
        let id = self.send(request.clone()).await;
        match self.answer(id).await {
            Ok(reply) => panic!("{request:?} should fail with {code:?}, got {reply:?}"),
            Err((actual, message)) => {
                assert_eq!(actual, code, "{request:?}: {message}");
                message
            }
        }
    }

    /// Joins and reads through the catch-up: the snapshot, or replayed events up to `until_seq`
    /// when given. Returns the snapshot if one came.
    pub async fn join(
        &mut self,
        group_id: GroupId,
        credential: Credential,
        resume: Option<ResumePoint>,
    ) -> Result<Option<Snapshot>, (ErrorCode, String)> {
        let id = self
            .send(Request::Join {
                group_id,
                credential,
                resume,
            })
            .await;
        let reply = self.answer(id).await?;
        let Reply::Joined(joined) = reply else {
            panic!("join answered with {reply:?}");
        };
        match joined.catch_up {
            roundtable_protocol::CatchUp::Snapshot => match self.recv().await {
                ServerMessage::Snapshot(snapshot) => Ok(Some(snapshot)),
                other => panic!("a snapshot follows the join ack, got {other:?}"),
            },
            roundtable_protocol::CatchUp::Replay => Ok(None),
        }
    }

    pub async fn join_as_facilitator(&mut self, group: &TestGroup, name: &str) -> Snapshot {
        let credential = Credential::Facilitator {
            secret: group.facilitator_secret.clone(),
            display_name: name.into(),
            member_token: None,
        };
        self.join(group.group_id, credential, None)
            .await
            .expect("facilitator join")
            .expect("a first join gets a snapshot")
    }

    pub async fn join_as_member(&mut self, group: &TestGroup, name: &str) -> Snapshot {
        let credential = Credential::Invite {
            secret: group.invite_secret.clone(),
            display_name: name.into(),
            observer: false,
        };
        self.join(group.group_id, credential, None)
            .await
            .expect("member join")
            .expect("a first join gets a snapshot")
    }

    /// A new client on `addr` that joined `group` as its facilitator `name`
    /// ([`TestClient::join_as_facilitator`]).
    pub async fn joined_as_facilitator(addr: SocketAddr, group: &TestGroup, name: &str) -> Self {
        let mut client = Self::connect(addr).await;
        client.join_as_facilitator(group, name).await;
        client
    }

    /// A new client on `addr` that joined `group` as member `name`
    /// ([`TestClient::join_as_member`]).
    pub async fn joined_as_member(addr: SocketAddr, group: &TestGroup, name: &str) -> Self {
        let mut client = Self::connect(addr).await;
        client.join_as_member(group, name).await;
        client
    }

    /// Reads events until one matches, returning it; fails after [`FRAME_WAIT`] per frame.
    pub async fn event_where(&mut self, mut wanted: impl FnMut(&EventFrame) -> bool) -> EventFrame {
        loop {
            if let ServerMessage::Event(frame) = self.recv().await
                && wanted(&frame)
            {
                return frame;
            }
        }
    }

    /// Reads `presence` frames until one matches, returning it (other frames are kept);
    /// fails after [`FRAME_WAIT`] per frame.
    pub async fn presence_where(
        &mut self,
        mut wanted: impl FnMut(&roundtable_protocol::PresenceFrame) -> bool,
    ) -> roundtable_protocol::PresenceFrame {
        loop {
            if let ServerMessage::Presence(frame) = self.recv().await
                && wanted(&frame)
            {
                return frame;
            }
        }
    }

    /// The `presence` frame announcing that `member_id` came online (`true`) or went offline.
    pub async fn presence_change(
        &mut self,
        member_id: MemberId,
        online: bool,
    ) -> roundtable_protocol::PresenceChange {
        let frame = self
            .presence_where(|frame| {
                frame
                    .change
                    .is_some_and(|change| change.member_id == member_id && change.online == online)
            })
            .await;
        assert_eq!(
            frame.online.contains(&member_id),
            online,
            "the list agrees with the change: {frame:?}"
        );
        frame.change.expect("a change")
    }

    /// Every `presence` frame received so far.
    pub fn presence_frames(&self) -> Vec<roundtable_protocol::PresenceFrame> {
        self.received
            .iter()
            .filter_map(|message| match message {
                ServerMessage::Presence(frame) => Some(frame.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every event frame received so far.
    pub fn events(&self) -> Vec<EventFrame> {
        self.received
            .iter()
            .filter_map(|message| match message {
                ServerMessage::Event(frame) => Some(frame.clone()),
                _ => None,
            })
            .collect()
    }

    /// Asserts that nothing arrives for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Ok(Some(message)) = self.try_recv(wait).await {
            panic!("expected no frame, got {message:?}");
        }
    }

    /// Reads until the server closes the connection, returning how.
    pub async fn until_closed(&mut self) -> Closed {
        loop {
            match self.try_recv(FRAME_WAIT).await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the server did not close the connection within {FRAME_WAIT:?}"),
                Err(closed) => return closed,
            }
        }
    }

    /// Drops the TCP connection without a close frame, as a lost network does.
    pub fn drop_connection(self) {
        drop(self.socket);
    }

    /// Closes cleanly with a close frame.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    pub fn resume_point(&self) -> ResumePoint {
        ResumePoint {
            meeting_id: self.meeting_id.expect("joined"),
            seq: self.last_seq,
            log_epoch: self.log_epoch,
        }
    }

    /// `point` moved into the room's current log epoch, learned by a join of its own (with
    /// `credential`, on a connection that is closed again). A test that checks what a room
    /// loaded from the store replays after a restart resumes this way: a resume from the
    /// earlier room's epoch would get a snapshot.
    pub async fn in_current_epoch(
        addr: SocketAddr,
        group_id: GroupId,
        credential: Credential,
        point: ResumePoint,
    ) -> ResumePoint {
        let mut learner = TestClient::connect(addr).await;
        learner
            .join(group_id, credential, None)
            .await
            .expect("the join that learns the log epoch");
        let log_epoch = learner.log_epoch;
        learner.close().await;
        ResumePoint { log_epoch, ..point }
    }

    pub fn token_credential(&self) -> Credential {
        Credential::MemberToken {
            token: self
                .member_token
                .clone()
                .expect("a member token was issued"),
        }
    }
}

/// Every file under an embedded store's data directory, subdirectories included, with its raw
/// bytes (not read through redb): what a scan of the stored bytes must cover. Fails unless the
/// redb file is among them, so that a scan of the wrong directory cannot pass.
pub fn every_file(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read the data dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.is_file() {
                let bytes = std::fs::read(&path).expect("read a store file");
                found.push((path.display().to_string(), bytes));
            }
        }
    }
    assert!(
        found
            .iter()
            .any(|(name, _)| name.ends_with("roundtable.redb")),
        "the redb file is read: {:?}",
        found.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    found
}

/// Where `needle` starts in `haystack`, every place (overlapping ones too).
pub fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, window)| *window == needle)
        .map(|(index, _)| index)
        .collect()
}

/// The stretch of `blob` around `at` from the `levels`-th JSON container opening before it to
/// the one closing after it: what is stored "beside" the value at `at` in a record.
pub fn enclosing(blob: &[u8], at: usize, levels: usize) -> std::ops::Range<usize> {
    let (mut start, mut depth, mut opened) = (at, 0usize, 0);
    while start > 0 && opened < levels {
        start -= 1;
        match blob[start] {
            b'}' | b']' => depth += 1,
            b'{' | b'[' if depth > 0 => depth -= 1,
            b'{' | b'[' => opened += 1,
            _ => {}
        }
    }
    let (mut end, mut depth, mut closed) = (at, 0usize, 0);
    while end < blob.len() && closed < levels {
        match blob[end] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => depth -= 1,
            b'}' | b']' => closed += 1,
            _ => {}
        }
        end += 1;
    }
    start..end
}

/// Every number anywhere in `value` (array items and object fields, nested), in order, pushed
/// onto `into`; a number JSON cannot give as f64 is pushed as NaN.
pub fn numbers_in(value: &serde_json::Value, into: &mut Vec<f64>) {
    use serde_json::Value;
    match value {
        Value::Number(number) => into.push(number.as_f64().unwrap_or(f64::NAN)),
        Value::Array(items) => items.iter().for_each(|item| numbers_in(item, into)),
        Value::Object(fields) => fields.values().for_each(|item| numbers_in(item, into)),
        _ => {}
    }
}
