//! Time as a value passed in, so that session expiry and the inactivity policy can be
//! tested by moving a clock instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

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

/// The zone times are shown in: one per deployment, set once at start from the
/// configuration (Europe/London until then), so that every page, email and export agrees.
static DISPLAY_ZONE: OnceLock<jiff::tz::TimeZone> = OnceLock::new();

pub const DEFAULT_TIME_ZONE: &str = "Europe/London";

/// Checks an IANA zone name ("Europe/London"); the rules are built in, so this does not
/// depend on the machine's time zone files.
pub fn time_zone(name: &str) -> Result<jiff::tz::TimeZone, String> {
    jiff::tz::TimeZone::get(name)
        .map_err(|_| format!("\"{name}\" is not a time zone name; use one such as Europe/London"))
}

/// Sets the zone times are shown in; the first call wins (a second is a no-op).
pub fn set_display_zone(zone: jiff::tz::TimeZone) {
    let _ = DISPLAY_ZONE.set(zone);
}

fn display_zone() -> &'static jiff::tz::TimeZone {
    DISPLAY_ZONE.get_or_init(|| time_zone(DEFAULT_TIME_ZONE).unwrap_or(jiff::tz::TimeZone::UTC))
}

fn zoned(unix_seconds: i64) -> Option<jiff::ZonedDateTime> {
    let at = jiff::Timestamp::from_second(unix_seconds).ok()?;
    Some(at.to_zoned_datetime(display_zone().clone()))
}

/// "23 November 2026, 18:02 GMT" (or BST in summer): how times are shown to people.
pub fn display_time(unix_seconds: i64) -> String {
    zoned(unix_seconds)
        .map(|at| at.strftime("%-d %B %Y, %H:%M %Z").to_string())
        .unwrap_or_else(|| "unknown time".to_string())
}

/// The machine-readable form for `<time datetime>`: "2026-11-23T18:02:00+00:00".
pub fn iso_time(unix_seconds: i64) -> String {
    zoned(unix_seconds)
        .map(|at| at.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_default()
}

/// The day a moment falls on in the deployment's zone.
pub fn local_date(unix_seconds: i64) -> Option<jiff::civil::Date> {
    zoned(unix_seconds).map(|at| at.date())
}

/// The last second of `day` in the deployment's zone: a date people give ("reply by
/// 5 December") means the whole of that day where they are.
pub fn end_of_local_day(day: jiff::civil::Date) -> Option<i64> {
    let next = day.tomorrow().ok()?;
    let start = next.to_zoned_datetime(display_zone().clone()).ok()?;
    Some(start.timestamp().as_second() - 1)
}

/// "5 December 2026": a day as people write it.
pub fn display_date(unix_seconds: i64) -> String {
    zoned(unix_seconds)
        .map(|at| at.strftime("%-d %B %Y").to_string())
        .unwrap_or_else(|| "unknown date".to_string())
}

/// "5 Dec": a day in a list's mark.
pub fn short_date(unix_seconds: i64) -> String {
    zoned(unix_seconds)
        .map(|at| at.strftime("%-d %b").to_string())
        .unwrap_or_else(|| "unknown date".to_string())
}

/// How a list shows when a message came, as a mail client does: the time for today,
/// the weekday within the last six days, the date otherwise (with the year if not this one).
pub fn short_time(unix_seconds: i64, now: i64) -> String {
    let (Some(at), Some(today)) = (zoned(unix_seconds), zoned(now)) else {
        return "unknown".to_string();
    };
    let days = (today.date() - at.date()).get_days();
    let pattern = if at.date() == today.date() {
        "%H:%M"
    } else if (1..7).contains(&days) && at < today {
        "%a %H:%M"
    } else if at.year() == today.year() {
        "%-d %b"
    } else {
        "%-d %b %Y"
    };
    at.strftime(pattern).to_string()
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

    // 2026-11-23 18:02 UTC, a Monday, in winter (GMT).
    const WINTER: i64 = 1_795_456_920;
    // 2026-07-01 12:00 UTC, in British Summer Time.
    const SUMMER: i64 = 1_782_907_200;

    #[test]
    fn times_are_shown_in_words_in_the_deployment_zone() {
        assert_eq!(display_time(WINTER), "23 November 2026, 18:02 GMT");
        assert_eq!(display_time(SUMMER), "1 July 2026, 13:00 BST");
        assert_eq!(iso_time(SUMMER), "2026-07-01T13:00:00+01:00");
    }

    #[test]
    fn the_clock_change_moves_local_time_not_the_instant() {
        // 25 October 2026: 01:59 BST is followed by 01:00 GMT.
        let before = 1_792_889_940; // 00:59 UTC
        assert_eq!(display_time(before), "25 October 2026, 01:59 BST");
        assert_eq!(display_time(before + 60), "25 October 2026, 01:00 GMT");
    }

    #[test]
    fn lists_show_short_times_relative_to_now() {
        assert_eq!(short_time(WINTER - 3_600, WINTER), "17:02");
        assert_eq!(short_time(WINTER - 86_400, WINTER), "Sun 18:02");
        assert_eq!(short_time(WINTER - 10 * 86_400, WINTER), "13 Nov");
        assert_eq!(short_time(WINTER - 400 * 86_400, WINTER), "19 Oct 2025");
    }

    #[test]
    fn a_day_ends_at_local_midnight_in_summer_and_winter() {
        let winter = jiff::civil::date(2026, 12, 5);
        let summer = jiff::civil::date(2026, 7, 1);
        // 23:59:59 GMT is 23:59:59 UTC; in summer it is 22:59:59 UTC.
        assert_eq!(end_of_local_day(winter), Some(1_796_515_199));
        assert_eq!(end_of_local_day(summer), Some(1_782_946_799));
        assert_eq!(local_date(1_796_515_199), Some(winter));
        assert_eq!(
            local_date(1_796_515_200),
            Some(jiff::civil::date(2026, 12, 6))
        );
        assert_eq!(display_date(1_796_515_199), "5 December 2026");
    }

    #[test]
    fn unknown_zone_names_are_refused_with_an_example() {
        match time_zone("Mars/Olympus") {
            Err(err) => assert!(err.contains("Europe/London"), "{err}"),
            Ok(_) => panic!("an unknown zone was accepted"),
        }
    }
}
