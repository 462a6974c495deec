//! `roomEvents(after:)` across instances: a subscriber whose socket dropped mid-stream
//! resumes on another instance from the last cursor it saw, with no gap and no duplicate,
//! while messages keep coming through a third.

use tokio::time::Instant;

use super::{
    DELIVERY, SETTLE,
    instances::{A, B, C, Cluster},
    room::{assert_exactly_once_in_order, bodies, create_room, listen, send},
};

#[tokio::test]
async fn a_subscriber_whose_socket_dropped_resumes_on_another_instance_with_no_gap_and_no_duplicate() {
    let Some(cluster) = Cluster::start(3).await else { return };
    let ann = cluster[A].signed_up("ann").await;
    let bob = cluster[B].signed_up("bob").await;
    let room = create_room(&cluster[A], &ann, "general").await;
    let mut sent: Vec<String> = Vec::new();

    let mut bobs = listen(&cluster[B], &bob, "bob", &room, None).await;
    for n in 1..=10 {
        let body = format!("m{n:02}");
        send(&cluster[A], &ann, &room, &body).await;
        sent.push(body);
    }
    // bob reads the first four (and whatever else has already come), then his connection
    // drops without a close frame while the rest are on their way.
    let heard = bobs.messages(&sent[..4], Instant::now() + DELIVERY, std::time::Duration::ZERO).await;
    assert!(heard.len() >= 4, "{} heard {:?} of the first four messages sent through A", bobs.who, bodies(&heard));
    assert_exactly_once_in_order(&bobs.who, &heard, &sent[..heard.len()]);
    let last_seen = heard[heard.len() - 1].cursor.clone();
    bobs.drop_socket();

    for n in 11..=15 {
        let body = format!("m{n:02}");
        send(&cluster[C], &ann, &room, &body).await;
        sent.push(body);
    }
    // bob resumes on C while ann keeps sending through A.
    let more: Vec<String> = (16..=35).map(|n| format!("m{n:02}")).collect();
    let sending = async {
        for body in &more {
            send(&cluster[A], &ann, &room, body).await;
        }
    };
    let (_, mut resumed) =
        tokio::join!(sending, listen(&cluster[C], &bob, "bob after resuming", &room, Some(&last_seen)));
    sent.extend(more);
    send(&cluster[B], &ann, &room, "m36").await;
    sent.push("m36".to_string());

    let missed = &sent[heard.len()..];
    let after = resumed.messages(missed, Instant::now() + DELIVERY, SETTLE).await;
    assert_exactly_once_in_order(&resumed.who, &after, missed);
    let seen: Vec<String> = bodies(&heard).into_iter().chain(bodies(&after)).collect();
    assert_eq!(seen, sent, "both sockets together heard the room once, in order");
}
