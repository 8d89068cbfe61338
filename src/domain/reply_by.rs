//! Reply-by dates: a sender asking for an answer by a day, and how each copy of such a
//! letter stands (waiting, answered, no reply needed, overdue).

use super::Invalid;
use crate::clock::{end_of_local_day, local_date};

/// How far ahead an answer can be asked for.
const MAX_DAYS_AHEAD: i64 = 366;

/// Reads the optional "reply needed by" date, typed as 2026-12-05 (what a date input
/// sends). The answer is due by the end of that day in the deployment's zone.
pub fn parse_reply_by(input: &str, now: i64) -> Result<Option<i64>, Invalid> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    let day: jiff::civil::Date = input
        .parse()
        .map_err(|_| Invalid("Enter the reply-by date as a day, for example 2026-12-05"))?;
    let today = local_date(now).ok_or(Invalid("The reply-by date could not be read"))?;
    if day < today {
        return Err(Invalid(
            "The reply-by date is in the past: choose today or a later day",
        ));
    }
    if i64::from((day - today).get_days()) > MAX_DAYS_AHEAD {
        return Err(Invalid("Choose a reply-by date within the next year"));
    }
    end_of_local_day(day)
        .map(Some)
        .ok_or(Invalid("The reply-by date could not be read"))
}

/// Where one copy stands on the answer its sender asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyState {
    /// Nothing is asked of this copy's owner: no date, a copy in Cc, or the sender's own.
    None,
    Open,
    /// The owner wrote in the conversation after it arrived.
    Answered,
    NotNeeded,
}

impl ReplyState {
    pub const ALL: [Self; 4] = [Self::None, Self::Open, Self::Answered, Self::NotNeeded];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Open => "open",
            Self::Answered => "answered",
            Self::NotNeeded => "not_needed",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == input)
            .ok_or(Invalid("Unknown reply state"))
    }
}

/// What a list or a conversation shows about a reply-by letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMark {
    /// An answer is awaited by the end of this moment (Unix seconds).
    Due(i64),
    /// The date has passed with an answer still awaited.
    Overdue(i64),
    Answered,
    NotNeeded,
    /// An answer is awaited without a date (a letter to a team).
    Awaited,
}

impl ReplyMark {
    /// A recipient's copy: what is asked of its owner.
    pub fn of_copy(state: ReplyState, reply_by: Option<i64>, now: i64) -> Option<Self> {
        match (state, reply_by) {
            (ReplyState::None, _) => None,
            (ReplyState::Open, Some(by)) if now > by => Some(Self::Overdue(by)),
            (ReplyState::Open, Some(by)) => Some(Self::Due(by)),
            (ReplyState::Open, None) => Some(Self::Awaited),
            (ReplyState::Answered, _) => Some(Self::Answered),
            (ReplyState::NotNeeded, _) => Some(Self::NotNeeded),
        }
    }

    /// The sender's copy: how the answers of everyone asked stand together. Answered once
    /// nobody is awaited and someone answered.
    pub fn of_sent(reply_by: Option<i64>, answers: ReplyCount, now: i64) -> Option<Self> {
        let by = reply_by?;
        Some(if answers.waiting > 0 {
            if now > by {
                Self::Overdue(by)
            } else {
                Self::Due(by)
            }
        } else if answers.answered > 0 {
            Self::Answered
        } else {
            Self::NotNeeded
        })
    }

    pub fn is_open(self) -> bool {
        matches!(self, Self::Due(_) | Self::Overdue(_) | Self::Awaited)
    }
}

/// How many of the people asked to reply to one letter are still awaited, have answered,
/// or said no reply was needed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplyCount {
    pub waiting: i64,
    pub answered: i64,
    pub not_needed: i64,
}

/// Which reminder a waiting copy's owner should have by now: 1 the day before the date,
/// 2 once it has passed; None before that.
pub fn reminder_due(reply_by: i64, now: i64) -> Option<i64> {
    if now > reply_by {
        Some(2)
    } else if reply_by - now <= 86_400 {
        Some(1)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-03 12:00 UTC (GMT).
    const NOW: i64 = 1_796_299_200;

    #[test]
    fn a_reply_by_day_runs_to_its_end_in_the_deployment_zone() {
        assert_eq!(parse_reply_by("", NOW), Ok(None));
        assert_eq!(parse_reply_by("2026-12-05", NOW), Ok(Some(1_796_515_199)));
        // Today is allowed: the answer is due by midnight.
        assert_eq!(parse_reply_by(" 2026-12-03 ", NOW), Ok(Some(1_796_342_399)));
    }

    #[test]
    fn past_far_and_unreadable_dates_are_refused_with_what_to_do() {
        for (input, words) in [
            ("2026-12-02", "in the past"),
            ("2028-01-01", "within the next year"),
            ("5 December", "for example 2026-12-05"),
            ("2026-02-30", "for example 2026-12-05"),
        ] {
            let Err(Invalid(message)) = parse_reply_by(input, NOW) else {
                panic!("{input} was accepted");
            };
            assert!(message.contains(words), "{input}: {message}");
        }
    }

    #[test]
    fn a_copy_goes_overdue_after_its_day_and_closes_when_answered() {
        let by = 1_796_515_199;
        assert_eq!(
            ReplyMark::of_copy(ReplyState::Open, Some(by), NOW),
            Some(ReplyMark::Due(by))
        );
        assert_eq!(
            ReplyMark::of_copy(ReplyState::Open, Some(by), by + 1),
            Some(ReplyMark::Overdue(by))
        );
        assert_eq!(
            ReplyMark::of_copy(ReplyState::Answered, Some(by), by + 1),
            Some(ReplyMark::Answered)
        );
        assert_eq!(ReplyMark::of_copy(ReplyState::None, Some(by), NOW), None);
        assert_eq!(
            ReplyMark::of_copy(ReplyState::Open, None, NOW),
            Some(ReplyMark::Awaited)
        );
    }

    #[test]
    fn the_sender_sees_answered_only_when_nobody_is_awaited() {
        let by = 1_796_515_199;
        let count = |waiting, answered, not_needed| ReplyCount {
            waiting,
            answered,
            not_needed,
        };
        assert_eq!(
            ReplyMark::of_sent(Some(by), count(1, 1, 0), NOW),
            Some(ReplyMark::Due(by))
        );
        assert_eq!(
            ReplyMark::of_sent(Some(by), count(1, 0, 0), by + 60),
            Some(ReplyMark::Overdue(by))
        );
        assert_eq!(
            ReplyMark::of_sent(Some(by), count(0, 1, 1), by + 60),
            Some(ReplyMark::Answered)
        );
        assert_eq!(
            ReplyMark::of_sent(Some(by), count(0, 0, 2), NOW),
            Some(ReplyMark::NotNeeded)
        );
    }

    #[test]
    fn reminders_come_the_day_before_and_once_overdue() {
        let by = NOW + 3 * 86_400;
        assert_eq!(reminder_due(by, NOW), None);
        assert_eq!(reminder_due(by, by - 86_400), Some(1));
        assert_eq!(reminder_due(by, by + 1), Some(2));
    }
}
