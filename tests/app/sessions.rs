//! Sessions: surviving restarts, ending on idle and absolute limits, on lock, on sign-out
//! and on signing in again.

use casemail::domain::{OrganisationKind, UserStatus};

use crate::helpers::{Backend, PASSWORD, TestApp, location};
use crate::on_both_backends;

on_both_backends!(
    a_restarted_server_keeps_the_session_and_its_key,
    sessions_end_after_thirty_idle_minutes,
    sessions_end_after_twelve_hours_however_active,
    locking_an_account_ends_its_sessions,
    a_cookie_is_useless_after_sign_out,
    signing_in_again_replaces_the_session,
);

async fn a_restarted_server_keeps_the_session_and_its_key(backend: Backend) {
    let mut first = TestApp::spawn(backend).await;
    first
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = first.browser();
    browser.sign_in_ok("ann@brodie.example").await;
    first.stop().await;

    let second = first.spawn_again().await;
    let same_browser = browser.pointed_at(second.address.clone());
    let page = same_browser.text("/account").await;
    assert!(
        page.contains("Unlocked for this session"),
        "the new process unwraps the key from the cookie and the stored session"
    );
}

async fn sessions_end_after_thirty_idle_minutes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.sign_in_ok("ann@brodie.example").await;

    // Activity keeps the session alive past 30 minutes in total.
    for _ in 0..3 {
        app.clock.advance(20 * 60);
        assert_eq!(browser.get("/account").await.status(), 200);
    }
    app.clock.advance(30 * 60);
    let response = browser.get("/account").await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/sign-in?expired=1"));
    assert_eq!(app.store.count_sessions(id).await.ok(), Some(0));
    let notice = browser.text(&location(&response)).await;
    assert!(notice.contains("Your session ended"));
}

async fn sessions_end_after_twelve_hours_however_active(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.sign_in_ok("ann@brodie.example").await;
    let mut elapsed = 0;
    while elapsed + 25 * 60 < 12 * 3600 {
        app.clock.advance(25 * 60);
        elapsed += 25 * 60;
        assert_eq!(
            browser.get("/mail/inbox").await.status(),
            200,
            "at {elapsed} s"
        );
    }
    app.clock.advance(12 * 3600 - elapsed);
    assert_eq!(browser.get("/mail/inbox").await.status(), 303);
}

async fn locking_an_account_ends_its_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.sign_in_ok("ann@brodie.example").await;
    app.set_status(id, UserStatus::Locked).await;
    let response = browser.get("/account").await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/sign-in"));
    assert_eq!(app.store.count_sessions(id).await.ok(), Some(0));
}

async fn a_cookie_is_useless_after_sign_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.sign_in_ok("ann@brodie.example").await;
    let url = app.url("/").parse().unwrap_or_else(|e| panic!("{e}"));
    let stolen = reqwest::cookie::CookieStore::cookies(&*browser.jar, &url)
        .and_then(|v| v.to_str().ok().map(str::to_string))
        .expect("the session cookie");
    assert!(stolen.contains("casemail_session="));
    browser.submit("/account", "/sign-out", &[]).await;

    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .get(app.url("/account"))
        .header("cookie", stolen)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        replay.status(),
        303,
        "the copied cookie no longer opens a session"
    );
}

async fn signing_in_again_replaces_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.sign_in_ok("ann@brodie.example").await;
    browser
        .submit(
            "/sign-in?expired=1",
            "/sign-in",
            &[("email", "ann@brodie.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(app.store.count_sessions(id).await.ok(), Some(1));
}
