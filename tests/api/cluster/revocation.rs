//! Revocation crosses instances: a logout through one instance closes the session's sockets
//! on every other one with 4401 within 2 seconds, Redis up or down.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::instances::{A, B, C, Cluster, Instance};
use crate::{
    helpers::TestUser,
    ws_client::{Ended, WAIT, WsClient},
};

/// The contract's bound from a revocation to the close of the session's sockets.
const REVOKED_WITHIN: Duration = Duration::from_secs(2);

/// A socket of `user` on `instance` with a running subscription, as a real client's is.
async fn subscribed(instance: &Instance, user: &TestUser) -> WsClient {
    let mut socket = instance.ws_signed_in(user).await;
    socket.subscribe("presence", "subscription { contactPresence { online } }", json!({})).await;
    assert!(socket.ping_answered(WAIT).await, "the socket on instance {} is served", instance.name);
    socket
}

/// How `socket` ended by `deadline`; panics naming `who` when it is still open.
async fn ended_by(socket: &mut WsClient, who: &str, deadline: Instant) -> Ended {
    let hour = Duration::from_secs(3600);
    tokio::time::timeout_at(deadline, socket.ended(hour))
        .await
        .unwrap_or_else(|_| panic!("{who} is still open {REVOKED_WITHIN:?} after the logout"))
}

/// Logs `user` out through `instance` and returns the moment the logout was answered.
async fn logged_out(instance: &Instance, user: &TestUser) -> Instant {
    let answer = instance.graphql_as(user, "mutation { logout }", json!({})).await;
    assert_eq!(answer["data"]["logout"], true, "{answer}");
    Instant::now()
}

#[tokio::test]
async fn logout_through_one_instance_closes_the_sessions_sockets_on_the_others_with_4401_within_2_seconds() {
    let Some(cluster) = Cluster::start(3).await else { return };
    let ann = cluster[A].signed_up("ann").await;
    let phone = cluster[A].logged_in_again(&ann).await;
    let mut on_b = subscribed(&cluster[B], &ann).await;
    let mut on_c = subscribed(&cluster[C], &ann).await;
    let mut phone_on_b = subscribed(&cluster[B], &phone).await;

    let deadline = logged_out(&cluster[A], &ann).await + REVOKED_WITHIN;
    let (b, c) = tokio::join!(
        ended_by(&mut on_b, "ann's socket on B", deadline),
        ended_by(&mut on_c, "ann's socket on C", deadline)
    );
    let revoked = Ended::Closed(4401, "Session revoked".into());
    assert_eq!(b, revoked, "ann's socket on B");
    assert_eq!(c, revoked, "ann's socket on C");
    assert!(phone_on_b.ping_answered(WAIT).await, "the socket of ann's other session stays open");
}

#[tokio::test]
async fn logout_closes_the_sessions_socket_on_an_instance_cut_off_from_redis_within_2_seconds() {
    let Some(cluster) = Cluster::start(3).await else { return };
    let ann = cluster[A].signed_up("ann").await;
    let mut on_b = subscribed(&cluster[B], &ann).await;
    let mut on_c = subscribed(&cluster[C], &ann).await;

    cluster[B].proxy.cut();
    cluster[B].reports_redis_down(Duration::from_secs(10)).await;

    let deadline = logged_out(&cluster[A], &ann).await + REVOKED_WITHIN;
    let (b, c) = tokio::join!(
        ended_by(&mut on_b, "ann's socket on B (cut off from Redis)", deadline),
        ended_by(&mut on_c, "ann's socket on C", deadline)
    );
    let revoked = Ended::Closed(4401, "Session revoked".into());
    assert_eq!(b, revoked, "ann's socket on B, which has no Redis");
    assert_eq!(c, revoked, "ann's socket on C");
}
