//! The generator's side of the wire: connecting, joining a room in either protocol, the frames
//! a member sends, and parsing what it receives.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use roundtable_protocol::{
    ClientFrame, CreateGroupRequest, CreateGroupResponse, Credential, Request, ResumePoint,
};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::peer::Protocol;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub type WsSink = SplitSink<Ws, Message>;
pub type WsSource = SplitStream<Ws>;

/// Longest a single connect, join or HTTP call may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// The request id of every join (ids are per connection).
const JOIN_REQUEST_ID: u64 = 1;
/// Request ids of actions start here.
const FIRST_ACTION_ID: u64 = 1000;

/// One room as the generator knows it.
#[derive(Debug, Clone)]
pub struct RoomPlan {
    /// Room name (relay) or group name (roundtable).
    pub name: String,
    /// Roundtable only: the group the room belongs to.
    pub group: Option<GroupPlan>,
}

/// A Roundtable group created for a run.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    pub group_id: String,
    pub meeting_id: String,
    pub invite_secret: String,
    pub facilitator_secret: String,
}

/// What a member learned by joining.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub member_id: Option<String>,
    pub member_token: Option<String>,
    pub meeting_id: Option<String>,
    /// The room's log epoch from the join's ack (roundtable), sent back with a resume.
    pub log_epoch: Option<String>,
    /// Seq of the snapshot received at join (roundtable, catch-up by snapshot).
    pub snapshot_seq: Option<u64>,
    /// That snapshot itself, for a client that reads state from it (its own hand, say).
    pub snapshot: Option<Utf8Bytes>,
    /// Whether the server chose to replay events (roundtable resume).
    pub replay: bool,
    /// The per-connection request rate limit from the server's hello.
    pub requests_per_second: Option<u32>,
}

/// How a member joins.
#[derive(Debug, Clone)]
pub enum JoinAs {
    /// A new member through the invite (relay: simply the room name).
    Invite { display_name: String },
    /// Roundtable: the same member again, resuming after `seq`.
    Resume {
        token: String,
        meeting_id: String,
        seq: u64,
        log_epoch: Option<String>,
    },
}

/// Create the rooms of a run: names for the relay peers, groups over HTTP for Roundtable.
pub async fn create_rooms(protocol: Protocol, port: u16, count: usize) -> Result<Vec<RoomPlan>> {
    let mut rooms = Vec::with_capacity(count);
    for index in 0..count {
        let name = format!("room-{index}");
        let group = match protocol {
            Protocol::Relay => None,
            Protocol::Roundtable => Some(create_group(port, &name).await?),
        };
        rooms.push(RoomPlan { name, group });
    }
    Ok(rooms)
}

/// `POST /api/groups` on 127.0.0.1:`port`.
pub async fn create_group(port: u16, name: &str) -> Result<GroupPlan> {
    let body = serde_json::to_string(&CreateGroupRequest {
        name: name.to_owned(),
        time_zone: None,
    })?;
    let (status, response) = tokio::time::timeout(
        STEP_TIMEOUT,
        http_request(port, "POST", "/api/groups", Some(&body)),
    )
    .await
    .context("POST /api/groups timed out")??;
    if status != 201 {
        bail!("POST /api/groups answered {status}: {response}");
    }
    let created: CreateGroupResponse =
        serde_json::from_str(&response).context("parsing the create-group answer")?;
    let plan = GroupPlan {
        group_id: created.group_id.to_string(),
        meeting_id: created.meeting_id.to_string(),
        invite_secret: fragment_secret(&created.invite_url, "invite")?,
        facilitator_secret: fragment_secret(&created.facilitator_url, "facilitator")?,
    };
    tokio::time::timeout(STEP_TIMEOUT, start_meeting(port, &plan))
        .await
        .context("starting the meeting timed out")??;
    Ok(plan)
}

/// A new group's first meeting is upcoming, and hands need a live one: a facilitator joins
/// and starts it, then leaves (one extra member of the group, offline).
async fn start_meeting(port: u16, group: &GroupPlan) -> Result<()> {
    const START_REQUEST_ID: u64 = 2;
    let mut ws = connect(port).await?;
    let join = Request::Join {
        group_id: serde_json::from_value(serde_json::json!(group.group_id))?,
        credential: Credential::Facilitator {
            secret: group.facilitator_secret.clone(),
            display_name: "Load facilitator".into(),
            member_token: None,
        },
        resume: None,
    };
    ws.send(Message::text(
        ClientFrame::new(JOIN_REQUEST_ID, join).to_json(),
    ))
    .await?;
    ws.send(Message::text(
        ClientFrame::new(START_REQUEST_ID, Request::StartMeeting).to_json(),
    ))
    .await?;
    // Bounded by the caller's timeout and by this many frames.
    for _ in 0..1_000 {
        let text = next_text(&mut ws).await?;
        let parsed: RtFrame<'_> =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", text.as_str()))?;
        match parsed.ty {
            "ack" if parsed.id == Some(START_REQUEST_ID) => {
                ws.close(None).await.ok();
                return Ok(());
            }
            "error" => bail!("starting the meeting refused: {}", text.as_str()),
            "closing" => bail!(
                "server closed while starting the meeting: {}",
                text.as_str()
            ),
            _ => {}
        }
    }
    bail!("starting the meeting never finished")
}

/// The secret in `...#<key>=<secret>`.
pub fn fragment_secret(url: &str, key: &str) -> Result<String> {
    let fragment = url
        .split_once('#')
        .map(|(_, fragment)| fragment)
        .with_context(|| format!("no #fragment in {url}"))?;
    fragment
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
        .with_context(|| format!("no {key}= in the fragment of {url}"))
}

/// A minimal HTTP/1.1 request to 127.0.0.1 (`Connection: close`); returns status and body.
pub async fn http_request(
    port: u16,
    method: &str,
    path: &str,
    json_body: Option<&str>,
) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let body = json_body.unwrap_or("");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if json_body.is_some() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.take(16 * 1024 * 1024).read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .context("malformed HTTP answer")?;
    let status: u16 = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .context("malformed HTTP status line")?;
    let chunked = head.lines().any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> Result<String> {
    let mut body = String::new();
    loop {
        let (size_line, after) = rest.split_once("\r\n").context("bad chunk")?;
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .context("bad chunk size")?;
        if size == 0 {
            return Ok(body);
        }
        body.push_str(after.get(..size).context("short chunk")?);
        rest = after.get(size + 2..).context("short chunk")?;
    }
}

/// Open a WebSocket to `ws://127.0.0.1:<port>/ws`.
pub async fn connect(port: u16) -> Result<Ws> {
    let url = format!("ws://127.0.0.1:{port}/ws");
    // Small buffers: the generator may hold thousands of connections.
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .max_message_size(Some(16 * 1024 * 1024));
    let (ws, _) = tokio::time::timeout(
        STEP_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(url, Some(config), true),
    )
    .await
    .context("WebSocket handshake timed out")??;
    Ok(ws)
}

/// Join `room` on an open connection. Returns what the member learned and any frames that
/// arrived before the join finished and belong to the caller (events).
pub async fn join(
    protocol: Protocol,
    ws: &mut Ws,
    room: &RoomPlan,
    how: &JoinAs,
) -> Result<(Identity, Vec<Utf8Bytes>)> {
    tokio::time::timeout(STEP_TIMEOUT, join_inner(protocol, ws, room, how))
        .await
        .context("join timed out")?
}

async fn join_inner(
    protocol: Protocol,
    ws: &mut Ws,
    room: &RoomPlan,
    how: &JoinAs,
) -> Result<(Identity, Vec<Utf8Bytes>)> {
    match protocol {
        Protocol::Relay => {
            let frame = serde_json::json!({ "join": room.name }).to_string();
            ws.send(Message::text(frame)).await?;
            let text = next_text(ws).await?;
            if !text.contains("\"joined\"") {
                bail!("unexpected answer to join: {}", text.as_str());
            }
            Ok((Identity::default(), Vec::new()))
        }
        Protocol::Roundtable => {
            let group = room
                .group
                .as_ref()
                .context("roundtable room without group")?;
            let mut identity = Identity::default();
            let hello = next_text(ws).await?;
            let hello: HelloFrame = serde_json::from_str(&hello).context("parsing hello")?;
            if hello.ty != "hello" {
                bail!("expected hello first, got {}", hello.ty);
            }
            identity.requests_per_second = hello.limits.map(|limits| limits.requests_per_second);

            let (credential, resume) = match how {
                JoinAs::Invite { display_name } => (
                    Credential::Invite {
                        secret: group.invite_secret.clone(),
                        display_name: display_name.clone(),
                        observer: false,
                    },
                    None,
                ),
                JoinAs::Resume {
                    token,
                    meeting_id,
                    seq,
                    log_epoch,
                } => (
                    Credential::MemberToken {
                        token: token.clone(),
                    },
                    Some(ResumePoint {
                        meeting_id: serde_json::from_value(serde_json::json!(meeting_id))?,
                        seq: *seq,
                        log_epoch: log_epoch
                            .as_deref()
                            .map(|epoch| serde_json::from_value(serde_json::json!(epoch)))
                            .transpose()?,
                    }),
                ),
            };
            let request = Request::Join {
                group_id: serde_json::from_value(serde_json::json!(group.group_id))?,
                credential,
                resume,
            };
            let frame = ClientFrame::new(JOIN_REQUEST_ID, request).to_json();
            ws.send(Message::text(frame)).await?;

            let mut pending = Vec::new();
            // Bounded: the whole join has STEP_TIMEOUT, and this many frames at most.
            for _ in 0..100_000 {
                let text = next_text(ws).await?;
                let parsed: RtFrame<'_> = serde_json::from_str(&text)
                    .with_context(|| format!("parsing {}", text.as_str()))?;
                match parsed.ty {
                    "ack" if parsed.id == Some(JOIN_REQUEST_ID) => {
                        let result = parsed.result.context("ack without result")?;
                        identity.member_id = result.member_id.map(str::to_owned);
                        identity.member_token = result.member_token.map(str::to_owned);
                        identity.meeting_id = result.meeting_id.map(str::to_owned);
                        identity.log_epoch = result.log_epoch.map(str::to_owned);
                        identity.replay = result.catch_up == Some("replay");
                        if identity.replay {
                            return Ok((identity, pending));
                        }
                    }
                    "snapshot" if identity.member_id.is_some() => {
                        identity.snapshot_seq = parsed.seq;
                        identity.snapshot = Some(text.clone());
                        return Ok((identity, pending));
                    }
                    "error" => bail!("join refused: {}", text.as_str()),
                    "closing" => bail!("server closed during join: {}", text.as_str()),
                    _ => pending.push(text),
                }
            }
            bail!("join never finished")
        }
    }
}

async fn next_text(ws: &mut Ws) -> Result<Utf8Bytes> {
    // Bounded by the caller's timeout; control frames are skipped.
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text),
            Some(Ok(Message::Close(frame))) => bail!("closed by the server: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(err)) => return Err(err.into()),
            None => bail!("connection ended"),
        }
    }
}

/// The frame member `sender` sends as its `k`-th action.
pub fn action_frame(protocol: Protocol, sender: usize, k: u64, payload_bytes: usize) -> Message {
    match protocol {
        Protocol::Relay => {
            let mut frame = format!("{{\"s\":{sender},\"k\":{k},\"p\":\"");
            let pad = payload_bytes.saturating_sub(frame.len() + 2);
            frame.extend(std::iter::repeat_n('x', pad));
            frame.push_str("\"}");
            Message::text(frame)
        }
        Protocol::Roundtable => {
            // Alternate so every action changes the queue and yields exactly one event.
            let kind = if k.is_multiple_of(2) {
                "raise_hand"
            } else {
                "lower_hand"
            };
            let id = FIRST_ACTION_ID + k;
            Message::text(format!("{{\"v\":1,\"id\":{id},\"type\":\"{kind}\"}}"))
        }
    }
}

/// A frame the generator received, as far as a scenario cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// Relay: the `k`-th action of member `sender`.
    Relay { sender: usize, k: u64 },
    /// Roundtable: a hand event by `member_id`; `raised` tells which of the two.
    Hand {
        seq: u64,
        member_id: &'a str,
        raised: bool,
    },
    /// Roundtable: any other event.
    OtherEvent { seq: u64 },
    /// Roundtable: a snapshot as of `seq`.
    Snapshot { seq: u64 },
    /// An acknowledgement of a request.
    Ack,
    /// The server reported an error or is closing the connection.
    Error,
    /// Anything else (the relay's join answer, hello).
    Other,
}

/// Parse one received text frame.
pub fn parse_incoming(protocol: Protocol, text: &str) -> Result<Incoming<'_>> {
    match protocol {
        Protocol::Relay => {
            if let Ok(relay) = serde_json::from_str::<RelayFrame>(text) {
                return Ok(Incoming::Relay {
                    sender: relay.s,
                    k: relay.k,
                });
            }
            Ok(Incoming::Other)
        }
        Protocol::Roundtable => {
            let frame: RtFrame<'_> = serde_json::from_str(text)?;
            Ok(match frame.ty {
                "event" => {
                    let seq = frame.seq.context("event without seq")?;
                    let event = frame.event.context("event without event")?;
                    match (event.kind, event.member_id) {
                        ("hand_raised", Some(member_id)) => Incoming::Hand {
                            seq,
                            member_id,
                            raised: true,
                        },
                        ("hand_lowered", Some(member_id)) => Incoming::Hand {
                            seq,
                            member_id,
                            raised: false,
                        },
                        _ => Incoming::OtherEvent { seq },
                    }
                }
                "snapshot" => Incoming::Snapshot {
                    seq: frame.seq.context("snapshot without seq")?,
                },
                "ack" => Incoming::Ack,
                "error" | "closing" => Incoming::Error,
                _ => Incoming::Other,
            })
        }
    }
}

#[derive(Deserialize)]
struct RelayFrame {
    s: usize,
    k: u64,
}

#[derive(Deserialize)]
struct HelloFrame {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    limits: Option<HelloLimits>,
}

#[derive(Deserialize)]
struct HelloLimits {
    requests_per_second: u32,
}

/// The fields of any Roundtable server frame the generator looks at.
#[derive(Deserialize)]
struct RtFrame<'a> {
    #[serde(rename = "type")]
    ty: &'a str,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default, borrow)]
    event: Option<RtEvent<'a>>,
    #[serde(default, borrow)]
    result: Option<RtResult<'a>>,
}

#[derive(Deserialize)]
struct RtEvent<'a> {
    kind: &'a str,
    #[serde(default)]
    member_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct RtResult<'a> {
    #[serde(default)]
    member_id: Option<&'a str>,
    #[serde(default)]
    member_token: Option<&'a str>,
    #[serde(default)]
    meeting_id: Option<&'a str>,
    #[serde(default)]
    catch_up: Option<&'a str>,
    #[serde(default)]
    log_epoch: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_frames_round_trip_and_are_padded() {
        let Message::Text(frame) = action_frame(Protocol::Relay, 7, 42, 110) else {
            panic!("text expected");
        };
        assert_eq!(frame.len(), 110);
        assert_eq!(
            parse_incoming(Protocol::Relay, &frame).unwrap(),
            Incoming::Relay { sender: 7, k: 42 }
        );
        assert_eq!(
            parse_incoming(Protocol::Relay, r#"{"joined":"room-1"}"#).unwrap(),
            Incoming::Other
        );
    }

    #[test]
    fn roundtable_actions_alternate_and_events_parse() {
        let Message::Text(first) = action_frame(Protocol::Roundtable, 0, 0, 0) else {
            panic!("text expected");
        };
        let Message::Text(second) = action_frame(Protocol::Roundtable, 0, 1, 0) else {
            panic!("text expected");
        };
        assert_eq!(first.as_str(), r#"{"v":1,"id":1000,"type":"raise_hand"}"#);
        assert_eq!(second.as_str(), r#"{"v":1,"id":1001,"type":"lower_hand"}"#);
        let event = r#"{"type":"event","seq":12,"at_ms":1,"event":{"kind":"hand_raised","member_id":"m-1"}}"#;
        assert_eq!(
            parse_incoming(Protocol::Roundtable, event).unwrap(),
            Incoming::Hand {
                seq: 12,
                member_id: "m-1",
                raised: true
            }
        );
        let presence = r#"{"type":"event","seq":13,"at_ms":1,"event":{"kind":"presence_changed","member_id":"m-1","online":true,"reason":"joined"}}"#;
        assert_eq!(
            parse_incoming(Protocol::Roundtable, presence).unwrap(),
            Incoming::OtherEvent { seq: 13 }
        );
        // Presence is no event: no seq to check.
        let presence = r#"{"type":"presence","online":["m-1"],"change":{"member_id":"m-1","online":true,"reason":"joined"}}"#;
        assert_eq!(
            parse_incoming(Protocol::Roundtable, presence).unwrap(),
            Incoming::Other
        );
        let error = r#"{"type":"error","id":1001,"code":"rate_limited","message":"slow down"}"#;
        assert_eq!(
            parse_incoming(Protocol::Roundtable, error).unwrap(),
            Incoming::Error
        );
    }

    #[test]
    fn secrets_come_from_the_fragment() {
        assert_eq!(
            fragment_secret("http://127.0.0.1:8080/g/abc#invite=s3cret", "invite").unwrap(),
            "s3cret"
        );
        assert!(fragment_secret("http://127.0.0.1:8080/g/abc#invite=x", "facilitator").is_err());
        assert_eq!(
            dechunk("5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n").unwrap(),
            "hello!"
        );
    }
}
