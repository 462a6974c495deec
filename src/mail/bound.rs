//! Code mails that a newer one replaced: the bound on pending mail per address,
//! `MAX_PENDING_MAILS_PER_ADDRESS`, and the rule that no code arrives after a newer one.
//!
//! Why a bound: while the SMTP server is away, mail waits in the outbox. Anyone may ask for
//! a password reset for any address (once a minute per address), so an outage of a few hours
//! could pile up hundreds of mails for one person, all sent the moment the server returns.
//!
//! What gives way: a code mail (verification, reset) is useless once a newer one of the same
//! kind is queued for the same address, because `auth::codes::store` keeps one code per
//! purpose and the older code stops working. Past the bound, the oldest such mails are
//! abandoned with the reason [`SUPERSEDED`], oldest first, until the address is back at the
//! bound. The newest mail of each kind, and every mail that carries no code (the "your
//! password was changed" notice), are always kept: a dropped security notice could hide an
//! account takeover. An address may so stay above the bound with mails that must be kept;
//! those are bounded by what causes them (a notice needs a reset with a delivered code).
//!
//! Overtaken codes: retries reorder mail (each row has its own back-off), so after an outage
//! an older code mail could arrive after the newer one, and the user would type the code of
//! the last mail they got and be told it is wrong. So once a code mail is delivered, the
//! older pending ones of its kind to that address are given up ([`OVERTAKEN`]): the last
//! code a user receives is always the live one.
//!
//! Where: in the worker, before a pass that may find new mail, rather than in
//! [`super::enqueue`]. The requests that queue mail answer exactly as before
//! (`requestPasswordReset` says `true` whether or not the address has an account, and
//! whether or not its queue is full), so the bound reveals nothing about accounts and adds
//! nothing to the request's time; and the callers need no setting.
//!
//! A browser user never comes near the default of 5: mail normally leaves within seconds, so
//! an address has 0 or 1 pending mails; only a long outage with repeated "send the code
//! again" clicks reaches it, and then only useless mails go.
//!
//! Metric: `mail_superseded_total` (both rules). Each address trimmed to the bound logs a
//! warning; overtaken codes log at info level, being normal after an outage.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{OutgoingMail, templates};
use crate::db;

/// The `last_error` of a code mail given up past the bound.
pub const SUPERSEDED: &str = "superseded: a newer mail of the same kind to this address replaced it \
                              (more than MAX_PENDING_MAILS_PER_ADDRESS pending)";

/// The `last_error` of a code mail given up because a newer one was delivered first.
pub const OVERTAKEN: &str = "superseded: a newer mail of the same kind to this address was delivered first";

/// Addresses trimmed per call: bounds one call's work; the next call (the next wake-up or
/// poll) takes the rest.
const ADDRESSES_PER_CALL: u64 = 100;

/// Brings every address with more than `bound` pending mails back to the bound as far as
/// superseded code mails allow. Returns how many mails it gave up.
pub async fn enforce(conn: &impl ConnectionTrait, bound: u32) -> anyhow::Result<u64> {
    let crowded = db::outbox::crowded_recipients(conn, bound, ADDRESSES_PER_CALL)
        .await
        .context("finding addresses over the pending-mail bound")?;
    let mut total = 0;
    for recipient in crowded {
        let pending = db::outbox::pending_to(conn, &recipient).await.context("reading an address's pending mail")?;
        let ids = superseded(&pending, bound as usize);
        if ids.is_empty() {
            continue;
        }
        let given_up = db::outbox::give_up(conn, &ids, SUPERSEDED).await.context("giving up superseded mail")?;
        metrics::counter!("mail_superseded_total").increment(given_up);
        tracing::warn!(
            to = %recipient,
            superseded = given_up,
            pending = pending.len(),
            bound,
            "mail: more than MAX_PENDING_MAILS_PER_ADDRESS pending to one address; \
             older code mails replaced by newer ones were given up"
        );
        total += given_up;
    }
    Ok(total)
}

/// After `mail`, queued at `queued_at`, was delivered: gives up the older pending mails of
/// its kind to its address if it is a code mail, so none arrives after it. Returns how many.
pub async fn after_delivery(
    conn: &impl ConnectionTrait,
    mail: &OutgoingMail,
    queued_at: DateTime<Utc>,
) -> anyhow::Result<u64> {
    if !templates::superseded_by_a_newer_one(&mail.subject) {
        return Ok(0);
    }
    let given_up = db::outbox::give_up_older(conn, &mail.to, &mail.subject, queued_at, OVERTAKEN)
        .await
        .context("giving up overtaken code mail")?;
    if given_up > 0 {
        metrics::counter!("mail_superseded_total").increment(given_up);
        tracing::info!(to = %mail.to, superseded = given_up, "mail: older code mails overtaken by a delivered one were given up");
    }
    Ok(given_up)
}

/// Which of `pending` (id and subject, oldest first) to give up so that at most `bound`
/// remain: the oldest mails that [`templates::superseded_by_a_newer_one`] and that have a
/// newer pending mail with the same subject. Fewer when not enough qualify.
pub fn superseded(pending: &[(Uuid, String)], bound: usize) -> Vec<Uuid> {
    let mut excess = pending.len().saturating_sub(bound);
    let mut chosen = Vec::new();
    for (index, (id, subject)) in pending.iter().enumerate() {
        if excess == 0 {
            break;
        }
        let replaced = templates::superseded_by_a_newer_one(subject)
            && pending[index + 1..].iter().any(|(_, newer)| newer == subject);
        if replaced {
            chosen.push(*id);
            excess -= 1;
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::templates::{PASSWORD_CHANGED_SUBJECT as NOTICE, RESET_CODE_SUBJECT as RESET};

    /// Rows with ids 0, 1, 2… in the order given (oldest first).
    fn rows(subjects: &[&str]) -> Vec<(Uuid, String)> {
        subjects.iter().enumerate().map(|(i, subject)| (Uuid::from_u128(i as u128), subject.to_string())).collect()
    }

    fn ids(numbers: &[u128]) -> Vec<Uuid> {
        numbers.iter().copied().map(Uuid::from_u128).collect()
    }

    #[test]
    fn at_or_under_the_bound_nothing_goes() {
        assert!(superseded(&rows(&[RESET, RESET, RESET]), 3).is_empty());
    }

    #[test]
    fn the_oldest_codes_go_first_and_the_newest_stays() {
        assert_eq!(superseded(&rows(&[RESET, RESET, RESET, RESET, RESET]), 3), ids(&[0, 1]));
        assert_eq!(superseded(&rows(&[RESET, RESET, RESET]), 1), ids(&[0, 1]));
    }

    #[test]
    fn notices_and_the_last_code_of_each_kind_are_never_given_up() {
        let verify = crate::mail::templates::VERIFICATION_CODE_SUBJECT;
        let pending = rows(&[NOTICE, verify, RESET, NOTICE, RESET, NOTICE]);
        assert_eq!(superseded(&pending, 2), ids(&[2]), "only the older reset code qualifies");
        assert!(superseded(&rows(&[NOTICE, NOTICE, NOTICE]), 1).is_empty(), "notices stay past the bound");
    }

    #[test]
    fn an_unknown_kind_is_kept() {
        assert!(superseded(&rows(&["Hello", "Hello", "Hello"]), 1).is_empty());
    }
}
