//! Logging (`RUST_LOG`, `LOG_FORMAT=json`), the panic hook that logs panics, and the
//! Prometheus recorder.

use std::{
    backtrace::{Backtrace, BacktraceStatus},
    sync::{Once, OnceLock},
};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// The filter used when `RUST_LOG` is unset.
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn";

/// Installs the global tracing subscriber and the panic hook. Call once, from `main`.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry.with(fmt::layer().json().flatten_event(true).with_current_span(true)).init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).init(),
    }
    install_panic_hook();
}

/// The target of the event a panic is logged as.
pub const PANIC_TARGET: &str = "panic";
/// Counts every panic of the process (requests, sockets, background tasks).
pub const PANICS_METRIC: &str = "panics_total";

/// Makes every panic one `ERROR` event with target [`PANIC_TARGET`]: its message, location,
/// thread and (with `RUST_BACKTRACE`) backtrace, inside the span it happened in, so a
/// request's panic carries the request's id. Each also counts in `panics_total`.
///
/// The default hook's stderr print is left out, so a panic is reported once, in the log's
/// format; what caught it (the HTTP layer, the socket task) answers the client and does not
/// log it again. When nothing would record the event (before logging starts, or on a thread
/// without a subscriber, as in the tests) the previous hook prints it instead: a panic is
/// never silent. Installs once, however often it is called.
pub fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            metrics::counter!(PANICS_METRIC).increment(1);
            let recorded =
                tracing::dispatcher::get_default(|dispatch| !dispatch.is::<tracing::subscriber::NoSubscriber>());
            if !recorded {
                previous(info);
                return;
            }
            let message = info.payload_as_str().unwrap_or("a panic without a message");
            let location = info.location().map(ToString::to_string).unwrap_or_default();
            let thread = std::thread::current();
            let thread = thread.name().unwrap_or("unnamed");
            let backtrace = Backtrace::capture();
            if backtrace.status() == BacktraceStatus::Captured {
                tracing::error!(target: PANIC_TARGET, location, thread, %backtrace, "panicked: {message}");
            } else {
                tracing::error!(target: PANIC_TARGET, location, thread, "panicked: {message}");
            }
        }));
    });
}

/// Latency buckets in seconds, from a cached read to a slow write.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process's Prometheus recorder, installed on first use.
///
/// The `metrics` facade has one global recorder per process by design, so every application
/// in the process (several, in the test binary) shares it; each metric is a process total.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .expect("the bucket list is a non-empty constant")
                .install_recorder()
                .expect("only this function installs a recorder, once")
        })
        .clone()
}
