use casemail::crypto::UserIdentity;
use casemail::domain::{EmailAddress, OrganisationKind, UserStatus};
use secrecy::SecretString;

use crate::helpers::{Backend, PASSWORD, TestApp, location};
use crate::on_both_backends;

on_both_backends!(
    a_restarted_server_keeps_the_session_and_its_key,
    sessions_end_after_thirty_idle_minutes,
    sessions_end_after_twelve_hours_however_active,
    locking_an_account_ends_its_sessions,
    a_cookie_is_useless_after_sign_out,
    signing_in_again_replaces_the_session,
    password_change_rewraps_the_key_and_ends_other_sessions,
    password_change_explains_each_mistake,
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
        .unwrap_or_default();
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

async fn password_change_rewraps_the_key_and_ends_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let office = app.browser();
    let laptop = app.browser();
    office.sign_in_ok("ann@brodie.example").await;
    laptop.sign_in_ok("ann@brodie.example").await;
    let new_password = "a different long passphrase";

    let response = office
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(location(&response), "/account?password_changed=1");
    let page = office.text("/account?password_changed=1").await;
    assert!(page.contains("Your password has been changed"));
    assert!(page.contains("Unlocked for this session"));
    assert_eq!(
        laptop.get("/account").await.status(),
        303,
        "other session ended"
    );
    assert_eq!(app.store.count_sessions(id).await.ok(), Some(1));

    let fresh = app.browser();
    assert_eq!(
        fresh.sign_in("ann@brodie.example", PASSWORD).await.status(),
        422
    );
    assert_eq!(
        fresh
            .sign_in("ann@brodie.example", new_password)
            .await
            .status(),
        303
    );

    let email = EmailAddress::parse("ann@brodie.example").unwrap_or_else(|e| panic!("{e}"));
    let record = app.store.sign_in_record(&email).await.ok().flatten();
    let record = record.unwrap_or_else(|| panic!("account"));
    let wrapped = record.identity_wrapped_password.unwrap_or_default();
    let with =
        |p: &str| UserIdentity::unwrap_with_password(&wrapped, &SecretString::from(p.to_string()));
    assert!(
        with(PASSWORD).is_err(),
        "the old password no longer unwraps"
    );
    assert_eq!(
        with(new_password).map(|i| i.recipient()).ok(),
        Some(record.public_recipient),
        "same key, new wrap: old mail stays readable"
    );
}

async fn password_change_explains_each_mistake(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.sign_in_ok("ann@brodie.example").await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("current_password", "wrong wrong wrong"),
                ("new_password", "another long passphrase"),
                ("confirm_password", "another long passphrase"),
            ],
            "Your current password is not correct",
        ),
        (
            &[
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
            "Password must be 12 characters or more",
        ),
        (
            &[
                ("current_password", PASSWORD),
                ("new_password", "another long passphrase"),
                ("confirm_password", "another long passphrasE"),
            ],
            "The new passwords do not match",
        ),
        (
            &[
                ("current_password", PASSWORD),
                ("new_password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
            "must be different",
        ),
    ];
    for (fields, message) in cases {
        let response = browser
            .submit("/account/password", "/account/password", fields)
            .await;
        assert_eq!(response.status(), 422);
        let page = response.text().await.unwrap_or_default();
        assert!(page.contains(message), "expected {message:?}");
        assert!(page.contains("govuk-error-summary"));
    }
    let fresh = app.browser();
    assert_eq!(
        fresh.sign_in("ann@brodie.example", PASSWORD).await.status(),
        303,
        "unchanged"
    );
}
