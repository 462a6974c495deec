//! How a queued mail leaves the server: over SMTP with lettre when `SMTP_URL` is set, or into
//! the log when it is not (development: codes are read from the log). The worker in
//! [`super::worker`] decides when to send and what a failure means for the row; this module
//! only sends one mail and says whether a failure is worth retrying. The SMTP client itself
//! (connections, their reuse, stale ones) is [`super::smtp`].

use std::time::Duration;

use lettre::{
    Message,
    address::AddressError,
    message::{Mailbox, header::ContentType},
};
use url::Url;

use super::{OutgoingMail, smtp::Relay};
use crate::config::Settings;

/// Why a transport could not be built from the settings. Neither message holds a password.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// `MAIL_FROM` is not a mailbox such as `townsquare <no-reply@example.com>`.
    #[error("MAIL_FROM={value:?} is not a mail address: {source}")]
    MailFrom {
        /// The value of `MAIL_FROM`.
        value: String,
        /// What lettre found wrong with it.
        source: AddressError,
    },
    /// `SMTP_URL` cannot be used (an unknown `tls=` value, no host).
    #[error("SMTP_URL ({endpoint}) cannot be used: {reason}")]
    SmtpUrl {
        /// The URL's scheme, host and port: never its credentials.
        endpoint: String,
        /// Why, without the credentials.
        reason: String,
    },
}

/// Why one mail was not delivered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// The server is away, slow, or answered 4xx: the same mail may go through later.
    #[error("{0}")]
    Transient(String),
    /// The mail itself is refused (5xx, a malformed address): retrying cannot help.
    #[error("{0}")]
    Permanent(String),
}

/// Where mail goes: one SMTP relay, or the log.
pub struct Transport {
    /// The sender of every mail (`MAIL_FROM`).
    from: Mailbox,
    /// The time limit of one whole delivery, so a claim's lease outlasts it.
    send_timeout: Duration,
    kind: Kind,
}

enum Kind {
    /// One SMTP relay; a connection is reused between mails, so a burst of mail does not
    /// pay a TLS handshake per message. Boxed: its TLS settings are large and `Log` is empty.
    Smtp {
        relay: Box<Relay>,
        /// `smtp://host:port`, for logs.
        endpoint: String,
    },
    /// `SMTP_URL` is unset: each mail is written to the log and counts as delivered.
    Log,
}

impl Transport {
    /// Builds the transport the settings describe. Nothing connects until the first mail.
    pub fn from_settings(settings: &Settings) -> Result<Self, TransportError> {
        let from = settings
            .mail_from
            .parse::<Mailbox>()
            .map_err(|source| TransportError::MailFrom { value: settings.mail_from.clone(), source })?;
        let send_timeout = settings.mail.send_timeout;
        let kind = match &settings.smtp_url {
            None => Kind::Log,
            Some(url) => {
                let endpoint = endpoint(url);
                // The connect time limit is the only one lettre applies (and only to TCP);
                // `send` bounds the greeting, every command and every reply as one delivery.
                let relay = Relay::from_url(url, send_timeout)
                    .map_err(|reason| TransportError::SmtpUrl { endpoint: endpoint.clone(), reason })?;
                Kind::Smtp { relay: Box::new(relay), endpoint }
            }
        };
        Ok(Self { from, send_timeout, kind })
    }

    /// Where mail goes, safe to log: `smtp://host:port` or `log`.
    pub fn describe(&self) -> &str {
        match &self.kind {
            Kind::Smtp { endpoint, .. } => endpoint,
            Kind::Log => "log",
        }
    }

    /// Delivers `mail`. `Ok` means the SMTP server accepted it (or it was logged). A whole
    /// delivery takes at most `MAIL_SEND_TIMEOUT_SECONDS`; past that it is a transient failure.
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), SendError> {
        let message = self.message(mail)?;
        match &self.kind {
            Kind::Log => {
                tracing::info!(
                    to = %mail.to,
                    subject = %mail.subject,
                    body = %mail.body,
                    "mail written to the log instead of sent (SMTP_URL is unset)"
                );
                Ok(())
            }
            Kind::Smtp { relay, .. } => match tokio::time::timeout(self.send_timeout, relay.send_message(&message))
                .await
            {
                Ok(Ok(())) => Ok(()),
                // A 5xx reply refuses this mail for good; everything else (no connection, a
                // timeout, a TLS hiccup, a 4xx reply) may pass on a later attempt.
                Ok(Err(error)) if error.is_permanent() => Err(SendError::Permanent(error.to_string())),
                Ok(Err(error)) => Err(SendError::Transient(error.to_string())),
                Err(_elapsed) => {
                    Err(SendError::Transient(format!("no answer within {:?} from the SMTP server", self.send_timeout)))
                }
            },
        }
    }

    /// Closes the idle SMTP connection, if any. Nothing to do for the log.
    pub async fn shutdown(&self) {
        if let Kind::Smtp { relay, .. } = &self.kind {
            relay.close().await;
        }
    }

    /// The message lettre sends. A recipient that is not an address fails for good.
    fn message(&self, mail: &OutgoingMail) -> Result<Message, SendError> {
        let to = mail.to.parse::<Mailbox>().map_err(|error| {
            SendError::Permanent(format!("the recipient {:?} is not a mail address: {error}", mail.to))
        })?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.as_str())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|error| SendError::Permanent(format!("the mail cannot be built: {error}")))
    }
}

/// `scheme://host:port` of an SMTP URL: what logs may show. The user, the password and the
/// query are left out, so credentials never reach a log line or an error.
fn endpoint(url: &Url) -> String {
    let host = url.host_str().unwrap_or("(no host)");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(smtp_url: Option<&str>, mail_from: &str) -> Settings {
        let mut settings = Settings::from_lookup(|_| None).expect("the defaults are valid");
        settings.smtp_url = smtp_url.map(|url| Url::parse(url).expect("a literal URL"));
        settings.mail_from = mail_from.to_string();
        settings
    }

    #[tokio::test]
    async fn the_endpoint_never_shows_credentials() {
        let transport = Transport::from_settings(&settings(
            Some("smtp://mailer:hunter2@smtp.example.com:587?tls=required"),
            "townsquare <no-reply@example.com>",
        ))
        .expect("a valid URL");
        assert_eq!(transport.describe(), "smtp://smtp.example.com:587");
    }

    #[tokio::test]
    async fn a_malformed_mail_from_is_refused_when_building() {
        let error = Transport::from_settings(&settings(None, "not an address")).err().expect("refused");
        assert!(matches!(error, TransportError::MailFrom { .. }), "{error}");
    }

    #[tokio::test]
    async fn an_unknown_tls_mode_is_refused_without_leaking_the_password() {
        let error = Transport::from_settings(&settings(
            Some("smtp://mailer:hunter2@smtp.example.com:587?tls=sometimes"),
            "no-reply@example.com",
        ))
        .err()
        .expect("refused");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[tokio::test]
    async fn a_malformed_recipient_fails_for_good() {
        let transport = Transport::from_settings(&settings(None, "no-reply@example.com")).expect("valid");
        let mail = OutgoingMail { to: "nobody".into(), subject: "s".into(), body: "b".into() };
        assert!(matches!(transport.send(&mail).await, Err(SendError::Permanent(_))));
    }

    #[tokio::test]
    async fn the_log_transport_counts_as_delivered() {
        let transport = Transport::from_settings(&settings(None, "no-reply@example.com")).expect("valid");
        let mail = OutgoingMail { to: "ann@example.com".into(), subject: "s".into(), body: "code 123456".into() };
        assert_eq!(transport.send(&mail).await, Ok(()));
    }
}
