//! What the kernel alone charges for loopback TCP, measured in this process with bare sockets:
//! the floor under any server's figures on this machine.
//!
//! On loopback the sender's `send` also runs the receiver's side of TCP (in its softirq), so a
//! server's CPU per message includes work that a real network puts on the client's machine.
//! The benchmarks print this floor next to their figures so a reader can tell the server's
//! own cost from the kernel's.

use std::{
    io::{Read as _, Write as _},
    net::{TcpListener, TcpStream},
};

/// CPU microseconds per call, user and system, of one loopback TCP operation.
#[derive(Debug, Clone, Copy)]
pub struct Floor {
    /// One `send` of the payload, nobody waiting to read it.
    pub send_micros: f64,
    /// One `recv` of a small message already waiting.
    #[allow(dead_code, reason = "the fan-out benchmark reads only the send")]
    pub recv_micros: f64,
}

/// Measures [`Floor`] over `pairs` connected socket pairs, `rounds` sends each.
pub fn measure(payload_bytes: usize, pairs: usize, rounds: usize) -> anyhow::Result<Floor> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let mut servers = Vec::with_capacity(pairs);
    let mut clients = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let client = TcpStream::connect(address)?;
        let (server, _) = listener.accept()?;
        server.set_nodelay(true)?;
        client.set_nodelay(true)?;
        servers.push(server);
        clients.push(client);
    }
    let payload = vec![b'x'; payload_bytes];
    let reply = [0x8a_u8, 0x80, 0, 0, 0, 0]; // a masked, empty pong frame, as a client sends
    let mut buffer = vec![0_u8; payload_bytes.max(64) * rounds];
    let (mut send_seconds, mut recv_seconds) = (0.0, 0.0);
    for _ in 0..rounds {
        let before = own_cpu_seconds();
        for server in &mut servers {
            server.write_all(&payload)?;
        }
        send_seconds += own_cpu_seconds() - before;
        for client in &mut clients {
            client.write_all(&reply)?;
        }
        let before = own_cpu_seconds();
        for server in &mut servers {
            let _ = server.read(&mut buffer[..reply.len()])?;
        }
        recv_seconds += own_cpu_seconds() - before;
    }
    // Drain what the clients were sent, so closing does not reset with data unread.
    for client in &mut clients {
        client.set_nonblocking(true)?;
        while matches!(client.read(&mut buffer), Ok(n) if n > 0) {}
    }
    let calls = (pairs * rounds) as f64;
    Ok(Floor { send_micros: send_seconds / calls * 1e6, recv_micros: recv_seconds / calls * 1e6 })
}

/// This process's user + system CPU time, in seconds, at nanosecond resolution.
fn own_cpu_seconds() -> f64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec; the clock id is a constant Linux knows.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}
