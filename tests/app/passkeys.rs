//! Passkeys: adding, naming and removing them, signing in with one instead of a code, each
//! challenge answered once and only for Casemail's own origin, and administrators who are
//! required to use one. A software authenticator plays the person's security key.

use casemail::domain::OrganisationKind;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

use crate::helpers::{Backend, Browser, PASSWORD, TestApp, csrf_token, location};
use crate::on_both_backends;

on_both_backends!(
    a_person_adds_passkeys_and_signs_in_with_one_instead_of_a_code,
    each_challenge_is_answered_once_in_time_and_only_for_casemail,
    wrong_passkey_answers_are_throttled_like_codes,
    passkeys_are_removed_by_their_owner_only_and_an_admin_reset_removes_them,
    administrators_can_be_required_to_use_a_passkey,
);

/// A security key, answering for the origin it is shown.
struct Key {
    soft: SoftPasskey,
    origin: Url,
}

impl Key {
    fn new(app: &TestApp) -> Self {
        Self {
            // `true`: the key checks the person (PIN or fingerprint), as passkeys must.
            soft: SoftPasskey::new(true),
            origin: Url::parse(&app.app.config.public_url()).expect("the public address"),
        }
    }
}

async fn token_on(browser: &Browser, path: &str) -> String {
    csrf_token(&browser.text(path).await).unwrap_or_else(|| panic!("no form token on {path}"))
}

/// Adds a passkey named `name` as the passkeys page would; the final response.
async fn add_passkey(browser: &Browser, key: &mut Key, name: &str) -> reqwest::Response {
    let token = token_on(browser, "/account/passkeys").await;
    let options = browser
        .post_raw(
            "/account/passkeys/options",
            &[("csrf_token", &token), ("name", name)],
        )
        .await;
    assert_eq!(options.status(), 200, "registration options");
    let options: CreationChallengeResponse =
        serde_json::from_str(&options.text().await.expect("body")).expect("options as JSON");
    let answer = key
        .soft
        .do_registration(key.origin.clone(), options)
        .expect("the key makes a credential");
    let answer = serde_json::to_string(&answer).expect("answer as JSON");
    browser
        .post_raw(
            "/account/passkeys",
            &[("csrf_token", &token), ("credential", &answer)],
        )
        .await
}

/// Asks for a sign-in challenge and lets `key` answer it; the answer as JSON.
async fn passkey_answer(browser: &Browser, key: &mut Key) -> (String, String) {
    let token = token_on(browser, "/sign-in/code").await;
    let options = browser
        .post_raw("/sign-in/code/passkey/options", &[("csrf_token", &token)])
        .await;
    assert_eq!(options.status(), 200, "sign-in options");
    let options: RequestChallengeResponse =
        serde_json::from_str(&options.text().await.expect("body")).expect("options as JSON");
    let answer = key
        .soft
        .do_authentication(key.origin.clone(), options)
        .expect("the key answers");
    (
        token,
        serde_json::to_string(&answer).expect("answer as JSON"),
    )
}

async fn answer_with(browser: &Browser, token: &str, answer: &str) -> reqwest::Response {
    browser
        .post_raw(
            "/sign-in/code/passkey",
            &[("csrf_token", token), ("credential", answer)],
        )
        .await
}

async fn sign_in_with(browser: &Browser, key: &mut Key) -> reqwest::Response {
    let (token, answer) = passkey_answer(browser, key).await;
    answer_with(browser, &token, &answer).await
}

/// A server where ann@brodie.example has added the passkey on the returned key.
async fn solicitor_with_a_passkey(backend: Backend) -> (TestApp, Key) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let ann = app.browser();
    ann.sign_in_ok("ann@brodie.example").await;
    let mut key = Key::new(&app);
    add_passkey(&ann, &mut key, "Laptop").await;
    (app, key)
}

/// The recovery codes a page shows once.
fn recovery_codes(page: &str) -> Vec<String> {
    let start = page
        .find("id=\"recovery-codes\"")
        .expect("recovery codes shown");
    let list = &page[start
        ..page[start..]
            .find("</ul>")
            .map_or(page.len(), |e| start + e)];
    list.split("<li>")
        .skip(1)
        .filter_map(|item| item.split("</li>").next())
        .map(str::to_string)
        .collect()
}

async fn a_person_adds_passkeys_and_signs_in_with_one_instead_of_a_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let ann = app.browser();
    ann.sign_in_ok("ann@brodie.example").await;
    assert!(
        ann.text("/account/passkeys")
            .await
            .contains("You have no passkeys")
    );

    let token = token_on(&ann, "/account/passkeys").await;
    let blank = ann
        .post_raw(
            "/account/passkeys/options",
            &[("csrf_token", &token), ("name", "  ")],
        )
        .await;
    assert_eq!(blank.status(), 422, "a name is asked for before the key");
    assert!(
        blank
            .text()
            .await
            .expect("body")
            .contains("Enter a name for the passkey")
    );
    let mut laptop = Key::new(&app);
    let first = add_passkey(&ann, &mut laptop, "Office   laptop").await;
    assert_eq!(
        first.status(),
        200,
        "the first passkey shows recovery codes"
    );
    let page = first.text().await.expect("body");
    assert_eq!(recovery_codes(&page).len(), 10);
    assert!(
        page.contains("Office laptop"),
        "the name, tidied, is listed"
    );
    let mut blue = Key::new(&app);
    let second = add_passkey(&ann, &mut blue, "Blue key").await;
    assert_eq!(location(&second), "/account/passkeys?added=1");
    let list = ann.text("/account/passkeys").await;
    assert!(list.contains("Office laptop") && list.contains("Blue key"));
    assert!(list.contains("Not used yet"));
    assert!(ann.text("/account").await.contains("2 passkeys"));

    let later = app.browser();
    assert_eq!(
        location(&later.sign_in("ann@brodie.example", PASSWORD).await),
        "/sign-in/code",
        "a passkey is a second factor: the password alone is not enough"
    );
    assert_eq!(location(&later.get("/mail/inbox").await), "/sign-in/code");
    let code_page = later.text("/sign-in/code").await;
    assert!(code_page.contains("Use your passkey"));
    assert!(
        code_page.contains("Recovery code"),
        "without an authenticator app, only recovery codes are offered beside the passkey"
    );
    assert_eq!(location(&sign_in_with(&later, &mut blue).await), "/");
    assert_eq!(later.get("/mail/inbox").await.status(), 200);
    assert_eq!(
        app.number(
            "SELECT COUNT(*) FROM audit_events WHERE kind = 'user.second_factor_passed' \
             AND payload LIKE '%passkey%Blue key%'"
        )
        .await,
        1,
        "the audit names the passkey used"
    );
    assert_eq!(
        app.number("SELECT COUNT(*) FROM audit_events WHERE kind = 'user.passkey_added'")
            .await,
        2
    );
    assert_eq!(
        later
            .text("/account/passkeys")
            .await
            .matches("Not used yet")
            .count(),
        1,
        "the key used shows when it was last used"
    );

    // A lost passkey: a recovery code gets the person in, once.
    let recovery = &recovery_codes(&page)[0];
    let lost = app.browser();
    lost.sign_in("ann@brodie.example", PASSWORD).await;
    let through = lost
        .submit("/sign-in/code", "/sign-in/code", &[("code", recovery)])
        .await;
    assert_eq!(location(&through), "/");
}

async fn each_challenge_is_answered_once_in_time_and_only_for_casemail(backend: Backend) {
    let (app, mut key) = solicitor_with_a_passkey(backend).await;

    let first = app.browser();
    first.sign_in("ann@brodie.example", PASSWORD).await;
    let (token, answer) = passkey_answer(&first, &mut key).await;
    assert_eq!(location(&answer_with(&first, &token, &answer).await), "/");
    // The same answer, captured, replayed in another session waiting for its factor.
    let replayer = app.browser();
    replayer.sign_in("ann@brodie.example", PASSWORD).await;
    let token = token_on(&replayer, "/sign-in/code").await;
    let replayed = answer_with(&replayer, &token, &answer).await;
    assert_eq!(
        replayed.status(),
        422,
        "no challenge of this session to answer"
    );
    // Even after asking for a challenge of its own, an old answer does not fit it.
    replayer
        .post_raw("/sign-in/code/passkey/options", &[("csrf_token", &token)])
        .await;
    let replayed = answer_with(&replayer, &token, &answer).await;
    assert_eq!(replayed.status(), 422);
    assert!(
        replayed
            .text()
            .await
            .expect("body")
            .contains("Your passkey was not accepted")
    );
    assert_eq!(
        location(&replayer.get("/mail/inbox").await),
        "/sign-in/code"
    );

    // An answer made on a look-alike site (another origin) is refused.
    let phished = app.browser();
    phished.sign_in("ann@brodie.example", PASSWORD).await;
    let origin = app
        .app
        .config
        .public_url()
        .replace("http://localhost", "https://casemail.localhost");
    let mut fooled = Key {
        soft: key.soft,
        origin: Url::parse(&origin).expect("origin"),
    };
    assert_eq!(sign_in_with(&phished, &mut fooled).await.status(), 422);
    let mut key = Key {
        soft: fooled.soft,
        origin: Url::parse(&app.app.config.public_url()).expect("origin"),
    };

    // A challenge left for more than five minutes has expired.
    let slow = app.browser();
    slow.sign_in("ann@brodie.example", PASSWORD).await;
    let (token, answer) = passkey_answer(&slow, &mut key).await;
    app.clock.advance(301);
    let late = answer_with(&slow, &token, &answer).await;
    assert_eq!(late.status(), 422);
    assert!(
        late.text()
            .await
            .expect("body")
            .contains("Your passkey was not accepted")
    );

    // A key that was never registered cannot answer for the account.
    let stranger = app.browser();
    stranger.sign_in("ann@brodie.example", PASSWORD).await;
    let token = token_on(&stranger, "/sign-in/code").await;
    let options = stranger
        .post_raw("/sign-in/code/passkey/options", &[("csrf_token", &token)])
        .await;
    let options: RequestChallengeResponse =
        serde_json::from_str(&options.text().await.expect("body")).expect("options");
    let mut unknown = Key::new(&app);
    assert!(
        unknown
            .soft
            .do_authentication(unknown.origin.clone(), options)
            .is_err(),
        "an authenticator without the credential has nothing to answer with"
    );
}

async fn wrong_passkey_answers_are_throttled_like_codes(backend: Backend) {
    let (app, mut key) = solicitor_with_a_passkey(backend).await;

    let guesser = app.browser();
    guesser.sign_in("ann@brodie.example", PASSWORD).await;
    let token = token_on(&guesser, "/sign-in/code").await;
    let limit = casemail::domain::ThrottleRule::SECOND_FACTOR.limit;
    for _ in 0..limit {
        let wrong = answer_with(&guesser, &token, "{\"id\":\"forged\"}").await;
        assert_eq!(wrong.status(), 422);
    }
    // Now even the right passkey waits.
    let paused = sign_in_with(&guesser, &mut key).await;
    assert_eq!(paused.status(), 422);
    assert!(
        paused
            .text()
            .await
            .expect("body")
            .contains("Too many failed attempts")
    );
    assert_eq!(location(&guesser.get("/mail/inbox").await), "/sign-in/code");
}

async fn passkeys_are_removed_by_their_owner_only_and_an_admin_reset_removes_them(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let morag = app
        .user(
            "morag@pf.example",
            OrganisationKind::Prosecution,
            "PF Glasgow",
        )
        .await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let fiscal = app.browser();
    fiscal.sign_in_ok("morag@pf.example").await;
    add_passkey(&fiscal, &mut Key::new(&app), "Desk key").await;
    add_passkey(&fiscal, &mut Key::new(&app), "Spare key").await;
    let spare = app
        .number("SELECT id FROM passkeys WHERE name = 'Spare key'")
        .await;

    let ann = app.browser();
    ann.sign_in_ok("ann@brodie.example").await;
    let token = token_on(&ann, "/account/passkeys").await;
    let theirs = ann
        .post_raw(
            &format!("/account/passkeys/{spare}/remove"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(
        theirs.status(),
        404,
        "another person's passkey is not found"
    );

    let token = token_on(&fiscal, "/account/passkeys").await;
    let removed = fiscal
        .post_raw(
            &format!("/account/passkeys/{spare}/remove"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(location(&removed), "/account/passkeys?removed=1");
    let list = fiscal.text("/account/passkeys").await;
    assert!(list.contains("Desk key") && !list.contains("Spare key"));
    assert_eq!(
        app.number("SELECT COUNT(*) FROM audit_events WHERE kind = 'user.passkey_removed'")
            .await,
        1
    );

    app.service_admin("ops@casemail.example").await;
    let ops = app.browser();
    ops.sign_in_ok("ops@casemail.example").await;
    let reset = ops
        .submit(
            &format!("/admin/users/{morag}"),
            &format!("/admin/users/{morag}/status"),
            &[("action", "reset_second_factor")],
        )
        .await;
    assert_eq!(location(&reset), "/admin/users?done=reset");
    assert_eq!(
        app.number(&format!(
            "SELECT COUNT(*) FROM passkeys WHERE user_id = {morag}"
        ))
        .await,
        0,
        "a reset removes passkeys too"
    );
    assert_eq!(
        location(&app.browser().sign_in("morag@pf.example", PASSWORD).await),
        "/"
    );
}

async fn administrators_can_be_required_to_use_a_passkey(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.admins_require_passkey = true).await;
    app.service_admin("ops@casemail.example").await;
    let ops = app.browser();
    ops.sign_in("ops@casemail.example", PASSWORD).await;
    for path in ["/admin/users", "/mail/inbox", "/account/two-factor"] {
        assert_eq!(
            location(&ops.get(path).await),
            "/account/passkeys",
            "{path} waits for a passkey"
        );
    }
    assert!(
        ops.text("/account/passkeys")
            .await
            .contains("Administrators of this service must sign in with a passkey")
    );
    let mut key = Key::new(&app);
    add_passkey(&ops, &mut key, "Ops key").await;
    assert_eq!(ops.get("/admin/users").await.status(), 200);
    let token = token_on(&ops, "/account/passkeys").await;
    let only = app
        .number("SELECT id FROM passkeys WHERE name = 'Ops key'")
        .await;
    let kept = ops
        .post_raw(
            &format!("/account/passkeys/{only}/remove"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(kept.status(), 422, "the required passkey cannot be removed");
    assert!(
        kept.text()
            .await
            .expect("body")
            .contains("You cannot remove your last passkey")
    );
    // An authenticator app as well: its codes are refused for this administrator.
    ops.enrol_second_factor("ops@casemail.example").await;
    let later = app.browser();
    later.sign_in("ops@casemail.example", PASSWORD).await;
    let secret = app
        .second_factors
        .lock()
        .ok()
        .and_then(|s| s.get("ops@casemail.example").cloned());
    let secret = secret.unwrap_or_else(|| panic!("the app's secret"));
    let code = later.next_code(&secret, "ops@casemail.example");
    let refused = later
        .submit("/sign-in/code", "/sign-in/code", &[("code", &code)])
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("Administrators sign in with a passkey")
    );
    assert_eq!(location(&sign_in_with(&later, &mut key).await), "/");
    assert_eq!(later.get("/admin/users").await.status(), 200);
}
