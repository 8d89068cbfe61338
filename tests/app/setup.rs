use casemail::domain::OrganisationKind;

use crate::helpers::{Backend, PASSWORD, TestApp, location};
use crate::on_both_backends;

on_both_backends!(
    the_setup_link_creates_the_first_service_admin_once,
    a_wrong_setup_link_is_not_found,
    admin_create_makes_a_service_admin,
    the_demo_deployment_can_be_signed_into,
);

async fn the_setup_link_creates_the_first_service_admin_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = app
        .app
        .accounts
        .issue_setup_link()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let path = setup_path(&link);
    let browser = app.browser();
    assert!(
        browser
            .text(&path)
            .await
            .contains("Create the service administrator")
    );

    let response = browser
        .submit(
            &path,
            &path,
            &[
                ("name", ""),
                ("email", "not-an-email"),
                ("organisation", "Ops"),
                ("password", PASSWORD),
                ("confirm_password", "different"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("response body");
    assert!(page.contains("Enter a full name"));
    assert!(page.contains("Enter an email address in the correct format"));
    assert!(page.contains("The passwords do not match"));
    assert!(page.contains("value=\"Ops\""), "typed values are kept");

    let response = browser
        .submit(
            &path,
            &path,
            &[
                ("name", "Sam Operator"),
                ("email", "sam@ops.example"),
                ("organisation", "Ops"),
                ("password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let ready = response.text().await.expect("response body");
    assert!(ready.contains("Your recovery code") && ready.contains("id=\"recovery-code\""));
    assert_eq!(
        browser.get(&path).await.status(),
        404,
        "the link works once"
    );

    browser.sign_in_ok("sam@ops.example").await;
    assert!(
        browser
            .text("/account")
            .await
            .contains("Service administrator")
    );
    let home = browser.text("/mail/inbox").await;
    assert!(
        home.contains("recovery secret key is still stored on this server"),
        "the admin is told to move the generated recovery secret offline"
    );
    std::fs::remove_file(app.app.config.recovery_secret_path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !browser
            .text("/mail/inbox")
            .await
            .contains("recovery secret key is still stored")
    );
}

async fn a_wrong_setup_link_is_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.app
        .accounts
        .issue_setup_link()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let browser = app.browser();
    assert_eq!(browser.get("/setup/not-the-token").await.status(), 404);

    // Once any account exists, no setup link works.
    let link = app
        .app
        .accounts
        .issue_setup_link()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let path = setup_path(&link);
    assert_eq!(browser.get(&path).await.status(), 404);
}

async fn admin_create_makes_a_service_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    casemail::cli::create_service_admin(
        &app.app,
        "ops@casemail.example",
        "Ops Person",
        "Casemail service",
        PASSWORD,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let again = casemail::cli::create_service_admin(
        &app.app,
        "OPS@casemail.example",
        "Ops Person",
        "Casemail service",
        PASSWORD,
    )
    .await;
    assert!(again.is_err(), "one account per address, whatever its case");
    let browser = app.browser();
    browser.sign_in_ok("ops@casemail.example").await;
    assert!(
        browser
            .text("/account")
            .await
            .contains("Service administrator")
    );
}

async fn the_demo_deployment_can_be_signed_into(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let password = casemail::cli::seed_demo(&app.app)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (email, words) in [
        (
            "fiona.fiscal@pf.example",
            "Glasgow Procurator Fiscal Office",
        ),
        (
            "deborah@brodiewylie.example",
            "Brodie &#38; Wylie Solicitors",
        ),
        // Administrators are sent to set up their second factor first.
        (
            "admin@casemail.example",
            "Administrators must use a second factor",
        ),
        (
            "morag.manager@pf.example",
            "Administrators must use a second factor",
        ),
    ] {
        let browser = app.browser();
        assert_eq!(
            browser.sign_in(email, &password).await.status(),
            303,
            "{email}"
        );
        let account = browser.get("/account").await;
        let page = if account.status() == 303 {
            assert_eq!(location(&account), "/account/two-factor");
            browser.text("/account/two-factor").await
        } else {
            account.text().await.expect("response body")
        };
        assert!(page.contains(words), "{email}: {words}");
    }
    let deborah = app.browser();
    deborah
        .sign_in("deborah@brodiewylie.example", &password)
        .await;
    let inbox = deborah.text("/mail/inbox").await;
    assert!(inbox.contains("HMA v Campbell"), "the demo has living mail");
    assert!(inbox.contains("Has attachments"));
}

fn setup_path(link: &str) -> String {
    let start = link
        .find("/setup/")
        .unwrap_or_else(|| panic!("setup link: {link}"));
    link[start..].to_string()
}
