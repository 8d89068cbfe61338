use std::str::FromStr;

use casemail::crypto::UserIdentity;
use casemail::domain::{EmailAddress, OrganisationKind};
use secrecy::SecretString;

use crate::database_dump::{contains, raw_bytes};
use crate::helpers::{Backend, PASSWORD, TestApp};
use crate::on_both_backends;

on_both_backends!(
    stored_rows_never_hold_an_unwrapped_key_or_password,
    only_the_right_password_unwraps_the_stored_key,
    the_offline_recovery_identity_unwraps_every_account,
    a_rotated_recovery_key_is_taken_up_at_next_sign_in,
);

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

async fn stored_rows_never_hold_an_unwrapped_key_or_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.sign_in_ok("ann@brodie.example").await;
    assert!(
        browser
            .text("/account")
            .await
            .contains("Unlocked for this session")
    );

    let dump = raw_bytes(&app).await;
    assert!(
        contains(&dump, "age-encryption.org/v1"),
        "wrapped keys are stored"
    );
    assert!(
        !contains(&dump, "AGE-SECRET-KEY-1"),
        "no age secret key (user or session) is stored in clear"
    );
    assert!(!contains(&dump, PASSWORD), "the password is not stored");
}

async fn only_the_right_password_unwraps_the_stored_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let email = EmailAddress::parse("ann@brodie.example").unwrap_or_else(|e| panic!("{e}"));
    let record = app
        .store
        .sign_in_record(&email)
        .await
        .expect("the store answers")
        .unwrap_or_else(|| panic!("account exists"));
    let wrapped = record.identity_wrapped_password.expect("the stored wrap");
    let identity = UserIdentity::unwrap_with_password(&wrapped, &secret(PASSWORD))
        .unwrap_or_else(|e| panic!("the right password unwraps: {e}"));
    assert_eq!(identity.recipient(), record.public_recipient);
    assert!(
        UserIdentity::unwrap_with_password(&wrapped, &secret("correct horse battery stapler"))
            .is_err()
    );
}

fn recovery_identity(path: &std::path::Path) -> age::x25519::Identity {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    let line = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap_or_else(|| panic!("secret line in {}", path.display()));
    age::x25519::Identity::from_str(line).unwrap_or_else(|e| panic!("{e}"))
}

async fn the_offline_recovery_identity_unwraps_every_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let custodian = recovery_identity(&app.app.config.recovery_secret_path());
    for email in ["ann@brodie.example", "fiona@pf.example"] {
        let id = app.user(email, OrganisationKind::Defence, "Brodie").await;
        let (wrap, _) = app
            .store
            .recovery_wrap(id)
            .await
            .expect("the store answers")
            .unwrap_or_else(|| panic!("recovery wrap stored"));
        let account = app.store.user_account(id).await.expect("the store answers");
        let identity = UserIdentity::unwrap_with(&wrap, &custodian)
            .unwrap_or_else(|e| panic!("custodian unwraps: {e}"));
        assert_eq!(
            Some(identity.recipient()),
            account.map(|a| a.public_recipient)
        );
    }
}

async fn a_rotated_recovery_key_is_taken_up_at_next_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    app.clock.advance(10);
    let new_path = app
        .app
        .accounts
        .rotate_recovery_key()
        .await
        .unwrap_or_else(|e| panic!("rotate: {e}"));
    assert_ne!(
        new_path,
        app.app.config.recovery_secret_path(),
        "old file is kept"
    );
    let new_recipient = app
        .app
        .accounts
        .recovery_recipient()
        .await
        .expect("recovery recipient");
    let before = app
        .store
        .recovery_wrap(id)
        .await
        .expect("the store answers");
    assert_ne!(before.map(|(_, r)| r), Some(new_recipient.clone()));

    app.browser().sign_in_ok("ann@brodie.example").await;
    let (wrap, recipient) = app
        .store
        .recovery_wrap(id)
        .await
        .expect("the store answers")
        .unwrap_or_else(|| panic!("wrap"));
    assert_eq!(recipient, new_recipient);
    assert!(UserIdentity::unwrap_with(&wrap, &recovery_identity(&new_path)).is_ok());
}
