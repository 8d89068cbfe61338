use casemail::domain::{OrganisationKind, ThrottleRule};

use crate::helpers::{Backend, PASSWORD, TestApp, csrf_token, location};
use crate::on_both_backends;

on_both_backends!(
    administrators_must_enrol_and_then_give_a_code_at_every_sign_in,
    a_code_works_once_and_wrong_codes_are_throttled,
    simultaneous_wrong_codes_are_checked_at_most_up_to_the_limit,
    recovery_codes_work_once_and_admins_can_reset_the_factor,
    a_deployment_can_require_a_second_factor_of_everyone,
);

async fn a_deployment_can_require_a_second_factor_of_everyone(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.require_second_factor = true).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let ann = app.browser();
    ann.sign_in("ann@brodie.example", PASSWORD).await;
    assert_eq!(
        location(&ann.get("/mail/inbox").await),
        "/account/two-factor"
    );
    ann.enrol_second_factor("ann@brodie.example").await;
    assert_eq!(ann.get("/mail/inbox").await.status(), 200);
}

async fn administrators_must_enrol_and_then_give_a_code_at_every_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.service_admin("ops@casemail.example").await;
    let browser = app.browser();
    assert_eq!(
        location(&browser.sign_in("ops@casemail.example", PASSWORD).await),
        "/"
    );
    for path in ["/mail/inbox", "/admin/users", "/cases"] {
        assert_eq!(
            location(&browser.get(path).await),
            "/account/two-factor",
            "{path} waits for enrolment"
        );
    }
    let page = browser.text("/account/two-factor").await;
    assert!(
        page.contains("data:image/svg+xml;base64,"),
        "a QR code is shown"
    );
    browser.enrol_second_factor("ops@casemail.example").await;
    assert_eq!(browser.get("/admin/users").await.status(), 200);

    let later = app.browser();
    let response = later.sign_in("ops@casemail.example", PASSWORD).await;
    assert_eq!(
        location(&response),
        "/sign-in/code",
        "the password alone is not enough"
    );
    assert_eq!(location(&later.get("/admin/users").await), "/sign-in/code");
    later.sign_in_ok("ops@casemail.example").await;
    assert_eq!(later.get("/admin/users").await.status(), 200);
}

async fn a_code_works_once_and_wrong_codes_are_throttled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.service_admin("ops@casemail.example").await;
    app.browser().sign_in_ok("ops@casemail.example").await;
    let secret = app
        .second_factors
        .lock()
        .ok()
        .and_then(|s| s.get("ops@casemail.example").cloned())
        .expect("the enrolled secret");

    let first = app.browser();
    first.sign_in("ops@casemail.example", PASSWORD).await;
    app.clock.advance(30);
    let code = casemail::second_factor::code_at(&secret, "ops@casemail.example", app.clock.now())
        .expect("the authenticator code");
    assert_eq!(
        location(
            &first
                .submit("/sign-in/code", "/sign-in/code", &[("code", &code)])
                .await
        ),
        "/"
    );
    let second = app.browser();
    second.sign_in("ops@casemail.example", PASSWORD).await;
    let replay = second
        .submit("/sign-in/code", "/sign-in/code", &[("code", &code)])
        .await;
    assert_eq!(replay.status(), 422, "a used code is refused");
    assert!(
        replay
            .text()
            .await
            .expect("response body")
            .contains("already been used")
    );
    for _ in 0..4 {
        second
            .submit("/sign-in/code", "/sign-in/code", &[("code", "000000")])
            .await;
    }
    app.clock.advance(30);
    let good = casemail::second_factor::code_at(&secret, "ops@casemail.example", app.clock.now())
        .expect("the authenticator code");
    let paused = second
        .submit("/sign-in/code", "/sign-in/code", &[("code", &good)])
        .await;
    assert!(
        paused
            .text()
            .await
            .expect("response body")
            .contains("Too many wrong codes")
    );
}

async fn simultaneous_wrong_codes_are_checked_at_most_up_to_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.service_admin("ops@casemail.example").await;
    app.browser().sign_in_ok("ops@casemail.example").await;
    let browser = app.browser();
    browser.sign_in("ops@casemail.example", PASSWORD).await;
    let page = browser.text("/sign-in/code").await;
    let token = csrf_token(&page).expect("a form token on the page");
    let attempts = (0..50).map(|n| {
        let client = browser.client.clone();
        let url = app.url("/sign-in/code");
        let token = token.clone();
        async move {
            let code = format!("{:06}", 100_000 + n);
            client
                .post(url)
                .form(&[("code", code.as_str()), ("csrf_token", token.as_str())])
                .send()
                .await
                .expect("post")
                .text()
                .await
                .expect("response body")
        }
    });
    let pages = futures_util::future::join_all(attempts).await;
    let checked = pages
        .iter()
        .filter(|page| page.contains("That code is not right"))
        .count();
    let paused = pages
        .iter()
        .filter(|page| page.contains("Too many wrong codes"))
        .count();
    assert_eq!(checked + paused, 50, "every attempt got an answer");
    assert!(
        checked < ThrottleRule::SECOND_FACTOR.limit as usize,
        "{checked} codes were checked and refused; the limit is {}",
        ThrottleRule::SECOND_FACTOR.limit
    );
}

async fn recovery_codes_work_once_and_admins_can_reset_the_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.service_admin("ops@casemail.example").await;
    let morag = app
        .account(
            "morag@pf.example",
            OrganisationKind::Prosecution,
            "Glasgow PF",
            "Glasgow",
            true,
        )
        .await;
    let browser = app.browser();
    browser.sign_in("morag@pf.example", PASSWORD).await;
    let page = browser.text("/account/two-factor").await;
    let marker = "id=\"totp-secret\">";
    let start = page.find(marker).unwrap_or(0) + marker.len();
    let secret = page[start..start + page[start..].find('<').unwrap_or(0)].to_string();
    app.clock.advance(30);
    let code = casemail::second_factor::code_at(&secret, "morag@pf.example", app.clock.now())
        .expect("the authenticator code");
    let confirmed = browser
        .submit(
            "/account/two-factor",
            "/account/two-factor",
            &[("code", &code)],
        )
        .await
        .text()
        .await
        .expect("response body");
    let list = &confirmed[confirmed
        .find("<ul class=\"govuk-list app-key-fingerprint\">")
        .unwrap_or(0)..];
    let recovery: String =
        list[list.find("<li>").unwrap_or(0) + 4..list.find("</li>").unwrap_or(0)].to_string();
    assert_eq!(recovery.len(), 10, "recovery code {recovery}");

    let phone_lost = app.browser();
    phone_lost.sign_in("morag@pf.example", PASSWORD).await;
    assert_eq!(
        location(
            &phone_lost
                .submit("/sign-in/code", "/sign-in/code", &[("code", &recovery)])
                .await
        ),
        "/"
    );
    let again = app.browser();
    again.sign_in("morag@pf.example", PASSWORD).await;
    assert_eq!(
        again
            .submit("/sign-in/code", "/sign-in/code", &[("code", &recovery)])
            .await
            .status(),
        422,
        "each recovery code works once"
    );

    let ops = app.browser();
    ops.sign_in_ok("ops@casemail.example").await;
    let reset = ops
        .submit(
            &format!("/admin/users/{morag}"),
            &format!("/admin/users/{morag}/status"),
            &[("action", "reset_second_factor")],
        )
        .await;
    assert_eq!(location(&reset), "/admin/users?done=reset");
    let fresh = app.browser();
    assert_eq!(
        location(&fresh.sign_in("morag@pf.example", PASSWORD).await),
        "/",
        "no code asked after a reset"
    );
    assert_eq!(
        location(&fresh.get("/admin/users").await),
        "/account/two-factor",
        "but must enrol again"
    );
}
