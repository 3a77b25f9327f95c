use super::*;

#[test]
fn the_release_spreads_consecutive_connections_evenly_over_its_window() {
    let mut tenths = [0u32; 10];
    for id in 1..=1_000u64 {
        let at = spread(id);
        assert!((0.0..1.0).contains(&at), "{at} is within the window");
        tenths[(at * 10.0) as usize] += 1;
    }
    for (tenth, count) in tenths.iter().enumerate() {
        assert!(
            (80..=120).contains(count),
            "each tenth of the window lets about 100 of 1,000 go: tenth {tenth} has {count}"
        );
    }
}

/// A fleet of other nodes, for a process in a fleet.
#[derive(Debug)]
struct Others;

#[async_trait::async_trait]
impl Reach for Others {
    fn reaches(&self, _: &str) -> bool {
        true
    }
    async fn holder_gone(&self, _: &str) -> bool {
        false
    }
    fn holder_alive(&self, _: &str) {}
    fn hand_over(self: Arc<Self>, _: GroupId) {}
    fn placed_elsewhere(&self, _: GroupId) -> bool {
        false
    }
}

fn in_a_fleet(limits: &Limits) -> Fleet {
    let fleet = Fleet::new(limits);
    fleet.nodes.set(Arc::new(Others)).expect("set once");
    fleet
}

#[test]
fn the_release_window_grows_with_the_clients_up_to_its_bound() {
    let limits = Limits {
        drain_release_per_second: 1_000,
        ..Limits::default()
    };
    let window = |fleet: &Fleet| fleet.release.get().map(|&(_, window)| window);
    // Without a fleet each room's handover closed its clients: nothing to release.
    let alone = Fleet::new(&limits);
    alone.finish_handover(2_500);
    assert_eq!(window(&alone), Some(Duration::ZERO));
    let fleet = in_a_fleet(&limits);
    assert_eq!(window(&fleet), None, "no release before the handover ends");
    let end = fleet.finish_handover(2_500);
    assert_eq!(window(&fleet), Some(Duration::from_millis(2_500)));
    // Set once: a second end of the handover changes nothing.
    assert_eq!(fleet.finish_handover(10), end);
    assert_eq!(window(&fleet), Some(Duration::from_millis(2_500)));
    let crowded = in_a_fleet(&limits);
    crowded.finish_handover(50_000);
    assert_eq!(window(&crowded), Some(RELEASE_WINDOW_MAX));
}

#[tokio::test]
async fn a_connection_is_let_go_at_its_moment_of_the_window_and_not_before() {
    let limits = Limits {
        drain_release_per_second: 1_000,
        ..Limits::default()
    };
    let fleet = in_a_fleet(&limits);
    let waiting = tokio::spawn({
        let fleet = fleet.clone();
        async move { fleet.release_turn(7, None).await }
    });
    tokio::task::yield_now().await;
    assert!(
        !waiting.is_finished(),
        "nobody is let go before the handover ends"
    );
    fleet.finish_handover(200);
    let (start, window) = *fleet.release.get().expect("the release began");
    let moment = waiting.await.expect("the wait");
    assert_eq!(moment, start + window.mul_f64(spread(7)));
    assert_eq!(fleet.release_moment(7, None), Some(moment));
    // Forwarded from here before the release began: the same moment. Only since after
    // it (a room handed over late): as far into a window from then.
    assert_eq!(fleet.release_moment(7, Some(start)), Some(moment));
    let late = start + Duration::from_secs(3);
    assert_eq!(
        fleet.release_moment(7, Some(late)),
        Some(late + window.mul_f64(spread(7)))
    );
    assert!(
        tokio::time::Instant::now() >= moment,
        "not before its moment"
    );
}

/// The drain's handover places left free.
fn free_places(fleet: &Fleet) -> usize {
    fleet.handovers.available_permits()
}

/// A process of a fleet that drains, `places` rooms handing over at a time.
fn draining(places: usize) -> Fleet {
    let fleet = in_a_fleet(&Limits {
        drain_concurrency: places,
        ..Limits::default()
    });
    fleet.drain();
    fleet
}

#[tokio::test(start_paused = true)]
async fn a_room_handed_over_holds_its_place_until_its_last_keeper_lets_go() {
    let fleet = draining(2);
    let permit = fleet.handover_turn().await.expect("a place");
    assert_eq!(free_places(&fleet), 1);
    let hold = fleet
        .hold_turn(Some(permit), std::time::Instant::now(), None)
        .expect("held");
    // The room's two members here each keep it; the room lets its own go.
    let (first, second) = (Arc::clone(&hold), Arc::clone(&hold));
    drop(hold);
    assert_eq!(free_places(&fleet), 1, "held while members keep it");
    drop(first);
    assert_eq!(free_places(&fleet), 1, "held while one member keeps it");
    drop(second);
    assert_eq!(free_places(&fleet), 2, "free once the last member let go");
    // Its time running out later changes nothing.
    tokio::time::sleep(HANDOVER_HOLD_MAX * 2).await;
    assert_eq!(free_places(&fleet), 2);
    let next = fleet.handover_turn().await.expect("a place");
    let _held = fleet.hold_turn(Some(next), std::time::Instant::now(), None);
    assert_eq!(
        free_places(&fleet),
        1,
        "no hold ran out: the next is held too"
    );
}

#[tokio::test(start_paused = true)]
async fn holds_that_run_out_free_their_places_and_as_many_as_places_end_the_pace() {
    let fleet = draining(2);
    let now = std::time::Instant::now;
    let permit = fleet.handover_turn().await.expect("a place");
    let kept = fleet.hold_turn(Some(permit), now(), None).expect("held");
    tokio::time::sleep(HANDOVER_HOLD_MAX - Duration::from_millis(10)).await;
    assert_eq!(free_places(&fleet), 1, "held until its time runs out");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        free_places(&fleet),
        2,
        "free once its time ran out, though a member still keeps it"
    );
    drop(kept);
    assert_eq!(free_places(&fleet), 2, "freed once only");
    // One slow answer does not end the pace; as many as there are places do.
    let permit = fleet.handover_turn().await.expect("a place");
    let kept = fleet.hold_turn(Some(permit), now(), None).expect("told");
    assert_eq!(free_places(&fleet), 1, "held after one ran out");
    tokio::time::sleep(HANDOVER_HOLD_MAX + Duration::from_millis(10)).await;
    assert_eq!(free_places(&fleet), 2, "and run out too");
    drop(kept);
    let permit = fleet.handover_turn().await.expect("a place");
    let told = fleet.hold_turn(Some(permit), now(), None);
    assert!(
        told.is_some(),
        "the clients are still told when the room stopped"
    );
    assert_eq!(
        free_places(&fleet),
        2,
        "no hold once two ran out: the place frees at once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_drain_holds_places_only_in_its_first_seconds() {
    let fleet = in_a_fleet(&Limits::default());
    fleet.drain();
    let places = free_places(&fleet);
    let now = std::time::Instant::now;
    let permit = fleet.handover_turn().await.expect("a place");
    let early = fleet.hold_turn(Some(permit), now(), None).expect("told");
    assert_eq!(free_places(&fleet), places - 1, "held early in the drain");
    drop(early);
    tokio::time::sleep(PACED_FOR).await;
    let permit = fleet.handover_turn().await.expect("a place");
    let stopped = now();
    let late = fleet.hold_turn(Some(permit), stopped, None).expect("told");
    assert_eq!(
        free_places(&fleet),
        places,
        "held no more late in the drain"
    );
    let late = late.downcast_ref::<TurnHold>().expect("a hold");
    assert_eq!(
        late.stopped_at(),
        stopped,
        "it still says when the room stopped"
    );
    // A room moved away (no drain's place) tells its clients the same.
    assert!(fleet.hold_turn(None, stopped, None).is_some());
}

#[tokio::test]
async fn outside_a_fleet_a_room_handed_over_holds_no_place() {
    let fleet = Fleet::new(&Limits::default());
    fleet.drain();
    let places = free_places(&fleet);
    let permit = fleet.handover_turn().await.expect("a place");
    assert!(
        fleet
            .hold_turn(Some(permit), std::time::Instant::now(), None)
            .is_none(),
        "its clients reconnect"
    );
    assert_eq!(free_places(&fleet), places, "the place frees at once");
}
