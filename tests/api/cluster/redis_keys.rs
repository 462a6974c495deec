//! Removes one test's keys from the shared Redis once its instances are gone: each test has a
//! prefix of its own, and nodes that were killed never delete theirs, so without this every
//! run would leave its keys behind. Plain RESP over a socket, as the proxy speaks none of it.

use std::{
    io::{self, BufRead as _, BufReader, Write as _},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

/// Deletes every key in `redis`'s database (at `address`) that starts with `prefix`. Best
/// effort: a key left behind harms no other test, so failures are ignored.
pub fn remove_keys(redis: &url::Url, address: SocketAddr, prefix: &str) {
    let _ = try_remove_keys(redis, address, prefix);
}

/// Deletes the matching keys server-side in one script, so the keys never travel here.
const DELETE_MATCHING: &str = "local keys = redis.call('KEYS', ARGV[1])
for i = 1, #keys, 1000 do redis.call('DEL', unpack(keys, i, math.min(i + 999, #keys))) end
return #keys";

fn try_remove_keys(redis: &url::Url, address: SocketAddr, prefix: &str) -> io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut replies = BufReader::new(stream.try_clone()?);
    if let Some(password) = redis.password() {
        match redis.username() {
            "" => command(&mut stream, &mut replies, &["AUTH", password])?,
            user => command(&mut stream, &mut replies, &["AUTH", user, password])?,
        }
    }
    if let Ok(database) = redis.path().trim_start_matches('/').parse::<u32>() {
        command(&mut stream, &mut replies, &["SELECT", &database.to_string()])?;
    }
    command(&mut stream, &mut replies, &["EVAL", DELETE_MATCHING, "0", &format!("{prefix}*")])
}

/// Sends one command and reads its (one-line) reply; a Redis error becomes an `Err`.
fn command(stream: &mut TcpStream, replies: &mut BufReader<TcpStream>, args: &[&str]) -> io::Result<()> {
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes())?;
    let mut reply = String::new();
    replies.read_line(&mut reply)?;
    if reply.starts_with('-') { Err(io::Error::other(reply)) } else { Ok(()) }
}
