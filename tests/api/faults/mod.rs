//! Faults and abuse: the database going away, mail servers misbehaving, the process killed
//! mid-write, hostile input and panics. Each module owns one kind of fault.

mod hostile_input;
mod hostile_requests;
mod mail_server;
mod panics;
mod smtp_faults;
mod strategies;
mod tokens;
