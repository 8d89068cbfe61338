use casemail::domain::OrganisationKind;

use crate::helpers::{Backend, Outgoing, PASSWORD, TestApp, location};
use crate::on_both_backends;

on_both_backends!(
    a_recovery_code_resets_the_password_and_keeps_the_mail,
    the_offline_recovery_identity_lets_an_admin_recover_an_account,
    custodians_recover_an_account_at_the_command_line,
    new_keys_leave_old_mail_unreadable,
);

const NEW_PASSWORD: &str = "a brand new passphrase";

fn between<'a>(page: &'a str, start: &str, end: char) -> &'a str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("{start} in page"))
        + start.len();
    let to = page[from..].find(end).map_or(from, |n| from + n);
    &page[from..to]
}

/// An invited fiscal (shown a recovery code) with one message from a colleague.
async fn invited_with_mail(app: &TestApp) -> String {
    casemail::cli::create_service_admin(
        &app.app,
        "ops@casemail.example",
        "Ops",
        "Service",
        PASSWORD,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let ops = app.browser();
    ops.sign_in_ok("ops@casemail.example").await;
    let org = app
        .organisation(OrganisationKind::Prosecution, "Glasgow PF", "Glasgow")
        .await
        .to_string();
    ops.submit(
        "/admin/invitations",
        "/admin/invitations",
        &[
            ("name", "Nina"),
            ("email", "nina@pf.example"),
            ("organisation", &org),
        ],
    )
    .await;
    let mail = app
        .store
        .notifications_for("nina@pf.example")
        .await
        .expect("the queued email");
    let path = between(&mail[0].body, &app.app.config.public_url(), '\n').to_string();
    let nina = app.browser();
    let ready = nina
        .submit(
            &path,
            &path,
            &[("password", PASSWORD), ("confirm_password", PASSWORD)],
        )
        .await;
    let page = ready.text().await.expect("response body");
    let code = between(&page, "id=\"recovery-code\">", '<').to_string();
    app.user(
        "duncan@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
    )
    .await;
    let duncan = app.browser();
    duncan.sign_in_ok("duncan@pf.example").await;
    duncan
        .send_ok(&Outgoing::to(
            "nina@pf.example",
            "Before the reset",
            "KEPT-BODY",
        ))
        .await;
    code
}

async fn a_recovery_code_resets_the_password_and_keeps_the_mail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let code = invited_with_mail(&app).await;
    assert_eq!(code.len(), 23, "four groups of five: {code}");
    let visitor = app.browser();
    let wrong = visitor
        .submit(
            "/recover",
            "/recover",
            &[
                ("email", "nina@pf.example"),
                ("code", "AAAAA-BBBBB-CCCCC-DDDDD"),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    let lower = code.to_lowercase().replace('-', " ");
    let done = visitor
        .submit(
            "/recover",
            "/recover",
            &[
                ("email", "nina@pf.example"),
                ("code", &lower),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    let page = done.text().await.expect("response body");
    assert!(page.contains("Your password has been changed"));
    let next_code = between(&page, "id=\"recovery-code\">", '<').to_string();
    assert_ne!(next_code, code);
    let again = visitor
        .submit(
            "/recover",
            "/recover",
            &[
                ("email", "nina@pf.example"),
                ("code", &code),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status(), 422, "a spent code no longer works");

    let nina = app.browser();
    assert_eq!(
        nina.sign_in("nina@pf.example", PASSWORD).await.status(),
        422
    );
    assert_eq!(
        location(&nina.sign_in("nina@pf.example", NEW_PASSWORD).await),
        "/"
    );
    let inbox = nina.text("/mail/inbox").await;
    let thread = format!("/threads/{}", between(&inbox, "href=\"/threads/", '"'));
    assert!(
        nina.text(&thread).await.contains("KEPT-BODY"),
        "old mail is still readable"
    );
}

async fn custodians_recover_an_account_at_the_command_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    invited_with_mail(&app).await;
    // The identity comes on standard input (a file works the same), never as an argument.
    let identity =
        std::fs::read_to_string(app.app.config.recovery_secret_path()).expect("read the file");
    let run = |stdin: String| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_casemail"));
        command
            .args(["keys", "recover", "--email", "nina@pf.example"])
            .env("CASEMAIL_DATA_DIR", app.dir.path())
            .env("CASEMAIL_DATABASE_URL", &app.database.url)
            .env("CASEMAIL_LOG_FORMAT", "json")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().expect("run casemail keys recover");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write the identity");
        child.wait_with_output().expect("wait")
    };
    let wrong =
        run("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n".into());
    assert!(!wrong.status.success(), "a wrong identity recovers nothing");
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("not the one this account was wrapped to")
    );

    let done = run(identity.clone());
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let printed = String::from_utf8_lossy(&done.stdout).into_owned();
    assert!(
        !printed.contains("AGE-SECRET-KEY"),
        "the identity is never printed"
    );
    let temporary = printed
        .lines()
        .find(|line| line.starts_with("temp-"))
        .expect("the temporary password")
        .trim()
        .to_string();
    let nina = app.browser();
    assert_eq!(
        location(&nina.sign_in("nina@pf.example", &temporary).await),
        "/"
    );
    assert_eq!(
        location(&nina.get("/mail/inbox").await),
        "/account/password",
        "the temporary password must be replaced first"
    );
    let recorded = app
        .text_of("SELECT client_address FROM audit_events WHERE kind = 'admin.account_recovered'")
        .await;
    assert_eq!(
        recorded, "command line",
        "the audit trail says how it was done"
    );
}

async fn the_offline_recovery_identity_lets_an_admin_recover_an_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    invited_with_mail(&app).await;
    let id = app.id_of("nina@pf.example").await;
    let ops = app.browser();
    ops.sign_in_ok("ops@casemail.example").await;
    let page = format!("/admin/users/{id}");
    let wrong = ops
        .submit(
            &page,
            &format!("{page}/recover"),
            &[(
                "recovery_identity",
                "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
            )],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    let identity =
        std::fs::read_to_string(app.app.config.recovery_secret_path()).expect("read the file");
    let done = ops
        .submit(
            &page,
            &format!("{page}/recover"),
            &[("recovery_identity", &identity)],
        )
        .await
        .text()
        .await
        .expect("response body");
    let temporary = between(&done, "id=\"temporary-password\">", '<').to_string();
    assert!(temporary.starts_with("temp-"));

    let nina = app.browser();
    assert_eq!(
        location(&nina.sign_in("nina@pf.example", &temporary).await),
        "/"
    );
    assert_eq!(
        location(&nina.get("/mail/inbox").await),
        "/account/password",
        "the temporary password must be replaced first"
    );
    let changed = nina
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", &temporary),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&changed), "/account?password_changed=1");
    let inbox = nina.text("/mail/inbox").await;
    let thread = format!("/threads/{}", between(&inbox, "href=\"/threads/", '"'));
    assert!(
        nina.text(&thread).await.contains("KEPT-BODY"),
        "mail survives the admin recovery"
    );
}

async fn new_keys_leave_old_mail_unreadable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    invited_with_mail(&app).await;
    let id = app.id_of("nina@pf.example").await;
    // Her mail is taken in under her mailbox key before the reset, so the reset must
    // leave that unreadable too.
    let before = app.browser();
    before.sign_in("nina@pf.example", PASSWORD).await;
    assert!(
        before
            .text("/mail/inbox")
            .await
            .contains("Before the reset")
    );
    app.wait_taken_in(id).await;
    let ops = app.browser();
    ops.sign_in_ok("ops@casemail.example").await;
    let page = format!("/admin/users/{id}");
    let unconfirmed = ops.submit(&page, &format!("{page}/new-keys"), &[]).await;
    assert_eq!(unconfirmed.status(), 422);
    let done = ops
        .submit(&page, &format!("{page}/new-keys"), &[("confirm", "yes")])
        .await
        .text()
        .await
        .expect("response body");
    let temporary = between(&done, "id=\"temporary-password\">", '<').to_string();
    let nina = app.browser();
    nina.sign_in("nina@pf.example", &temporary).await;
    nina.submit(
        "/account/password",
        "/account/password",
        &[
            ("current_password", &temporary),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    let inbox = nina.text("/mail/inbox").await;
    assert!(inbox.contains("this copy cannot be decrypted"));
    assert!(
        nina.text("/search?q=kept")
            .await
            .contains("0 messages found"),
        "the old index went with the old keys"
    );
    let thread = format!("/threads/{}", between(&inbox, "href=\"/threads/", '"'));
    let page = nina.text(&thread).await;
    assert!(
        page.contains("encrypted to keys your account no longer has")
            && !page.contains("KEPT-BODY")
    );
    let sent = app
        .store
        .notifications_for("nina@pf.example")
        .await
        .expect("the queued email");
    assert!(sent.iter().any(|n| n.body.contains("can no longer be")));
}
