use casemail::audit::ChainBreak;
use casemail::domain::{EventKind, OrganisationKind, SubjectKind};
use casemail::store::{EventFields, NewEvent, event_hash};
use sqlx::AnyPool;

use crate::helpers::{Backend, Outgoing, PASSWORD, TestApp, location};
use crate::on_both_backends;

on_both_backends!(
    every_kind_of_tampering_is_detected,
    concurrent_appends_never_fork_the_chain,
    every_event_type_is_written,
    senders_see_delivery_and_reading_per_recipient,
    case_audit_exports_with_a_verification_statement,
    people_see_their_own_account_activity,
    only_service_admins_search_the_whole_trail,
    audit_pages_read_the_checkpoint_and_each_check_reads_only_new_events,
);

/// One run of the scheduled chain check.
async fn check(app: &TestApp) -> casemail::store::AuditCheckpoint {
    app.app
        .audit
        .check_new_events("test", app.app.clock.now())
        .await
        .expect("the check runs")
        .expect("no other instance holds the job")
}

async fn audit_pages_read_the_checkpoint_and_each_check_reads_only_new_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(
        "fiona@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
    )
    .await;
    let fiscal = app.browser();
    fiscal.sign_in_ok("fiona@pf.example").await;
    let case = crate::cases::create_case(&fiscal, "PF/2026/000900", "Theft").await;
    let audit_page = format!("/cases/{case}/audit");
    let first = check(&app).await;
    let head = app.number("SELECT MAX(seq) FROM audit_events").await;
    assert_eq!(
        first.up_to_seq, head,
        "the first run checks the whole chain"
    );
    assert!(first.broken.is_none());
    let page = fiscal.text(&audit_page).await;
    assert!(
        page.contains(&format!("Chain verified up to event {head}")),
        "{page}"
    );

    // Editing an event already verified: the pages do not walk the chain again, the
    // next run starts after the checkpoint, and the full check from the start finds it.
    let original = app
        .text_of("SELECT client_address FROM audit_events WHERE seq = 1")
        .await;
    app.sql("UPDATE audit_events SET client_address = '10.9.9.9' WHERE seq = 1")
        .await;
    assert!(
        fiscal
            .text(&audit_page)
            .await
            .contains("Chain verified up to event")
    );
    let full = app.app.audit.verify(None).await.expect("verify");
    assert_eq!(
        full.broken,
        Some(casemail::audit::ChainBreak::Edited { seq: 1 })
    );
    app.sql(&format!(
        "UPDATE audit_events SET client_address = '{original}' WHERE seq = 1"
    ))
    .await;
    assert!(
        app.app
            .audit
            .verify(None)
            .await
            .expect("verify")
            .broken
            .is_none()
    );

    // New events are checked by the next run, and a break among them is found and shown.
    fiscal.text(&audit_page).await;
    crate::cases::create_case(&fiscal, "PF/2026/000901", "Fraud").await;
    let pending = fiscal.text(&audit_page).await;
    assert!(pending.contains("checked at the next run"), "{pending}");
    let second = check(&app).await;
    assert!(second.up_to_seq > head && second.broken.is_none());
    let tampered = second.up_to_seq;
    crate::cases::create_case(&fiscal, "PF/2026/000902", "Assault").await;
    let new_head = app.number("SELECT MAX(seq) FROM audit_events").await;
    app.sql(&format!(
        "UPDATE audit_events SET payload = '{{\"edited\":true}}' WHERE seq = {new_head}"
    ))
    .await;
    let third = check(&app).await;
    assert_eq!(
        third.up_to_seq, tampered,
        "the checkpoint stays at the last good event"
    );
    assert!(
        third
            .broken
            .as_deref()
            .is_some_and(|b| b.contains("edited"))
    );
    let warned = fiscal.text(&audit_page).await;
    assert!(
        warned.contains("WARNING") && warned.contains("broken"),
        "{warned}"
    );

    // Rewriting the checkpoint's own event is found too.
    app.sql(&format!(
        "UPDATE audit_events SET payload = '{{\"edited\":true}}' WHERE seq = {tampered}"
    ))
    .await;
    let fourth = check(&app).await;
    assert!(
        fourth
            .broken
            .as_deref()
            .is_some_and(|b| b.contains("differs from the remembered head")),
        "{fourth:?}"
    );
}

async fn raw(app: &TestApp) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPool::connect(&app.database.url)
        .await
        .unwrap_or_else(|e| panic!("raw connection: {e}"))
}

async fn exec(pool: &AnyPool, sql: &str) {
    sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn event(n: i64) -> NewEvent {
    NewEvent {
        at: 1_795_424_400 + n,
        kind: EventKind::MessageOpened,
        actor_id: Some(n % 7),
        actor_org_id: Some(1),
        subject_type: SubjectKind::Message,
        subject_id: Some(n),
        case_id: None,
        client_address: "127.0.0.1".into(),
        payload: format!("{{\"n\":{n}}}"),
    }
}

/// A fresh deployment whose trail holds `count` events.
async fn chain(backend: Backend, count: i64) -> TestApp {
    let app = TestApp::spawn(backend).await;
    let mut n = 0;
    while n < count {
        let batch: Vec<NewEvent> = (n..(n + 250).min(count)).map(event).collect();
        n += batch.len() as i64;
        app.store
            .audit(&batch)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    app
}

async fn broken(app: &TestApp, head: Option<(i64, String)>) -> Option<ChainBreak> {
    app.app
        .audit
        .verify(head)
        .await
        .unwrap_or_else(|e| panic!("verify: {e}"))
        .broken
}

async fn every_kind_of_tampering_is_detected(backend: Backend) {
    const COUNT: i64 = 3000;
    let intact = chain(backend, COUNT).await;
    let verified = intact
        .app
        .audit
        .verify(None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((verified.count, verified.broken), (COUNT, None));
    let head = verified.head.clone().unwrap_or_else(|| panic!("head"));
    assert_eq!(head.0, COUNT);

    // Edit a field.
    let app = chain(backend, COUNT).await;
    exec(
        &raw(&app).await,
        "UPDATE audit_events SET payload = '{\"n\":0}' WHERE seq = 1500",
    )
    .await;
    assert_eq!(
        broken(&app, None).await,
        Some(ChainBreak::Edited { seq: 1500 })
    );

    // Edit the kind to one Casemail never writes: still reported as an edit, not a failure.
    exec(
        &raw(&app).await,
        "UPDATE audit_events SET kind = 'message.erased' WHERE seq = 1200",
    )
    .await;
    assert_eq!(
        broken(&app, None).await,
        Some(ChainBreak::Edited { seq: 1200 })
    );

    // Delete a row, leaving a gap.
    let app = chain(backend, COUNT).await;
    exec(
        &raw(&app).await,
        "DELETE FROM audit_events WHERE seq = 1500",
    )
    .await;
    assert_eq!(
        broken(&app, None).await,
        Some(ChainBreak::Deleted {
            after: 1499,
            next: 1501
        })
    );

    // Delete a row and renumber the rest to hide the gap.
    let app = chain(backend, COUNT).await;
    let pool = raw(&app).await;
    exec(&pool, "DELETE FROM audit_events WHERE seq = 1500").await;
    exec(
        &pool,
        "UPDATE audit_events SET seq = seq + 100000 WHERE seq > 1500",
    )
    .await;
    exec(
        &pool,
        "UPDATE audit_events SET seq = seq - 100001 WHERE seq > 100000",
    )
    .await;
    assert_eq!(
        broken(&app, None).await,
        Some(ChainBreak::Missing { seq: 1500 })
    );

    // Insert a forged row, well formed and linked to its predecessor.
    let app = chain(backend, COUNT).await;
    let pool = raw(&app).await;
    let (prev,): (String,) = sqlx::query_as("SELECT hash FROM audit_events WHERE seq = 1499")
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let fields = EventFields {
        at: 1,
        kind: "message.opened",
        actor_id: Some(99),
        actor_org_id: Some(1),
        subject_type: "message",
        subject_id: Some(1),
        case_id: None,
        client_address: "",
        payload: "{}",
    };
    let forged = event_hash(&fields, &prev);
    exec(
        &pool,
        "UPDATE audit_events SET seq = seq + 100000 WHERE seq >= 1500",
    )
    .await;
    exec(
        &pool,
        "UPDATE audit_events SET seq = seq - 99999 WHERE seq >= 100000",
    )
    .await;
    exec(
        &pool,
        &format!(
            "INSERT INTO audit_events (seq, at, kind, actor_id, actor_org_id, subject_type, \
             subject_id, case_id, client_address, payload, prev_hash, hash) VALUES \
             (1500, 1, 'message.opened', 99, 1, 'message', 1, NULL, '', '{{}}', '{prev}', '{forged}')"
        ),
    )
    .await;
    assert_eq!(
        broken(&app, None).await,
        Some(ChainBreak::Inserted { seq: 1501 })
    );

    // Swap two rows.
    let app = chain(backend, COUNT).await;
    let pool = raw(&app).await;
    exec(
        &pool,
        "UPDATE audit_events SET seq = 999999 WHERE seq = 1500",
    )
    .await;
    exec(&pool, "UPDATE audit_events SET seq = 1500 WHERE seq = 1501").await;
    exec(
        &pool,
        "UPDATE audit_events SET seq = 1501 WHERE seq = 999999",
    )
    .await;
    assert_eq!(
        broken(&app, None).await,
        Some(ChainBreak::Reordered { seq: 1500 })
    );

    // Truncate the tail: the chain left is consistent, the remembered head exposes it.
    let app = chain(backend, COUNT).await;
    let remembered = app.store.audit_last().await.expect("the store answers");
    exec(
        &raw(&app).await,
        "DELETE FROM audit_events WHERE seq > 2900",
    )
    .await;
    assert_eq!(
        broken(&app, None).await,
        None,
        "without a remembered head it looks whole"
    );
    assert_eq!(
        broken(&app, remembered).await,
        Some(ChainBreak::Truncated {
            remembered: COUNT,
            last: 2900
        })
    );

    // Rewrite the last event consistently: only the remembered head can tell.
    let app = chain(backend, COUNT).await;
    let remembered = app.store.audit_last().await.expect("the store answers");
    let pool = raw(&app).await;
    let (prev,): (String,) = sqlx::query_as(&format!(
        "SELECT prev_hash FROM audit_events WHERE seq = {COUNT}"
    ))
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let rewritten = event_hash(
        &EventFields {
            payload: "{\"n\":-1}",
            ..fields
        },
        &prev,
    );
    exec(&pool, &format!("UPDATE audit_events SET at = 1, kind = 'message.opened', actor_id = 99, actor_org_id = 1, subject_type = 'message', subject_id = 1, case_id = NULL, client_address = '', payload = '{{\"n\":-1}}', hash = '{rewritten}' WHERE seq = {COUNT}")).await;
    assert_eq!(broken(&app, None).await, None);
    assert_eq!(
        broken(&app, remembered).await,
        Some(ChainBreak::HeadMismatch { seq: COUNT })
    );
}

async fn concurrent_appends_never_fork_the_chain(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let store = app.store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..10 {
                store
                    .audit(&[event(worker * 100 + n)])
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let verified = app
        .app
        .audit
        .verify(None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((verified.count, verified.broken), (160, None));
}

async fn kinds(app: &TestApp) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT kind FROM audit_events")
        .fetch_all(&raw(app).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    rows.into_iter().map(|(k,)| k).collect()
}

async fn every_event_type_is_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(
        "fiona@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
    )
    .await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    app.user("bob@kerr.example", OrganisationKind::Defence, "Kerr")
        .await;
    let (fiscal, ann, bob) = (app.browser(), app.browser(), app.browser());
    assert_eq!(
        ann.sign_in("ann@brodie.example", "wrong password!")
            .await
            .status(),
        422
    );
    fiscal.sign_in_ok("fiona@pf.example").await;
    ann.sign_in_ok("ann@brodie.example").await;
    bob.sign_in_ok("bob@kerr.example").await;

    let files = [("bundle.pdf", b"pdf".to_vec())];
    let thread = fiscal
        .send_ok(&Outgoing {
            attachments: &files,
            ..Outgoing::to("ann@brodie.example", "Bundle", "Attached")
        })
        .await;
    ann.text(&thread).await;
    let id: i64 = thread
        .trim_start_matches("/threads/")
        .parse()
        .expect("a number");
    let message = app.store.thread_for_user(1, id).await.expect("the thread")[0].message_id;
    ann.get(&format!("/messages/{message}/attachments/0")).await;
    let reply = [("reply_to", message.to_string())];
    let reply: Vec<(&str, &str)> = reply.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ann.send_ok(&Outgoing {
        extra: &reply,
        ..Outgoing::to("fiona@pf.example", "Re: Bundle", "Thanks")
    })
    .await;
    let forward = [("forward_of", message.to_string())];
    let forward: Vec<(&str, &str)> = forward.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ann.send_ok(&Outgoing {
        extra: &forward,
        ..Outgoing::to("bob@kerr.example", "Fwd: Bundle", "FYI")
    })
    .await;

    let created = fiscal
        .submit(
            "/cases/new",
            "/cases/new",
            &[
                ("reference", "PF/1"),
                ("title", "T"),
                ("court", "C"),
                ("accused", "A"),
                ("charges", "One"),
            ],
        )
        .await;
    let case: i64 = location(&created)
        .trim_start_matches("/cases/")
        .trim_end_matches("?done=created")
        .parse()
        .expect("a number");
    let case_page = format!("/cases/{case}");
    fiscal
        .submit(
            &case_page,
            &format!("{case_page}/participants"),
            &[("email", "ann@brodie.example")],
        )
        .await;
    let office = app
        .store
        .organisation_by_name("Glasgow PF")
        .await
        .expect("the store answers")
        .map(|o| o.id.to_string())
        .expect("the organisation");
    bob.submit(
        "/cases/request",
        "/cases/request",
        &[("office", &office), ("reference", "PF/1")],
    )
    .await;
    let request = app
        .store
        .pending_access_requests(case)
        .await
        .expect("pending access requests")[0]
        .id;
    fiscal
        .submit(
            &case_page,
            &format!("{case_page}/requests/{request}"),
            &[("decision", "accept")],
        )
        .await;
    fiscal
        .submit(
            &case_page,
            &format!("{case_page}/status"),
            &[("status", "concluded")],
        )
        .await;
    fiscal
        .submit(
            &case_page,
            &format!("{case_page}/status"),
            &[("status", "open")],
        )
        .await;
    let bob_id = app
        .store
        .participants(case)
        .await
        .expect("participants")
        .into_iter()
        .find(|p| p.email == "bob@kerr.example")
        .map(|p| p.user_id)
        .expect("the participant");
    fiscal
        .submit(
            &case_page,
            &format!("{case_page}/participants/{bob_id}/remove"),
            &[],
        )
        .await;
    let untagged = fiscal
        .send_ok(&Outgoing::to("ann@brodie.example", "Untagged", "Text"))
        .await;
    fiscal
        .submit(
            &untagged,
            &format!("{untagged}/case"),
            &[("case_id", &case.to_string())],
        )
        .await;

    let plea = format!("/cases/{case}/plea");
    let offer = |action: &'static str, version: &'static str| {
        vec![
            ("action", action),
            ("version", version),
            ("position_1", "guilty_as_libelled"),
        ]
    };
    fiscal.submit(&plea, &plea, &offer("offer", "0")).await;
    ann.submit(
        &plea,
        &plea,
        &[("action", "reject"), ("version", "1"), ("reason", "No")],
    )
    .await;
    fiscal.submit(&plea, &plea, &offer("offer", "1")).await;
    fiscal
        .submit(&plea, &plea, &[("action", "withdraw"), ("version", "2")])
        .await;
    let mut lapsing = offer("offer", "2");
    lapsing.push(("respond_by", "2026-11-24"));
    fiscal.submit(&plea, &plea, &lapsing).await;
    app.clock.advance(2 * 86_400);
    fiscal.sign_in_ok("fiona@pf.example").await;
    ann.sign_in_ok("ann@brodie.example").await;
    fiscal.text(&plea).await;
    fiscal.submit(&plea, &plea, &offer("offer", "3")).await;
    ann.submit(&plea, &plea, &offer("counter", "4")).await;
    fiscal
        .submit(&plea, &plea, &[("action", "accept"), ("version", "5")])
        .await;

    ann.submit(
        "/account/password",
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "another long passphrase"),
            ("confirm_password", "another long passphrase"),
        ],
    )
    .await;
    ann.submit("/account", "/sign-out", &[]).await;
    app.clock.advance(31 * 60);
    fiscal.get("/mail/inbox").await;

    let written = kinds(&app).await;
    for kind in [
        "user.sign_in_failed",
        "user.signed_in",
        "user.signed_out",
        "session.expired",
        "user.password_changed",
        "message.sent",
        "message.delivered",
        "message.opened",
        "message.replied",
        "message.forwarded",
        "attachment.downloaded",
        "case.created",
        "case.participant_added",
        "case.participant_removed",
        "case.access_requested",
        "case.request_accepted",
        "case.status_changed",
        "case.thread_tagged",
        "plea.offered",
        "plea.rejected",
        "plea.withdrawn",
        "plea.lapsed",
        "plea.countered",
        "plea.accepted",
    ] {
        assert!(
            written.iter().any(|k| k == kind),
            "{kind} was not recorded; got {written:?}"
        );
    }
    let verified = app
        .app
        .audit
        .verify(None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verified.broken, None);
}

async fn senders_see_delivery_and_reading_per_recipient(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(
        "fiona@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
    )
    .await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    app.user("bob@kerr.example", OrganisationKind::Defence, "Kerr")
        .await;
    let (fiscal, ann) = (app.browser(), app.browser());
    fiscal.sign_in_ok("fiona@pf.example").await;
    ann.sign_in_ok("ann@brodie.example").await;
    let files = [("statement.pdf", b"pdf".to_vec())];
    let thread = fiscal
        .send_ok(&Outgoing {
            cc: "bob@kerr.example",
            attachments: &files,
            ..Outgoing::to("ann@brodie.example", "Statement", "Attached")
        })
        .await;
    let before = fiscal.text(&thread).await;
    assert_eq!(
        before.matches("Not opened").count(),
        2,
        "nobody has opened it yet"
    );

    app.clock.advance(600);
    let page = ann.text(&thread).await;
    assert!(
        page.contains("the time you opened it is recorded"),
        "recipients are told reads are recorded"
    );
    assert!(
        !page.contains("Delivery and reading"),
        "recipients do not see others' reading"
    );
    let id: i64 = thread
        .trim_start_matches("/threads/")
        .parse()
        .expect("a number");
    let message = app.store.thread_for_user(1, id).await.expect("the thread")[0].message_id;
    ann.get(&format!("/messages/{message}/attachments/0")).await;

    let partial = fiscal.text(&format!("/messages/{message}/receipts")).await;
    assert_eq!(
        partial.matches("Not opened").count(),
        1,
        "only bob has not opened it"
    );
    assert!(
        partial.contains("23 November 2026, 09:10 GMT"),
        "ann's first opening is shown"
    );
    assert!(
        partial.contains("statement.pdf, 23 November 2026, 09:10 GMT"),
        "the download is shown"
    );
    assert_eq!(
        ann.get(&format!("/messages/{message}/receipts"))
            .await
            .status(),
        404
    );
}

async fn case_audit_exports_with_a_verification_statement(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(
        "fiona@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
    )
    .await;
    app.user("bob@kerr.example", OrganisationKind::Defence, "Kerr")
        .await;
    let (fiscal, bob) = (app.browser(), app.browser());
    fiscal.sign_in_ok("fiona@pf.example").await;
    bob.sign_in_ok("bob@kerr.example").await;
    let created = fiscal
        .submit(
            "/cases/new",
            "/cases/new",
            &[
                ("reference", "PF/2026/42"),
                ("title", "T"),
                ("court", "C"),
                ("accused", "A"),
                ("charges", "One"),
            ],
        )
        .await;
    let case = location(&created)
        .trim_start_matches("/cases/")
        .trim_end_matches("?done=created")
        .to_string();
    let unchecked = fiscal.text(&format!("/cases/{case}/audit")).await;
    assert!(
        unchecked.contains("has not been checked yet"),
        "{unchecked}"
    );
    check(&app).await;
    let page = fiscal.text(&format!("/cases/{case}/audit")).await;
    assert!(
        page.contains("Case created") && page.contains("chain of"),
        "{page}"
    );
    assert!(page.contains("is intact"));
    let csv = fiscal.get(&format!("/cases/{case}/audit.csv")).await;
    assert_eq!(
        csv.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let csv = csv.text().await.expect("response body");
    assert!(csv.starts_with("seq,time,event"));
    assert!(csv.contains("\"case.created\"") && csv.contains("is intact"));
    assert_eq!(bob.get(&format!("/cases/{case}/audit")).await.status(), 404);
    assert_eq!(
        bob.get(&format!("/cases/{case}/audit.csv")).await.status(),
        404
    );
}

async fn people_see_their_own_account_activity(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let ann = app.browser();
    ann.sign_in("ann@brodie.example", "not my password").await;
    ann.sign_in_ok("ann@brodie.example").await;
    let page = ann.text("/account/activity").await;
    assert!(page.contains("Failed sign-in") && page.contains("Signed in"));
    assert!(page.contains("127.0.0.1"), "the address is shown");
}

async fn only_service_admins_search_the_whole_trail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    casemail::cli::create_service_admin(
        &app.app,
        "ops@casemail.example",
        "Ops",
        "Service",
        PASSWORD,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let (ann, ops) = (app.browser(), app.browser());
    ann.sign_in_ok("ann@brodie.example").await;
    ops.sign_in_ok("ops@casemail.example").await;
    assert_eq!(ann.get("/admin/audit").await.status(), 404);
    assert_eq!(ann.get("/admin/audit.csv").await.status(), 404);
    let page = ops.text("/admin/audit?person=ann%40brodie.example").await;
    assert!(page.contains("Signed in") && page.contains("ann@brodie.example"));
    assert!(
        !page.contains("ops@casemail.example&gt;"),
        "filtered to ann"
    );
    let csv = ops.text("/admin/audit.csv?kind=user.").await;
    assert!(csv.contains("user.signed_in"));
}
