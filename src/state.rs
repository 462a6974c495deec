//! `AppState`: built once per application and handed to axum and to the schema.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::{config::Settings, db::StatementCounter};

/// Everything handlers and resolvers share. Cheap to clone: every field is a handle.
#[derive(Clone)]
pub struct AppState {
    /// The settings the application was built with.
    pub settings: Arc<Settings>,
    /// The database pool.
    pub db: DatabaseConnection,
    /// Counts every SQL statement on `db`.
    pub statements: Arc<StatementCounter>,
    /// Renders the Prometheus text of `/metrics`.
    pub metrics: PrometheusHandle,
    /// Cancelled when the application shuts down; background work and sockets watch it.
    pub shutdown: CancellationToken,
}
