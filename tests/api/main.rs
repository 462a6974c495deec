//! The one integration-test binary: each module is one feature, all sharing `helpers`.
//! With `TEST_DATABASE_URL` set, every test runs on its own PostgreSQL database.

mod accounts;
mod chat;
mod cluster;
mod connections;
mod contacts;
mod error_codes;
mod faults;
mod feed;
mod feed_writes;
mod helpers;
mod http_bounds;
mod http_protocol;
mod introspection;
mod limits;
mod live_notifications;
mod mail;
mod notifications;
mod password_reset;
mod persisted_queries;
mod room_events;
mod schema_contract;
mod sessions;
mod smtp_sink;
mod startup;
mod statement_count;
mod stats;
mod tcp_proxy;
mod web_app;
mod websocket_protocol;
mod ws_client;
