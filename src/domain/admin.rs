//! Who may administer whom. An organisation admin administers their organisation; an
//! admin of a prosecution office also administers the defence users of its jurisdiction;
//! a service admin administers everyone. Nobody administers themselves through the panel.

use super::{Invalid, OrganisationKind, Role, UserStatus};

/// What an administrator can do to an account from its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    Approve,
    Reject,
    Unlock,
    Reactivate,
    Suspend,
    Delete,
    ResetSecondFactor,
}

impl AccountAction {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        Ok(match input {
            "approve" => Self::Approve,
            "reject" => Self::Reject,
            "unlock" => Self::Unlock,
            "reactivate" => Self::Reactivate,
            "suspend" => Self::Suspend,
            "delete" => Self::Delete,
            "reset_second_factor" => Self::ResetSecondFactor,
            _ => return Err(Invalid("Choose what to do with the account")),
        })
    }

    /// The status the account moves to, if the action applies to an account in `current`
    /// status. Resetting the second factor leaves the status as it is.
    pub fn next_status(self, current: UserStatus) -> Option<UserStatus> {
        use UserStatus::{Active, Deleted, Locked, Pending, Suspended};
        match (self, current) {
            (Self::Approve, Pending) => Some(Active),
            (Self::Reject, Pending) => Some(Deleted),
            (Self::Unlock, Locked) => Some(Active),
            (Self::Reactivate, Suspended) => Some(Active),
            (Self::Suspend, Active | Locked) => Some(Suspended),
            (Self::Delete, Active | Locked | Suspended) => Some(Deleted),
            (Self::ResetSecondFactor, status) if status != Deleted => Some(status),
            _ => None,
        }
    }

    /// The past tense shown when it is done ("The account is now approved").
    pub fn done(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Reject => "rejected",
            Self::Unlock => "unlocked",
            Self::Reactivate => "reactivated",
            Self::Suspend => "suspended",
            Self::Delete => "deleted",
            Self::ResetSecondFactor => "reset",
        }
    }
}

/// What scope checks need to know about an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgScope<'a> {
    pub id: i64,
    pub kind: OrganisationKind,
    pub jurisdiction: &'a str,
}

pub fn may_administer(
    admin_role: Role,
    admin_org: &OrgScope<'_>,
    target_org: &OrgScope<'_>,
) -> bool {
    match admin_role {
        Role::Member => false,
        Role::ServiceAdmin => true,
        Role::OrganisationAdmin => admin_org.id == target_org.id,
        Role::JurisdictionAdmin => {
            admin_org.id == target_org.id
                || (target_org.kind == OrganisationKind::Defence
                    && !admin_org.jurisdiction.is_empty()
                    && admin_org.jurisdiction == target_org.jurisdiction)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: i64, kind: OrganisationKind, jurisdiction: &str) -> OrgScope<'_> {
        OrgScope {
            id,
            kind,
            jurisdiction,
        }
    }

    #[test]
    fn actions_apply_only_where_the_status_allows() {
        use UserStatus::*;
        assert_eq!(AccountAction::Approve.next_status(Pending), Some(Active));
        assert_eq!(AccountAction::Approve.next_status(Active), None);
        assert_eq!(AccountAction::Unlock.next_status(Locked), Some(Active));
        assert_eq!(AccountAction::Unlock.next_status(Suspended), None);
        assert_eq!(AccountAction::Delete.next_status(Pending), None);
        assert_eq!(AccountAction::Delete.next_status(Suspended), Some(Deleted));
        assert_eq!(
            AccountAction::ResetSecondFactor.next_status(Locked),
            Some(Locked)
        );
        assert_eq!(AccountAction::ResetSecondFactor.next_status(Deleted), None);
        assert!(AccountAction::parse("promote").is_err());
    }

    #[test]
    fn scope_follows_role_and_jurisdiction() {
        let glasgow_pf = org(1, OrganisationKind::Prosecution, "Glasgow");
        let glasgow_firm = org(2, OrganisationKind::Defence, "Glasgow");
        let edinburgh_firm = org(3, OrganisationKind::Defence, "Edinburgh");
        let glasgow_court = org(4, OrganisationKind::Court, "Glasgow");
        let service = org(5, OrganisationKind::Service, "");

        assert!(may_administer(
            Role::JurisdictionAdmin,
            &glasgow_pf,
            &glasgow_pf
        ));
        assert!(may_administer(
            Role::JurisdictionAdmin,
            &glasgow_pf,
            &glasgow_firm
        ));
        assert!(!may_administer(
            Role::JurisdictionAdmin,
            &glasgow_pf,
            &edinburgh_firm
        ));
        assert!(!may_administer(
            Role::JurisdictionAdmin,
            &glasgow_pf,
            &glasgow_court
        ));
        assert!(may_administer(
            Role::OrganisationAdmin,
            &glasgow_firm,
            &glasgow_firm
        ));
        assert!(!may_administer(
            Role::OrganisationAdmin,
            &glasgow_firm,
            &edinburgh_firm
        ));
        assert!(!may_administer(
            Role::OrganisationAdmin,
            &glasgow_firm,
            &glasgow_pf
        ));
        assert!(!may_administer(Role::Member, &glasgow_pf, &glasgow_pf));
        assert!(may_administer(
            Role::ServiceAdmin,
            &service,
            &edinburgh_firm
        ));
    }

    #[test]
    fn an_empty_jurisdiction_covers_nobody_else() {
        let pf = org(1, OrganisationKind::Prosecution, "");
        let firm = org(2, OrganisationKind::Defence, "");
        assert!(!may_administer(Role::JurisdictionAdmin, &pf, &firm));
    }
}
