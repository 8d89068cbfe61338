//! `cargo bench -- --growth`: what a request costs as the deployment grows to national
//! size: sign-in and the directory with `--accounts` accounts (default 500,000 in 10,000
//! organisations), and a case's audit page, a person's activity page and the audit check
//! with `--audit-events` events (default 10,000,000), over loopback HTTP. The inbox at
//! 10k, 100k and 1M messages is the main benchmark run with `--messages`.

use std::time::Instant;

use anyhow::Context;

use casemail::cases::{CaseDetails, NewCase};
use casemail::domain::{CaseReference, EventKind, SubjectKind};
use casemail::store::{NewEvent, UserAccount};

use crate::Bench;
use crate::http::{ServerProcess, measure_gets, sign_in};
use crate::stats::report;

pub struct GrowthOptions {
    pub accounts: i64,
    pub organisations: i64,
    pub audit_events: i64,
}

pub async fn run(bench: &Bench, options: &GrowthOptions) -> anyhow::Result<()> {
    let people = crate::create_people(&bench.app, 2).await?;
    let (fiscal, reader) = (&people[0], &people[1]);
    let case_id = create_case(bench, fiscal).await?;

    let started = Instant::now();
    let total = bench
        .store
        .copy_accounts_for_benchmark(
            reader.id,
            options.accounts,
            options.organisations,
            bench.app.clock.now(),
        )
        .await?;
    println!(
        "(added {} accounts in {} organisations in {:.1} s: {total} accounts)",
        options.accounts,
        options.organisations,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    append_events(bench, fiscal, case_id, options.audit_events).await?;
    println!(
        "(appended {} audit events in {:.1} s)",
        options.audit_events,
        started.elapsed().as_secs_f64()
    );
    bench.store.analyze().await?;

    println!(
        "-- growth: {total} accounts, {} audit events, over loopback HTTP --",
        options.audit_events
    );
    let server = ServerProcess::start(bench).await?;
    let mut samples = Vec::new();
    for n in 0..20 {
        let i = (n * 7919) % options.accounts + 1;
        let email = format!("bulk{i}@firm{}.example", i % options.organisations);
        samples.push(sign_in(&server, &email).await?.1);
    }
    report(
        &format!("sign-in among {total} accounts (form POST)"),
        &mut samples,
        "p99 <= 200 ms",
    );
    let (cookie, _) = sign_in(&server, &fiscal.email).await?;
    let searches: Vec<String> = (0..20)
        .map(|n| format!("/directory?q=bulk{}", (n * 24_989) % options.accounts + 3))
        .collect();
    measure_gets(
        &server,
        &cookie,
        "directory: one person by a word",
        &searches,
        200,
        "-",
    )
    .await?;
    let firms: Vec<String> = (0..20)
        .map(|n| format!("/directory?q=firm{}", (n * 499) % options.organisations))
        .collect();
    measure_gets(
        &server,
        &cookie,
        "directory: a firm's people",
        &firms,
        200,
        "-",
    )
    .await?;
    let common = ["/directory?q=bulk+person".to_string()];
    measure_gets(
        &server,
        &cookie,
        "directory: words everyone has",
        &common,
        100,
        "-",
    )
    .await?;
    let suggest: Vec<String> = (0..20)
        .map(|n| format!("/directory/suggest?field=to&to=bulk{}", n * 13 + 1))
        .collect();
    measure_gets(
        &server,
        &cookie,
        "address suggestions while typing",
        &suggest,
        200,
        "-",
    )
    .await?;

    let case_audit = [format!("/cases/{case_id}/audit")];
    measure_gets(
        &server,
        &cookie,
        &format!(
            "a case's audit page ({} events in all)",
            options.audit_events
        ),
        &case_audit,
        100,
        "-",
    )
    .await?;
    let activity = ["/account/activity".to_string()];
    measure_gets(
        &server,
        &cookie,
        "a person's own activity page",
        &activity,
        100,
        "-",
    )
    .await?;
    drop(server);

    let holder = "growth-bench";
    let started = Instant::now();
    bench
        .app
        .audit
        .check_new_events(holder, bench.app.clock.now())
        .await?;
    let first_check = started.elapsed();
    anyhow::ensure!(
        matches!(
            bench.app.audit.chain_state().await?,
            casemail::audit::ChainState::Intact { later: 0, .. }
        ),
        "the first check verified the whole chain"
    );
    append_events(bench, fiscal, case_id, 10_000).await?;
    let mut later = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        bench
            .app
            .audit
            .check_new_events(holder, bench.app.clock.now() + 120)
            .await?;
        later.push(started.elapsed());
        append_events(bench, fiscal, case_id, 10_000).await?;
    }
    println!(
        "audit check, first run over all {} events: {:.1} s",
        options.audit_events,
        first_check.as_secs_f64()
    );
    report(
        "audit check, a later run (10,000 new events)",
        &mut later,
        "-",
    );
    Ok(())
}

async fn create_case(bench: &Bench, fiscal: &UserAccount) -> anyhow::Result<i64> {
    bench
        .app
        .cases
        .create(
            fiscal,
            NewCase {
                reference: CaseReference::parse("PF/2026/900001")?,
                court: "Glasgow Sheriff Court".into(),
                details: CaseDetails {
                    title: "HMA v Growth".into(),
                    accused: "A Person".into(),
                    charges: vec!["Breach of the peace".into()],
                },
            },
            "127.0.0.1",
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("creating the benchmark's case")
}

/// Appends `count` events to the real chain, in transactions of 5,000: mostly openings by
/// many people, one in a thousand in the measured case, one in five hundred about the
/// measured person.
async fn append_events(
    bench: &Bench,
    fiscal: &UserAccount,
    case_id: i64,
    count: i64,
) -> anyhow::Result<()> {
    let now = bench.app.clock.now();
    let mut n = 0;
    while n < count {
        let batch: Vec<NewEvent> = (n..(n + 5000).min(count))
            .map(|i| {
                let about_fiscal = i % 500 == 0;
                NewEvent {
                    at: now - (count - i) / 100,
                    kind: if about_fiscal {
                        EventKind::SignedIn
                    } else {
                        EventKind::MessageOpened
                    },
                    actor_id: Some(if about_fiscal {
                        fiscal.id
                    } else {
                        1000 + i % 400_000
                    }),
                    actor_org_id: Some(fiscal.organisation.id),
                    subject_type: if about_fiscal {
                        SubjectKind::User
                    } else {
                        SubjectKind::Message
                    },
                    subject_id: Some(if about_fiscal { fiscal.id } else { i }),
                    case_id: (i % 1000 == 0).then_some(case_id),
                    client_address: "10.0.0.1".into(),
                    payload: "{}".into(),
                }
            })
            .collect();
        n += batch.len() as i64;
        bench.store.audit(&batch).await?;
    }
    Ok(())
}
