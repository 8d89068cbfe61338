//! Figures from driving the router in this process: no network, no second process.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

use casemail::auth::SessionCookie;
use casemail::domain::{AddressList, Body as MessageBody, Folder, Subject};
use casemail::mail::Outgoing;
use casemail::state::AppState;
use casemail::store::UserAccount;

use crate::stats::report;
use crate::{Bench, cookie_for};

pub async fn sign_in_figures(app: &AppState) -> anyhow::Result<()> {
    let mut samples = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        cookie_for(app, "person0@bench.example").await?;
        samples.push(start.elapsed());
    }
    report(
        "sign-in (argon2 + key unwrap + session)",
        &mut samples,
        "< 300 ms",
    );
    Ok(())
}

pub async fn send_figures(app: &AppState, people: &[UserAccount]) -> anyhow::Result<()> {
    let sender = &people[0];
    let to: Vec<&str> = people[1..21].iter().map(|p| p.email.as_str()).collect();
    let to = AddressList::parse(&to.join(", "))?;
    let cc = AddressList::default();
    let mut samples = Vec::new();
    for n in 0..100 {
        let start = Instant::now();
        let addressees = app
            .mail
            .resolve_addressees(sender, &to, &cc)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let outgoing = Outgoing {
            to: to.clone(),
            cc: cc.clone(),
            subject: Subject::parse(&format!("Circular {n}"))?,
            body: MessageBody::parse(
                "A letter of about a paragraph, sent to twenty people at once.",
            )?,
            reply_to: None,
            forward_of: None,
            case_id: None,
            reply_by: None,
            fingerprint: None,
        };
        app.mail
            .send(sender, outgoing, &addressees, Vec::new(), "127.0.0.1")
            .await?;
        samples.push(start.elapsed());
    }
    report(
        "send to 20 recipients (resolve+encrypt+deliver)",
        &mut samples,
        "< 10 ms",
    );
    Ok(())
}

async fn get(app: &AppState, cookie: &SessionCookie, path: &str) -> anyhow::Result<Duration> {
    let request = Request::get(path)
        .header("cookie", format!("casemail_session={}", cookie.value()))
        .body(Body::empty())?;
    let start = Instant::now();
    let response = casemail::web::router(app.clone()).oneshot(request).await?;
    let status = response.status();
    axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let elapsed = start.elapsed();
    anyhow::ensure!(status.is_success(), "{path} answered {status}");
    Ok(elapsed)
}

/// The large mailbox's pages, a message, search, and the circular read by its last
/// addressee (the slowest stanza to find), through the router in this process.
pub async fn inbox_figures(
    bench: &Bench,
    people: &[UserAccount],
    owner: &UserAccount,
    count: usize,
) -> anyhow::Result<()> {
    println!("-- in-process, through the router without a network --");
    let app = &bench.app;
    let cookie = cookie_for(app, &owner.email).await?;
    // The seeded mail arrived while its owner was away, so it is all still sealed as
    // delivered: the first search starts taking it in (opened once, re-sealed under the
    // mailbox key and indexed), waits a few seconds for it, and the rest goes on in the
    // background; the figures below wait until it is all in.
    let started = std::time::Instant::now();
    let mut first = vec![get(app, &cookie, "/search?q=word1").await?];
    report(
        "search while a backlog is taken in (answers early)",
        &mut first,
        "-",
    );
    while !app.intake.settled(owner.id).await? {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "(took in {count} letters that arrived unseen, index merged, in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    // A million letters take longer to take in than a session may sit idle: sign in
    // again, as the owner would after a long absence.
    let cookie = cookie_for(app, &owner.email).await?;
    let mut cold = vec![get(app, &cookie, "/search?q=word2").await?];
    report("search, first after intake", &mut cold, "-");
    // Intake rewrote every summary: as autovacuum would after such a wave.
    bench.store.analyze().await?;
    let mut first = Vec::new();
    for _ in 0..200 {
        first.push(get(app, &cookie, "/mail/inbox").await?);
    }
    report(
        &format!("inbox first page ({count} messages)"),
        &mut first,
        "-",
    );
    let (middle, cursor) = crate::seed::halfway_page(bench, owner, count).await?;
    let mut deep = Vec::new();
    for _ in 0..200 {
        deep.push(get(app, &cookie, &format!("/mail/inbox?after={cursor}")).await?);
    }
    report("inbox page halfway down (keyset)", &mut deep, "-");
    let mut open = Vec::new();
    for n in 0..200 {
        let thread = middle[n % middle.len().max(1)].thread_id;
        open.push(get(app, &cookie, &format!("/threads/{thread}")).await?);
    }
    report("open a message", &mut open, "-");
    let mut samples = Vec::new();
    for n in 0..50 {
        let word = (n * 7919) % count.max(1);
        samples.push(get(app, &cookie, &format!("/search?q=word{word}")).await?);
    }
    report("search by word", &mut samples, "-");
    let mut samples = Vec::new();
    for _ in 0..10 {
        samples.push(get(app, &cookie, "/search?sender=nobody-matches").await?);
    }
    report("search by sender only (metadata)", &mut samples, "-");
    arrivals_while_signed_in(bench, people, owner, &cookie).await?;
    let reader = &people[20];
    let cookie = cookie_for(app, &reader.email).await?;
    let circular = bench
        .store
        .mailbox_page(reader.id, Folder::Inbox, None, 1)
        .await?;
    if let Some(row) = circular.first() {
        let mut samples = Vec::new();
        for _ in 0..100 {
            samples.push(get(app, &cookie, &format!("/threads/{}", row.thread_id)).await?);
        }
        report("open a message sent to 20", &mut samples, "-");
    }
    // The letters that arrived above are still being merged into the index: the figures
    // over HTTP are for a quiet machine, so they wait for it.
    while !app.intake.settled(owner.id).await? {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Letters arriving while the owner is signed in are taken in when a list shows them, so
/// the next search costs what any search costs.
async fn arrivals_while_signed_in(
    bench: &Bench,
    people: &[UserAccount],
    owner: &UserAccount,
    cookie: &casemail::auth::SessionCookie,
) -> anyhow::Result<()> {
    let app = &bench.app;
    let mut samples = Vec::new();
    for round in 0..20 {
        crate::seed::large_mailbox(bench, &people[20], owner, 50, 0).await?;
        get(app, cookie, "/mail/inbox").await?;
        let listed = std::time::Instant::now();
        while bench.store.has_waiting_summaries(owner.id).await? {
            anyhow::ensure!(
                listed.elapsed().as_secs() < 30,
                "the listed letters were not taken in"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        samples.push(get(app, cookie, &format!("/search?q=word{}", round + 3)).await?);
    }
    report(
        "search right after 50 new letters were listed",
        &mut samples,
        "-",
    );
    Ok(())
}
