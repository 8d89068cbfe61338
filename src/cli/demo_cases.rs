//! The demo's two cases: the fiscal opens them, adds the defence agents, files the
//! correspondence under them, and one has a plea negotiation waiting for the fiscal.
//! Each step goes through the same services as the pages, as the signed-in person.

use std::collections::HashMap;

use secrecy::SecretString;

use crate::accounts::{SessionCheck, SignInAttempt};
use crate::cases::{CaseDetails, NewCase};
use crate::crypto::UserIdentity;
use crate::domain::{CaseReference, ChargePosition};
use crate::plea::{ChargeTerm, OfferTerms, PleaRequest};
use crate::state::AppState;
use crate::store::UserAccount;

struct DemoCase {
    reference: &'static str,
    title: &'static str,
    accused: &'static str,
    charges: &'static [&'static str],
    agent: &'static str,
    /// Demo letters (by subject) filed under the case.
    letters: &'static [&'static str],
}

const CASES: &[DemoCase] = &[
    DemoCase {
        reference: "PF/2026/000123",
        title: "HMA v Campbell",
        accused: "Ross Campbell",
        charges: &["Assault to injury", "Breach of the peace"],
        agent: "deborah@brodiewylie.example",
        letters: &["PF/2026/000123 HMA v Campbell: disclosure of witness statements"],
    },
    DemoCase {
        reference: "PF/2026/000456",
        title: "HMA v Brown",
        accused: "Jamie Brown",
        charges: &["Theft by housebreaking", "Vandalism"],
        agent: "kirsty@kerrlegal.example",
        letters: &["PF/2026/000456 HMA v Brown: intermediate diet"],
    },
];

const FISCAL: &str = "fiona.fiscal@pf.example";

/// Opens the cases and starts the Campbell negotiation. `threads` maps demo subjects to
/// their conversations.
pub async fn seed(
    app: &AppState,
    password: &str,
    threads: &HashMap<&'static str, i64>,
) -> anyhow::Result<()> {
    let (fiscal, fiscal_key) = signed_in(app, FISCAL, password).await?;
    let mut campbell = None;
    for case in CASES {
        let details = CaseDetails {
            title: case.title.into(),
            accused: case.accused.into(),
            charges: case.charges.iter().map(|c| c.to_string()).collect(),
        };
        let new = NewCase {
            reference: CaseReference::parse(case.reference)?,
            court: "Glasgow Sheriff Court".into(),
            details,
        };
        let id = app
            .cases
            .create(&fiscal, new, "")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        app.cases
            .add_participant(&fiscal, &fiscal_key, id, case.agent, "")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for subject in case.letters {
            if let Some(thread) = threads.get(subject) {
                app.cases
                    .tag_thread(&fiscal, *thread, id, "")
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
        campbell.get_or_insert(id);
    }
    let Some(case_id) = campbell else {
        return Ok(());
    };
    // The fiscal offers; the agent counters on charge 1 and keeps the rest. The
    // counter-offer waits for the fiscal.
    let terms = |first: ChargePosition, amended: &str| OfferTerms {
        positions: vec![
            term(1, CASES[0].charges[0], first, amended),
            term(
                2,
                CASES[0].charges[1],
                ChargePosition::NotGuiltyAccepted,
                "",
            ),
        ],
        terms: "Narrative to be agreed".into(),
    };
    let (case, _) = app
        .cases
        .case_for(
            &fiscal,
            &app.intake.keys(&fiscal, &fiscal_key).await?,
            case_id,
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo case missing"))?;
    let offer = PleaRequest::Offer {
        terms: terms(ChargePosition::GuiltyAsLibelled, ""),
        respond_by: None,
    };
    app.plea
        .act(&fiscal, &case, offer, "")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (agent, agent_key) = signed_in(app, CASES[0].agent, password).await?;
    let (case, _) = app
        .cases
        .case_for(&agent, &app.intake.keys(&agent, &agent_key).await?, case_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo case missing for the agent"))?;
    let counter = PleaRequest::Counter {
        version: 1,
        terms: terms(
            ChargePosition::GuiltyAsAmended,
            "under deletion of the words \"to his severe injury\"",
        ),
        respond_by: None,
    };
    app.plea
        .act(&agent, &case, counter, "")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

fn term(number: usize, charge: &str, position: ChargePosition, amended: &str) -> ChargeTerm {
    ChargeTerm {
        number,
        charge: charge.into(),
        position: position.as_str().into(),
        amended_wording: amended.into(),
    }
}

/// Signs a demo person in, as the sign-in page would, for the key their session holds;
/// the session is ended again at once.
async fn signed_in(
    app: &AppState,
    email: &str,
    password: &str,
) -> anyhow::Result<(UserAccount, UserIdentity)> {
    let signed = app
        .accounts
        .sign_in(SignInAttempt {
            email,
            password: SecretString::from(password.to_string()),
            client_address: "",
            user_agent: "demo seed",
            previous_session: None,
            device: None,
        })
        .await
        .map_err(|e| anyhow::anyhow!("demo sign-in failed: {e}"))?;
    let token = signed.cookie.token_hash();
    let SessionCheck::Live(session) = app.accounts.check_session(&token).await? else {
        anyhow::bail!("demo session not live");
    };
    let key = signed
        .cookie
        .key()
        .ok_or_else(|| anyhow::anyhow!("demo session has no key"))?;
    let identity = key.open(&session.wrapped_identity)?;
    app.accounts.sign_out(&token, "").await?;
    Ok((session.account, identity))
}
