//! The SMTP client under [`super::transport`]: the relay `SMTP_URL` names, and the one
//! connection kept open between two deliveries.
//!
//! lettre's pooled transport is not used, for two failures seen with misbehaving servers:
//! when a delivery is cut short by its time limit, lettre's pool takes the connection back
//! in the middle of a command, so the next mail on it reads the previous command's late
//! reply; and closing a connection waits for the server's answer to `QUIT` with no time
//! limit, so a server that stalls keeps a task and a socket for as long as it stalls. Here a
//! connection goes back into the cache only after a complete delivery: one that fails, times
//! out or is cancelled is dropped with its socket, and nothing waits for a `QUIT` reply
//! except [`Relay::close`], under a time limit.
//!
//! Stale connections: relays and NAT gateways drop idle connections, sometimes without a
//! word. A cached connection is used again only if it has been idle less than [`MAX_IDLE`]
//! and answers `NOOP` within [`PROBE_TIMEOUT`]; otherwise it is dropped and a new one is
//! opened in the same attempt, so a stale connection costs a moment, never an attempt.

use std::{
    sync::{Mutex, PoisonError},
    time::Duration,
};

use lettre::{
    Message,
    address::Envelope,
    transport::smtp::{
        Error, SMTP_PORT, SUBMISSION_PORT, SUBMISSIONS_PORT,
        authentication::{Credentials, DEFAULT_MECHANISMS},
        client::{AsyncSmtpConnection, Tls, TlsParameters},
        extension::ClientId,
    },
};
use tokio::time::Instant;
use url::Url;

/// How long a connection may sit idle and still be used again. A burst of mail shares one
/// connection; between bursts it is closed rather than kept for minutes, which is when
/// servers and gateways drop idle connections (Postfix under load: after 10 s of silence).
pub const MAX_IDLE: Duration = Duration::from_secs(30);

/// The longest wait for a cached connection's answer to `NOOP` before it counts as stale.
/// A live server answers in milliseconds; the rest of the delivery's time limit is left for
/// a new connection.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// One SMTP relay, as `SMTP_URL` describes it.
pub struct Relay {
    host: String,
    port: u16,
    tls: Tls,
    credentials: Option<Credentials>,
    /// The name sent with `EHLO`: the URL's path, or this machine's host name.
    hello: ClientId,
    /// The TCP connect time limit (lettre bounds nothing else; the caller bounds the rest).
    connect_timeout: Duration,
    /// The connection the last complete delivery left open, and when it went idle. A std
    /// Mutex: it is held only to take or put the connection, never across an await.
    idle: Mutex<Option<Idle>>,
}

struct Idle {
    connection: AsyncSmtpConnection,
    since: Instant,
}

impl Relay {
    /// The relay `url` names, read as lettre's `AsyncSmtpTransport::from_url` reads it (which
    /// is what `config.rs` checks `SMTP_URL` with): `smtp://` on port 25 in plain text,
    /// `?tls=required` or `?tls=opportunistic` (STARTTLS, port 587), `smtps://` (TLS from
    /// the start, port 465), credentials from the URL's user and password, the `EHLO` name
    /// from its path. The error never holds the password.
    pub fn from_url(url: &Url, connect_timeout: Duration) -> Result<Self, String> {
        let host = url.host_str().ok_or("the URL names no host")?.to_string();
        let mode = url.query_pairs().find(|(key, _)| key == "tls").map(|(_, value)| value.into_owned());
        let parameters = || TlsParameters::new(host.clone()).map_err(|error| error.to_string());
        let (default_port, tls) = match (url.scheme(), mode.as_deref()) {
            ("smtp", None) => (SMTP_PORT, Tls::None),
            ("smtp", Some("required")) => (SUBMISSION_PORT, Tls::Required(parameters()?)),
            ("smtp", Some("opportunistic")) => (SUBMISSION_PORT, Tls::Opportunistic(parameters()?)),
            ("smtps", _) => (SUBMISSIONS_PORT, Tls::Wrapper(parameters()?)),
            (scheme, mode) => {
                let expected = "tls= takes required or opportunistic";
                return Err(format!("unknown scheme {scheme:?} or tls={mode:?} ({expected})"));
            }
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        let credentials = match url.password() {
            None => None,
            Some(password) => Some(Credentials::new(
                percent_decoded(url.username()).ok_or("the user name is not UTF-8 once decoded")?,
                percent_decoded(password).ok_or("the password is not UTF-8 once decoded")?,
            )),
        };
        Ok(Self {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            credentials,
            hello,
            connect_timeout,
            idle: Mutex::new(None),
        })
    }

    /// Delivers `message` to the envelope's recipients: on the cached connection if it is
    /// still good, on a new one otherwise. The caller bounds the whole call in time; if it
    /// gives up, the connection in use is dropped with the future.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), Error> {
        let mut connection = match self.reusable().await {
            Some(connection) => connection,
            None => self.connect().await?,
        };
        // On a refusal or an I/O error lettre closes the connection itself; it is dropped here.
        connection.send(envelope, message).await?;
        self.park(connection);
        Ok(())
    }

    /// Delivers `message` to the recipients of its envelope, as [`Relay::send`] does.
    pub async fn send_message(&self, message: &Message) -> Result<(), Error> {
        self.send(message.envelope(), &message.formatted()).await
    }

    /// Says goodbye on the cached connection, if there is one, waiting at most
    /// [`PROBE_TIMEOUT`] for the server's reply.
    pub async fn close(&self) {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(Idle { mut connection, .. }) = idle {
            let _ = tokio::time::timeout(PROBE_TIMEOUT, connection.quit()).await;
        }
    }

    /// The cached connection, if it is recent and answers `NOOP` in time.
    async fn reusable(&self) -> Option<AsyncSmtpConnection> {
        let Idle { mut connection, since } = self.idle.lock().unwrap_or_else(PoisonError::into_inner).take()?;
        if since.elapsed() >= MAX_IDLE {
            tracing::debug!("mail: the SMTP connection was idle too long to trust; opening a new one");
            return None;
        }
        match tokio::time::timeout(PROBE_TIMEOUT, connection.test_connected()).await {
            Ok(true) => Some(connection),
            Ok(false) | Err(_) => {
                tracing::debug!("mail: the SMTP connection went stale (no answer to NOOP); opening a new one");
                None
            }
        }
    }

    /// Keeps `connection` for the next delivery. If another delivery parked one meanwhile,
    /// that one stays and this one closes.
    fn park(&self, connection: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.is_none() {
            *idle = Some(Idle { connection, since: Instant::now() });
        }
    }

    /// A new connection, greeted, encrypted as the URL asks and signed in.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Error> {
        let wrapped = match &self.tls {
            Tls::Wrapper(parameters) => Some(parameters.clone()),
            _ => None,
        };
        let mut connection = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.connect_timeout),
            &self.hello,
            wrapped,
            None,
        )
        .await?;
        match &self.tls {
            Tls::Opportunistic(parameters) if connection.can_starttls() => {
                connection.starttls(parameters.clone(), &self.hello).await?;
            }
            Tls::Required(parameters) => connection.starttls(parameters.clone(), &self.hello).await?,
            _ => {}
        }
        if let Some(credentials) = &self.credentials {
            connection.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(connection)
    }
}

/// `text` with its `%XX` escapes decoded (a URL's user and password); `None` if the result
/// is not UTF-8.
fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(url: &str) -> Result<Relay, String> {
        Relay::from_url(&Url::parse(url).expect("a literal URL"), Duration::from_secs(1))
    }

    #[test]
    fn ports_and_tls_modes_follow_lettres_reading_of_the_url() {
        let cases: &[(&str, u16, &str)] = &[
            ("smtp://mail.example.com", 25, "none"),
            ("smtp://mail.example.com:2525", 2525, "none"),
            ("smtp://mail.example.com?tls=required", 587, "required"),
            ("smtp://mail.example.com?tls=opportunistic", 587, "opportunistic"),
            ("smtps://mail.example.com", 465, "wrapper"),
        ];
        for (url, port, mode) in cases {
            let relay = relay(url).expect(url);
            let actual = match relay.tls {
                Tls::None => "none",
                Tls::Opportunistic(_) => "opportunistic",
                Tls::Required(_) => "required",
                Tls::Wrapper(_) => "wrapper",
            };
            assert_eq!((relay.port, actual), (*port, *mode), "{url}");
        }
    }

    #[test]
    fn an_unknown_tls_mode_is_refused_without_the_password() {
        let error = relay("smtp://mailer:hunter2@mail.example.com?tls=sometimes").err().expect("refused");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn credentials_are_percent_decoded() {
        assert!(relay("smtp://mailer:p%40ss%2Fword@mail.example.com").expect("valid").credentials.is_some());
        assert!(relay("smtp://mail.example.com").expect("valid").credentials.is_none());
        assert_eq!(percent_decoded("p%40ss%2Fw%rd%").as_deref(), Some("p@ss/w%rd%"));
        assert_eq!(percent_decoded("%FF"), None, "not UTF-8");
    }

    #[test]
    fn the_path_names_the_client_in_ehlo() {
        let relay = relay("smtp://mail.example.com/app.example.com").expect("valid");
        assert_eq!(relay.hello.to_string(), "app.example.com");
    }
}
