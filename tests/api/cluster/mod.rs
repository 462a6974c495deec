//! The cluster suite: several `townsquare serve` processes sharing one PostgreSQL database
//! and one Redis, each reaching Redis through a proxy the test can cut. Events, presence,
//! revocations and rate limits must cross instances; an instance that dies or loses Redis
//! must not lose or repeat anything.
//!
//! It needs both `TEST_DATABASE_URL` and `TEST_REDIS_URL`; without them every test prints
//! that it skipped and passes, so a plain `cargo test` runs without either server.
//!
//! # Layout
//! - `crate::tcp_proxy`: the cuttable TCP proxy each instance reaches Redis through.
//! - [`instances`]: `Cluster`, the server processes, their logs, kill and restart.
//! - [`redis_keys`]: removes a test's keys from the shared Redis afterwards.
//! - [`room`]: chat operations and a socket reader that runs in the background.
//! - every other module is one family of scenarios.

use std::time::Duration;

mod fan_out;
mod harness;
mod instances;
mod nginx;
mod node_failure;
mod presence;
mod rate_limits;
mod redis_keys;
mod redis_outage;
mod resume;
mod revocation;
mod room;

/// How long an event may take to cross instances before a test fails. The contract bounds
/// no delivery time, so this is generous; the bounds it does set are asserted where they apply.
const DELIVERY: Duration = Duration::from_secs(10);

/// How long a test listens after the last expected event, so a duplicate or a stray event shows.
const SETTLE: Duration = Duration::from_millis(750);
