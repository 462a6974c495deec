//! Skipping, once, the live events a subscription's backlog already sent.
//!
//! A subscription that sends a backlog listens before it reads it (so nothing committed in
//! between is lost); an event committed just before the read is then both in the backlog and
//! heard live. Its id is kept here to skip it when it is heard.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use uuid::Uuid;

/// How long after the backlog read a backlog row may still be heard live.
///
/// A row is published right after its transaction commits, with no await in between, so one
/// committed before the backlog read is heard within moments of it, if at all. The ids kept
/// to skip such repeats are dropped once this has passed (or once every one of them was
/// heard), so a long-lived subscription does not hold them for ever. The window is generous
/// because outliving it costs one duplicate, never a loss.
pub const REPEAT_WINDOW: Duration = Duration::from_secs(30);

/// Backlog ids that may still be heard live, to skip them when they are.
pub struct Repeats {
    /// `None` once nothing can repeat any more.
    ids: Option<HashSet<Uuid>>,
    /// When the ids stop being worth keeping (see [`REPEAT_WINDOW`]).
    until: Instant,
}

impl Repeats {
    /// Keeps `ids`, the backlog just read, for [`REPEAT_WINDOW`].
    pub fn new(ids: HashSet<Uuid>) -> Self {
        Self { ids: (!ids.is_empty()).then_some(ids), until: Instant::now() + REPEAT_WINDOW }
    }

    /// Whether `id` was sent in the backlog. Each id is heard at most once, so a match is
    /// forgotten at once.
    pub fn was_sent(&mut self, id: Uuid) -> bool {
        let Some(ids) = &mut self.ids else { return false };
        let sent = ids.remove(&id);
        if ids.is_empty() || Instant::now() >= self.until {
            self.ids = None;
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backlog_id_is_skipped_once_and_then_forgotten() {
        let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
        let mut repeats = Repeats::new(HashSet::from([first, second]));
        assert!(repeats.was_sent(first));
        assert!(!repeats.was_sent(first), "an id is heard at most once");
        assert!(!repeats.was_sent(Uuid::now_v7()), "a new row is not a repeat");
        assert!(repeats.was_sent(second));
        assert!(repeats.ids.is_none(), "nothing is kept once every id was heard");
    }

    #[test]
    fn backlog_ids_are_dropped_after_the_window() {
        let kept = Uuid::now_v7();
        let mut repeats = Repeats::new(HashSet::from([kept, Uuid::now_v7()]));
        repeats.until = Instant::now();
        assert!(!repeats.was_sent(Uuid::now_v7()));
        assert!(repeats.ids.is_none(), "a live event after the window drops the ids");
    }
}
