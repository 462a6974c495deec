//! argon2id password hashing, always off the async runtime and never more at once than
//! `HASH_CONCURRENCY`: a hash takes ~15 ms of CPU and 19 MiB, and two at once on two cores
//! fight over cache and starve every other request.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};

use tokio::sync::OnceCell;

/// Hashing failed or the blocking pool is gone.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// argon2 refused the input or the stored hash is malformed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The hasher was closed.
    #[error("password hasher closed")]
    Closed,
}

/// argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane): `Argon2::default()`.
fn argon2() -> Argon2<'static> {
    Argon2::default()
}

/// Bytes of salt in a new hash: the PHC string format's recommended 16.
const SALT_BYTES: usize = 16;

/// Hashes `password` into a PHC string (blocking; call from the blocking pool), in kept memory.
pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let error = |e: &dyn std::fmt::Display| PasswordError::Hash(e.to_string());
    // rand's thread generator is a CSPRNG seeded from the OS random source.
    let salt_bytes: [u8; SALT_BYTES] = rand::random();
    let salt = Salt::new(&salt_bytes).map_err(|e| error(&e))?;
    let argon2 = argon2();
    let params = argon2.params().clone();
    let mut output = vec![0_u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    with_kept_memory(params.block_count(), |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut output, memory)
    })
    .map_err(|e| error(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params).map_err(|e| error(&e))?,
        salt: Some(salt),
        hash: Some(Output::new(&output).map_err(|e| error(&e))?),
    };
    Ok(hash.to_string())
}

/// argon2's working memory (19 MiB a hash at our parameters), kept between hashes while they
/// keep coming and handed back once the hasher has been idle (see [`PasswordHasher::new`]).
///
/// Allocated afresh for every hash, glibc sometimes hands those 19 MiB back to the kernel each
/// time, and every login then pays ~4,800 page faults: a third of the login rate, in about one
/// server start of five (`cargo bench --bench auth`). Kept forever, two hashing threads hold
/// 38 MiB that an idle server does not need (`cargo bench --bench memory`).
static KEPT_MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Hashes run since the process started: the idle check's clock.
static HASHES_RUN: AtomicU64 = AtomicU64::new(0);

/// Runs `hash` in `blocks` blocks of kept memory: one buffer per hash running at once.
fn with_kept_memory<T>(blocks: usize, hash: impl FnOnce(&mut [Block]) -> T) -> T {
    HASHES_RUN.fetch_add(1, Ordering::Relaxed);
    let mut memory = KEPT_MEMORY.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_default();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let result = hash(&mut memory[..blocks]);
    KEPT_MEMORY.lock().unwrap_or_else(PoisonError::into_inner).push(memory);
    result
}

/// Hands the kept memory back to the allocator; a hash running now keeps its buffer.
fn release_kept_memory() {
    let released = std::mem::take(&mut *KEPT_MEMORY.lock().unwrap_or_else(PoisonError::into_inner));
    drop(released);
}

/// Checks `password` against a PHC string (blocking), in kept memory.
pub fn verify_blocking(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let error = |e: &dyn std::fmt::Display| PasswordError::Hash(e.to_string());
    let parsed = PasswordHash::new(phc).map_err(|e| error(&e))?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(PasswordError::Hash("the stored hash has no salt or no output".into()));
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(|e| error(&e))?;
    let version = match parsed.version {
        Some(version) => Version::try_from(version).map_err(|e| error(&e))?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(|e| error(&e))?;
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut output = vec![0_u8; expected.len()];
    with_kept_memory(blocks, |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut output, memory)
    })
    .map_err(|e| error(&e))?;
    // `Output`'s equality runs in constant time.
    Ok(Output::new(&output).map_err(|e| error(&e))? == *expected)
}

/// How long the hasher must see no hash before it hands its kept memory back: past a burst of
/// logins, not between two of them.
const RELEASE_MEMORY_AFTER_IDLE: Duration = Duration::from_secs(10);

/// The nice value of hashing threads: request handling outranks hashing for the CPU, so a
/// burst of logins slows logins, not every other request.
const HASHER_NICE: i32 = 10;

/// Hashes waiting for a thread at most; more callers wait to enqueue.
const QUEUE_BOUND: usize = 256;

type Job = Box<dyn FnOnce() + Send>;

/// Runs hashes on `HASH_CONCURRENCY` dedicated threads fed by one bounded queue.
///
/// A thread takes the next hash the moment it finishes one, so the hasher never idles while
/// logins wait (a semaphore around `spawn_blocking` loses a scheduling round-trip between
/// hashes, about a quarter of the throughput here). The threads run at a lower priority, and
/// end when the last handle is dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: tokio::sync::mpsc::Sender<Job>,
    /// A hash of a random password, verified against when an address is unknown so both
    /// answers cost one argon2 verification.
    dummy: Arc<OnceCell<String>>,
}

impl PasswordHasher {
    /// A hasher running `concurrency` hashing threads.
    pub fn new(concurrency: usize) -> Self {
        let (jobs, queue) = tokio::sync::mpsc::channel::<Job>(QUEUE_BOUND);
        // Several threads share one receiver; the lock is held only while one waits for the
        // next job, never while hashing.
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..concurrency.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new().name(format!("password-hasher-{index}")).spawn(move || {
                lower_priority();
                loop {
                    let job = queue.lock().unwrap_or_else(PoisonError::into_inner).blocking_recv();
                    match job {
                        Some(job) => job(),
                        None => break,
                    }
                }
            });
            if let Err(error) = spawned {
                tracing::error!(error = %error, "could not start a password hashing thread");
            }
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(release_memory_when_idle(jobs.downgrade()));
        }
        Self { jobs, dummy: Arc::new(OnceCell::new()) }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.send(job).await.map_err(|_| PasswordError::Closed)?;
        metrics::gauge!("password_hashes_queued").set((QUEUE_BOUND - self.jobs.capacity()) as f64);
        result.await.map_err(|_| PasswordError::Closed)?
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.run(move || hash_blocking(&password)).await
    }

    /// Checks `password` against a stored hash.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, PasswordError> {
        self.run(move || verify_blocking(&password, &phc)).await
    }

    /// Spends one verification's time on a password for an unknown account, so the answer's
    /// timing does not tell whether the address is registered. Always false.
    pub async fn verify_unknown(&self, password: String) -> Result<bool, PasswordError> {
        let dummy = self
            .dummy
            .get_or_try_init(|| async {
                let random: [u8; 16] = rand::random();
                let secret = format!("{random:?}");
                self.run(move || hash_blocking(&secret)).await
            })
            .await?
            .clone();
        self.verify(password, dummy).await.map(|_| false)
    }
}

/// Every [`RELEASE_MEMORY_AFTER_IDLE`], hands the kept memory back if no hash ran since the
/// last look; ends with the hasher.
async fn release_memory_when_idle(hasher: tokio::sync::mpsc::WeakSender<Job>) {
    let mut ticks = tokio::time::interval(RELEASE_MEMORY_AFTER_IDLE);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hashes_seen = HASHES_RUN.load(Ordering::Relaxed);
    loop {
        ticks.tick().await;
        if hasher.upgrade().is_none() {
            return;
        }
        let hashes_now = HASHES_RUN.load(Ordering::Relaxed);
        if hashes_now == hashes_seen {
            release_kept_memory();
        }
        hashes_seen = hashes_now;
    }
}

/// Lowers the calling thread's scheduling priority (Linux: nice is per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `who = 0` names the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, HASHER_NICE);
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::CustomizedPasswordHasher as _;

    use super::*;

    #[test]
    fn the_right_password_verifies_and_a_wrong_one_does_not() {
        let phc = hash_blocking("correct horse battery staple").expect("hashes");
        assert!(verify_blocking("correct horse battery staple", &phc).expect("verifies"));
        assert!(!verify_blocking("correct horse battery stapler", &phc).expect("verifies"));
    }

    #[test]
    fn a_new_hash_is_a_standard_phc_string_that_argon2_itself_verifies() {
        use argon2::password_hash::PasswordVerifier as _;
        let phc = hash_blocking("correct horse battery staple").expect("hashes");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).expect("parses");
        assert!(Argon2::default().verify_password(b"correct horse battery staple", &parsed).is_ok());
        assert_ne!(hash_blocking("correct horse battery staple").expect("hashes"), phc, "a fresh salt each time");
    }

    #[test]
    fn kept_memory_is_handed_back_and_taken_again() {
        let phc = hash_blocking("secret").expect("hashes");
        release_kept_memory();
        assert!(verify_blocking("secret", &phc).expect("verifies in fresh memory"));
        assert!(!KEPT_MEMORY.lock().unwrap().is_empty(), "the buffer is kept after the hash");
    }

    #[test]
    fn hashes_made_with_other_parameters_verify_in_the_same_kept_memory() {
        // Smaller, then default parameters on one thread: the kept memory is resized each time.
        let small = Params::new(8 * 1024, 1, 1, None).expect("valid parameters");
        let salt = b"a-salt-of-16-byt";
        let phc =
            Argon2::default().hash_password_customized(b"secret", salt, None, None, small).expect("hashes").to_string();
        assert!(verify_blocking("secret", &phc).expect("verifies"));
        let default = hash_blocking("secret").expect("hashes");
        assert!(verify_blocking("secret", &default).expect("verifies"));
        assert!(verify_blocking("secret", &phc).expect("verifies again after the memory grew"));
        assert!(verify_blocking("not it", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$").is_err(), "no output");
    }
}
