//! A connection that does not read its frames is closed with `slow_consumer`; the room goes on.

use std::sync::Arc;
use std::time::Duration;

use roundtable_protocol::{
    CloseReason, Credential, GroupId, MeetingId, PresenceReason, Request, ServerMessage,
};
use roundtable_rules::Command;
use roundtable_rules::state::Group;
use roundtable_server::Limits;
use roundtable_server::clock::SystemClock;
use roundtable_server::metrics::Timed;
use roundtable_server::room::actor::{RoomCommand, RoomContext};
use roundtable_server::room::registry::{JoinArgs, Registry};
use roundtable_server::secrets::new_secret;
use roundtable_server::store::{EmbeddedStore, Snapshot, Store};
use roundtable_server::transport::outbox::{Outbox, OutboxItem};

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let (facilitator_secret, facilitator_secret_hash) = new_secret();
    let (invite_secret, invite_secret_hash) = new_secret();
    let group_id = GroupId::random();
    let meeting_id = MeetingId::random();
    let snapshot = Snapshot::of_new_group(
        Group {
            id: group_id,
            name: "Peers".into(),
            facilitator_secret_hash,
            invite_secret_hash,
            created_at_ms: 0,
            time_zone: None,
            call_url: None,
        },
        meeting_id,
        0,
    );
    store.create_group(group_id, &snapshot).await.unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let limits = Limits {
        outbound_queue_max: 8,
        // The slow member is shown gone at once, not after a grace for coming back (that
        // grace has a test of its own in `rooms`).
        presence_grace_ms: 0,
        ..Limits::default()
    };
    let fleet = roundtable_server::room::fleet::Fleet::new(&limits);
    let registry = Registry::new(RoomContext {
        store,
        limits,
        clock: Arc::new(SystemClock),
        shutdown,
        lease_owner: Arc::from("slow-consumer-test"),
        public_base: Arc::from("http://127.0.0.1:1"),
        fleet,
    });

    // The slow one joins and never reads its queue.
    let slow_outbox = Outbox::new(8);
    let slow_side = slow_outbox.clone();
    let (_, slow) = registry
        .join(
            group_id,
            JoinArgs {
                connection_id: 1,
                request_id: 1,
                credential: Credential::Invite {
                    secret: invite_secret,
                    display_name: "Sleepy".into(),
                    observer: false,
                },
                resume: None,
                outbox: slow_outbox,
            },
        )
        .await
        .unwrap();
    let slow_id = slow.member_id;
    assert!(
        slow.issued_token.is_some(),
        "an invite's join issues the member a token"
    );
    // The facilitator reads everything.
    let outbox = Outbox::new(1024);
    let frames = outbox.clone();
    let (room, _) = registry
        .join(
            group_id,
            JoinArgs {
                connection_id: 2,
                request_id: 1,
                credential: Credential::Facilitator {
                    secret: facilitator_secret,
                    display_name: "Fran".into(),
                    member_token: None,
                },
                resume: None,
                outbox,
            },
        )
        .await
        .unwrap();

    // Hands need a live meeting: the facilitator starts it.
    room.send(RoomCommand::Request {
        connection_id: 2,
        request_id: 1000,
        command: Box::new(Timed::now(Command::StartMeeting, "start_meeting")),
    })
    .await
    .unwrap();
    for request_id in 2..40 {
        let (request, kind) = if request_id % 2 == 0 {
            (Request::RaiseHand, "raise_hand")
        } else {
            (Request::LowerHand, "lower_hand")
        };
        room.send(RoomCommand::Request {
            connection_id: 2,
            request_id,
            command: Box::new(Timed::now(Command::try_from(request).unwrap(), kind)),
        })
        .await
        .unwrap();
    }
    let (reason, message) = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            // The slow side never takes its frames; it only looks for a close request.
            if let Some(request) = slow_side.take_close() {
                return request;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the slow connection is closed in time");
    assert_eq!(reason, CloseReason::SlowConsumer);
    assert!(message.contains("resume"), "{message}");

    // The facilitator is served to the end and sees the slow member go offline.
    let mut saw_offline = false;
    let mut last_ack = 0;
    while last_ack < 39 {
        let OutboxItem::Frame(frame) = tokio::time::timeout(Duration::from_secs(5), frames.next())
            .await
            .expect("frames keep coming")
        else {
            panic!("the facilitator stays connected");
        };
        match serde_json::from_str::<ServerMessage>(frame.text_payload()).unwrap() {
            ServerMessage::Presence(presence) => {
                if let Some(change) = presence.change.filter(|change| !change.online) {
                    assert_eq!(
                        (change.member_id, change.reason),
                        (slow_id, PresenceReason::ConnectionLost)
                    );
                    assert!(!presence.online.contains(&slow_id));
                    saw_offline = true;
                }
            }
            // The start's member_attended events.
            ServerMessage::Event(_) => {}
            // (1000 is the start of the meeting, acknowledged first.)
            ServerMessage::Ack { id, .. } if id != 1000 => last_ack = id,
            ServerMessage::Ack { .. } => {}
            ServerMessage::Snapshot(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        saw_offline,
        "the room records that the slow member's connection was lost"
    );
}
