//! argon2id password hashes, and a gate that keeps all password work (argon2 and the
//! scrypt key unwrap) off the async threads and bounded in how much runs at once.

use std::sync::{Arc, LazyLock};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

/// OWASP's recommended minimum for argon2id: 19 MiB, two passes, one lane (≈14 ms here).
fn argon2() -> Argon2<'static> {
    #[allow(clippy::expect_used)]
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
}

/// Checks a password against a stored PHC string; a malformed hash never matches.
pub fn verify_password(stored_hash: &str, password: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
        .unwrap_or(false)
}

/// A hash of a password nobody knows, verified against when the account does not exist so
/// that unknown and known addresses cost the same time.
pub static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_password("no account has this password, it only costs time")
        .unwrap_or_else(|_| String::new())
});

/// Runs CPU- and memory-heavy key derivation on the blocking pool, at most `permits` at a
/// time, so a flood of sign-ins queues instead of exhausting memory.
#[derive(Clone)]
pub struct Kdf {
    permits: Arc<Semaphore>,
}

impl Kdf {
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    pub async fn run<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        // The permit moves into the blocking task: if the client goes away and this future
        // is dropped, the work still runs to its end, and still counts against the limit.
        let permit = self.permits.clone().acquire_owned().await?;
        Ok(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    #[allow(clippy::expect_used)]
    async fn the_permit_is_held_until_the_work_ends_even_when_the_caller_leaves() {
        let kdf = Kdf::new(1);
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let kdf = kdf.clone();
            tokio::spawn(async move {
                kdf.run(move || {
                    let _ = started_tx.send(());
                    let _ = finish_rx.recv();
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv())
            .await
            .expect("join")
            .expect("the work started");
        // The caller goes away (a client that disconnected): its future is dropped.
        first.abort();
        let _ = first.await;
        assert_eq!(
            kdf.permits.available_permits(),
            0,
            "the running work still holds its permit"
        );
        finish_tx.send(()).expect("finish");
        let second = tokio::time::timeout(std::time::Duration::from_secs(5), kdf.run(|| 7))
            .await
            .expect("the permit came back when the work ended")
            .expect("ran");
        assert_eq!(second, 7);
    }

    #[test]
    fn verifies_only_the_right_password() -> Result<(), argon2::password_hash::Error> {
        let hash = hash_password("correct horse battery")?;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse batterY"));
        assert!(!verify_password("not a hash", "correct horse battery"));
        Ok(())
    }

    #[test]
    fn dummy_hash_is_a_real_hash() {
        assert!(DUMMY_HASH.starts_with("$argon2id$"));
        assert!(!verify_password(&DUMMY_HASH, ""));
    }
}
