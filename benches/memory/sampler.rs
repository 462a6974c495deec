//! The server's `VmRSS` read at a fixed period by a thread of its own, and what the report
//! asks of the samples: the largest in a window, the first at or after a moment.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::anyhow;

use crate::server::status_kib;

/// One reading.
pub struct Sample {
    /// When it was read.
    pub at: Instant,
    /// `VmRSS` in KiB.
    pub kib: u64,
}

/// The running sampler; [`Sampler::finish`] stops it and hands over its samples.
pub struct Sampler {
    /// Set to end the thread's loop. An atomic flag, not a channel: the thread only needs to
    /// see it once a period, and it never waits on it.
    stop: Arc<AtomicBool>,
    thread: JoinHandle<anyhow::Result<Vec<Sample>>>,
}

impl Sampler {
    /// Starts reading the memory of process `pid` every `period`. A thread rather than a task
    /// of the load generator's single-threaded runtime, so the samples keep their period
    /// however busy the clients keep that thread; reading `/proc` blocks only for microseconds.
    pub fn start(pid: u32, period: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            let mut next = Instant::now();
            while !stopped.load(Ordering::Relaxed) {
                samples.push(Sample { at: Instant::now(), kib: status_kib(pid, "VmRSS:")? });
                // Ticks on a fixed schedule: a late reading does not push the later ones back.
                next += period;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            Ok(samples)
        });
        Sampler { stop, thread }
    }

    /// Stops the thread (within one period) and returns every sample, in order; an error when
    /// a reading failed, which means the server died.
    pub fn finish(self) -> anyhow::Result<Vec<Sample>> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().map_err(|_| anyhow!("the sampler thread panicked"))?
    }
}

/// The largest sample taken from `from` to `to`, in KiB; 0 when none was.
pub fn peak(samples: &[Sample], from: Instant, to: Instant) -> u64 {
    samples.iter().filter(|sample| sample.at >= from && sample.at <= to).map(|sample| sample.kib).max().unwrap_or(0)
}

/// The first sample taken at or after `moment`, in KiB.
pub fn first_from(samples: &[Sample], moment: Instant) -> Option<u64> {
    samples.iter().find(|sample| sample.at >= moment).map(|sample| sample.kib)
}
