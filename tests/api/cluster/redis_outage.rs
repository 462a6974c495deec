//! Redis goes away from every instance and comes back: no instance restarts, and every
//! subscriber ends up with every message exactly once, in order; new messages flow again
//! within 5 seconds of the restore.

use std::time::Duration;

use tokio::time::Instant;

use super::{
    DELIVERY, SETTLE,
    instances::{A, B, C, Cluster},
    room::{assert_exactly_once_in_order, create_room, history, listen, send, try_send},
};

/// Time between two messages sent during the outage.
const PACE: Duration = Duration::from_millis(300);

/// The contract's bound from Redis returning to new events flowing.
const RESUMED_WITHIN: Duration = Duration::from_secs(5);

/// Files a message sent while Redis may be away under `sent` or `refused`. The database is
/// up, so storing it may well succeed; an instance that refuses must say why in the
/// contract's terms.
fn record(sent: &mut Vec<String>, refused: &mut Vec<String>, body: String, outcome: Result<(), String>) {
    match outcome {
        Ok(()) => sent.push(body),
        Err(code) => {
            assert_eq!(code, "SERVICE_UNAVAILABLE", "{body}: refused with an unexpected error");
            refused.push(body);
        }
    }
}

/// Three instances, one subscriber on each; messages go through every instance in turn
/// before, during (`outage` long) and after a cut of every instance's Redis.
async fn every_message_arrives_once_in_order_across(outage: Duration) {
    let Some(cluster) = Cluster::start(3).await else { return };
    let users =
        [cluster[A].signed_up("ann").await, cluster[B].signed_up("bob").await, cluster[C].signed_up("cat").await];
    let room = create_room(&cluster[A], &users[0], "general").await;
    let mut listeners = Vec::new();
    for (index, name) in [(A, "ann"), (B, "bob"), (C, "cat")] {
        listeners.push(listen(&cluster[index], &users[index], name, &room, None).await);
    }

    // Messages the instances acknowledged, in the order sent (one at a time, so that order
    // is the room's order), and those refused while Redis was away.
    let mut sent: Vec<String> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for index in [A, B, C] {
        let body = format!("before via {}", cluster[index].name);
        send(&cluster[index], &users[index], &room, &body).await;
        sent.push(body);
    }

    cluster.cut_redis();
    let cut_at = Instant::now();
    let mut n = 0;
    while cut_at.elapsed() < outage {
        let index = n % 3;
        let body = format!("during {n:03} via {}", cluster[index].name);
        let outcome = try_send(&cluster[index], &users[index], &room, &body).await;
        record(&mut sent, &mut refused, body, outcome);
        n += 1;
        tokio::time::sleep(PACE).await;
    }

    cluster.restore_redis();
    let restored_at = Instant::now();
    for index in [A, B, C] {
        let body = format!("just after the restore via {}", cluster[index].name);
        let outcome = try_send(&cluster[index], &users[index], &room, &body).await;
        record(&mut sent, &mut refused, body, outcome);
    }
    tokio::time::sleep_until(restored_at + RESUMED_WITHIN).await;
    for index in [A, B, C] {
        let body = format!("{RESUMED_WITHIN:?} after the restore via {}", cluster[index].name);
        send(&cluster[index], &users[index], &room, &body).await;
        sent.push(body);
    }

    let deadline = Instant::now() + DELIVERY;
    for listener in &mut listeners {
        let heard = listener.messages(&sent, deadline, SETTLE).await;
        assert_exactly_once_in_order(&listener.who, &heard, &sent);
    }
    let stored = history(&cluster[B], &users[1], &room).await;
    assert_eq!(stored, sent, "the history holds what was acknowledged, nothing refused ({refused:?})");
}

#[tokio::test]
async fn messages_sent_through_every_instance_during_a_3_second_redis_outage_reach_every_subscriber_once_in_order() {
    every_message_arrives_once_in_order_across(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn messages_sent_through_every_instance_during_a_20_second_redis_outage_reach_every_subscriber_once_in_order() {
    every_message_arrives_once_in_order_across(Duration::from_secs(20)).await;
}
