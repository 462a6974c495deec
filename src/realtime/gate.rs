//! Polls a source only after it asked to be polled.
//!
//! A socket's task waits on several sources at once (its socket, its operations, its timer,
//! close requests). `select!` polls every one of them on every wake, and polling an idle
//! socket read or a broadcast listener is not free: a read attempt through three layers, a
//! lock on the topic shared with every other listener. With 10,000 sockets woken for their
//! pings that adds up (`cargo bench --bench sockets`). A [`Gate`] hands its source a waker of
//! its own and lets the poll through only once that waker fired.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Waker},
};

use futures_util::task::{ArcWake, AtomicWaker, waker};

/// Set when the source woke; wakes the task that polls the gate.
struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl ArcWake for Flag {
    fn wake_by_ref(flag: &Arc<Self>) {
        flag.woken.store(true, Ordering::Release);
        flag.task.wake();
    }
}

/// One source's gate.
pub struct Gate {
    flag: Arc<Flag>,
    /// The waker the source is polled with.
    waker: Waker,
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    /// A gate that lets the first poll through.
    pub fn new() -> Self {
        let flag = Arc::new(Flag { woken: AtomicBool::new(true), task: AtomicWaker::new() });
        Self { waker: waker(flag.clone()), flag }
    }

    /// Lets the next poll through (the source changed without waking, say a stream was added).
    pub fn open(&self) {
        self.flag.woken.store(true, Ordering::Release);
    }

    /// Polls the source with `poll` if it woke since its last `Pending`; otherwise `Pending`.
    pub fn poll<T>(&self, cx: &mut Context<'_>, poll: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> Poll<T> {
        self.flag.task.register(cx.waker());
        if !self.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let result = poll(&mut Context::from_waker(&self.waker));
        if result.is_ready() {
            // A source that had one item ready may have more; it is not woken for those.
            self.open();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::{future::poll_fn, pin::pin};

    use futures_util::{FutureExt as _, StreamExt as _};

    use super::*;

    #[tokio::test]
    async fn a_source_is_polled_again_only_after_it_woke() {
        let gate = Gate::new();
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let polls = std::cell::Cell::new(0);
        let mut next = |gate: &Gate| {
            poll_fn(|cx| {
                gate.poll(cx, |cx| {
                    polls.set(polls.get() + 1);
                    receiver.poll_recv(cx)
                })
            })
            .now_or_never()
        };
        assert_eq!(next(&gate), None, "first poll goes through and finds nothing");
        assert_eq!(next(&gate), None);
        assert_eq!(polls.get(), 1, "not polled again before it woke");
        sender.send(7).expect("open");
        assert_eq!(next(&gate), Some(Some(7)), "a wake lets the poll through");
        assert_eq!(next(&gate), None, "after an item it is polled again, in case more wait");
        assert_eq!(polls.get(), 3);
        gate.open();
        assert_eq!(next(&gate), None);
        assert_eq!(polls.get(), 4, "open lets one poll through");
        let mut stream = pin!(futures_util::stream::iter([1]));
        assert_eq!(poll_fn(|cx| Gate::new().poll(cx, |cx| stream.poll_next_unpin(cx))).await, Some(1));
    }
}
