//! Joining: defence solicitors register and wait for approval; others are invited, one at
//! a time or from a CSV file.

use casemail::domain::{OrganisationKind, UserStatus};

use crate::helpers::{Backend, Browser, PASSWORD, START, TestApp, location};
use crate::lifecycle::{DAY, make_admin, status, subjects};
use crate::on_both_backends;

on_both_backends!(
    registrations_wait_for_approval_and_rejections_give_a_reason,
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
            .expect("response body")
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
