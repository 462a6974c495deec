//! The harness itself: the proxy cuts and restores, instances share the database and the
//! JWT secret, and `/readyz` follows each instance's own link to Redis.

use std::time::Duration;

use serde_json::json;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
    time::Instant,
};

use super::instances::{A, B, Cluster, redis_upstream};
use crate::tcp_proxy::TcpProxy;

/// How long the harness waits for a connection to show what it should.
const WITHIN: Duration = Duration::from_secs(2);

/// Sends a Redis `PING` on `stream`: true when `+PONG` comes back within [`WITHIN`].
async fn pings(stream: &mut TcpStream) -> bool {
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut answer = [0_u8; 7];
    matches!(tokio::time::timeout(WITHIN, stream.read_exact(&mut answer)).await, Ok(Ok(_)) if &answer == b"+PONG\r\n")
}

/// A new connection through `proxy` answers a `PING`.
async fn reachable(proxy: &TcpProxy) -> bool {
    match TcpStream::connect(("127.0.0.1", proxy.port())).await {
        Ok(mut stream) => pings(&mut stream).await,
        Err(_) => false,
    }
}

#[tokio::test]
async fn the_proxy_drops_live_connections_and_refuses_new_ones_until_restored() {
    let Some(upstream) = redis_upstream() else { return };
    let proxy = TcpProxy::start(upstream).await;
    let mut live = TcpStream::connect(("127.0.0.1", proxy.port())).await.expect("the proxy accepts");
    assert!(pings(&mut live).await, "Redis answers through the proxy");
    assert_eq!(proxy.live_connections(), 1);

    proxy.cut();
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(WITHIN, live.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "the live connection ends at the cut");
    assert!(!reachable(&proxy).await, "a new connection gets nothing while cut");

    proxy.restore();
    assert!(reachable(&proxy).await, "Redis answers again after the restore");
}

#[tokio::test]
async fn instances_share_the_database_and_accept_each_others_tokens() {
    let Some(cluster) = Cluster::start(2).await else { return };
    let ann = cluster[A].signed_up("ann").await;
    let me = cluster[B].graphql_as(&ann, "{ me { username } }", json!({})).await;
    assert_eq!(me["data"]["me"]["username"], "ann", "B knows the token A issued: {me}");
    for instance in cluster.instances() {
        assert_eq!(instance.status_of("/healthz").await, 200, "instance {} is healthy", instance.name);
    }
}

#[tokio::test]
async fn readyz_reports_redis_down_only_while_the_instances_own_link_is_cut() {
    let Some(cluster) = Cluster::start(2).await else { return };
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster[B].proxy.live_connections() == 0 {
        assert!(Instant::now() < deadline, "B reaches Redis through REDIS_URL, its own proxy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster[B].proxy.cut();
    cluster[B].reports_redis_down(Duration::from_secs(10)).await;
    assert_eq!(cluster[B].status_of("/healthz").await, 200, "the process itself is fine");
    let (status, body) = cluster[A].readiness().await.expect("A answers /readyz");
    assert_eq!(status, 200, "A's link is intact: {body}");

    cluster[B].proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = cluster[B].readiness().await.expect("B answers /readyz");
        if status == 200 {
            assert_eq!(body["redis"], "ok", "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "B reconnects to Redis by itself after the restore: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
