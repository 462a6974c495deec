//! The one integration-test binary: each module is one feature, all sharing `helpers`.
//! With `TEST_DATABASE_URL` set, every test runs on its own PostgreSQL database.

mod feed;
mod helpers;
mod http_protocol;
mod limits;
mod schema_contract;
mod startup;
mod statement_count;
