//! argon2id password hashing, always off the async runtime and never more at once than
//! `HASH_CONCURRENCY`: a hash takes ~15 ms of CPU and 19 MiB, and two at once on two cores
//! fight over cache and starve every other request.

use std::{
    cell::RefCell,
    sync::{Arc, Mutex, PoisonError},
};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{
        PasswordHasher as _,
        phc::{Output, PasswordHash},
    },
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

/// Hashes `password` into a PHC string (blocking; call from the blocking pool).
pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    // The salt comes from the OS random source (argon2's `getrandom` feature).
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

thread_local! {
    /// argon2's working memory (19 MiB at our parameters), kept by each hashing thread.
    ///
    /// Allocated afresh for every verification, glibc sometimes hands those 19 MiB back to
    /// the kernel each time, and every login then pays ~4,800 page faults: a third of the
    /// login rate, in about one server start of five (`cargo bench --bench auth`).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Checks `password` against a PHC string (blocking), in this thread's kept memory.
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
    MEMORY
        .with_borrow_mut(|memory| {
            memory.resize(blocks, Block::default());
            argon2.hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut output,
                &mut memory[..blocks],
            )
        })
        .map_err(|e| error(&e))?;
    // `Output`'s equality runs in constant time.
    Ok(Output::new(&output).map_err(|e| error(&e))? == *expected)
}

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
