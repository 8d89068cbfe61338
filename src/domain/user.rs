use super::{Invalid, OrganisationKind};

/// Where an account is in its life. Only `Active` accounts may sign in and use the
/// service; a `Pending` registration waits for an administrator's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Pending,
    Active,
    Locked,
    Suspended,
    Deleted,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        match input {
            "pending" => Ok(Self::Pending),
            "active" => Ok(Self::Active),
            "locked" => Ok(Self::Locked),
            "suspended" => Ok(Self::Suspended),
            "deleted" => Ok(Self::Deleted),
            _ => Err(Invalid("Unknown account status")),
        }
    }

    /// Whether a session may exist for an account in this state.
    pub fn may_hold_session(self) -> bool {
        self == Self::Active
    }

    /// What a person is told when a correct password meets an account that cannot sign in.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Self::Active | Self::Pending => None,
            Self::Locked => Some(
                "Your account is locked because it has not been used for a while. \
                 Ask an administrator of your organisation to unlock it.",
            ),
            Self::Suspended => Some(
                "Your account is suspended. Ask an administrator of your organisation \
                 to reactivate it.",
            ),
            Self::Deleted => None,
        }
    }
}

/// What a user may administer, derived from their admin flag and their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Member,
    /// Admin of their own organisation.
    OrganisationAdmin,
    /// Admin of a prosecution office: also administers the defence users of its jurisdiction.
    JurisdictionAdmin,
    /// Runs the deployment: administers everything.
    ServiceAdmin,
}

impl Role {
    pub fn of(is_admin: bool, kind: OrganisationKind) -> Self {
        match (is_admin, kind) {
            (false, _) => Self::Member,
            (true, OrganisationKind::Service) => Self::ServiceAdmin,
            (true, OrganisationKind::Prosecution) => Self::JurisdictionAdmin,
            (true, _) => Self::OrganisationAdmin,
        }
    }

    pub fn is_admin(self) -> bool {
        self != Self::Member
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Member => "User",
            Self::OrganisationAdmin => "Organisation administrator",
            Self::JurisdictionAdmin => "Organisation and jurisdiction administrator",
            Self::ServiceAdmin => "Service administrator",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in [
            UserStatus::Pending,
            UserStatus::Active,
            UserStatus::Locked,
            UserStatus::Suspended,
            UserStatus::Deleted,
        ] {
            assert_eq!(UserStatus::parse(status.as_str()), Ok(status));
        }
    }

    #[test]
    fn only_active_accounts_hold_sessions() {
        assert!(UserStatus::Active.may_hold_session());
        assert!(!UserStatus::Pending.may_hold_session());
        assert!(!UserStatus::Locked.may_hold_session());
        assert!(!UserStatus::Suspended.may_hold_session());
        assert!(!UserStatus::Deleted.may_hold_session());
    }

    #[test]
    fn roles_follow_the_organisation_kind() {
        assert_eq!(Role::of(false, OrganisationKind::Service), Role::Member);
        assert_eq!(
            Role::of(true, OrganisationKind::Service),
            Role::ServiceAdmin
        );
        assert_eq!(
            Role::of(true, OrganisationKind::Prosecution),
            Role::JurisdictionAdmin
        );
        assert_eq!(
            Role::of(true, OrganisationKind::Defence),
            Role::OrganisationAdmin
        );
    }
}
