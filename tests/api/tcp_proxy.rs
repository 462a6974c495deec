//! A TCP proxy a test can cut and restore, in front of a server other tests share: the
//! cluster suite puts one before Redis for each instance, the faults suite one before
//! PostgreSQL, so a test takes the server away from its own instances only.
//!
//! While cut, the proxy drops every live connection and every new one the moment it is
//! accepted: to the instance this looks like the server going away (its pooled connections
//! die mid-use), and reconnect attempts fail until [`TcpProxy::restore`].

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};

/// A proxy listening on `127.0.0.1:<port>`, forwarding to one upstream; stopped when dropped.
pub struct TcpProxy {
    /// The port instances connect to.
    port: u16,
    /// True while cut. A watch channel so every connection task sees a cut at once, and a
    /// task that starts after the cut sees it too (`wait_for` checks the current value first).
    cut: watch::Sender<bool>,
    /// Connections forwarded right now, shared with the tasks that forward them.
    live: Arc<AtomicUsize>,
    /// The accept loop; its connection tasks end with the cut or with their connection.
    accepting: JoinHandle<()>,
}

impl TcpProxy {
    /// Starts a proxy on a free port of 127.0.0.1 that forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("the proxy binds a free port");
        let port = listener.local_addr().expect("a bound listener has an address").port();
        let (cut, _) = watch::channel(false);
        let live = Arc::new(AtomicUsize::new(0));
        let accepting = tokio::spawn(accept(listener, upstream, cut.clone(), live.clone()));
        TcpProxy { port, cut, live, accepting }
    }

    /// The port instances reach the upstream through.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Drops every live connection and every new one until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }

    /// Connections being forwarded right now.
    pub fn live_connections(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accepting.abort();
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, cut: watch::Sender<bool>, live: Arc<AtomicUsize>) {
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
        tokio::spawn(forward(client, upstream, cut.subscribe(), live.clone()));
    }
}

/// Copies bytes both ways until either side closes or the proxy is cut.
async fn forward(mut client: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>, live: Arc<AtomicUsize>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
    live.fetch_add(1, Ordering::SeqCst);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
    live.fetch_sub(1, Ordering::SeqCst);
}
