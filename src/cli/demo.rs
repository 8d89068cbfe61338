//! A demo deployment a newcomer can click through: a fiscal office, two defence firms in
//! its area, and users of each role. Passwords are printed to the log: never use the demo
//! on a deployment holding real correspondence.

use std::collections::HashMap;

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
    seed_team(app).await?;
    let threads = seed_mail(app).await?;
    super::demo_cases::seed(app, &password, &threads).await?;
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
        "Demo deployment seeded. Every demo account's password is: {password}\n{}\n\
         To try: fiona.fiscal@pf.example has a working day's inbox, an unanswered request \
         from Kirsty Kerr, and a counter-offer in HMA v Campbell waiting for her answer; \
         she and duncan.depute@pf.example share the Sheriff Summary Team's mailbox. \
         lachlan@kerrlegal.example is locked, as if away for 30 days: \
         morag.manager@pf.example (administrator for the area) can unlock it.",
        lines.join("\n")
    );
    Ok(password)
}

/// The office's sheriff summary team: Fiona manages it, Duncan is a member.
async fn seed_team(app: &AppState) -> anyhow::Result<()> {
    let admin = app
        .accounts
        .account_by_email(&EmailAddress::parse("morag.manager@pf.example")?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo administrator missing"))?;
    app.accounts
        .create_team(
            &admin,
            &crate::accounts::TeamDraft {
                name: "Sheriff Summary Team",
                email: "summary.team@pf.example",
                managers: "fiona.fiscal@pf.example",
                members: "duncan.depute@pf.example",
            },
            "",
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
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
        "deborah@brodiewylie.example",
        "summary.team@pf.example",
        "",
        "HMA v Reid: motion to adjourn the intermediate diet",
        "Dear Fiscal,\n\nOur client is in hospital and cannot attend the intermediate diet on \
         Monday. We intend to move to adjourn and attach the medical certificate. Please let us \
         know whether the Crown will oppose.\n\nDeborah Defence",
        None,
        false,
    ),
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

/// A working day's routine letters to the fiscal, so that the inbox looks like one:
/// (from, subject, body).
const ROUTINE_MAIL: &[(&str, &str, &str)] = &[
    (
        "deborah@brodiewylie.example",
        "HMA v Reid: motion to adjourn trial diet",
        "Dear Fiscal,\n\nOur client's medical report is awaited. We intend to lodge a motion to adjourn the trial diet and ask whether the Crown will oppose.\n\nDeborah Defence",
    ),
    (
        "kirsty@kerrlegal.example",
        "HMA v Brown: witness availability",
        "Dear Fiscal,\n\nTwo of our defence witnesses are unavailable in the week of 14 December. Could the Crown agree their statements instead?\n\nKirsty Kerr",
    ),
    (
        "angus@brodiewylie.example",
        "HMA v Taylor: legal aid certificate",
        "Dear Fiscal,\n\nFor your file, legal aid has been granted for the summary complaint against our client.\n\nAngus Brodie",
    ),
    (
        "duncan.depute@pf.example",
        "Court unit rota for next week",
        "Fiona,\n\nI am covering custody court on Tuesday and Thursday; could you take the Wednesday trial court?\n\nDuncan",
    ),
    (
        "deborah@brodiewylie.example",
        "HMA v Mackay: request for productions list",
        "Dear Fiscal,\n\nPlease send the list of productions the Crown intends to lead.\n\nDeborah Defence",
    ),
    (
        "kirsty@kerrlegal.example",
        "HMA v Stewart: plea of guilty to charge 1",
        "Dear Fiscal,\n\nOn instruction, our client is prepared to plead guilty to charge 1 as libelled. Please let us know whether that is acceptable.\n\nKirsty Kerr",
    ),
    (
        "morag.manager@pf.example",
        "Office closure on 24 December",
        "All,\n\nThe office closes at noon on 24 December. Please make sure urgent correspondence is answered before then.\n\nMorag",
    ),
    (
        "angus@brodiewylie.example",
        "HMA v Wilson: bail review",
        "Dear Fiscal,\n\nWe will seek a bail review on Friday and enclose our client's new address for the Crown's consideration.\n\nAngus Brodie",
    ),
    (
        "deborah@brodiewylie.example",
        "HMA v Kelly: defence statement",
        "Dear Fiscal,\n\nOur defence statement will be lodged by the end of the week.\n\nDeborah Defence",
    ),
    (
        "kirsty@kerrlegal.example",
        "HMA v Thomson: request for police statements",
        "Dear Fiscal,\n\nWe request the statements of the two attending officers.\n\nKirsty Kerr",
    ),
    (
        "duncan.depute@pf.example",
        "HMA v Reid: Crown position on adjournment",
        "Fiona,\n\nI think we should not oppose the defence motion; the medical report is genuinely outstanding.\n\nDuncan",
    ),
    (
        "angus@brodiewylie.example",
        "HMA v Murray: citation of witnesses",
        "Dear Fiscal,\n\nPlease confirm that the Crown witnesses have been cited for the trial on 8 January.\n\nAngus Brodie",
    ),
    (
        "deborah@brodiewylie.example",
        "HMA v Scott: joint minute of agreement",
        "Dear Fiscal,\n\nWe attach a draft joint minute agreeing the medical evidence. Please let us have your comments.\n\nDeborah Defence",
    ),
    (
        "kirsty@kerrlegal.example",
        "HMA v Robertson: change of agent",
        "Dear Fiscal,\n\nPlease note that Kerr Legal now acts for the accused. Kindly send all correspondence to us.\n\nKirsty Kerr",
    ),
    (
        "morag.manager@pf.example",
        "Quarterly caseload figures",
        "Fiona,\n\nPlease let me have your caseload figures for the quarter by the 15th.\n\nMorag",
    ),
    (
        "angus@brodiewylie.example",
        "HMA v Clark: section 76 letter",
        "Dear Fiscal,\n\nOur client wishes to plead guilty by section 76 letter. The letter follows by separate message.\n\nAngus Brodie",
    ),
    (
        "deborah@brodiewylie.example",
        "HMA v Young: request to view productions",
        "Dear Fiscal,\n\nWe would like to view the productions held at the police office. Please suggest a date.\n\nDeborah Defence",
    ),
    (
        "kirsty@kerrlegal.example",
        "HMA v Paterson: interpreter required",
        "Dear Fiscal,\n\nOur client needs a Polish interpreter at the next diet.\n\nKirsty Kerr",
    ),
    (
        "duncan.depute@pf.example",
        "HMA v Mackay: productions list sent",
        "Fiona,\n\nI sent the productions list to Brodie & Wylie this morning.\n\nDuncan",
    ),
    (
        "angus@brodiewylie.example",
        "HMA v Watson: defence precognitions",
        "Dear Fiscal,\n\nWe are precognoscing the Crown witnesses next week and will contact them directly.\n\nAngus Brodie",
    ),
    (
        "deborah@brodiewylie.example",
        "HMA v Morrison: trial estimate",
        "Dear Fiscal,\n\nWe estimate the trial will take two days, including the defence case.\n\nDeborah Defence",
    ),
    (
        "kirsty@kerrlegal.example",
        "HMA v Campbell: CCTV viewing",
        "Dear Fiscal,\n\nThank you for the footage. We have now viewed it and have no further requests.\n\nKirsty Kerr",
    ),
];

/// Two of the demo letters ask the fiscal for a reply: one due tomorrow, one in a week.
fn demo_reply_by(app: &AppState, subject: &str) -> Option<i64> {
    let days = match subject {
        "HMA v Young: request to view productions" => 1,
        "HMA v Paterson: interpreter required" => 7,
        _ => return None,
    };
    let day = crate::clock::local_date(app.clock.now())?
        .checked_add(jiff::Span::new().days(days))
        .ok()?;
    crate::clock::end_of_local_day(day)
}

/// Sends the demo letters; the conversation of each subject, for filing under cases.
async fn seed_mail(app: &AppState) -> anyhow::Result<HashMap<&'static str, i64>> {
    use crate::domain::{AddressList, Body, Subject};
    use crate::mail::Outgoing;

    let routine = ROUTINE_MAIL.iter().map(|(from, subject, body)| {
        (
            *from,
            "fiona.fiscal@pf.example",
            "",
            *subject,
            *body,
            None,
            false,
        )
    });
    let mut previous: Option<i64> = None;
    let mut threads = HashMap::new();
    for (from, to, cc, subject, body, attachment, is_reply) in
        routine.chain(DEMO_MAIL.iter().copied())
    {
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
            reply_to: if is_reply { previous } else { None },
            forward_of: None,
            case_id: None,
            reply_by: demo_reply_by(app, subject),
            fingerprint: None,
        };
        let delivered = app
            .mail
            .send(&sender, outgoing, &addressees, attachments, "")
            .await?;
        previous = Some(delivered.message_id);
        threads.insert(subject, delivered.thread_id);
    }
    Ok(threads)
}
