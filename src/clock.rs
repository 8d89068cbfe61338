//! Time as a value passed in, so that session expiry and the inactivity policy can be
//! tested by moving a clock instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Unix seconds, UTC.
#[derive(Clone)]
pub struct Clock(Arc<Source>);

enum Source {
    System,
    Manual(AtomicI64),
}

impl Clock {
    pub fn system() -> Self {
        Self(Arc::new(Source::System))
    }

    /// A clock that stands still at `start` until moved; for tests.
    pub fn manual(start: i64) -> Self {
        Self(Arc::new(Source::Manual(AtomicI64::new(start))))
    }

    pub fn now(&self) -> i64 {
        match &*self.0 {
            Source::System => time::OffsetDateTime::now_utc().unix_timestamp(),
            Source::Manual(at) => at.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward; a system clock ignores this.
    pub fn advance(&self, seconds: i64) {
        if let Source::Manual(at) = &*self.0 {
            at.fetch_add(seconds, Ordering::SeqCst);
        }
    }
}

/// "23 November 2026, 18:02 UTC": how times are shown to people.
pub fn display_time(unix_seconds: i64) -> String {
    let format = time::macros::format_description!(
        "[day padding:none] [month repr:long] [year], [hour]:[minute] UTC"
    );
    time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|at| at.format(format).ok())
        .unwrap_or_else(|| "unknown time".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = Clock::manual(1_000);
        assert_eq!(clock.now(), 1_000);
        clock.advance(60);
        assert_eq!(clock.now(), 1_060);
    }

    #[test]
    fn times_are_shown_in_words() {
        assert_eq!(display_time(1_795_456_920), "23 November 2026, 18:02 UTC");
    }
}
