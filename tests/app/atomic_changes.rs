//! A change, its audit event and the email it queues are one store change: when recording
//! fails, the change does not happen either. Each test breaks the audit chain (or the
//! outbox) underneath a running server, makes a change through the pages, and finds no
//! trace of it. Had the record been written after the change, in a transaction of its own,
//! the change would be found here. The crash test shows the same with kill -9.

use casemail::domain::OrganisationKind;

use crate::helpers::{Backend, Browser, Outgoing, PASSWORD, TestApp};
use crate::on_both_backends;

on_both_backends!(
    no_case_is_created_without_its_event,
    no_account_changes_status_without_its_event_and_email,
    no_invitation_is_sent_without_its_event,
    no_registration_leaves_a_firm_or_account_without_its_event,
    no_password_changes_without_its_event,
    no_second_factor_is_enrolled_without_its_event,
    no_message_is_delivered_without_its_notifications,
);

/// Removes the chain's head row, so that appending any event fails.
async fn break_the_audit_chain(app: &TestApp) {
    app.sql("DELETE FROM audit_head").await;
}

async fn events(app: &TestApp) -> i64 {
    app.number("SELECT COUNT(*) FROM audit_events").await
}

async fn office(backend: Backend) -> (TestApp, Browser, Browser) {
    let app = TestApp::spawn(backend).await;
    app.user(
        "fiona@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
    )
    .await;
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
    .expect("service admin");
    let fiscal = app.browser();
    fiscal.sign_in_ok("fiona@pf.example").await;
    let admin = app.browser();
    admin.sign_in_ok("ops@casemail.example").await;
    (app, fiscal, admin)
}

async fn no_case_is_created_without_its_event(backend: Backend) {
    let (app, fiscal, _) = office(backend).await;
    let before = events(&app).await;
    break_the_audit_chain(&app).await;
    let response = fiscal
        .submit(
            "/cases/new",
            "/cases/new",
            &[
                ("reference", "PF/2026/000777"),
                ("title", "HMA v Nobody"),
                ("court", "Glasgow Sheriff Court"),
                ("accused", "A N Other"),
                ("charges", "Breach of the peace"),
            ],
        )
        .await;
    assert_eq!(response.status(), 500, "the change fails with its record");
    assert_eq!(app.number("SELECT COUNT(*) FROM cases").await, 0);
    assert_eq!(
        app.number("SELECT COUNT(*) FROM case_participants").await,
        0
    );
    assert_eq!(events(&app).await, before);
}

async fn no_account_changes_status_without_its_event_and_email(backend: Backend) {
    let (app, _, admin) = office(backend).await;
    let ann = app.id_of("ann@brodie.example").await;
    let page = format!("/admin/users/{ann}");
    let action = format!("/admin/users/{ann}/status");
    let outbox = app.number("SELECT COUNT(*) FROM notifications").await;

    // The outbox refusing the email stops the suspension too.
    app.sql("ALTER TABLE notifications RENAME TO notifications_away")
        .await;
    let response = admin
        .submit(&page, &action, &[("action", "suspend"), ("reason", "test")])
        .await;
    assert_eq!(response.status(), 500);
    app.sql("ALTER TABLE notifications_away RENAME TO notifications")
        .await;
    assert_eq!(status_of(&app, ann).await, "active");

    // And so does the audit chain refusing the event; deletion keeps the keys.
    break_the_audit_chain(&app).await;
    for fields in [
        vec![("action", "suspend"), ("reason", "test")],
        vec![("action", "delete"), ("confirm", "yes")],
    ] {
        let response = admin.submit(&page, &action, &fields).await;
        assert_eq!(response.status(), 500, "{fields:?}");
    }
    assert_eq!(status_of(&app, ann).await, "active");
    assert_eq!(
        app.number(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {ann} AND identity_wrapped_password IS NOT NULL"
        ))
        .await,
        1,
        "keys are not destroyed without the record of it"
    );
    assert_eq!(
        app.number("SELECT COUNT(*) FROM notifications").await,
        outbox
    );
}

async fn status_of(app: &TestApp, user_id: i64) -> String {
    app.text_of(&format!("SELECT status FROM users WHERE id = {user_id}"))
        .await
}

async fn no_invitation_is_sent_without_its_event(backend: Backend) {
    let (app, _, admin) = office(backend).await;
    let organisation = app
        .number("SELECT id FROM organisations WHERE name = 'Glasgow PF'")
        .await
        .to_string();
    let outbox = app.number("SELECT COUNT(*) FROM notifications").await;
    break_the_audit_chain(&app).await;
    let response = admin
        .submit(
            "/admin/invitations",
            "/admin/invitations",
            &[
                ("name", "Duncan Depute"),
                ("email", "duncan@pf.example"),
                ("organisation", &organisation),
            ],
        )
        .await;
    assert_eq!(response.status(), 500);
    assert_eq!(app.number("SELECT COUNT(*) FROM invitations").await, 0);
    assert_eq!(
        app.number("SELECT COUNT(*) FROM notifications").await,
        outbox
    );
}

async fn no_registration_leaves_a_firm_or_account_without_its_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let organisations = app.number("SELECT COUNT(*) FROM organisations").await;
    break_the_audit_chain(&app).await;
    let response = app
        .browser()
        .submit(
            "/register",
            "/register",
            &[
                ("name", "Rhona Solicitor"),
                ("email", "rhona@newfirm.example"),
                ("firm", "new"),
                ("new_firm", "New Firm LLP"),
                ("new_firm_jurisdiction", "Glasgow"),
                ("reference", "LS-12345"),
                ("password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 500);
    assert_eq!(app.number("SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(
        app.number("SELECT COUNT(*) FROM organisations").await,
        organisations,
        "no pending firm is left behind"
    );
}

async fn no_password_changes_without_its_event(backend: Backend) {
    let (app, fiscal, _) = office(backend).await;
    let hash = "SELECT password_hash FROM users WHERE email = 'fiona@pf.example'";
    let wrap = "SELECT COUNT(*) FROM sessions";
    let before = (app.text_of(hash).await, app.number(wrap).await);
    break_the_audit_chain(&app).await;
    let response = fiscal
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a different long passphrase"),
                ("confirm_password", "a different long passphrase"),
            ],
        )
        .await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        (app.text_of(hash).await, app.number(wrap).await),
        before,
        "neither the password nor the other sessions changed"
    );
}

async fn no_second_factor_is_enrolled_without_its_event(backend: Backend) {
    let (app, fiscal, _) = office(backend).await;
    let page = fiscal.text("/account/two-factor").await;
    let marker = "id=\"totp-secret\">";
    let start = page.find(marker).expect("secret on the setup page") + marker.len();
    let end = start + page[start..].find('<').expect("end of the secret");
    let code = fiscal.next_code(&page[start..end], "fiona@pf.example");
    break_the_audit_chain(&app).await;
    let response = fiscal
        .submit(
            "/account/two-factor",
            "/account/two-factor",
            &[("code", &code)],
        )
        .await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        app.number(
            "SELECT COUNT(*) FROM users WHERE email = 'fiona@pf.example' AND totp_secret IS NULL"
        )
        .await,
        1
    );
    assert_eq!(
        app.number(
            "SELECT COUNT(*) FROM totp_recovery_codes c JOIN users u ON u.id = c.user_id \
             WHERE u.email = 'fiona@pf.example'"
        )
        .await,
        0
    );
}

async fn no_message_is_delivered_without_its_notifications(backend: Backend) {
    let (app, fiscal, _) = office(backend).await;
    let before = events(&app).await;
    app.sql("ALTER TABLE notifications RENAME TO notifications_away")
        .await;
    let response = fiscal
        .send(&Outgoing::to(
            "ann@brodie.example",
            "Disclosure",
            "Please find the statement attached.",
        ))
        .await;
    assert_eq!(response.status(), 500);
    app.sql("ALTER TABLE notifications_away RENAME TO notifications")
        .await;
    assert_eq!(app.number("SELECT COUNT(*) FROM messages").await, 0);
    assert_eq!(app.number("SELECT COUNT(*) FROM mailbox_entries").await, 0);
    assert_eq!(
        events(&app).await,
        before,
        "no event of a delivery that did not happen"
    );

    // With the outbox back, the same message goes out with one email per recipient.
    let sent = fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "Disclosure",
            "Please find the statement attached.",
        ))
        .await;
    assert!(location_is_thread(&sent), "{sent}");
    assert_eq!(
        app.number("SELECT COUNT(*) FROM notifications WHERE recipient = 'ann@brodie.example'")
            .await,
        1
    );
}

fn location_is_thread(path: &str) -> bool {
    path.starts_with("/threads/")
}
