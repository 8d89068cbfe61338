//! A demo deployment a newcomer can click through: a fiscal office, two defence firms in
//! its area, and users of each role. Passwords are printed to the log: never use the demo
//! on a deployment holding real correspondence.

use crate::accounts::AccountDraft;
use crate::app::AppState;
use crate::crypto::RandomToken;
use crate::domain::{
    EmailAddress, Jurisdiction, OrganisationKind, OrganisationName, Password, PersonName,
    UserStatus,
};

struct DemoOrganisation {
    kind: OrganisationKind,
    name: &'static str,
    jurisdiction: &'static str,
    people: &'static [(&'static str, &'static str, bool)],
}

const DEMO: &[DemoOrganisation] = &[
    DemoOrganisation {
        kind: OrganisationKind::Service,
        name: "Casemail service",
        jurisdiction: "",
        people: &[("Sam Operator", "admin@casemail.example", true)],
    },
    DemoOrganisation {
        kind: OrganisationKind::Prosecution,
        name: "Glasgow Procurator Fiscal Office",
        jurisdiction: "Glasgow and Strathkelvin",
        people: &[
            ("Fiona Fiscal", "fiona.fiscal@pf.example", false),
            ("Duncan Depute", "duncan.depute@pf.example", false),
            ("Morag Manager", "morag.manager@pf.example", true),
        ],
    },
    DemoOrganisation {
        kind: OrganisationKind::Defence,
        name: "Brodie & Wylie Solicitors",
        jurisdiction: "Glasgow and Strathkelvin",
        people: &[
            ("Deborah Defence", "deborah@brodiewylie.example", false),
            ("Angus Brodie", "angus@brodiewylie.example", true),
        ],
    },
    DemoOrganisation {
        kind: OrganisationKind::Defence,
        name: "Kerr Legal",
        jurisdiction: "Glasgow and Strathkelvin",
        people: &[("Kirsty Kerr", "kirsty@kerrlegal.example", false)],
    },
];

/// One password for every demo account, freshly random each time the demo is seeded.
pub async fn seed(app: &AppState) -> anyhow::Result<String> {
    let password = format!("demo-{}", &RandomToken::generate().as_str()[..12]);
    let now = app.clock.now();
    let mut lines = Vec::new();
    for organisation in DEMO {
        let org = app
            .store
            .ensure_organisation(
                organisation.kind,
                &OrganisationName::parse(organisation.name)?,
                &Jurisdiction::parse(organisation.jurisdiction)?,
                now,
            )
            .await?;
        for (name, email, is_admin) in organisation.people {
            app.create_account(AccountDraft {
                organisation_id: org.id,
                email: EmailAddress::parse(email)?,
                name: PersonName::parse(name)?,
                is_admin: *is_admin,
                status: UserStatus::Active,
                password: Password::parse(&password)?,
            })
            .await?;
            let role = if *is_admin { "admin" } else { "user" };
            lines.push(format!("  {email:<32} {role:<6} {}", organisation.name));
        }
    }
    tracing::warn!(
        "Demo deployment seeded. Every demo account's password is: {password}\n{}",
        lines.join("\n")
    );
    Ok(password)
}
