//! Runs the fan-out scenario in a tiny configuration against the real baseline server process:
//! every action must reach every member of its room.

use roundtable_load_tests::peer::{PeerKind, PeerSetup};
use roundtable_load_tests::scenarios::{self, Common, FanoutConfig, IdleConfig};

fn setup() -> PeerSetup {
    let mut setup = PeerSetup::from_env();
    setup.baseline_bin = env!("CARGO_BIN_EXE_baseline").into();
    setup
}

fn common() -> Common {
    Common {
        handshake_concurrency: 8,
        payload_bytes: 110,
    }
}

#[tokio::test]
async fn fanout_against_baseline_delivers_everything() {
    let config = FanoutConfig {
        rooms: 2,
        room_size: 3,
        rate: 200.0,
        duration_s: 1.0,
        drain_s: 5.0,
    };
    let result = scenarios::fanout(PeerKind::Baseline, &setup(), &common(), &config)
        .await
        .expect("fanout runs");
    let phase = &result.phase;
    assert_eq!(phase.sent, 200, "{phase:?}");
    assert_eq!(phase.expected, 200 * 3, "{phase:?}");
    assert_eq!(phase.delivered, phase.expected, "{phase:?}");
    assert!(phase.deliveries_per_s > 0.0, "{phase:?}");
    assert_eq!((phase.errors, phase.anomalies, phase.closed), (0, 0, 0));
    assert!(phase.passed, "{phase:?}");
    assert!(phase.latency.p50_ms > 0.0 && phase.latency.p50_ms <= phase.latency.p99_ms);
}

#[tokio::test]
async fn idle_against_baseline_measures_memory() {
    let config = IdleConfig {
        clients: 20,
        room_size: 5,
        settle_s: 0.2,
    };
    let result = scenarios::idle(PeerKind::Baseline, &setup(), &common(), &config)
        .await
        .expect("idle runs");
    assert_eq!(result.rooms, 4);
    assert_eq!(result.closed, 0);
    assert!(
        result.rss_before_kib > 0 && result.rss_after_kib > 0,
        "{result:?}"
    );
}
