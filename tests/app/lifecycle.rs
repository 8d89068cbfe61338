use casemail::domain::{OrganisationKind, UserStatus};

use crate::helpers::{Backend, Browser, PASSWORD, START, TestApp, location};
use crate::on_both_backends;

on_both_backends!(
    inactivity_warns_then_locks_suspends_and_deletes,
    active_people_are_never_locked,
    only_one_instance_runs_the_policy_at_a_time,
    admins_act_only_within_their_scope,
    a_jurisdiction_admin_unlocks_a_local_defence_agent,
    registrations_wait_for_approval_and_rejections_give_a_reason,
    invitations_work_once_and_expire,
    notifications_go_to_the_outbox_without_a_relay,
    notifications_go_through_a_real_smtp_relay_and_are_retried,
    bulk_provisioning_checks_every_row_before_creating_any,
);

const DAY: i64 = 86_400;

async fn policy(app: &TestApp) -> casemail::lifecycle::PolicyReport {
    app.app
        .lifecycle
        .run_inactivity_policy("test-instance", app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("policy: {e:#}"))
}

async fn status(app: &TestApp, id: i64) -> UserStatus {
    app.store
        .user_account(id)
        .await
        .ok()
        .flatten()
        .map_or(UserStatus::Deleted, |a| a.status)
}

async fn subjects(app: &TestApp, email: &str) -> Vec<String> {
    app.store
        .notifications_for(email)
        .await
        .unwrap_or_default()
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
        .unwrap_or_default();
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
        app.store.recovery_wrap(id).await.ok().flatten().is_none(),
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

async fn make_admin(
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

async fn member(app: &TestApp, email: &str, kind: OrganisationKind, org: &str, area: &str) -> i64 {
    app.account(email, kind, org, area, false).await
}

async fn admins_act_only_within_their_scope(backend: Backend) {
    use OrganisationKind::*;
    let app = TestApp::spawn(backend).await;
    let service = make_admin(
        &app,
        "ops@casemail.example",
        Service,
        "Casemail service",
        "",
    )
    .await;
    let pf_admin = make_admin(
        &app,
        "morag@pf.example",
        Prosecution,
        "Glasgow PF",
        "Glasgow",
    )
    .await;
    let brodie_admin = make_admin(&app, "angus@brodie.example", Defence, "Brodie", "Glasgow").await;
    let kerr_admin = make_admin(&app, "kate@kerr.example", Defence, "Kerr", "Edinburgh").await;
    let pf_member_browser = {
        member(
            &app,
            "fiona@pf.example",
            Prosecution,
            "Glasgow PF",
            "Glasgow",
        )
        .await;
        let b = app.browser();
        b.sign_in_ok("fiona@pf.example").await;
        b
    };
    let targets = [
        (
            "Glasgow defence agent",
            member(&app, "ann@brodie.example", Defence, "Brodie", "Glasgow").await,
        ),
        (
            "Edinburgh defence agent",
            member(&app, "bob@kerr.example", Defence, "Kerr", "Edinburgh").await,
        ),
        (
            "Glasgow fiscal",
            member(
                &app,
                "duncan@pf.example",
                Prosecution,
                "Glasgow PF",
                "Glasgow",
            )
            .await,
        ),
        (
            "Glasgow court clerk",
            member(
                &app,
                "clerk@court.example",
                Court,
                "Glasgow Sheriff Court",
                "Glasgow",
            )
            .await,
        ),
    ];
    // Expected access per (admin, target) in the order of `targets`.
    let cells: [(&str, &Browser, [bool; 4]); 5] = [
        ("service admin", &service, [true, true, true, true]),
        ("Glasgow PF admin", &pf_admin, [true, false, true, false]),
        (
            "Glasgow firm admin",
            &brodie_admin,
            [true, false, false, false],
        ),
        (
            "Edinburgh firm admin",
            &kerr_admin,
            [false, true, false, false],
        ),
        (
            "fiscal without admin rights",
            &pf_member_browser,
            [false, false, false, false],
        ),
    ];
    for (who, browser, allowed) in cells {
        assert_eq!(
            browser.get("/admin/users").await.status(),
            if allowed.iter().any(|a| *a) { 200 } else { 404 },
            "{who}: user list"
        );
        for ((target, id), allowed) in targets.iter().zip(allowed) {
            let expected = if allowed { 200 } else { 404 };
            assert_eq!(
                browser.get(&format!("/admin/users/{id}")).await.status(),
                expected,
                "{who} viewing {target}"
            );
            let token_page = if allowed {
                format!("/admin/users/{id}")
            } else {
                "/account".to_string()
            };
            let response = browser
                .submit(
                    &token_page,
                    &format!("/admin/users/{id}/status"),
                    &[("action", "suspend")],
                )
                .await;
            assert_eq!(
                response.status(),
                if allowed { 303 } else { 404 },
                "{who} suspending {target}"
            );
            if allowed {
                assert_eq!(status(&app, *id).await, UserStatus::Suspended);
                app.set_status(*id, UserStatus::Active).await;
            } else {
                assert_eq!(
                    status(&app, *id).await,
                    UserStatus::Active,
                    "{who} changed {target}"
                );
            }
        }
    }
    let admin_page = pf_admin.text("/admin/users").await;
    assert!(admin_page.contains("ann@brodie.example") && !admin_page.contains("bob@kerr.example"));
}

async fn a_jurisdiction_admin_unlocks_a_local_defence_agent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let pf_admin = make_admin(
        &app,
        "morag@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
        "Glasgow",
    )
    .await;
    let ann = member(
        &app,
        "ann@brodie.example",
        OrganisationKind::Defence,
        "Brodie",
        "Glasgow",
    )
    .await;
    app.clock.advance(25 * DAY);
    pf_admin.sign_in_ok("morag@pf.example").await;
    let soon = pf_admin.text("/admin/users").await;
    assert!(
        soon.contains("Will be locked on"),
        "admins see who is about to be locked"
    );
    let idle = pf_admin.text("/admin/users?inactive=23").await;
    assert!(
        idle.contains("ann@brodie.example") && !idle.contains("morag@pf.example"),
        "filter by last sign-in"
    );
    app.clock.advance(5 * DAY);
    pf_admin.sign_in_ok("morag@pf.example").await;
    assert_eq!(policy(&app).await.locked, 1);
    assert!(
        pf_admin
            .text("/admin/users?status=locked")
            .await
            .contains("ann@brodie.example")
    );
    let page = pf_admin.text(&format!("/admin/users/{ann}")).await;
    assert!(page.contains("Unlock account"));
    let response = pf_admin
        .submit(
            &format!("/admin/users/{ann}"),
            &format!("/admin/users/{ann}/status"),
            &[("action", "unlock")],
        )
        .await;
    assert_eq!(location(&response), "/admin/users?done=unlocked");
    app.browser().sign_in_ok("ann@brodie.example").await;
    assert_eq!(
        policy(&app).await.locked,
        0,
        "unlocking restarts the inactivity clock"
    );
    let wrong = pf_admin
        .submit(
            &format!("/admin/users/{ann}"),
            &format!("/admin/users/{ann}/status"),
            &[("action", "reactivate")],
        )
        .await;
    assert_eq!(
        wrong.status(),
        422,
        "an active account cannot be reactivated"
    );
    let delete = pf_admin
        .submit(
            &format!("/admin/users/{ann}"),
            &format!("/admin/users/{ann}/status"),
            &[("action", "delete")],
        )
        .await;
    assert!(
        delete
            .text()
            .await
            .unwrap_or_default()
            .contains("Confirm that the account")
    );
    assert_eq!(
        status(&app, ann).await,
        UserStatus::Active,
        "nothing deleted without confirmation"
    );
}

async fn registrations_wait_for_approval_and_rejections_give_a_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let pf_admin = make_admin(
        &app,
        "morag@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
        "Glasgow",
    )
    .await;
    let firm = app
        .organisation(OrganisationKind::Defence, "Brodie", "Glasgow")
        .await
        .to_string();
    let visitor = app.browser();
    let form = |email: &'static str, firm: String| {
        vec![
            ("name", "New Solicitor".to_string()),
            ("email", email.to_string()),
            ("firm", firm),
            ("reference", "LS12345".to_string()),
            ("password", PASSWORD.to_string()),
            ("confirm_password", PASSWORD.to_string()),
        ]
    };
    let fields = form("new@brodie.example", firm.clone());
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = visitor.submit("/register", "/register", &fields).await;
    assert!(
        response
            .text()
            .await
            .unwrap_or_default()
            .contains("Registration received")
    );
    let applicant = app.browser();
    assert_eq!(
        applicant
            .sign_in("new@brodie.example", PASSWORD)
            .await
            .status(),
        303
    );
    let waiting = applicant.get("/mail/inbox").await;
    assert_eq!(waiting.status(), 403);
    assert!(
        waiting
            .text()
            .await
            .unwrap_or_default()
            .contains("waiting for approval")
    );

    let users = pf_admin.text("/admin/users?status=pending").await;
    assert!(users.contains("new@brodie.example"));
    let id = app.id_of("new@brodie.example").await;
    assert!(
        pf_admin
            .text(&format!("/admin/users/{id}"))
            .await
            .contains("LS12345")
    );
    pf_admin
        .submit(
            &format!("/admin/users/{id}"),
            &format!("/admin/users/{id}/status"),
            &[("action", "approve")],
        )
        .await;
    assert_eq!(
        applicant.get("/mail/inbox").await.status(),
        200,
        "approved at once"
    );
    assert!(
        subjects(&app, "new@brodie.example")
            .await
            .contains(&"Your Casemail registration has been approved".to_string())
    );

    let fields = form("chancer@brodie.example", firm);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    visitor.submit("/register", "/register", &fields).await;
    let id = app.id_of("chancer@brodie.example").await;
    let no_reason = pf_admin
        .submit(
            &format!("/admin/users/{id}"),
            &format!("/admin/users/{id}/status"),
            &[("action", "reject")],
        )
        .await;
    assert!(
        no_reason
            .text()
            .await
            .unwrap_or_default()
            .contains("Give the reason")
    );
    pf_admin
        .submit(
            &format!("/admin/users/{id}"),
            &format!("/admin/users/{id}/status"),
            &[("action", "reject"), ("reason", "Not on the roll")],
        )
        .await;
    let sent = app
        .store
        .notifications_for("chancer@brodie.example")
        .await
        .unwrap_or_default();
    assert!(
        sent.iter()
            .any(|n| n.subject.contains("not approved") && n.body.contains("Not on the roll"))
    );
    assert_eq!(status(&app, id).await, UserStatus::Deleted);

    let bad = visitor
        .submit(
            "/register",
            "/register",
            &[
                ("name", ""),
                ("firm", "new"),
                ("new_firm", ""),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let page = bad.text().await.unwrap_or_default();
    assert!(
        page.contains("Enter a full name")
            && page.contains("Enter the organisation")
            && page.contains("12 characters")
    );
}

async fn invitations_work_once_and_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let pf_admin = make_admin(
        &app,
        "morag@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
        "Glasgow",
    )
    .await;
    let org = app
        .organisation(OrganisationKind::Prosecution, "Glasgow PF", "Glasgow")
        .await
        .to_string();
    let response = pf_admin
        .submit(
            "/admin/invitations",
            "/admin/invitations",
            &[
                ("name", "Nina New"),
                ("email", "nina@pf.example"),
                ("organisation", &org),
            ],
        )
        .await;
    assert_eq!(location(&response), "/admin/invitations?done=sent");
    let mail = app
        .store
        .notifications_for("nina@pf.example")
        .await
        .unwrap_or_default();
    let body = &mail
        .first()
        .unwrap_or_else(|| panic!("invitation email"))
        .body;
    let start = body
        .find("/invite/")
        .unwrap_or_else(|| panic!("link in {body}"));
    let path: String = body[start..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let invitee = app.browser();
    assert!(invitee.text(&path).await.contains("Activate your account"));
    let response = invitee
        .submit(
            &path,
            &path,
            &[("password", PASSWORD), ("confirm_password", PASSWORD)],
        )
        .await;
    assert!(
        response
            .text()
            .await
            .unwrap_or_default()
            .contains("Your recovery code")
    );
    invitee.sign_in_ok("nina@pf.example").await;
    let again = app.browser().get(&path).await;
    assert_eq!(again.status(), 400, "single use");

    pf_admin
        .submit(
            "/admin/invitations",
            "/admin/invitations",
            &[
                ("name", "Late Larry"),
                ("email", "larry@pf.example"),
                ("organisation", &org),
            ],
        )
        .await;
    let mail = app
        .store
        .notifications_for("larry@pf.example")
        .await
        .unwrap_or_default();
    let body = &mail[0].body;
    let start = body.find("/invite/").unwrap_or(0);
    let path: String = body[start..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    app.clock.advance(8 * DAY);
    let late = app.browser().get(&path).await;
    assert_eq!(late.status(), 400);
    assert!(late.text().await.unwrap_or_default().contains("expired"));
    let _ = START;
}

async fn notifications_go_to_the_outbox_without_a_relay(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.queue_email("ann@brodie.example", "Test subject", "Body text")
        .await;
    assert_eq!(app.app.notifications.deliver().await.unwrap_or(0), 1);
    let outbox = app.dir.path().join("outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap_or_default();
    assert!(text.contains("Subject: Test subject") && text.contains("To: ann@brodie.example"));
    assert_eq!(
        app.app.notifications.deliver().await.unwrap_or(9),
        0,
        "sent once"
    );
}

/// A real SMTP server on loopback (Debian's python3-aiosmtpd), storing mail in a Maildir.
struct Relay {
    child: std::process::Child,
    maildir: std::path::PathBuf,
}

impl Relay {
    async fn start(port: u16, maildir: std::path::PathBuf) -> Option<Self> {
        let child = std::process::Command::new("/usr/bin/python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Self { child, maildir });
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        None
    }

    fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_available() -> bool {
    let present = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        present || std::env::var("CASEMAIL_TEST_REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "CI must have python3-aiosmtpd for the SMTP test"
    );
    present
}

async fn notifications_go_through_a_real_smtp_relay_and_are_retried(backend: Backend) {
    if !smtp_available() {
        eprintln!("skipping the SMTP test: python3-aiosmtpd is not installed");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0);
    let app = TestApp::spawn_with(backend, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))
    })
    .await;
    let maildir = app.dir.path().join("relay");
    app.queue_email("ann@brodie.example", "Relay down at first", "Body")
        .await;
    assert_eq!(
        app.app.notifications.deliver().await.unwrap_or(9),
        0,
        "the relay is not running yet"
    );
    let relay = Relay::start(port, maildir)
        .await
        .unwrap_or_else(|| panic!("relay did not start"));
    assert_eq!(
        app.app.notifications.deliver().await.unwrap_or(9),
        0,
        "not retried before its time"
    );
    app.clock.advance(61);
    assert_eq!(
        app.app.notifications.deliver().await.unwrap_or(0),
        1,
        "retried once the relay is up"
    );
    let messages = relay.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("Subject: Relay down at first")
            && messages[0].contains("ann@brodie.example")
    );
}

async fn upload_csv(browser: &Browser, app: &TestApp, csv: &str) -> reqwest::Response {
    let page = browser.text("/admin/invitations/bulk").await;
    let token = crate::helpers::csrf_token(&page).unwrap_or_default();
    let part = reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("people.csv");
    browser
        .client
        .post(app.url(&format!("/admin/invitations/bulk?csrf_token={token}")))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn bulk_provisioning_checks_every_row_before_creating_any(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let pf_admin = make_admin(
        &app,
        "morag@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
        "Glasgow",
    )
    .await;
    app.organisation(OrganisationKind::Defence, "Kerr", "Edinburgh")
        .await;
    let bad = "name,email,organisation,admin\n\
               Good Person,good@pf.example,Glasgow PF,no\n\
               ,not-an-email,Glasgow PF,no\n\
               Twin,good@pf.example,Glasgow PF,maybe\n\
               Outsider,out@kerr.example,Kerr,no\n";
    let response = upload_csv(&pf_admin, &app, bad).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap_or_default();
    assert!(page.contains("Nobody was invited"));
    assert!(page.contains("Enter a full name") && page.contains("correct format"));
    assert!(page.contains("appears more than once") && page.contains("Admin must be yes or no"));
    assert!(page.contains("“Kerr” is not an organisation you administer"));
    assert!(
        app.store
            .notifications_for("good@pf.example")
            .await
            .unwrap_or_default()
            .is_empty(),
        "nothing created"
    );

    let good = "name,email,organisation,admin\n\
                Nina New,nina@pf.example,Glasgow PF,no\n\
                \"Mc, Duff\",mcduff@pf.example,glasgow pf,yes\n\
                Brodie Agent,agent@brodie.example,Brodie,no\n";
    app.organisation(OrganisationKind::Defence, "Brodie", "Glasgow")
        .await;
    let response = upload_csv(&pf_admin, &app, good).await;
    assert_eq!(location(&response), "/admin/invitations?done=sent");
    for email in [
        "nina@pf.example",
        "mcduff@pf.example",
        "agent@brodie.example",
    ] {
        assert_eq!(
            app.store
                .notifications_for(email)
                .await
                .unwrap_or_default()
                .len(),
            1,
            "{email} invited"
        );
    }
    let too_many: String = std::iter::once("name,email,organisation,admin\n".to_string())
        .chain((0..501).map(|n| format!("P {n},p{n}@pf.example,Glasgow PF,no\n")))
        .collect();
    let response = upload_csv(&pf_admin, &app, &too_many).await;
    assert!(
        response
            .text()
            .await
            .unwrap_or_default()
            .contains("more than 500 people")
    );
}
