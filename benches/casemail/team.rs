//! A team mailbox as large as the personal one, read by a member over HTTP: the member
//! signs in as themselves, switches to the team's mailbox, and lists and opens its letters
//! through the team's identity (unwrapped from their own on every request).

use anyhow::Context;
use reqwest::header::COOKIE;

use casemail::accounts::{AccountDraft, TeamDraft};
use casemail::auth::SessionCookie;
use casemail::domain::{EmailAddress, Password, PersonName, UserStatus};
use casemail::store::UserAccount;

use crate::http::{ServerProcess, measure_gets, sign_in};
use crate::{Bench, PASSWORD};

const TEAM_ADDRESS: &str = "summary.team@bench.example";

/// Creates the team (managed by `member`), fills it with `messages` letters from `sender`
/// and measures what the member meets.
pub async fn figures(
    bench: &Bench,
    server: &ServerProcess,
    sender: &UserAccount,
    member: &UserAccount,
    messages: usize,
) -> anyhow::Result<()> {
    let team = create_team(bench, member).await?;
    crate::seed::large_mailbox(bench, sender, &team, messages, 3600).await?;
    bench.store.analyze().await?;

    let (cookie, _) = sign_in(server, &member.email).await?;
    switch_to(server, &cookie, team.id).await?;
    // The letters arrived while nobody was looking: the first list starts the team's
    // intake, which opens each summary once with the team's key and re-seals it under the
    // team's mailbox key, as for a person's mailbox.
    let started = std::time::Instant::now();
    get_ok(server, &cookie, "/mail/inbox").await?;
    // Measured once the index is merged too: the figures are the steady state, not
    // requests sharing the two cores with the intake's last merge.
    while !bench.app.intake.settled(team.id).await? {
        anyhow::ensure!(
            started.elapsed().as_secs() < 600,
            "the team's letters were not taken in"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    println!(
        "(team intake of {messages} letters, index merged: {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    bench.store.analyze().await?;

    measure_gets(
        server,
        &cookie,
        &format!("team inbox first page ({messages} letters), as a member"),
        &["/mail/inbox".to_string()],
        200,
        "as a personal inbox",
    )
    .await?;
    let (middle, cursor) = crate::seed::halfway_page(bench, &team, messages).await?;
    measure_gets(
        server,
        &cookie,
        "team inbox page halfway down",
        &[format!("/mail/inbox?after={cursor}")],
        200,
        "-",
    )
    .await?;
    let threads: Vec<String> = middle
        .iter()
        .take(40)
        .map(|r| format!("/threads/{}", r.thread_id))
        .collect();
    measure_gets(server, &cookie, "open a team letter", &threads, 400, "-").await
}

async fn create_team(bench: &Bench, manager: &UserAccount) -> anyhow::Result<UserAccount> {
    let app = &bench.app;
    let email = EmailAddress::parse("team.admin@bench.example")?;
    app.accounts
        .create_account(AccountDraft {
            organisation_id: manager.organisation.id,
            email: email.clone(),
            name: PersonName::parse("Team Administrator")?,
            is_admin: true,
            status: UserStatus::Active,
            password: Password::parse(PASSWORD)?,
        })
        .await?;
    let admin = app
        .accounts
        .account_by_email(&email)
        .await?
        .context("administrator created")?;
    app.accounts
        .create_team(
            &admin,
            &TeamDraft {
                name: "Summary Team",
                email: TEAM_ADDRESS,
                members: "",
                managers: &manager.email,
            },
            "127.0.0.1",
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    app.accounts
        .account_by_email(&EmailAddress::parse(TEAM_ADDRESS)?)
        .await?
        .context("team created")
}

async fn switch_to(
    server: &ServerProcess,
    cookie: &SessionCookie,
    team_id: i64,
) -> anyhow::Result<()> {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .post(server.url("/delegations/switch"))
        .header(COOKIE, format!("casemail_session={}", cookie.value()))
        .form(&[
            ("csrf_token", cookie.csrf_token()),
            ("owner", team_id.to_string()),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 303,
        "switching to the team answered {}",
        response.status()
    );
    Ok(())
}

async fn get_ok(server: &ServerProcess, cookie: &SessionCookie, path: &str) -> anyhow::Result<()> {
    let response = reqwest::Client::new()
        .get(server.url(path))
        .header(COOKIE, format!("casemail_session={}", cookie.value()))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "{path} answered {}",
        response.status()
    );
    Ok(())
}
