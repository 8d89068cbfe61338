//! The administration panel: each administrator acts only within their scope.

use casemail::domain::{OrganisationKind, UserStatus};

use crate::helpers::{Backend, Browser, TestApp, location};
use crate::lifecycle::{DAY, make_admin, member, policy, status};
use crate::on_both_backends;

on_both_backends!(
    admins_act_only_within_their_scope,
    a_jurisdiction_admin_unlocks_a_local_defence_agent,
);

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
            .expect("response body")
            .contains("Confirm that the account")
    );
    assert_eq!(
        status(&app, ann).await,
        UserStatus::Active,
        "nothing deleted without confirmation"
    );
}
