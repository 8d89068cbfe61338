//! Changing one's password: the key is re-wrapped and other sessions end.

use casemail::crypto::UserIdentity;
use casemail::domain::{EmailAddress, OrganisationKind};
use secrecy::SecretString;

use crate::helpers::{Backend, PASSWORD, TestApp, location};
use crate::on_both_backends;

on_both_backends!(
    password_change_rewraps_the_key_and_ends_other_sessions,
    password_change_explains_each_mistake,
);

async fn password_change_rewraps_the_key_and_ends_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let office = app.browser();
    let laptop = app.browser();
    office.sign_in_ok("ann@brodie.example").await;
    laptop.sign_in_ok("ann@brodie.example").await;
    let new_password = "a different long passphrase";

    let response = office
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(location(&response), "/account?password_changed=1");
    let page = office.text("/account?password_changed=1").await;
    assert!(page.contains("Your password has been changed"));
    assert!(page.contains("Unlocked for this session"));
    assert_eq!(
        laptop.get("/account").await.status(),
        303,
        "other session ended"
    );
    assert_eq!(app.store.count_sessions(id).await.ok(), Some(1));

    let fresh = app.browser();
    assert_eq!(
        fresh.sign_in("ann@brodie.example", PASSWORD).await.status(),
        422
    );
    assert_eq!(
        fresh
            .sign_in("ann@brodie.example", new_password)
            .await
            .status(),
        303
    );

    let email = EmailAddress::parse("ann@brodie.example").unwrap_or_else(|e| panic!("{e}"));
    let record = app
        .store
        .sign_in_record(&email)
        .await
        .expect("the store answers");
    let record = record.unwrap_or_else(|| panic!("account"));
    let wrapped = record.identity_wrapped_password.expect("the stored wrap");
    let with =
        |p: &str| UserIdentity::unwrap_with_password(&wrapped, &SecretString::from(p.to_string()));
    assert!(
        with(PASSWORD).is_err(),
        "the old password no longer unwraps"
    );
    assert_eq!(
        with(new_password).map(|i| i.recipient()).ok(),
        Some(record.public_recipient),
        "same key, new wrap: old mail stays readable"
    );
}

async fn password_change_explains_each_mistake(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.sign_in_ok("ann@brodie.example").await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("current_password", "wrong wrong wrong"),
                ("new_password", "another long passphrase"),
                ("confirm_password", "another long passphrase"),
            ],
            "Your current password is not correct",
        ),
        (
            &[
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
            "Password must be 12 characters or more",
        ),
        (
            &[
                ("current_password", PASSWORD),
                ("new_password", "another long passphrase"),
                ("confirm_password", "another long passphrasE"),
            ],
            "The new passwords do not match",
        ),
        (
            &[
                ("current_password", PASSWORD),
                ("new_password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
            "must be different",
        ),
    ];
    for (fields, message) in cases {
        let response = browser
            .submit("/account/password", "/account/password", fields)
            .await;
        assert_eq!(response.status(), 422);
        let page = response.text().await.expect("response body");
        assert!(page.contains(message), "expected {message:?}");
        assert!(page.contains("govuk-error-summary"));
    }
    let fresh = app.browser();
    assert_eq!(
        fresh.sign_in("ann@brodie.example", PASSWORD).await.status(),
        303,
        "unchanged"
    );
}
