//! Plea negotiation: offers, counter-offers, answers, lapsing, the agreed minute, and
//! simultaneous answers of which only one can win.

use casemail::domain::{NegotiationState, OfferOutcome};

use crate::cases::{add, create_case, offer, parties, plea};
use crate::database_dump::{contains, raw_bytes};
use crate::helpers::Backend;
use crate::on_both_backends;

on_both_backends!(
    a_whole_negotiation_runs_to_an_agreed_minute,
    two_simultaneous_answers_cannot_both_win,
    offers_lapse_and_only_their_side_withdraws_them,
    a_counter_offer_starts_from_the_offer_and_shows_what_changed,
);

async fn a_counter_offer_starts_from_the_offer_and_shows_what_changed(backend: Backend) {
    let p = parties(backend).await;
    for (email, name) in [
        ("fiona@pf.example", "Fiona Fiscal"),
        ("duncan@pf.example", "Duncan Depute"),
        ("ann@brodie.example", "Ann Agent"),
    ] {
        p.app
            .sql(&format!(
                "UPDATE users SET name = '{name}' WHERE email = '{email}'"
            ))
            .await;
    }
    let case = create_case(&p.fiscal, "PF/2026/000889", "Assault\nBreach of the peace").await;
    add(&p.fiscal, case, "ann@brodie.example").await;
    plea(&p.fiscal, case, &offer("offer", "0", "guilty_as_libelled")).await;

    let page = p.ann.text(&format!("/cases/{case}/plea")).await;
    let offer_at = page
        .find("The offer waiting for an answer")
        .expect("current offer");
    let accept_at = page.find("Accept offer version 1").expect("accept button");
    assert!(
        offer_at < accept_at,
        "the offer is shown before the answer controls"
    );
    let form = &page[page.find("value=\"counter\"").expect("counter form")..];
    assert!(
        form.contains("value=\"guilty_as_libelled\" checked"),
        "each charge starts at the offer's position"
    );
    assert!(
        form.contains(">TERMS-MARKER-c3 narrative to be agreed</textarea>"),
        "other terms start as offered, so leaving them keeps them"
    );

    // The agent changes charge 1 and sends the rest as the form held it.
    plea(&p.ann, case, &offer("counter", "1", "guilty_as_amended")).await;
    let page = p.fiscal.text(&format!("/cases/{case}/plea")).await;
    let changes = &page[page.find("Changed from version 1").expect("changes shown")..];
    let changes = &changes[..changes.find("</div>").expect("end of changes")];
    assert!(changes.contains("Charge 1") && changes.contains("with a knife"));
    assert!(
        !changes.contains("Charge 2"),
        "an unchanged charge is not listed"
    );
    assert!(
        !changes.contains("Other terms"),
        "unchanged terms are not listed"
    );

    // A third version that drops the other terms says so.
    let mut dropped = offer("counter", "2", "guilty_as_libelled");
    dropped.retain(|(k, _)| *k != "terms");
    plea(&p.fiscal, case, &dropped).await;
    let page = p.ann.text(&format!("/cases/{case}/plea")).await;
    assert!(page.contains("removed (was “TERMS-MARKER-c3 narrative to be agreed”)"));

    plea(&p.ann, case, &[("action", "accept"), ("version", "3")]).await;
    let minute = p.ann.text(&format!("/cases/{case}/plea/minute")).await;
    assert!(
        minute.contains("Fiona Fiscal (prosecution)") && minute.contains("Ann Agent (defence)")
    );
    assert!(
        !minute.contains("Duncan Depute"),
        "office colleagues who took no part are not parties to the minute"
    );
    let history = p.fiscal.text(&format!("/cases/{case}/plea/history")).await;
    let (v1, v3) = (history.find("Version 1 –"), history.find("Version 3 –"));
    assert!(
        v1.is_some() && v1 < v3,
        "the printable history runs oldest first"
    );
}

async fn a_whole_negotiation_runs_to_an_agreed_minute(backend: Backend) {
    let p = parties(backend).await;
    let case = create_case(
        &p.fiscal,
        "PF/2026/000888",
        "Assault to injury\nBreach of the peace",
    )
    .await;
    add(&p.fiscal, case, "ann@brodie.example").await;
    let incomplete = plea(
        &p.fiscal,
        case,
        &[
            ("action", "offer"),
            ("version", "0"),
            ("position_1", "guilty_as_amended"),
        ],
    )
    .await;
    assert_eq!(incomplete.status(), 422);
    let page = incomplete.text().await.expect("response body");
    assert!(
        page.contains("Give the amended wording for charge 1")
            && page.contains("Choose a position for charge 2")
    );

    assert_eq!(
        plea(&p.fiscal, case, &offer("offer", "0", "guilty_as_libelled"))
            .await
            .status(),
        303
    );
    assert!(
        p.ann
            .text("/mail/inbox")
            .await
            .contains("PF/2026/000888: plea offer, version 1"),
        "offers arrive as mail"
    );
    assert_eq!(
        plea(&p.ann, case, &offer("counter", "1", "guilty_as_amended"))
            .await
            .status(),
        303
    );
    let stale = plea(&p.fiscal, case, &[("action", "accept"), ("version", "1")]).await;
    assert_eq!(stale.status(), 422);
    assert!(
        stale
            .text()
            .await
            .expect("response body")
            .contains("Offer version 1 has been superseded by version 2")
    );
    let own = plea(&p.ann, case, &[("action", "accept"), ("version", "2")]).await;
    assert!(
        own.text()
            .await
            .expect("response body")
            .contains("Only the other side can answer this offer")
    );
    assert_eq!(
        plea(&p.fiscal, case, &[("action", "accept"), ("version", "2")])
            .await
            .status(),
        303
    );

    let minute = p.ann.text(&format!("/cases/{case}/plea/minute")).await;
    assert!(minute.contains("Minute of agreement") && minute.contains("Version 2"));
    assert!(minute.contains("under deletion of the words") && minute.contains("TERMS-MARKER-c3"));
    assert!(
        !contains(&raw_bytes(&p.app).await, "TERMS-MARKER-c3"),
        "terms are encrypted"
    );
    let after = plea(&p.ann, case, &offer("offer", "2", "not_guilty")).await;
    assert!(
        after
            .text()
            .await
            .expect("response body")
            .contains("The negotiation has been agreed")
    );
    assert!(
        p.fiscal
            .text("/mail/inbox")
            .await
            .contains("counter-offer, version 2")
    );
    assert!(
        p.fiscal
            .text(&format!("/cases/{case}"))
            .await
            .contains("Agreed")
    );
}

async fn two_simultaneous_answers_cannot_both_win(backend: Backend) {
    let p = parties(backend).await;
    let case = create_case(&p.fiscal, "PF/2026/000999", "Assault").await;
    add(&p.fiscal, case, "ann@brodie.example").await;
    add(&p.fiscal, case, "carol@brodie.example").await;
    let carol = p.app.browser();
    carol.sign_in_ok("carol@brodie.example").await;
    for round in 1..=3 {
        let version = round.to_string();
        let previous = (round - 1).to_string();
        let mut fields = offer("offer", &previous, "guilty_as_libelled");
        fields.retain(|(k, _)| *k != "position_2");
        assert_eq!(
            plea(&p.fiscal, case, &fields).await.status(),
            303,
            "round {round}"
        );
        let accept = [("action", "accept"), ("version", version.as_str())];
        let reject = [
            ("action", "reject"),
            ("version", version.as_str()),
            ("reason", "No"),
        ];
        let (a, b) = tokio::join!(plea(&p.ann, case, &reject), plea(&carol, case, &accept));
        let statuses = [a.status().as_u16(), b.status().as_u16()];
        let wins = statuses.iter().filter(|s| **s == 303).count();
        assert_eq!(
            wins, 1,
            "round {round}: exactly one answer wins, got {statuses:?}"
        );
        let negotiation = p
            .app
            .store
            .negotiation_for_case(case)
            .await
            .expect("the store answers")
            .unwrap_or_else(|| panic!("exists"));
        let offers = p
            .app
            .store
            .offers(negotiation.thread_id)
            .await
            .expect("the offers");
        let outcome = &offers.last().unwrap_or_else(|| panic!("offer")).outcome;
        if negotiation.negotiation.state == NegotiationState::Agreed {
            assert_eq!(*outcome, OfferOutcome::Accepted);
            break;
        }
        assert_eq!(
            (negotiation.negotiation.state, *outcome),
            (NegotiationState::Open, OfferOutcome::Rejected)
        );
    }
}

async fn offers_lapse_and_only_their_side_withdraws_them(backend: Backend) {
    let p = parties(backend).await;
    let case = create_case(&p.fiscal, "PF/2026/000444", "Assault").await;
    add(&p.fiscal, case, "ann@brodie.example").await;
    let mut fields = offer("offer", "0", "guilty_as_libelled");
    fields.retain(|(k, _)| *k != "position_2");
    fields.push(("respond_by", "2026-11-25"));
    assert_eq!(plea(&p.fiscal, case, &fields).await.status(), 303);
    let withdraw = plea(&p.ann, case, &[("action", "withdraw"), ("version", "1")]).await;
    assert!(
        withdraw
            .text()
            .await
            .expect("response body")
            .contains("Only the side that made an offer can withdraw it")
    );

    p.app.clock.advance(3 * 86_400);
    p.ann.sign_in_ok("ann@brodie.example").await;
    p.fiscal.sign_in_ok("fiona@pf.example").await;
    let late = plea(&p.ann, case, &[("action", "accept"), ("version", "1")]).await;
    assert!(
        late.text()
            .await
            .expect("response body")
            .contains("Offer version 1 is no longer open")
    );
    assert!(
        p.fiscal
            .text(&format!("/cases/{case}/plea"))
            .await
            .contains("lapsed")
    );

    let mut again = offer("offer", "1", "guilty_as_libelled");
    again.retain(|(k, _)| *k != "position_2");
    assert_eq!(plea(&p.fiscal, case, &again).await.status(), 303);
    assert_eq!(
        plea(&p.fiscal, case, &[("action", "withdraw"), ("version", "2")])
            .await
            .status(),
        303
    );
    assert!(
        p.ann
            .text("/mail/inbox")
            .await
            .contains("offer version 2 withdrawn")
    );
}
