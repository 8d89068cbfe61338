//! Joining: defence solicitors register and wait for approval; others are invited, one at
//! a time or from a CSV file.

use casemail::domain::{OrganisationKind, UserStatus};

use crate::helpers::{Backend, Browser, PASSWORD, START, TestApp, location};
use crate::lifecycle::{DAY, make_admin, status, subjects};
use crate::on_both_backends;

on_both_backends!(
    registrations_wait_for_approval_and_rejections_give_a_reason,
    a_taken_address_gets_the_same_answer_and_its_owner_is_told,
    registrations_from_one_address_are_throttled,
    invitations_work_once_and_expire,
    bulk_provisioning_checks_every_row_before_creating_any,
);

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
            .expect("response body")
            .contains("Registration received")
    );
    let applicant = app.browser();
    let waiting = applicant.sign_in("new@brodie.example", PASSWORD).await;
    assert_eq!(waiting.status(), 422, "no sign-in before approval");
    assert!(
        waiting
            .text()
            .await
            .expect("response body")
            .contains("once an administrator has approved your registration")
    );
    assert!(location(&applicant.get("/mail/inbox").await).starts_with("/sign-in"));

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
    applicant.sign_in_ok("new@brodie.example").await;
    assert_eq!(
        applicant.get("/mail/inbox").await.status(),
        200,
        "approved, the applicant signs in"
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
            .expect("response body")
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
        .expect("the queued email");
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
    let page = bad.text().await.expect("response body");
    assert!(
        page.contains("Enter a full name")
            && page.contains("Enter the organisation")
            && page.contains("12 characters")
    );
}

/// The fields of a registration with a new firm.
fn registration(email: &str, firm: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", "New Solicitor".to_string()),
        ("email", email.to_string()),
        ("firm", "new".to_string()),
        ("new_firm", firm.to_string()),
        ("new_firm_jurisdiction", "Glasgow".to_string()),
        ("reference", "LS12345".to_string()),
        ("password", "a different password 9".to_string()),
        ("confirm_password", "a different password 9".to_string()),
    ]
}

async fn register(browser: &Browser, fields: &[(&'static str, String)]) -> (u16, String) {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = browser.submit("/register", "/register", &fields).await;
    let status = response.status().as_u16();
    (status, response.text().await.expect("response body"))
}

/// The page without its one-time code and form token, which differ on every page.
fn without_secrets(page: &str) -> String {
    page.lines()
        .filter(|line| !line.contains("recovery-code") && !line.to_lowercase().contains("csrf"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn a_taken_address_gets_the_same_answer_and_its_owner_is_told(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let (new_status, new_page) = register(
        &app.browser(),
        &registration("new@kerr.example", "Kerr Legal"),
    )
    .await;
    let (taken_status, taken_page) = register(
        &app.browser(),
        &registration("ann@brodie.example", "Chancer & Co"),
    )
    .await;
    assert_eq!(new_status, taken_status);
    assert!(taken_page.contains("Registration received"));
    assert!(
        !taken_page.contains("already"),
        "nothing says the address is taken"
    );
    assert_eq!(
        without_secrets(&new_page),
        without_secrets(&taken_page),
        "the two answers are the same page"
    );
    assert_eq!(
        app.number("SELECT COUNT(*) FROM organisations WHERE name = 'Chancer & Co'")
            .await,
        0,
        "no firm is left behind"
    );
    let told = app
        .store
        .notifications_for("ann@brodie.example")
        .await
        .expect("the queued email");
    assert!(
        told.iter()
            .any(|n| n.subject.contains("Someone tried to register")),
        "the owner is told by email"
    );
    // The existing account is untouched: its password still works, the new one does not.
    // And signing in with the password chosen at registration answers the same for the
    // taken address as for the new one, so that does not tell either.
    let chosen = registration("x@y.example", "Z")
        .iter()
        .find(|(field, _)| *field == "password")
        .map(|(_, value)| value.clone())
        .expect("a password field");
    let taken = app.browser().sign_in("ann@brodie.example", &chosen).await;
    let fresh = app.browser().sign_in("new@kerr.example", &chosen).await;
    assert_eq!(taken.status(), 422);
    assert_eq!(fresh.status(), 422);
    let taken = taken.text().await.expect("body");
    let fresh = fresh.text().await.expect("body");
    assert_eq!(
        without_secrets(&taken.replace("ann@brodie.example", "ADDRESS")),
        without_secrets(&fresh.replace("new@kerr.example", "ADDRESS")),
        "the same page, whether or not the registration made an account"
    );
    app.browser().sign_in_ok("ann@brodie.example").await;
}

async fn registrations_from_one_address_are_throttled(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.trust_forwarded_for = true).await;
    let visitor = app.browser_at("203.0.113.70");
    let limit = casemail::domain::ThrottleRule::REGISTRATION_ADDRESS.limit;
    for n in 0..limit {
        let (status, page) = register(
            &visitor,
            &registration(&format!("person{n}@firm{n}.example"), &format!("Firm {n}")),
        )
        .await;
        assert_eq!(status, 200, "registration {n}");
        assert!(page.contains("Registration received"));
    }
    let (status, page) = register(
        &visitor,
        &registration("one.more@firm.example", "One More Firm"),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("too many registrations"),
        "the pause is explained"
    );
    assert_eq!(
        app.number("SELECT COUNT(*) FROM users WHERE email = 'one.more@firm.example'")
            .await,
        0
    );
    let (status, _) = register(
        &app.browser_at("198.51.100.20"),
        &registration("elsewhere@firm.example", "Elsewhere Firm"),
    )
    .await;
    assert_eq!(status, 200, "another address is not affected");
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
        .expect("the queued email");
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
        .expect("the invitation link")
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
            .expect("response body")
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
        .expect("the queued email");
    let body = &mail[0].body;
    let start = body.find("/invite/").unwrap_or(0);
    let path: String = body[start..]
        .split_whitespace()
        .next()
        .expect("the invitation link")
        .to_string();
    app.clock.advance(8 * DAY);
    let late = app.browser().get(&path).await;
    assert_eq!(late.status(), 400);
    assert!(
        late.text()
            .await
            .expect("response body")
            .contains("expired")
    );
    let _ = START;
}

async fn upload_csv(browser: &Browser, app: &TestApp, csv: &str) -> reqwest::Response {
    let page = browser.text("/admin/invitations/bulk").await;
    let token = crate::helpers::csrf_token(&page).expect("a form token on the page");
    let part = reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("people.csv");
    browser
        .client
        .post(app.url("/admin/invitations/bulk"))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf_token", token)
                .part("file", part),
        )
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
    let page = response.text().await.expect("response body");
    assert!(page.contains("Nobody was invited"));
    assert!(page.contains("Enter a full name") && page.contains("correct format"));
    assert!(page.contains("appears more than once") && page.contains("Admin must be yes or no"));
    assert!(page.contains("“Kerr” is not an organisation you administer"));
    assert!(
        app.store
            .notifications_for("good@pf.example")
            .await
            .expect("the queued email")
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
                .expect("the queued email")
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
            .expect("response body")
            .contains("more than 500 people")
    );
}
