//! Reserving an attempt under several throttles at once, before anything is checked.
//! What the limits are and what they promise is in `domain::ThrottleRule`.

use crate::crypto::sha256_hex;
use crate::domain::ThrottleRule;
use crate::store::{Reservation, Store, StoreResult};

/// An attempt that may go on to be checked.
#[must_use = "an attempt that succeeds must be given back"]
pub struct Reserved {
    keys: Vec<(String, ThrottleRule)>,
    /// Set when this was the last attempt allowed: if it fails, the person is paused.
    pub paused_until: Option<i64>,
}

/// Reserves one attempt under each key, in order. If any is paused, the ones already
/// reserved are given back and the time the pause ends is returned.
pub async fn reserve(
    store: &Store,
    now: i64,
    keys: Vec<(String, ThrottleRule)>,
) -> StoreResult<Result<Reserved, i64>> {
    let mut reserved = Reserved {
        keys: Vec::with_capacity(keys.len()),
        paused_until: None,
    };
    for (key, rule) in keys {
        match store.reserve_attempt(&key, now, rule).await? {
            Reservation::Granted { paused_until } => {
                reserved.paused_until = reserved.paused_until.max(paused_until);
                reserved.keys.push((key, rule));
            }
            Reservation::Refused { paused_until } => {
                reserved.give_back(store).await?;
                return Ok(Err(paused_until));
            }
        }
    }
    Ok(Ok(reserved))
}

impl Reserved {
    /// The attempt succeeded: it does not count against anyone.
    pub async fn give_back(self, store: &Store) -> StoreResult<()> {
        for (key, rule) in &self.keys {
            store.release_attempt(key, *rule).await?;
        }
        Ok(())
    }
}

/// A throttle key naming what was typed (an email address) without storing it: people
/// type passwords into the wrong field.
pub fn typed_key(purpose: &str, typed: &str) -> String {
    format!(
        "{purpose}:{}",
        &sha256_hex(typed.trim().to_lowercase().as_bytes())[..32]
    )
}
