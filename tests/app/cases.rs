//! Cases: only participants see a case and its conversations; details stay encrypted;
//! participants are added, removed and ask to join.

use casemail::crypto::is_mailbox_sealed;
use casemail::domain::OrganisationKind;

use crate::database_dump::{contains, raw_bytes};
use crate::helpers::{Backend, Browser, Outgoing, PASSWORD, TestApp, location};
use crate::on_both_backends;

on_both_backends!(
    every_case_route_answers_only_its_participants,
    cases_keep_their_details_encrypted_and_references_unique,
    adding_and_removing_participants_takes_effect_at_once,
    defence_agents_ask_to_join_and_the_fiscal_decides,
    case_conversations_only_include_participants,
);

/// A state-changing request: path, form fields, expected status.
type Post<'a> = (String, Vec<(&'a str, &'a str)>, u16);

/// Two fiscal offices, defence agents and a service admin, each signed in.
pub(crate) struct Parties {
    pub(crate) app: TestApp,
    pub(crate) fiscal: Browser,
    pub(crate) other_fiscal: Browser,
    pub(crate) ann: Browser,
    pub(crate) bob: Browser,
    pub(crate) admin: Browser,
}

pub(crate) async fn parties(backend: Backend) -> Parties {
    let app = TestApp::spawn(backend).await;
    app.user(
        "fiona@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
    )
    .await;
    app.user(
        "duncan@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
    )
    .await;
    app.user(
        "eddie@edinburgh-pf.example",
        OrganisationKind::Prosecution,
        "Edinburgh PF",
    )
    .await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    app.user("carol@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    app.user("bob@kerr.example", OrganisationKind::Defence, "Kerr Legal")
        .await;
    casemail::cli::create_service_admin(
        &app.app,
        "ops@casemail.example",
        "Ops",
        "Service",
        PASSWORD,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let sign = |email: &'static str| {
        let browser = app.browser();
        async move {
            browser.sign_in_ok(email).await;
            browser
        }
    };
    Parties {
        fiscal: sign("fiona@pf.example").await,
        other_fiscal: sign("eddie@edinburgh-pf.example").await,
        ann: sign("ann@brodie.example").await,
        bob: sign("bob@kerr.example").await,
        admin: sign("ops@casemail.example").await,
        app,
    }
}

pub(crate) async fn create_case(fiscal: &Browser, reference: &str, charges: &str) -> i64 {
    let response = fiscal
        .submit(
            "/cases/new",
            "/cases/new",
            &[
                ("reference", reference),
                ("title", "HMA v TITLE-MARKER-a1"),
                ("court", "Glasgow Sheriff Court"),
                ("accused", "ACCUSED-MARKER-b2"),
                ("charges", charges),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "case created");
    location(&response)
        .trim_start_matches("/cases/")
        .trim_end_matches("?done=created")
        .parse()
        .unwrap_or_else(|_| panic!("case id in {}", location(&response)))
}

pub(crate) async fn add(fiscal: &Browser, case: i64, email: &str) -> reqwest::Response {
    fiscal
        .submit(
            &format!("/cases/{case}"),
            &format!("/cases/{case}/participants"),
            &[("email", email)],
        )
        .await
}

async fn every_case_route_answers_only_its_participants(backend: Backend) {
    let p = parties(backend).await;
    let case = create_case(&p.fiscal, "PF/2026/000123", "Assault\nBreach of the peace").await;
    assert_eq!(
        add(&p.fiscal, case, "ann@brodie.example").await.status(),
        303
    );
    let tagged = p
        .fiscal
        .send_ok(&Outgoing {
            extra: &[("case_id", &case.to_string())],
            ..Outgoing::to("ann@brodie.example", "Disclosure", "Statements attached")
        })
        .await;
    assert_eq!(
        plea(&p.fiscal, case, &offer("offer", "0", "guilty_as_libelled"))
            .await
            .status(),
        303
    );
    assert_eq!(
        plea(&p.ann, case, &[("action", "accept"), ("version", "1")])
            .await
            .status(),
        303
    );
    let plea_thread = format!("/threads/{}", thread_of_case(&p.app, "", case).await);

    // (who, expected status for reading routes, for prosecution-only actions, for plea actions)
    let cells: [(&str, &Browser, u16, u16, u16); 5] = [
        ("owning fiscal", &p.fiscal, 200, 303, 422),
        ("other fiscal office", &p.other_fiscal, 404, 404, 404),
        ("defence of record", &p.ann, 200, 404, 422),
        ("other defence agent", &p.bob, 404, 404, 404),
        ("service admin", &p.admin, 404, 404, 404),
    ];
    for (who, browser, read, manage, answer) in cells {
        for path in [
            format!("/cases/{case}"),
            format!("/cases/{case}/plea"),
            format!("/cases/{case}/plea/minute"),
            format!("/mail/inbox?case={case}"),
            tagged.clone(),
            plea_thread.clone(),
        ] {
            assert_eq!(browser.get(&path).await.status(), read, "{who}: GET {path}");
        }
        let token_page = if read == 200 {
            format!("/cases/{case}")
        } else {
            "/account".to_string()
        };
        let posts: [Post; 5] = [
            (
                format!("/cases/{case}/participants"),
                vec![("email", "nobody@nowhere.example")],
                if manage == 303 { 422 } else { manage },
            ),
            (
                format!("/cases/{case}/status"),
                vec![("status", "open")],
                manage,
            ),
            (
                format!("/cases/{case}/requests/999999"),
                vec![("decision", "decline")],
                manage,
            ),
            (
                format!("/cases/{case}/participants/999999/remove"),
                vec![],
                manage,
            ),
            (
                format!("/cases/{case}/plea"),
                vec![("action", "accept"), ("version", "1")],
                answer,
            ),
        ];
        for (path, fields, expected) in posts {
            let status = browser.submit(&token_page, &path, &fields).await.status();
            assert_eq!(status, expected, "{who}: POST {path}");
        }
    }
}

async fn cases_keep_their_details_encrypted_and_references_unique(backend: Backend) {
    let p = parties(backend).await;
    create_case(&p.fiscal, "PF/2026/000123", "CHARGE-MARKER-d4 assault").await;
    let dump = raw_bytes(&p.app).await;
    for marker in ["TITLE-MARKER-a1", "ACCUSED-MARKER-b2", "CHARGE-MARKER-d4"] {
        assert!(!contains(&dump, marker), "{marker} stored in clear");
    }
    // Listing her cases keeps her copy under her mailbox key from then on.
    assert!(p.fiscal.text("/cases").await.contains("TITLE-MARKER-a1"));
    let fiona = p.app.id_of("fiona@pf.example").await;
    let copy = &p.app.store.cases_for_user(fiona).await.expect("her cases")[0];
    assert!(is_mailbox_sealed(&copy.details), "re-sealed once opened");
    assert!(
        p.fiscal.text("/cases").await.contains("TITLE-MARKER-a1"),
        "the re-sealed copy lists as before"
    );
    let dump = raw_bytes(&p.app).await;
    for marker in ["TITLE-MARKER-a1", "ACCUSED-MARKER-b2", "CHARGE-MARKER-d4"] {
        assert!(
            !contains(&dump, marker),
            "{marker} in clear after re-sealing"
        );
    }
    let again = p
        .fiscal
        .submit(
            "/cases/new",
            "/cases/new",
            &[
                ("reference", "pf/2026/000123"),
                ("title", "T"),
                ("court", "C"),
                ("accused", "A"),
                ("charges", "X"),
            ],
        )
        .await;
    assert_eq!(again.status(), 422);
    assert!(
        again
            .text()
            .await
            .expect("response body")
            .contains("already has a case with the reference PF/2026/000123")
    );
    let missing = p
        .fiscal
        .submit("/cases/new", "/cases/new", &[("reference", "nonsense")])
        .await;
    let page = missing.text().await.expect("response body");
    assert!(page.contains("Enter the case title") && page.contains("Enter at least one charge"));
    // Another office may use the same reference.
    create_case(&p.other_fiscal, "PF/2026/000123", "Theft").await;
    assert_eq!(
        p.ann.get("/cases/new").await.status(),
        404,
        "defence agents do not create cases"
    );
    // A colleague in the owning office sees the case from the start.
    let duncan = p.app.browser();
    duncan.sign_in_ok("duncan@pf.example").await;
    assert!(
        duncan
            .text("/cases")
            .await
            .contains("HMA v TITLE-MARKER-a1")
    );
}

async fn adding_and_removing_participants_takes_effect_at_once(backend: Backend) {
    let p = parties(backend).await;
    let case = create_case(&p.fiscal, "PF/2026/000777", "Assault").await;
    let before = p
        .fiscal
        .send_ok(&Outgoing {
            extra: &[("case_id", &case.to_string())],
            ..Outgoing::to(
                "duncan@pf.example",
                "Internal note",
                "Before the agent joined",
            )
        })
        .await;
    let bad = add(&p.fiscal, case, "eddie@edinburgh-pf.example").await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .expect("response body")
            .contains("Only staff of the prosecution office that owns the case")
    );
    assert_eq!(
        add(&p.fiscal, case, "ann@brodie.example").await.status(),
        303
    );
    let page = p.ann.text(&format!("/cases/{case}")).await;
    assert!(
        page.contains("HMA v TITLE-MARKER-a1") && page.contains("ACCUSED-MARKER-b2"),
        "details shared"
    );
    assert_eq!(
        p.ann.get(&before).await.status(),
        404,
        "earlier mail stays with its recipients"
    );
    let again = add(&p.fiscal, case, "ann@brodie.example").await;
    assert!(
        again
            .text()
            .await
            .expect("response body")
            .contains("already takes part")
    );

    let tagged = p
        .fiscal
        .send_ok(&Outgoing {
            extra: &[("case_id", &case.to_string())],
            ..Outgoing::to("ann@brodie.example", "Tagged", "For the agent")
        })
        .await;
    assert_eq!(p.ann.get(&tagged).await.status(), 200);
    let ann_id = p
        .app
        .store
        .participants(case)
        .await
        .expect("participants")
        .into_iter()
        .find(|x| x.email == "ann@brodie.example")
        .map(|x| x.user_id)
        .expect("the participant");
    let removed = p
        .fiscal
        .submit(
            &format!("/cases/{case}"),
            &format!("/cases/{case}/participants/{ann_id}/remove"),
            &[],
        )
        .await;
    assert_eq!(removed.status(), 303);
    assert_eq!(p.ann.get(&format!("/cases/{case}")).await.status(), 404);
    assert_eq!(
        p.ann.get(&tagged).await.status(),
        404,
        "tagged mail goes with the case"
    );
    assert!(!p.ann.text("/mail/inbox").await.contains("Tagged"));
}

async fn defence_agents_ask_to_join_and_the_fiscal_decides(backend: Backend) {
    let p = parties(backend).await;
    let case = create_case(&p.fiscal, "PF/2026/000555", "Theft").await;
    let office = p
        .app
        .store
        .organisation_by_name("Glasgow PF")
        .await
        .expect("the store answers")
        .map(|o| o.id.to_string())
        .expect("the organisation");
    for reference in ["PF/2026/000555", "PF/2026/999999"] {
        let response = p
            .bob
            .submit(
                "/cases/request",
                "/cases/request",
                &[("office", &office), ("reference", reference)],
            )
            .await;
        assert_eq!(
            location(&response),
            "/cases?done=requested",
            "same answer whether or not the case exists"
        );
    }
    let page = p.fiscal.text(&format!("/cases/{case}")).await;
    assert!(page.contains("bob@kerr.example") && page.contains("asked to be added"));
    let request = p
        .app
        .store
        .pending_access_requests(case)
        .await
        .expect("pending access requests");
    assert_eq!(request.len(), 1);
    let decided = p
        .fiscal
        .submit(
            &format!("/cases/{case}"),
            &format!("/cases/{case}/requests/{}", request[0].id),
            &[("decision", "accept")],
        )
        .await;
    assert_eq!(location(&decided), format!("/cases/{case}?done=accepted"));
    assert!(
        p.bob
            .text(&format!("/cases/{case}"))
            .await
            .contains("HMA v TITLE-MARKER-a1")
    );
    let missing = p
        .bob
        .submit(
            "/cases/request",
            "/cases/request",
            &[("office", ""), ("reference", "")],
        )
        .await;
    assert_eq!(missing.status(), 422);
}

async fn case_conversations_only_include_participants(backend: Backend) {
    let p = parties(backend).await;
    let case = create_case(&p.fiscal, "PF/2026/000321", "Assault").await;
    let response = p
        .fiscal
        .send(&Outgoing {
            extra: &[("case_id", &case.to_string())],
            ..Outgoing::to("bob@kerr.example", "Disclosure", "Text")
        })
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .expect("response body")
            .contains("bob@kerr.example does not take part in this case")
    );
    // Tagging an existing conversation follows the same rule.
    let thread = p
        .fiscal
        .send_ok(&Outgoing::to("bob@kerr.example", "Untagged", "Text"))
        .await;
    let tag = p
        .fiscal
        .submit(
            &thread,
            &format!("{thread}/case"),
            &[("case_id", &case.to_string())],
        )
        .await;
    assert!(location(&tag).contains("tag_error"));
    add(&p.fiscal, case, "bob@kerr.example").await;
    let tag = p
        .fiscal
        .submit(
            &thread,
            &format!("{thread}/case"),
            &[("case_id", &case.to_string())],
        )
        .await;
    assert_eq!(location(&tag), thread);
    assert!(
        p.bob
            .text(&format!("/mail/inbox?case={case}"))
            .await
            .contains("Untagged")
    );
    assert!(p.bob.text(&thread).await.contains("PF/2026/000321"));
}

pub(crate) async fn plea(
    browser: &Browser,
    case: i64,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .submit(
            &format!("/cases/{case}/plea"),
            &format!("/cases/{case}/plea"),
            fields,
        )
        .await
}

pub(crate) fn offer<'a>(
    action: &'a str,
    version: &'a str,
    first: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("action", action),
        ("version", version),
        ("position_1", first),
        (
            "amended_1",
            if first == "guilty_as_amended" {
                "under deletion of the words 'with a knife'"
            } else {
                ""
            },
        ),
        ("position_2", "not_guilty_accepted"),
        ("terms", "TERMS-MARKER-c3 narrative to be agreed"),
    ]
}

pub(crate) async fn thread_of_case(app: &TestApp, user_email: &str, case: i64) -> i64 {
    let _ = user_email;
    app.store
        .negotiation_for_case(case)
        .await
        .expect("the store answers")
        .map(|n| n.thread_id)
        .unwrap_or_else(|| panic!("negotiation exists"))
}
