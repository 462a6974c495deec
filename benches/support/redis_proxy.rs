//! A TCP proxy in front of the shared redis-server, one per server instance and run inside
//! the benchmark's process, so a benchmark can cut one instance's Redis (or every
//! instance's) without stopping the Redis server other runs and tests use.
//!
//! While cut, the proxy drops every live connection and every new one the moment it is
//! accepted: to the instance this looks like Redis going away, and its reconnect attempts
//! fail until [`RedisProxy::restore`].

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};

/// A proxy listening on `127.0.0.1:<port>` and forwarding to Redis; stopped when dropped.
pub struct RedisProxy {
    /// The port instances connect to.
    port: u16,
    /// True while cut. A watch channel so every connection task sees a cut at once, and a
    /// task that starts after the cut sees it too (`wait_for` checks the current value first).
    cut: watch::Sender<bool>,
    /// The accept loop; its connection tasks end with the cut or with their connection.
    accepting: JoinHandle<()>,
}

impl RedisProxy {
    /// Starts a proxy on a free port of 127.0.0.1 that forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<RedisProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("the Redis proxy could not bind a port")?;
        let port = listener.local_addr()?.port();
        let (cut, _) = watch::channel(false);
        let accepting = tokio::spawn(accept(listener, upstream, cut.clone()));
        Ok(RedisProxy { port, cut, accepting })
    }

    /// The port instances reach Redis through.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Drops every live connection and every new one until [`RedisProxy::restore`].
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for RedisProxy {
    fn drop(&mut self) {
        self.cut();
        self.accepting.abort();
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, cut: watch::Sender<bool>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors, most likely: wait a little instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        if *cut.borrow() {
            drop(client);
            continue;
        }
        tokio::spawn(forward(client, upstream, cut.subscribe()));
    }
}

/// Copies bytes both ways until either side closes or the proxy is cut.
async fn forward(mut client: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
    // Pub/sub frames are small and latency is what the benchmark measures.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
}
