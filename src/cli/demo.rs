//! A demo deployment a newcomer can click through: a fiscal office, two defence firms in
//! its area, and users of each role. Passwords are printed to the log: never use the demo
//! on a deployment holding real correspondence.

use crate::accounts::AccountDraft;
use crate::crypto::RandomToken;
use crate::domain::{
    EmailAddress, Jurisdiction, OrganisationKind, OrganisationName, Password, PersonName,
    UserStatus,
};
use crate::state::AppState;

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
        people: &[
            ("Kirsty Kerr", "kirsty@kerrlegal.example", false),
            ("Lachlan Locked", "lachlan@kerrlegal.example", false),
        ],
    },
];

/// One password for every demo account, freshly random each time the demo is seeded.
pub async fn seed(app: &AppState) -> anyhow::Result<String> {
    let password = format!("demo-{}", &RandomToken::generate().as_str()[..12]);
    let mut lines = Vec::new();
    for organisation in DEMO {
        let org = app
            .admin
            .ensure_organisation(
                organisation.kind,
                &OrganisationName::parse(organisation.name)?,
                &Jurisdiction::parse(organisation.jurisdiction)?,
            )
            .await?;
        for (name, email, is_admin) in organisation.people {
            app.accounts
                .create_account(AccountDraft {
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
    seed_mail(app).await?;
    // One agent who has been away, so a newcomer can see an administrator unlock them.
    if let Some(away) = app
        .accounts
        .account_by_email(&EmailAddress::parse("lachlan@kerrlegal.example")?)
        .await?
    {
        app.lifecycle
            .change_status(
                None,
                away.id,
                UserStatus::Locked,
                "not signed in for 30 days",
                "",
            )
            .await?;
    }
    tracing::warn!(
        "Demo deployment seeded. Every demo account's password is: {password}\n{}",
        lines.join("\n")
    );
    Ok(password)
}

/// (from, to, cc, subject, body, attachment, reply to the previous message)
type DemoMessage = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
    bool,
);

const DEMO_MAIL: &[DemoMessage] = &[
    (
        "fiona.fiscal@pf.example",
        "deborah@brodiewylie.example",
        "",
        "PF/2026/000123 HMA v Campbell: disclosure of witness statements",
        "Dear Ms Defence,\n\nPlease find attached the statement of the first complainer, disclosed \
         under section 121 of the Criminal Justice and Licensing (Scotland) Act 2010.\n\nFurther \
         statements will follow once the CCTV review is complete.\n\nFiona Fiscal\nProcurator Fiscal Depute",
        Some((
            "Statement of J Smith.txt",
            "STATEMENT OF JOHN SMITH\n\nOn the evening of 14 March I was walking along Argyle Street...\n",
        )),
        false,
    ),
    (
        "deborah@brodiewylie.example",
        "fiona.fiscal@pf.example",
        "",
        "Re: PF/2026/000123 HMA v Campbell: disclosure of witness statements",
        "Dear Ms Fiscal,\n\nThank you, received. Could you confirm when the CCTV footage from the \
         Argyle Street cameras will be available for viewing?\n\nDeborah Defence\nBrodie & Wylie",
        None,
        true,
    ),
    (
        "duncan.depute@pf.example",
        "kirsty@kerrlegal.example",
        "fiona.fiscal@pf.example",
        "PF/2026/000456 HMA v Brown: intermediate diet",
        "Dear Ms Kerr,\n\nThe intermediate diet is fixed for 2 December at Glasgow Sheriff Court. \
         Please let me know by Friday whether your client's position on charge 2 has changed.\n\nDuncan Depute",
        None,
        false,
    ),
    (
        "kirsty@kerrlegal.example",
        "fiona.fiscal@pf.example",
        "",
        "Request for CCTV footage: HMA v Brown",
        "Dear Fiscal,\n\nWe request disclosure of all CCTV footage seized in connection with this \
         case, including from the Buchanan Street premises.\n\nKirsty Kerr\nKerr Legal",
        None,
        false,
    ),
];

async fn seed_mail(app: &AppState) -> anyhow::Result<()> {
    use crate::domain::{AddressList, Body, Subject};
    use crate::mail::Outgoing;

    let mut previous: Option<i64> = None;
    for (from, to, cc, subject, body, attachment, is_reply) in DEMO_MAIL {
        let sender = app
            .accounts
            .account_by_email(&EmailAddress::parse(from)?)
            .await?
            .ok_or_else(|| anyhow::anyhow!("demo sender missing"))?;
        let to = AddressList::parse(to)?;
        let cc = AddressList::parse(cc)?;
        let addressees = app
            .mail
            .resolve_addressees(&sender, &to, &cc)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut attachments = Vec::new();
        if let Some((name, text)) = attachment {
            let recipients = addressees.content_recipients(&sender)?;
            attachments.push(
                app.mail
                    .stage_bytes(recipients, name, "text/plain", text.as_bytes().to_vec())
                    .await?,
            );
        }
        let outgoing = Outgoing {
            to,
            cc,
            subject: Subject::parse(subject)?,
            body: Body::parse(body)?,
            reply_to: if *is_reply { previous } else { None },
            forward_of: None,
            case_id: None,
        };
        let delivered = app
            .mail
            .send(&sender, outgoing, &addressees, attachments, "")
            .await?;
        previous = Some(delivered.message_id);
    }
    Ok(())
}
