use casemail::domain::OrganisationKind;

use crate::helpers::{Backend, Browser, PASSWORD, TestApp, csrf_token, location};
use crate::on_both_backends;

on_both_backends!(
    every_response_carries_the_security_headers,
    state_changing_requests_need_the_form_token,
    static_assets_are_embedded_versioned_and_cached,
    unknown_pages_get_a_helpful_not_found_page,
    htmx_requests_get_error_fragments,
    health_and_readiness_probes_answer,
);

async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.sign_in_ok("ann@brodie.example").await;
    let version = casemail::web::asset_version();
    for path in [
        "/sign-in",
        "/",
        "/account",
        "/no-such-page",
        &format!("/static/{version}/app.css"),
    ] {
        let response = browser.get(path).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{path}: CSP");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: no inline script"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert!(header("permissions-policy").contains("camera=()"), "{path}");
        assert!(!header("x-request-id").is_empty(), "{path}: request id");
        if !path.starts_with("/static/") {
            assert_eq!(
                header("cache-control"),
                "no-store",
                "{path}: pages are never cached"
            );
        }
    }
}

async fn state_changing_requests_need_the_form_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.get("/sign-in").await;
    let fields = [("email", "ann@brodie.example"), ("password", PASSWORD)];
    let missing = browser.post_raw("/sign-in", &fields).await;
    assert_eq!(missing.status(), 403);
    assert!(
        missing
            .text()
            .await
            .expect("response body")
            .contains("This form has expired")
    );
    let mut forged = fields.to_vec();
    forged.push(("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(browser.post_raw("/sign-in", &forged).await.status(), 403);

    browser.sign_in_ok("ann@brodie.example").await;
    // Signed in, the token is bound to the session: the anonymous one no longer works.
    assert_eq!(browser.post_raw("/sign-out", &[]).await.status(), 403);
    assert_eq!(
        browser.get("/account").await.status(),
        200,
        "still signed in"
    );

    // A cross-site request is refused even with a token.
    let token = csrf_token(&browser.text("/account").await).expect("a form token on the page");
    let cross = browser
        .client
        .post(app.url("/sign-out"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cross.status(), 403);

    // htmx sends the token as a header.
    let via_header = browser
        .client
        .post(app.url("/sign-out"))
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(via_header.status(), 303);
    assert_eq!(browser.get("/account").await.status(), 303, "signed out");
}

async fn static_assets_are_embedded_versioned_and_cached(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = Browser::new(app.address.clone());
    let page = browser.text("/sign-in").await;
    let version = casemail::web::asset_version();
    let css = format!("/static/{version}/vendor/govuk-frontend-6.6.0/govuk-frontend.min.css");
    assert!(page.contains(&css), "pages link the current asset version");
    let response = browser.get(&css).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=31536000, immutable")
    );
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .starts_with("text/css")
    );
    let body = response.text().await.expect("response body");
    assert!(
        !body.contains("@font-face"),
        "the GOV.UK-only font is not shipped"
    );

    let js = browser.get(&format!("/static/{version}/app.js")).await;
    assert!(
        js.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .contains("javascript")
    );
    let old = browser.get("/static/000000000000/app.js").await;
    assert_eq!(old.status(), 200, "an old page still gets its assets");
    assert_eq!(
        old.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-cache")
    );
    assert_eq!(
        browser
            .get(&format!("/static/{version}/nope.js"))
            .await
            .status(),
        404
    );
}

async fn unknown_pages_get_a_helpful_not_found_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.browser().get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    let page = response.text().await.expect("response body");
    assert!(page.contains("Page not found"));
    assert!(
        page.contains("<html"),
        "a whole page in the service's layout"
    );
}

async fn htmx_requests_get_error_fragments(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    let response = browser
        .client
        .get(app.url("/no/such/page"))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 404);
    assert_eq!(
        response
            .headers()
            .get("hx-retarget")
            .and_then(|v| v.to_str().ok()),
        Some("#toast")
    );
    let body = response.text().await.expect("response body");
    assert!(body.contains("Page not found") && !body.contains("<html"));

    // An htmx request whose session is gone is sent to sign in as a whole page.
    let response = browser
        .client
        .get(app.url("/account"))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    let target = response
        .headers()
        .get("hx-redirect")
        .and_then(|v| v.to_str().ok());
    assert!(target.is_some_and(|t| t.starts_with("/sign-in")));
    assert_eq!(location(&response), "");
}

async fn health_and_readiness_probes_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    assert_eq!(browser.text("/healthz").await, "ok");
    assert_eq!(browser.text("/readyz").await, "ready");
}
