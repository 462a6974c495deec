//! Faults and abuse: the database going away, mail servers misbehaving, the process killed
//! mid-write, hostile input and panics. Each module owns one kind of fault, but for what the
//! database and kill tests share: `server_process` (the server as a child process),
//! `database_cut` (taking its database away), `load` (writes and their answers) and `ledger`
//! (holding the database to those answers).

mod database_away;
mod database_cut;
mod database_outage;
mod database_restart;
mod hostile_input;
mod hostile_requests;
mod killed_mid_write;
mod ledger;
mod load;
mod mail_server;
mod panics;
mod server_process;
mod smtp_faults;
mod strategies;
mod tokens;
