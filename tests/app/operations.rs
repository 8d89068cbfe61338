//! What an operator watches: Prometheus metrics on their own address, and readiness that
//! checks the database and the blob store.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    metrics_are_served_only_on_their_own_address,
    readiness_checks_the_database_and_the_blob_store,
);

async fn metrics_are_served_only_on_their_own_address(backend: Backend) {
    let metrics_address = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let app = TestApp::spawn_with(backend, |config| {
        config.metrics_bind = Some(metrics_address)
    })
    .await;
    app.user(
        "fiona@pf.example",
        casemail::domain::OrganisationKind::Prosecution,
        "Glasgow PF",
    )
    .await;
    let browser = app.browser();
    browser.sign_in_ok("fiona@pf.example").await;
    assert_eq!(browser.get("/mail/inbox").await.status(), 200);
    assert_eq!(browser.get("/threads/987654").await.status(), 404);
    app.queue_email("ann@brodie.example", "Waiting", "Body")
        .await;

    assert_eq!(
        browser.get("/metrics").await.status(),
        404,
        "not on the address people use"
    );
    let text = reqwest::get(format!("http://{metrics_address}/metrics"))
        .await
        .expect("the metrics listener answers")
        .text()
        .await
        .expect("body");
    assert!(
        text.contains(r#"route="/mail/{folder}",status="200""#),
        "requests counted by route pattern: {text}"
    );
    assert!(text.contains(r#"route="/threads/{id}",status="404""#));
    assert!(
        !text.contains("987654"),
        "paths (which name cases and people) are never labels"
    );
    assert!(text.contains("casemail_http_request_duration_seconds_bucket"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("casemail_notifications_waiting ") && !l.ends_with(" 0")),
        "the notification queue's depth: {text}"
    );
}

/// Switches set in the environment take the forms operators write: 1/0, yes/no, on/off.
#[test]
fn switches_in_the_environment_take_one_yes_and_on() {
    let dir = tempfile::TempDir::new().expect("a data directory");
    for value in ["1", "yes", "on", "true", "0", "no", "off", "false"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_casemail"))
            .args(["audit", "head"])
            .env("CASEMAIL_DATA_DIR", dir.path())
            .env("CASEMAIL_DEMO", value)
            .env("CASEMAIL_TRUST_FORWARDED_FOR", value)
            .env("CASEMAIL_SCHEDULED_JOBS", value)
            .env("CASEMAIL_REQUIRE_SECOND_FACTOR", value)
            .output()
            .expect("the binary runs");
        assert!(
            output.status.success(),
            "{value}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

async fn readiness_checks_the_database_and_the_blob_store(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    assert_eq!(browser.get("/readyz").await.status(), 200);
    let blobs = app.dir.path().join("blobs");
    std::fs::rename(&blobs, app.dir.path().join("blobs-moved")).expect("move the blobs");
    let response = browser.get("/readyz").await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.text().await.expect("body"),
        "blob store unavailable"
    );
    std::fs::rename(app.dir.path().join("blobs-moved"), &blobs).expect("move them back");
    assert_eq!(browser.get("/readyz").await.status(), 200);
}
