//! The inactivity policy: how long without signing in before an account is locked,
//! suspended and deleted, and when people are warned. Pure functions of time, so every
//! boundary can be tested without waiting.

use super::UserStatus;

const DAY: i64 = 86_400;

/// Days without a sign-in before each step (defaults from the service Casemail replaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InactivityPolicy {
    pub lock_after_days: i64,
    pub suspend_after_days: i64,
    pub delete_after_days: i64,
    /// Warn this many days before each step (e.g. 7 and 1).
    pub warn_days: [i64; 2],
}

impl Default for InactivityPolicy {
    fn default() -> Self {
        Self {
            lock_after_days: 30,
            suspend_after_days: 90,
            delete_after_days: 180,
            warn_days: [7, 1],
        }
    }
}

/// What the policy does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Lock,
    Suspend,
    Delete,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lock => "lock",
            Self::Suspend => "suspend",
            Self::Delete => "delete",
        }
    }

    pub fn status(self) -> UserStatus {
        match self {
            Self::Lock => UserStatus::Locked,
            Self::Suspend => UserStatus::Suspended,
            Self::Delete => UserStatus::Deleted,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Self::Lock => "locked",
            Self::Suspend => "suspended",
            Self::Delete => "deleted",
        }
    }
}

/// The policy's decision for one account at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    /// Apply this step now.
    Apply(Step),
    /// Warn that `step` happens at `at` (`days` days' warning).
    Warn {
        step: Step,
        at: i64,
        days: i64,
    },
}

impl InactivityPolicy {
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.lock_after_days < 1
            || self.suspend_after_days <= self.lock_after_days
            || self.delete_after_days <= self.suspend_after_days
        {
            return Err("inactivity policy must satisfy 1 <= lock < suspend < delete days");
        }
        Ok(())
    }

    fn steps(&self) -> [(Step, i64); 3] {
        [
            (Step::Lock, self.lock_after_days),
            (Step::Suspend, self.suspend_after_days),
            (Step::Delete, self.delete_after_days),
        ]
    }

    /// When `step` falls due for an account last active at `last_active`.
    pub fn due_at(&self, step: Step, last_active: i64) -> i64 {
        let days = self
            .steps()
            .iter()
            .find(|(s, _)| *s == step)
            .map_or(0, |(_, d)| *d);
        last_active + days * DAY
    }

    /// What to do now for an account in `status`, last active (signed in, or created) at
    /// `last_active`. Pending and deleted accounts are left alone. A step is applied only
    /// from the state before it, one step per run, so an account that was away for a
    /// long time is locked first (never deleted without passing through suspension).
    pub fn decide(&self, status: UserStatus, last_active: i64, now: i64) -> Decision {
        let next = match status {
            UserStatus::Active => Step::Lock,
            UserStatus::Locked => Step::Suspend,
            UserStatus::Suspended => Step::Delete,
            UserStatus::Pending | UserStatus::Deleted => return Decision::Nothing,
        };
        let at = self.due_at(next, last_active);
        if now >= at {
            return Decision::Apply(next);
        }
        // The nearest warning whose time has come.
        self.warn_days
            .iter()
            .copied()
            .filter(|days| now >= at - days * DAY)
            .min()
            .map_or(Decision::Nothing, |days| Decision::Warn {
                step: next,
                at,
                days,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    fn at(days: i64) -> i64 {
        T0 + days * DAY
    }

    #[test]
    fn defaults_are_thirty_ninety_one_eighty() {
        let p = InactivityPolicy::default();
        assert_eq!(
            (p.lock_after_days, p.suspend_after_days, p.delete_after_days),
            (30, 90, 180)
        );
        assert!(p.validate().is_ok());
        let bad = InactivityPolicy {
            suspend_after_days: 20,
            ..p
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn active_accounts_are_warned_then_locked_at_thirty_days() {
        let p = InactivityPolicy::default();
        assert_eq!(p.decide(UserStatus::Active, T0, at(22)), Decision::Nothing);
        assert_eq!(
            p.decide(UserStatus::Active, T0, at(23) - 1),
            Decision::Nothing
        );
        assert_eq!(
            p.decide(UserStatus::Active, T0, at(23)),
            Decision::Warn {
                step: Step::Lock,
                at: at(30),
                days: 7
            }
        );
        assert_eq!(
            p.decide(UserStatus::Active, T0, at(29)),
            Decision::Warn {
                step: Step::Lock,
                at: at(30),
                days: 1
            }
        );
        assert_eq!(
            p.decide(UserStatus::Active, T0, at(30) - 1),
            Decision::Warn {
                step: Step::Lock,
                at: at(30),
                days: 1
            }
        );
        assert_eq!(
            p.decide(UserStatus::Active, T0, at(30)),
            Decision::Apply(Step::Lock)
        );
    }

    #[test]
    fn locked_accounts_are_suspended_at_ninety_and_deleted_at_one_eighty() {
        let p = InactivityPolicy::default();
        assert_eq!(
            p.decide(UserStatus::Locked, T0, at(89)),
            Decision::Warn {
                step: Step::Suspend,
                at: at(90),
                days: 1
            }
        );
        assert_eq!(
            p.decide(UserStatus::Locked, T0, at(90)),
            Decision::Apply(Step::Suspend)
        );
        assert_eq!(
            p.decide(UserStatus::Suspended, T0, at(173)),
            Decision::Warn {
                step: Step::Delete,
                at: at(180),
                days: 7
            }
        );
        assert_eq!(
            p.decide(UserStatus::Suspended, T0, at(180)),
            Decision::Apply(Step::Delete)
        );
    }

    #[test]
    fn long_absence_passes_through_every_step_in_order() {
        let p = InactivityPolicy::default();
        assert_eq!(
            p.decide(UserStatus::Active, T0, at(400)),
            Decision::Apply(Step::Lock)
        );
        assert_eq!(
            p.decide(UserStatus::Locked, T0, at(400)),
            Decision::Apply(Step::Suspend)
        );
        assert_eq!(
            p.decide(UserStatus::Suspended, T0, at(400)),
            Decision::Apply(Step::Delete)
        );
    }

    #[test]
    fn pending_and_deleted_accounts_are_left_alone() {
        let p = InactivityPolicy::default();
        assert_eq!(
            p.decide(UserStatus::Pending, T0, at(400)),
            Decision::Nothing
        );
        assert_eq!(
            p.decide(UserStatus::Deleted, T0, at(400)),
            Decision::Nothing
        );
    }
}
