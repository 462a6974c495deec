//! Taking a running server's database away and giving it back, on the backend under test.
//!
//! - PostgreSQL: the server reaches the database through a [`TcpProxy`]; a cut drops every
//!   pooled connection mid-use and refuses new ones until the restore, as a database restart
//!   or a network failure would.
//! - SQLite has no network to cut. Its honest equivalent is another process holding the
//!   database's write lock (`BEGIN EXCLUSIVE` on its own connection, as a backup tool, a
//!   migration or a stuck process would): no write can proceed until the lock is let go. In
//!   WAL mode readers are never blocked, so reads keep being answered; and no other lock can
//!   be taken while the server holds the file open (`locking_mode=EXCLUSIVE`, which would
//!   shut readers out too, needs every other connection closed first).
//!
//! The test's own reads and checks always use the direct URL, never the proxy.

use std::net::{SocketAddr, ToSocketAddrs as _};

use sea_orm::{
    Database, DatabaseConnection,
    sqlx::{Connection as _, Executor as _, sqlite::SqliteConnection},
};

use crate::{helpers::TestDatabase, tcp_proxy::TcpProxy};

/// A test database with a way to take it away from the server.
pub struct CuttableDatabase {
    /// Where the server connects: through the proxy on PostgreSQL, the file on SQLite.
    pub server_url: String,
    way: Way,
    /// Declared last: the proxy and the lock go before the database is dropped.
    database: TestDatabase,
}

enum Way {
    Proxy(TcpProxy),
    /// The connection holding the write lock while cut.
    SqliteLock(Option<SqliteConnection>),
}

impl CuttableDatabase {
    /// A new database for one test (PostgreSQL with `TEST_DATABASE_URL`, else SQLite).
    pub async fn create() -> CuttableDatabase {
        let database = TestDatabase::create().await;
        if database.url.starts_with("sqlite:") {
            return CuttableDatabase { server_url: database.url.clone(), way: Way::SqliteLock(None), database };
        }
        let direct = url::Url::parse(&database.url).expect("the test database's URL parses");
        let proxy = TcpProxy::start(upstream(&direct)).await;
        let mut through_proxy = direct.clone();
        through_proxy.set_host(Some("127.0.0.1")).expect("a postgres URL has a host");
        through_proxy.set_port(Some(proxy.port())).expect("a postgres URL has a port");
        CuttableDatabase { server_url: through_proxy.to_string(), way: Way::Proxy(proxy), database }
    }

    /// True on PostgreSQL, false on SQLite.
    pub fn is_postgres(&self) -> bool {
        matches!(self.way, Way::Proxy(_))
    }

    /// A connection of the test's own, around any cut.
    pub async fn direct(&self) -> DatabaseConnection {
        Database::connect(&self.database.url).await.expect("the test reaches its database directly")
    }

    /// The database at its direct URL, for a server started on it directly.
    pub fn direct_url(&self) -> &str {
        &self.database.url
    }

    /// Takes the database away from the server until [`CuttableDatabase::restore`].
    pub async fn cut(&mut self) {
        match &mut self.way {
            Way::Proxy(proxy) => proxy.cut(),
            Way::SqliteLock(holder) => {
                assert!(holder.is_none(), "the database is already cut");
                let mut connection = SqliteConnection::connect(&self.database.url)
                    .await
                    .expect("the test opens its own connection to the SQLite file");
                // Waits (the default busy timeout) for a write of the server's that is under
                // way, then holds the write lock.
                connection.execute("BEGIN EXCLUSIVE").await.expect("the test takes the write lock");
                *holder = Some(connection);
            }
        }
    }

    /// Gives the database back.
    pub async fn restore(&mut self) {
        match &mut self.way {
            Way::Proxy(proxy) => proxy.restore(),
            Way::SqliteLock(holder) => {
                let mut connection = holder.take().expect("the database was cut");
                connection.execute("ROLLBACK").await.expect("the test lets go of the write lock");
                connection.close().await.expect("the lock's connection closes");
            }
        }
    }
}

/// The address of the PostgreSQL server `url` names.
fn upstream(url: &url::Url) -> SocketAddr {
    let host = url.host_str().unwrap_or("127.0.0.1");
    let port = url.port().unwrap_or(5432);
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .unwrap_or_else(|| panic!("TEST_DATABASE_URL's host {host}:{port} resolves"))
}
