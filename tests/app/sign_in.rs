//! Signing in: the same answer for a wrong password and an unknown account, throttling,
//! refusals that say who can help, returning to the page asked for.

use casemail::domain::{OrganisationKind, ThrottleRule, UserStatus};

use crate::helpers::{Backend, Browser, PASSWORD, TestApp, csrf_token, location};
use crate::on_both_backends;

on_both_backends!(
    sign_in_shows_who_and_sign_out_ends_the_session,
    wrong_password_and_unknown_account_look_the_same,
    repeated_failures_pause_sign_in_without_revealing_accounts,
    a_stranger_elsewhere_cannot_lock_the_owner_out,
    one_address_guessing_at_many_accounts_is_paused,
    simultaneous_wrong_passwords_are_checked_at_most_up_to_the_limit,
    locked_and_suspended_accounts_cannot_sign_in,
    sign_in_returns_to_the_page_asked_for,
    empty_fields_are_named_in_the_error_summary,
);

async fn sign_in_shows_who_and_sign_out_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app
        .user(
            "ann@brodie.example",
            OrganisationKind::Defence,
            "Brodie & Wylie",
        )
        .await;
    let browser = app.browser();

    let response = browser.get("/mail/inbox").await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/sign-in"));

    browser.sign_in_ok("Ann@Brodie.example").await;
    let home = browser.text("/mail/inbox").await;
    assert!(home.contains("Test Person"), "home names the user");
    assert!(
        home.contains("Brodie &#38; Wylie"),
        "home names the organisation"
    );
    assert_eq!(app.store.count_sessions(user).await.ok(), Some(1));

    let response = browser.submit("/account", "/sign-out", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/sign-in?signed_out=1");
    assert_eq!(app.store.count_sessions(user).await.ok(), Some(0));
    let response = browser.get("/account").await;
    assert_eq!(
        response.status(),
        303,
        "signed out: pages need sign-in again"
    );
}

async fn wrong_password_and_unknown_account_look_the_same(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();

    let wrong = browser
        .sign_in("ann@brodie.example", "not the password")
        .await;
    assert_eq!(wrong.status(), 422);
    let wrong = wrong.text().await.expect("response body");
    let unknown = browser
        .sign_in("nobody@brodie.example", "not the password")
        .await;
    assert_eq!(unknown.status(), 422);
    let unknown = unknown.text().await.expect("response body");

    let message = "Enter a correct email address and password";
    assert!(wrong.contains(message) && unknown.contains(message));
    let strip = |page: &str, email: &str| {
        page.replace(email, "EMAIL")
            .lines()
            .filter(|l| !l.contains("csrf"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&wrong, "ann@brodie.example"),
        strip(&unknown, "nobody@brodie.example"),
        "the two refusals must not differ"
    );
    assert!(
        !wrong.contains("not the password"),
        "password is never echoed"
    );
}

async fn repeated_failures_pause_sign_in_without_revealing_accounts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    for email in ["ann@brodie.example", "ghost@brodie.example"] {
        for _ in 0..ThrottleRule::SIGN_IN_ACCOUNT.limit {
            let response = browser.sign_in(email, "wrong password here").await;
            assert_eq!(response.status(), 422);
        }
        // Paused: even the right password is refused without being checked.
        let response = browser.sign_in(email, PASSWORD).await;
        assert_eq!(response.status(), 422);
        let page = response.text().await.expect("response body");
        assert!(
            page.contains("too many failed attempts"),
            "{email}: pause is explained"
        );
    }
    // The pause ends by itself.
    app.clock.advance(16 * 60);
    browser.sign_in_ok("ann@brodie.example").await;
}

async fn a_stranger_elsewhere_cannot_lock_the_owner_out(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.trust_forwarded_for = true).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    // Ann's own browser has signed in before, at the office.
    let ann = app.browser_at("198.51.100.7");
    ann.sign_in_ok("ann@brodie.example").await;
    ann.submit("/account", "/sign-out", &[]).await;

    // Someone at another address guesses until the account is paused for them, and then
    // keeps going.
    let stranger = app.browser_at("203.0.113.50");
    for _ in 0..ThrottleRule::SIGN_IN_ACCOUNT.limit + 5 {
        let response = stranger
            .sign_in("ann@brodie.example", "guess guess guess")
            .await;
        assert_eq!(response.status(), 422);
    }
    let refused = stranger.sign_in("ann@brodie.example", PASSWORD).await;
    assert!(
        refused
            .text()
            .await
            .expect("response body")
            .contains("too many failed attempts"),
        "the stranger is paused, even with the right password"
    );

    // Ann, from her own browser at home, signs in as usual.
    let at_home = app.browser_at("192.0.2.80");
    at_home.jar.add_cookie_str(
        &device_cookie(&ann, &app),
        &app.url("/").parse().expect("url"),
    );
    let response = at_home.sign_in("ann@brodie.example", PASSWORD).await;
    assert_eq!(
        response.status(),
        303,
        "the owner's browser passes the pause"
    );

    // A browser that has never signed in to the account waits like the stranger: the
    // account-wide limit is what keeps guessing slow.
    let new_browser = app.browser_at("192.0.2.81");
    let response = new_browser.sign_in("ann@brodie.example", PASSWORD).await;
    assert_eq!(response.status(), 422);
}

/// The device cookie `browser` holds, as a Set-Cookie string for another browser.
fn device_cookie(browser: &Browser, app: &TestApp) -> String {
    let cookies = reqwest::cookie::CookieStore::cookies(
        browser.jar.as_ref(),
        &app.url("/").parse().expect("url"),
    )
    .expect("cookies");
    let cookies = cookies.to_str().expect("ascii");
    cookies
        .split("; ")
        .find(|c| c.starts_with("casemail_device="))
        .unwrap_or_else(|| panic!("no device cookie in {cookies}"))
        .to_string()
}

async fn one_address_guessing_at_many_accounts_is_paused(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.trust_forwarded_for = true).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    // Ann's own browser, behind the same office address as the guesser.
    let ann = app.browser_at("203.0.113.9");
    ann.sign_in_ok("ann@brodie.example").await;
    ann.submit("/account", "/sign-out", &[]).await;
    let guesser = app.browser_at("203.0.113.9");
    for n in 0..ThrottleRule::SIGN_IN_ADDRESS.limit {
        let response = guesser
            .sign_in(&format!("person{n}@brodie.example"), "guess guess guess")
            .await;
        assert_eq!(response.status(), 422);
    }
    let page = guesser
        .sign_in("ann@brodie.example", PASSWORD)
        .await
        .text()
        .await
        .expect("response body");
    assert!(
        page.contains("too many failed attempts"),
        "the address is paused"
    );
    app.browser_at("198.51.100.7")
        .sign_in_ok("ann@brodie.example")
        .await;
    assert_eq!(
        ann.sign_in("ann@brodie.example", PASSWORD).await.status(),
        303,
        "a browser known to the account is not paused with its address"
    );
}

async fn simultaneous_wrong_passwords_are_checked_at_most_up_to_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    let page = browser.text("/sign-in").await;
    let token = csrf_token(&page).expect("a form token on the page");
    let attempts = (0..50).map(|n| {
        let client = browser.client.clone();
        let url = app.url("/sign-in");
        let token = token.clone();
        async move {
            let password = format!("wrong guess number {n}");
            let response = client
                .post(url)
                .form(&[
                    ("email", "ann@brodie.example"),
                    ("password", password.as_str()),
                    ("csrf_token", token.as_str()),
                ])
                .send()
                .await
                .expect("post");
            response.text().await.expect("response body")
        }
    });
    let pages = futures_util::future::join_all(attempts).await;
    let checked = pages
        .iter()
        .filter(|page| page.contains("Enter a correct email address and password"))
        .count();
    let paused = pages
        .iter()
        .filter(|page| page.contains("too many failed attempts"))
        .count();
    assert_eq!(checked + paused, 50, "every attempt got an answer");
    assert!(
        checked < ThrottleRule::SIGN_IN_ACCOUNT.limit as usize,
        "{checked} passwords were checked and refused; the limit is {}",
        ThrottleRule::SIGN_IN_ACCOUNT.limit
    );
    let failures = app
        .number("SELECT COUNT(*) FROM audit_events WHERE kind = 'user.sign_in_failed'")
        .await;
    assert_eq!(
        failures,
        ThrottleRule::SIGN_IN_ACCOUNT.limit,
        "exactly the limit reached the password check"
    );
}

async fn locked_and_suspended_accounts_cannot_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    for (status, words) in [
        (UserStatus::Locked, "is locked"),
        (UserStatus::Suspended, "is suspended"),
    ] {
        app.set_status(user, status).await;
        let response = browser.sign_in("ann@brodie.example", PASSWORD).await;
        assert_eq!(response.status(), 422);
        let page = response.text().await.expect("response body");
        assert!(page.contains(words), "{status:?} is explained");
        assert!(page.contains("administrator"), "says who can help");
    }
    app.set_status(user, UserStatus::Deleted).await;
    let page = browser
        .sign_in("ann@brodie.example", PASSWORD)
        .await
        .text()
        .await
        .expect("response body");
    assert!(
        page.contains("Enter a correct email address and password"),
        "a deleted account looks like no account"
    );
}

async fn sign_in_returns_to_the_page_asked_for(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    let response = browser.get("/account").await;
    assert_eq!(location(&response), "/sign-in?next=%2Faccount");
    let response = browser
        .submit(
            "/sign-in?next=%2Faccount",
            "/sign-in",
            &[
                ("email", "ann@brodie.example"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/account");

    // Never to another site.
    let other = app.browser();
    let response = other
        .submit(
            "/sign-in",
            "/sign-in",
            &[
                ("email", "ann@brodie.example"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/");
}

async fn empty_fields_are_named_in_the_error_summary(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    let response = browser.sign_in("someone@firm.example", "").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("response body");
    assert!(page.contains("govuk-error-summary"));
    assert!(page.contains("href=\"#password\""));
    assert!(page.contains("Enter your password"));
    assert!(
        page.contains("value=\"someone@firm.example\""),
        "email is kept"
    );
    assert!(page.contains("<title>Error: Sign in"));
}
