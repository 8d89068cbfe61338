//! How many attempts of each kind are allowed, and what a throttle promises.
//!
//! Nobody who is not the account's owner can keep the owner out: the account-wide limit
//! applies only to browsers that have never signed in to the account. A browser that has
//! (it holds a device cookie from that sign-in) is counted on its own, so a stranger's
//! wrong guesses, from any address, never pause it. Guessing stays slow for everyone:
//! each client address, each account (for new browsers) and each known browser has its
//! own limit, and every attempt is reserved before its password or code is checked.

/// At most `limit` attempts in `window_seconds`; reaching it pauses the key for
/// `pause_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    pub limit: i64,
    pub window_seconds: i64,
    pub pause_seconds: i64,
}

const FIFTEEN_MINUTES: i64 = 15 * 60;

impl ThrottleRule {
    /// Failed sign-ins at one account from browsers that have not signed in to it before.
    pub const SIGN_IN_ACCOUNT: Self = Self::per_quarter_hour(10);
    /// Failed sign-ins from a browser that has signed in to the account before.
    pub const SIGN_IN_KNOWN_DEVICE: Self = Self::per_quarter_hour(10);
    /// Failed sign-ins from one client address, whatever the account. Higher than the
    /// per-account limit because an office may share one address.
    pub const SIGN_IN_ADDRESS: Self = Self::per_quarter_hour(50);
    /// Wrong second-factor codes for one account (the password is already right).
    pub const SECOND_FACTOR: Self = Self::per_quarter_hour(5);
    /// Wrong recovery codes at one account, from browsers new to it.
    pub const RECOVERY_ACCOUNT: Self = Self::per_quarter_hour(10);
    /// Wrong recovery codes from one client address.
    pub const RECOVERY_ADDRESS: Self = Self::per_quarter_hour(30);
    /// Registrations from one client address in an hour: each costs a password hash and
    /// a new key pair.
    pub const REGISTRATION_ADDRESS: Self = Self {
        limit: 10,
        window_seconds: 3600,
        pause_seconds: 3600,
    };

    const fn per_quarter_hour(limit: i64) -> Self {
        Self {
            limit,
            window_seconds: FIFTEEN_MINUTES,
            pause_seconds: FIFTEEN_MINUTES,
        }
    }
}

/// Whole minutes (rounded up) from `now` until `until`, for "wait N minutes".
pub fn minutes_until(now: i64, until: i64) -> i64 {
    ((until - now).max(0) + 59) / 60
}
