//! The outbox worker: one background task per instance that delivers queued mail.
//!
//! It wakes when mail is queued (`state.mail_wakeup`), when a retry falls due, and every
//! `MAIL_POLL_INTERVAL_SECONDS` (mail queued by another instance, rows whose claimant died).
//! Its first pass runs at start-up, so mail queued before a restart goes out.
//!
//! Each due row is claimed before it is sent: one conditional UPDATE moves its
//! `next_attempt_at` forward by a lease, and only the worker whose UPDATE changed the row
//! sends it, so several instances share the table without sending a mail twice. A row is
//! marked `sent` only after the SMTP server accepted it. The one window left is between the
//! server's acceptance and that write (a crash, or a shutdown cutting a delivery whose last
//! byte was already sent): the mail then goes out again (at least once, never lost).
//!
//! Failures: a permanent one (5xx, a malformed address) abandons the mail at once; a
//! transient one (no connection, a timeout, 4xx) retries after an exponential back-off with
//! jitter, until `MAIL_MAX_ATTEMPTS` attempts have failed.
//!
//! Before a pass that may find new mail (a wake-up, a poll, start-up), it applies the
//! per-address bound of [`super::bound`]; after delivering a code mail, it gives up the older
//! pending ones of its kind to that address (no dead code arrives after the live one).
//!
//! Metrics: `mail_sent_total`, `mail_retries_total`, `mail_abandoned_total`,
//! `mail_superseded_total`, and the gauge `mail_pending`, recounted at start-up, at each poll
//! and whenever a pass changed what is due.
//!
//! If the transport cannot be built (a malformed `MAIL_FROM`, an unusable `SMTP_URL`),
//! [`spawn`] logs the reason and starts nothing: queued mail stays pending, untouched, until
//! a corrected instance starts.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::time::{Instant, MissedTickBehavior};
use uuid::Uuid;

use super::{
    OutgoingMail,
    transport::{SendError, Transport},
};
use crate::{db, state::AppState};

/// Rows claimed per query. Bounds the memory of one pass; a full batch is followed by
/// another at once.
const BATCH: u64 = 50;

/// How much longer than one delivery's time limit a claim lasts: room for the database
/// writes around the delivery, so a live worker's claim never lapses mid-delivery.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// How long a delivery already under way may finish after shutdown begins. Past this it is
/// dropped and the row released, well within the application's drain timeout.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The shortest wait before another pass when the last one found nothing it could claim.
const IDLE_PAUSE: Duration = Duration::from_millis(100);

/// The longest `last_error` kept: SMTP replies can be long and are for operators only.
const MAX_ERROR_CHARS: usize = 1000;

/// Starts the worker: one task on `state.tasks` that stops when `state.shutdown` is cancelled.
pub fn spawn(state: &AppState) {
    let transport = match Transport::from_settings(&state.settings) {
        Ok(transport) => transport,
        Err(error) => {
            tracing::error!(error = %error, "mail worker not started: queued mail stays pending until this is fixed");
            return;
        }
    };
    tracing::info!(transport = transport.describe(), "mail worker started");
    let state = state.clone();
    state.tasks.clone().spawn(run(state, transport));
}

/// The worker's loop: a pass whenever woken, until shutdown.
async fn run(state: AppState, transport: Transport) {
    let mut ticks = tokio::time::interval(state.settings.mail.poll_interval);
    // After a stall (a slow database), poll once and carry on: no burst of catch-up passes.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The earliest `next_attempt_at` of the pending rows, as last counted: when to wake for
    // a retry. `None` when nothing is pending.
    let mut next_due: Option<Instant> = None;
    loop {
        let due = async {
            match next_due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        // The first tick completes at once: the start-up pass. `polled`: a tick; `fresh`:
        // mail may have been queued since the last pass (a retry falling due adds none).
        let (polled, fresh) = tokio::select! {
            biased;
            () = state.shutdown.cancelled() => break,
            () = state.mail_wakeup.notified() => (false, true),
            _ = ticks.tick() => (true, true),
            () = due => (false, false),
        };
        let started = Instant::now();
        if fresh {
            // A failure here delays no mail: the pass below runs anyway, and the next
            // wake-up or poll tries the bound again.
            if let Err(error) = super::bound::enforce(&state.db, state.settings.mail.max_pending_per_address).await {
                tracing::warn!(error = format!("{error:#}"), "mail: applying the pending-mail bound failed");
            }
        }
        let pass = match deliver_due(&state, &transport).await {
            Ok(pass) => pass,
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "mail: delivery pass failed");
                // The database is likely away: try again after the first back-off rather
                // than at once, so the loop never spins on an error.
                next_due = Some(Instant::now() + state.settings.mail.retry_base);
                continue;
            }
        };
        // The pending rows are counted again only when this pass may have changed what is
        // due next. A pass that just delivered fresh mail leaves the earlier count valid, so
        // delivering costs one claim and one write per mail, and nothing after the last write.
        let recount = polled
            || pass.retried > 0
            || pass.taken > 0
            || pass.interrupted
            || next_due.is_some_and(|at| at <= started);
        if !recount {
            continue;
        }
        match db::outbox::pending_summary(&state.db).await {
            Ok(summary) => {
                metrics::gauge!("mail_pending").set(summary.pending as f64);
                next_due = summary.next_due.map(|at| {
                    let at = instant_at(at, db::now());
                    // Mail is due yet this pass could do nothing (every row it saw was
                    // taken by another worker): pause briefly rather than loop at full speed.
                    if pass.did_nothing() { at.max(Instant::now() + IDLE_PAUSE) } else { at }
                });
            }
            Err(error) => {
                tracing::warn!(error = %error, "mail: counting pending mail failed");
                next_due = Some(Instant::now() + state.settings.mail.retry_base);
            }
        }
    }
    // Bounded like the last delivery: a hung connection must not hold up the shutdown.
    if tokio::time::timeout(SHUTDOWN_GRACE, transport.shutdown()).await.is_err() {
        tracing::warn!("mail: closing SMTP connections timed out");
    }
}

/// What one call of [`deliver_due`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// Mails the server accepted (or the log took).
    pub sent: u32,
    /// Mails that failed for now and wait for another attempt.
    pub retried: u32,
    /// Mails given up on.
    pub abandoned: u32,
    /// Due rows another worker claimed first.
    pub taken: u32,
    /// Shutdown cut the pass short.
    pub interrupted: bool,
}

impl PassReport {
    /// True when no row was delivered, retried or abandoned.
    pub fn did_nothing(&self) -> bool {
        self.sent == 0 && self.retried == 0 && self.abandoned == 0
    }
}

/// Delivers every pending row that is due now and this worker manages to claim. Stops early
/// when the application shuts down.
pub async fn deliver_due(state: &AppState, transport: &Transport) -> anyhow::Result<PassReport> {
    let mut report = PassReport::default();
    loop {
        let ids = db::outbox::due(&state.db, db::now(), BATCH).await.context("finding due mail")?;
        let mut claimed_any = false;
        for &id in &ids {
            if state.shutdown.is_cancelled() {
                report.interrupted = true;
                return Ok(report);
            }
            match deliver_one(state, transport, id).await? {
                Outcome::Taken => {
                    report.taken += 1;
                    continue;
                }
                Outcome::Sent => report.sent += 1,
                Outcome::Retried => report.retried += 1,
                Outcome::Abandoned => report.abandoned += 1,
                Outcome::Interrupted => {
                    report.interrupted = true;
                    return Ok(report);
                }
            }
            claimed_any = true;
        }
        // A full batch may have left due rows behind; a batch other workers took entirely
        // has not, and looping on it would spin.
        if (ids.len() as u64) < BATCH || !claimed_any {
            return Ok(report);
        }
    }
}

/// What happened to one row.
enum Outcome {
    /// Another worker claimed it first.
    Taken,
    Sent,
    Retried,
    Abandoned,
    /// Shutdown cut the delivery short; the row was released.
    Interrupted,
}

/// Claims the row `id`, sends it and records the result.
async fn deliver_one(state: &AppState, transport: &Transport, id: Uuid) -> anyhow::Result<Outcome> {
    let settings = &state.settings.mail;
    let now = db::now();
    let lease = chrono::Duration::from_std(settings.send_timeout + LEASE_MARGIN).context("the mail lease")?;
    let lease_until = now + lease;
    let Some(row) = db::outbox::claim(&state.db, id, now, lease_until).await.context("claiming mail")? else {
        return Ok(Outcome::Taken);
    };
    let mail = OutgoingMail { to: row.recipient, subject: row.subject, body: row.body };

    let send = transport.send(&mail);
    tokio::pin!(send);
    let result = tokio::select! {
        biased;
        result = &mut send => result,
        () = state.shutdown.cancelled() => match tokio::time::timeout(SHUTDOWN_GRACE, &mut send).await {
            Ok(result) => result,
            Err(_) => {
                // Cut short before the server's answer: the mail counts as not sent, and
                // another worker (or the next start) may take it at once.
                db::outbox::release(&state.db, id, lease_until, db::now()).await.context("releasing mail")?;
                tracing::info!(%id, "mail: delivery interrupted by shutdown; the mail stays queued");
                return Ok(Outcome::Interrupted);
            }
        },
    };

    // Counted before this attempt, so this one is number `attempts + 1`.
    let attempt = u32::try_from(row.attempts).unwrap_or(0).saturating_add(1);
    match result {
        Ok(()) => {
            // Before the `sent` mark, which stays the last write for a mail (tests wait for
            // it). A failure here only leaves an older code mail to be sent after this one.
            if let Err(error) = super::bound::after_delivery(&state.db, &mail, row.created_at).await {
                tracing::warn!(error = format!("{error:#}"), "mail: giving up overtaken code mail failed");
            }
            db::outbox::mark_sent(&state.db, id, db::now()).await.context("marking mail sent")?;
            metrics::counter!("mail_sent_total").increment(1);
            tracing::debug!(%id, attempt, transport = transport.describe(), "mail: delivered");
            Ok(Outcome::Sent)
        }
        Err(SendError::Transient(error)) if attempt < settings.max_attempts => {
            let delay = backoff(attempt, settings.retry_base, settings.retry_max, rand::random_range(0.75..=1.25));
            let retry_at = db::now() + chrono::Duration::from_std(delay).context("the mail back-off")?;
            db::outbox::schedule_retry(&state.db, id, &truncated(&error), retry_at)
                .await
                .context("scheduling a mail retry")?;
            metrics::counter!("mail_retries_total").increment(1);
            tracing::info!(%id, attempt, retry_in = ?delay, error = %error, "mail: delivery failed, will retry");
            Ok(Outcome::Retried)
        }
        Err(error) => {
            db::outbox::abandon(&state.db, id, &truncated(&error.to_string())).await.context("abandoning mail")?;
            metrics::counter!("mail_abandoned_total").increment(1);
            let reason = match error {
                SendError::Permanent(_) => "refused for good",
                SendError::Transient(_) => "out of attempts",
            };
            tracing::warn!(%id, to = %mail.to, attempt, error = %error, "mail: abandoned ({reason})");
            Ok(Outcome::Abandoned)
        }
    }
}

/// The wait after the `attempt`-th failure: `base × 2^(attempt-1)`, capped at `max`, times
/// `jitter` (about 0.75 to 1.25, so mails that failed together do not retry together), and
/// never longer than `max`.
pub fn backoff(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    let exponential = base.saturating_mul(1u32 << doublings).min(max);
    exponential.mul_f64(jitter.max(0.0)).min(max)
}

/// The Tokio instant of the wall-clock time `at`; at once if `at` has passed.
fn instant_at(at: DateTime<Utc>, now: DateTime<Utc>) -> Instant {
    Instant::now() + (at - now).to_std().unwrap_or(Duration::ZERO)
}

/// `error` cut to [`MAX_ERROR_CHARS`] characters.
fn truncated(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(2);
    const MAX: Duration = Duration::from_secs(600);

    #[test]
    fn the_back_off_doubles_from_the_base_up_to_the_cap() {
        let waits: Vec<u64> = (1..=10).map(|attempt| backoff(attempt, BASE, MAX, 1.0).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 512, 600]);
    }

    #[test]
    fn jitter_spreads_the_wait_but_never_past_the_cap() {
        assert_eq!(backoff(3, BASE, MAX, 0.75), Duration::from_secs(6));
        assert_eq!(backoff(3, BASE, MAX, 1.25), Duration::from_secs(10));
        assert_eq!(backoff(20, BASE, MAX, 1.25), MAX);
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        assert_eq!(backoff(u32::MAX, BASE, MAX, 1.0), MAX);
        assert_eq!(backoff(0, BASE, MAX, 1.0), BASE);
    }

    #[test]
    fn long_errors_are_cut() {
        assert_eq!(truncated(&"é".repeat(5000)).chars().count(), MAX_ERROR_CHARS);
    }
}
