//! The account lifecycle: inactivity warnings, lock, suspension and deletion on the
//! policy's schedule, run by one instance at a time.

use casemail::domain::{OrganisationKind, UserStatus};

use crate::helpers::{Backend, Browser, PASSWORD, TestApp};
use crate::on_both_backends;

on_both_backends!(
    inactivity_warns_then_locks_suspends_and_deletes,
    active_people_are_never_locked,
    only_one_instance_runs_the_policy_at_a_time,
);

pub(crate) const DAY: i64 = 86_400;

pub(crate) async fn policy(app: &TestApp) -> casemail::lifecycle::PolicyReport {
    app.app
        .lifecycle
        .run_inactivity_policy("test-instance", app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("policy: {e:#}"))
}

pub(crate) async fn status(app: &TestApp, id: i64) -> UserStatus {
    app.store
        .user_account(id)
        .await
        .expect("the store answers")
        .map_or(UserStatus::Deleted, |a| a.status)
}

pub(crate) async fn subjects(app: &TestApp, email: &str) -> Vec<String> {
    app.store
        .notifications_for(email)
        .await
        .expect("the queued email")
        .into_iter()
        .map(|n| n.subject)
        .collect()
}

async fn inactivity_warns_then_locks_suspends_and_deletes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.sign_in_ok("ann@brodie.example").await;

    app.clock.advance(23 * DAY - 1);
    assert_eq!(policy(&app).await.warned, 0, "not yet seven days before");
    app.clock.advance(1);
    assert_eq!(policy(&app).await.warned, 1);
    assert_eq!(policy(&app).await.warned, 0, "a warning is sent once");
    assert!(
        subjects(&app, "ann@brodie.example")
            .await
            .contains(&"Your Casemail account will be locked in 7 days".to_string())
    );
    app.clock.advance(6 * DAY);
    assert_eq!(policy(&app).await.warned, 1, "the one-day warning");
    app.clock.advance(DAY - 1);
    assert_eq!(
        policy(&app).await.locked,
        0,
        "one second before thirty days"
    );
    app.clock.advance(1);
    assert_eq!(policy(&app).await.locked, 1);
    assert_eq!(status(&app, id).await, UserStatus::Locked);
    let page = app
        .browser()
        .sign_in("ann@brodie.example", PASSWORD)
        .await
        .text()
        .await
        .expect("response body");
    assert!(page.contains("Your account is locked"));
    assert!(
        subjects(&app, "ann@brodie.example")
            .await
            .contains(&"Your Casemail account has been locked".to_string())
    );

    app.clock.advance(53 * DAY);
    assert_eq!(
        policy(&app).await.warned,
        1,
        "warned a week before suspension"
    );
    app.clock.advance(7 * DAY);
    assert_eq!(policy(&app).await.suspended, 1);
    assert_eq!(status(&app, id).await, UserStatus::Suspended);
    app.clock.advance(90 * DAY);
    assert_eq!(policy(&app).await.deleted, 1);
    assert_eq!(status(&app, id).await, UserStatus::Deleted);
    assert!(
        app.store
            .recovery_wrap(id)
            .await
            .expect("the store answers")
            .is_none(),
        "keys destroyed"
    );
    let events = app
        .store
        .audit_events(&casemail::store::EventFilter {
            subject: Some((casemail::domain::SubjectKind::User, id)),
            kind: Some(casemail::domain::EventKind::StatusChanged),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("status events");
    assert_eq!(events.len(), 3, "lock, suspension and deletion are audited");
}

async fn active_people_are_never_locked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    for _ in 0..8 {
        app.clock.advance(20 * DAY);
        app.browser().sign_in_ok("ann@brodie.example").await;
        let report = policy(&app).await;
        assert_eq!((report.locked, report.warned), (0, 0));
    }
    assert_eq!(status(&app, id).await, UserStatus::Active);
}

async fn only_one_instance_runs_the_policy_at_a_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let now = app.clock.now();
    let store = &app.store;
    assert!(
        store
            .try_job_lock("inactivity-policy", "other-instance", now, now + 600)
            .await
            .unwrap_or(false)
    );
    assert!(!policy(&app).await.ran, "another instance holds the lock");
    app.clock.advance(601);
    assert!(policy(&app).await.ran, "an expired lock is taken over");
    let second = app.spawn_again().await;
    let (a, b) = tokio::join!(
        app.app.lifecycle.run_inactivity_policy("a", now + 700),
        second.app.lifecycle.run_inactivity_policy("b", now + 700)
    );
    let ran = [
        a.map(|r| r.ran).unwrap_or(false),
        b.map(|r| r.ran).unwrap_or(false),
    ];
    assert!(ran.iter().any(|r| *r), "one of them ran: {ran:?}");
}

pub(crate) async fn make_admin(
    app: &TestApp,
    email: &str,
    kind: OrganisationKind,
    org: &str,
    area: &str,
) -> Browser {
    app.account(email, kind, org, area, true).await;
    let browser = app.browser();
    browser.sign_in_ok(email).await;
    browser
}

pub(crate) async fn member(
    app: &TestApp,
    email: &str,
    kind: OrganisationKind,
    org: &str,
    area: &str,
) -> i64 {
    app.account(email, kind, org, area, false).await
}
