//! Runs the fan-out scenario in a tiny configuration against the real baseline server process:
//! every action must reach every member of its room.

use roundtable_load_tests::compare::{self, CompareConfig};
use roundtable_load_tests::peer::{PeerKind, PeerSetup};
use roundtable_load_tests::scenarios::{self, Common, FanoutConfig, IdleConfig, RampConfig};

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

#[tokio::test]
async fn compare_ramps_each_peer_once_per_round() {
    let fanout = FanoutConfig {
        rooms: 2,
        room_size: 3,
        rate: 100.0,
        duration_s: 0.5,
        drain_s: 2.0,
    };
    let config = CompareConfig {
        peers: vec![PeerKind::Baseline],
        idle: IdleConfig {
            clients: 6,
            room_size: 3,
            settle_s: 0.1,
        },
        ramp: Some(RampConfig {
            rooms: fanout.rooms,
            room_size: fanout.room_size,
            start_rate: 50.0,
            factor: 2.0,
            step_s: 0.3,
            drain_s: 2.0,
            p99_bound_ms: 1000.0,
            max_steps: 2,
            max_rate: 1000.0,
            time_budget_s: 20.0,
            refine: true,
        }),
        ramp_rounds: 2,
        fanout,
        reconnect: None,
    };
    let report = compare::compare(&setup(), &common(), &config, None)
        .await
        .expect("compare runs");
    assert!(report.passed, "{report:?}");
    let baseline = &report.peers[0];
    assert_eq!(baseline.ramps.len(), 2, "{baseline:?}");
    for ramp in &baseline.ramps {
        // Two steps of 50 and 100 actions/s, far below what the baseline holds.
        assert_eq!(ramp.highest_rate_held, Some(100.0), "{ramp:?}");
        assert_eq!(ramp.steps.len(), 2, "{ramp:?}");
    }
    let table = compare::markdown(&report);
    assert!(table.contains("| 100, 100 |"), "{table}");
    assert!(
        table.contains("ramp baseline, round 2: held 100 actions/s"),
        "{table}"
    );
}
