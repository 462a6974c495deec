//! An SMTP server inside the test process (mailin-embedded): each app's mail is delivered to a
//! real SMTP server over TCP, recorded here, and read by the test. A sink can start down (its
//! port reserved, nothing listening) and come up later on the same port, and can refuse
//! chosen recipients with 550.

use std::{
    collections::HashSet,
    net::{Ipv4Addr, TcpListener},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use base64::Engine as _;
use mailin_embedded::{Handler, Response, Server, response};

/// How often `wait_for_mail` looks again.
const POLL: Duration = Duration::from_millis(20);

/// One mail the sink accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope recipients (RCPT TO), as sent.
    pub to: Vec<String>,
    /// The envelope sender (MAIL FROM).
    pub from: String,
    /// The decoded `Subject` header.
    pub subject: String,
    /// The decoded body text, with `\n` line ends.
    pub body: String,
    /// The message exactly as received.
    pub raw: String,
}

/// A running (or not yet running) SMTP server on 127.0.0.1.
pub struct SmtpSink {
    port: u16,
    shared: Arc<Shared>,
    up: AtomicBool,
}

/// What every connection's handler shares. A std Mutex: handlers run on the sink's own
/// threads and nothing awaits while a lock is held.
#[derive(Default)]
struct Shared {
    mails: Mutex<Vec<ReceivedMail>>,
    rejected: Mutex<HashSet<String>>,
}

impl SmtpSink {
    /// A sink listening on a free port now.
    pub fn start() -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port for the SMTP sink");
        let port = listener.local_addr().expect("a bound address").port();
        let sink = Self { port, shared: Arc::default(), up: AtomicBool::new(true) };
        sink.serve(listener);
        sink
    }

    /// A sink that is down: its port was free a moment ago and nothing listens on it, so
    /// connections are refused until [`SmtpSink::bring_up`].
    pub fn down() -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free port for the SMTP sink")
            .port();
        Self { port, shared: Arc::default(), up: AtomicBool::new(false) }
    }

    /// Starts listening on the sink's port.
    pub fn bring_up(&self) {
        assert!(!self.up.swap(true, Ordering::SeqCst), "the SMTP sink on port {} is already up", self.port);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port))
            .unwrap_or_else(|error| panic!("the SMTP sink cannot listen on its port {} again: {error}", self.port));
        self.serve(listener);
    }

    /// `smtp://127.0.0.1:<port>`: plain SMTP, for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Refuses RCPT TO `address` from now on with 550 (a permanent failure).
    pub fn reject(&self, address: &str) {
        self.shared.rejected.lock().unwrap_or_else(PoisonError::into_inner).insert(address.to_lowercase());
    }

    /// Every mail received so far, in order.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.shared.mails.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The mails received so far for `to` (case-insensitive).
    pub fn mails_to(&self, to: &str) -> Vec<ReceivedMail> {
        self.mails().into_iter().filter(|mail| mail.to.iter().any(|rcpt| rcpt.eq_ignore_ascii_case(to))).collect()
    }

    /// The first mail for `to`, waiting up to `timeout` for it to arrive.
    pub async fn wait_for_mail(&self, to: &str, timeout: Duration) -> ReceivedMail {
        self.wait_for_mail_with_subject(to, "", timeout).await
    }

    /// The first mail for `to` whose subject contains `subject` (case-insensitive), waiting up
    /// to `timeout` for it to arrive.
    pub async fn wait_for_mail_with_subject(&self, to: &str, subject: &str, timeout: Duration) -> ReceivedMail {
        let subject = subject.to_lowercase();
        let matching =
            |mails: Vec<ReceivedMail>| mails.into_iter().find(|mail| mail.subject.to_lowercase().contains(&subject));
        self.wait_until(to, timeout, |mails| matching(mails.to_vec())).await
    }

    /// The first `count` mails for `to`, waiting up to `timeout` for them to arrive.
    pub async fn wait_for_count(&self, to: &str, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        self.wait_until(to, timeout, |mails| (mails.len() >= count).then(|| mails[..count].to_vec())).await
    }

    /// Polls the mails for `to` until `found` returns something, or panics after `timeout`.
    async fn wait_until<T>(&self, to: &str, timeout: Duration, found: impl Fn(&[ReceivedMail]) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(result) = found(&self.mails_to(to)) {
                return result;
            }
            if Instant::now() >= deadline {
                let seen: Vec<(Vec<String>, String)> =
                    self.mails().into_iter().map(|mail| (mail.to, mail.subject)).collect();
                panic!(
                    "the mail expected for {to} did not reach the SMTP sink within {timeout:?} (it received {seen:?}); \
                     was the mail queued, and `state.mail_wakeup.notify_one()` called after the commit?"
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Serves `listener` on a thread of its own. mailin-embedded blocks and has no way to
    /// stop, so the thread lives as long as the test process; idle, it costs little.
    fn serve(&self, listener: TcpListener) {
        let handler = Recorder { shared: self.shared.clone(), data: Vec::new() };
        let mut server = Server::new(handler);
        // Four sessions at once: each app keeps one pooled connection open, and a test runs
        // at most a few apps against one sink.
        server.with_name("smtp-sink.test").with_num_threads(4).with_tcp_listener(listener);
        std::thread::Builder::new()
            .name(format!("smtp-sink-{}", self.port))
            .spawn(move || {
                if let Err(error) = server.serve() {
                    eprintln!("the SMTP sink stopped: {error}");
                }
            })
            .expect("a thread for the SMTP sink");
    }
}

/// The per-connection handler (mailin clones it for each session): collects one message's
/// data and records it when the client ends it.
#[derive(Clone)]
struct Recorder {
    shared: Arc<Shared>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn rcpt(&mut self, to: &str) -> Response {
        let rejected = self.shared.rejected.lock().unwrap_or_else(PoisonError::into_inner).contains(&to.to_lowercase());
        if rejected { response::NO_MAILBOX } else { response::OK }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.data.clear();
        // The envelope comes first in the record; the message itself follows in `data`.
        self.data.extend_from_slice(format!("{from}\n{}\n", to.join(",")).as_bytes());
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let record = String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned();
        let mut parts = record.splitn(3, '\n');
        let from = parts.next().unwrap_or_default().to_string();
        let to = parts.next().unwrap_or_default().split(',').map(str::to_string).collect();
        let raw = parts.next().unwrap_or_default().to_string();
        let mail = parse(from, to, raw);
        // Recorded before the 250 reply goes out: once the client knows the mail was
        // accepted, the test can see it.
        self.shared.mails.lock().unwrap_or_else(PoisonError::into_inner).push(mail);
        response::OK
    }
}

/// A message received by another test server (the fault sink of `faults::smtp_faults`),
/// decoded as this sink decodes its own: `from` and `to` from the envelope, `raw` as sent
/// after `DATA`, dot-unstuffed.
pub fn received(from: String, to: Vec<String>, raw: String) -> ReceivedMail {
    parse(from, to, raw)
}

/// Splits a received message into its decoded subject and body.
fn parse(from: String, to: Vec<String>, raw: String) -> ReceivedMail {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    // Unfold continued header lines (a line starting with white space continues the last).
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        match (line.starts_with([' ', '\t']), headers.last_mut()) {
            (true, Some((_, value))) => value.push_str(line),
            _ => {
                if let Some((name, value)) = line.split_once(':') {
                    headers.push((name.trim().to_lowercase(), value.trim().to_string()));
                }
            }
        }
    }
    let header = |name: &str| headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let body = match header("content-transfer-encoding").map(|value| value.to_lowercase()).as_deref() {
        Some("quoted-printable") => decode_quoted_printable(body),
        Some("base64") => decode_base64(body),
        _ => body.to_string(),
    };
    ReceivedMail {
        to,
        from,
        subject: header("subject").map(|subject| decode_encoded_words(&subject)).unwrap_or_default(),
        body: body.replace("\r\n", "\n"),
        raw,
    }
}

/// Decodes a quoted-printable body: `=\r\n` soft line breaks and `=XX` bytes.
fn decode_quoted_printable(text: &str) -> String {
    let text = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|pair| std::str::from_utf8(pair).ok());
        match (bytes[i], hex.and_then(|pair| u8::from_str_radix(pair, 16).ok())) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes a base64 body split over lines.
fn decode_base64(text: &str) -> String {
    let joined: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(joined).expect("a base64 body");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value.
fn decode_encoded_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        let Some((charset_end, encoding, text_end)) = rest[start + 2..].find('?').and_then(|charset| {
            let after = start + 2 + charset + 1;
            let encoding = rest.get(after..after + 1)?;
            let text_end = rest[after + 2..].find("?=")? + after + 2;
            Some((after, encoding, text_end))
        }) else {
            break;
        };
        // White space between two encoded words is not part of the text.
        if out.is_empty() || !rest[..start].trim().is_empty() {
            out.push_str(&rest[..start]);
        }
        let text = &rest[charset_end + 2..text_end];
        match encoding {
            "b" | "B" => out.push_str(&decode_base64(text)),
            _ => out.push_str(&decode_quoted_printable(&text.replace('_', " "))),
        }
        rest = &rest[text_end + 2..];
    }
    out.push_str(rest);
    out
}

/// The first run of six or more digits in the mail's body: the code it carries.
pub fn code_in(mail: &ReceivedMail) -> String {
    let mut run = String::new();
    for c in mail.body.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            run.push(c);
        } else if run.len() >= 6 {
            return run;
        } else {
            run.clear();
        }
    }
    panic!("no code of 6 or more digits in the mail to {:?}: {:?}", mail.to, mail.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_soft_breaks_and_bytes_are_decoded() {
        assert_eq!(decode_quoted_printable("Your code is 12=\r\n3456 caf=C3=A9"), "Your code is 123456 café");
    }

    #[test]
    fn encoded_subjects_are_decoded() {
        assert_eq!(decode_encoded_words("=?utf-8?b?Y2Fmw6k=?="), "café");
        assert_eq!(decode_encoded_words("Hello =?utf-8?q?caf=C3=A9_au_lait?="), "Hello café au lait");
        assert_eq!(decode_encoded_words("plain"), "plain");
    }

    #[test]
    fn the_code_is_the_first_run_of_six_digits() {
        let mail = |body: &str| ReceivedMail {
            to: vec![],
            from: String::new(),
            subject: String::new(),
            body: body.into(),
            raw: String::new(),
        };
        assert_eq!(code_in(&mail("Hi 42,\nYour code is 0123456\nIt expires in 10 minutes")), "0123456");
        assert_eq!(code_in(&mail("123456")), "123456");
    }
}
