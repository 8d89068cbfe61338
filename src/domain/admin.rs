//! Who may administer whom. An organisation admin administers their organisation; an
//! admin of a prosecution office also administers the defence users of its jurisdiction;
//! a service admin administers everyone. Nobody administers themselves through the panel.

use super::{OrganisationKind, Role};

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
