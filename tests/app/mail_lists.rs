//! Sorting and filtering a folder from its address: every order and filter, combined,
//! with nothing but links and a GET form (no JavaScript).

use crate::helpers::{Backend, Outgoing};
use crate::mail::office;
use crate::on_both_backends;

/// The subjects in the order the page lists them, of those named.
fn order_of(page: &str, subjects: &[&str]) -> Vec<String> {
    let mut found: Vec<(usize, String)> = subjects
        .iter()
        .filter_map(|s| page.find(&format!(">{s}<")).map(|at| (at, s.to_string())))
        .collect();
    found.sort();
    found.into_iter().map(|(_, s)| s).collect()
}

async fn a_folder_sorts_and_filters_from_its_address(backend: Backend) {
    let o = office(backend).await;
    let files = [("statement.pdf", b"%PDF statement".to_vec())];
    // Sent in this order: newest is "Charlie letter".
    o.fiscal
        .send_ok(&Outgoing {
            attachments: &files,
            ..Outgoing::to("ann@brodie.example", "Bravo letter", "first")
        })
        .await;
    o.bob
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "Re: Alpha letter",
            "second",
        ))
        .await;
    o.app.clock.advance(60);
    let charlie = o
        .fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "Charlie letter",
            "third",
        ))
        .await;
    o.ann.text(&charlie).await;
    let all = ["Bravo letter", "Re: Alpha letter", "Charlie letter"];
    let list = |query: &'static str| {
        let ann = &o.ann;
        async move {
            let page = ann.text(&format!("/mail/inbox{query}")).await;
            order_of(&page, &all)
        }
    };

    assert_eq!(
        list("").await,
        ["Charlie letter", "Re: Alpha letter", "Bravo letter"],
        "newest first by default"
    );
    assert_eq!(
        list("?sort=date&order=asc").await,
        ["Bravo letter", "Re: Alpha letter", "Charlie letter"]
    );
    assert_eq!(
        list("?sort=subject").await,
        ["Re: Alpha letter", "Bravo letter", "Charlie letter"],
        "subjects A to Z, reply prefixes ignored"
    );
    assert_eq!(
        list("?sort=subject&order=desc").await,
        ["Charlie letter", "Bravo letter", "Re: Alpha letter"]
    );
    o.app
        .sql("UPDATE users SET name = 'Bob Kerr' WHERE email = 'bob@kerr.example'")
        .await;
    o.app
        .sql("UPDATE users SET name = 'Fiona Fiscal' WHERE email = 'fiona@pf.example'")
        .await;
    let by_sender = list("?sort=sender").await;
    assert_eq!(by_sender.len(), 3);
    assert_eq!(by_sender[0], "Re: Alpha letter", "bob before fiona");

    assert_eq!(
        list("?unread=1").await,
        ["Re: Alpha letter", "Bravo letter"],
        "read messages left out"
    );
    assert_eq!(list("?attachments=1").await, ["Bravo letter"]);
    let kerr = o
        .app
        .number("SELECT organisation_id FROM users WHERE email = 'bob@kerr.example'")
        .await;
    let page = o.ann.text(&format!("/mail/inbox?org={kerr}")).await;
    assert_eq!(order_of(&page, &all), ["Re: Alpha letter"]);
    assert!(
        page.contains("Remove this filter"),
        "the filter is shown with a way to drop it"
    );
    let fiscal_org = o
        .app
        .number("SELECT organisation_id FROM users WHERE email = 'fiona@pf.example'")
        .await;
    let combined = o
        .ann
        .text(&format!(
            "/mail/inbox?org={fiscal_org}&unread=1&sort=subject"
        ))
        .await;
    assert_eq!(
        order_of(&combined, &all),
        ["Bravo letter"],
        "filters combine"
    );
    assert!(
        combined.contains(&format!(
            "/mail/inbox?org={fiscal_org}&#38;sort=subject&#38;order=asc"
        )),
        "dropping one filter keeps the others and the order"
    );

    // The filter form's "any" choices arrive as empty values; an unknown order is ignored.
    let any = o
        .ann
        .get("/mail/inbox?case=&org=&sort=nonsense&order=&page=x")
        .await;
    assert_eq!(any.status(), 200);
    assert_eq!(
        order_of(&any.text().await.expect("page"), &all),
        ["Charlie letter", "Re: Alpha letter", "Bravo letter"]
    );
}

async fn a_filtered_list_pages_by_fifty_and_keeps_its_filters(backend: Backend) {
    let o = office(backend).await;
    for n in 0..52 {
        o.app.clock.advance(1);
        o.fiscal
            .send_ok(&Outgoing::to(
                "ann@brodie.example",
                &format!("Letter {n:02}"),
                "x",
            ))
            .await;
    }
    let first = o.ann.text("/mail/inbox?sort=subject&unread=1").await;
    assert!(first.contains(">Letter 00<") && first.contains(">Letter 49<"));
    assert!(!first.contains(">Letter 50<"));
    let next = "/mail/inbox?unread=1&#38;sort=subject&#38;order=asc&#38;page=1";
    assert!(
        first.contains(next),
        "the next page keeps filters and order: {}",
        first
            .lines()
            .filter(|l| l.contains("rel=\"next\""))
            .collect::<String>()
    );
    let second = o.ann.text(&next.replace("&#38;", "&")).await;
    assert!(second.contains(">Letter 50<") && second.contains(">Letter 51<"));
    assert!(!second.contains(">Letter 49<"));
    assert!(!second.contains("rel=\"next\""), "no page after the last");
}

async fn a_case_filter_names_only_the_users_own_cases(backend: Backend) {
    let o = office(backend).await;
    // A case id the reader takes part in nothing of is not a way to probe for cases.
    assert_eq!(o.ann.get("/mail/inbox?case=999").await.status(), 404);
}

async fn the_list_refresh_shows_new_mail_without_keeping_the_session_alive(backend: Backend) {
    let o = office(backend).await;
    let inbox = o.ann.text("/mail/inbox?unread=1").await;
    assert!(
        inbox.contains("data-refresh=\"/mail/inbox/rows?unread=1\""),
        "a first page says where its rows refresh from, with its filters"
    );
    assert!(
        !o.ann
            .text("/mail/inbox?page=1&sort=sender")
            .await
            .contains("data-refresh")
    );
    o.fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "Arrived while open",
            "x",
        ))
        .await;
    let rows = o.ann.text("/mail/inbox/rows?unread=1").await;
    assert!(rows.contains(">Arrived while open<") && rows.contains("action=\"/mail/bulk\""));
    assert!(!rows.contains("<html"), "only the rows, not a whole page");
    assert!(
        o.ann
            .text("/mail/inbox")
            .await
            .starts_with("<!DOCTYPE html>")
    );
    let title = o.ann.text("/mail/inbox").await;
    assert!(
        title.contains("<title>(1) Inbox"),
        "the tab title carries the unread count"
    );

    // Polling every few minutes for longer than the idle limit does not keep it open.
    for _ in 0..4 {
        o.app.clock.advance(10 * 60);
        o.ann.get("/mail/inbox/rows").await;
    }
    assert_eq!(
        o.ann.get("/mail/inbox/rows").await.status(),
        303,
        "session ended"
    );
}

async fn a_conversation_is_archived_from_its_own_page(backend: Backend) {
    let o = office(backend).await;
    let thread = o
        .fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "Archive me whole",
            "first",
        ))
        .await;
    let page = o.ann.text(&thread).await;
    let entries: Vec<String> = page
        .split("name=\"entry\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_string))
        .collect();
    assert_eq!(entries.len(), 1, "the reader's own copy, once");
    let mut fields = vec![("folder", "inbox"), ("action", "archive")];
    fields.extend(entries.iter().map(|e| ("entry", e.as_str())));
    let response = o.ann.submit(&thread, "/mail/bulk", &fields).await;
    assert_eq!(response.status(), 303);
    assert!(
        !o.ann
            .text("/mail/inbox")
            .await
            .contains(">Archive me whole<")
    );
    assert!(
        o.ann
            .text("/mail/archive")
            .await
            .contains(">Archive me whole<")
    );
    // The sender's page offers no archiving of what they sent: Sent keeps it.
    assert!(
        !o.fiscal
            .text(&thread)
            .await
            .contains("Archive the conversation")
    );
}

/// Whether a folder page's organisation filter offers `org`.
fn offers_organisation(page: &str, org: i64) -> bool {
    let choices = page
        .split("id=\"filter-org\"")
        .nth(1)
        .and_then(|rest| rest.split("</select>").next())
        .expect("the organisation filter");
    choices.contains(&format!("<option value=\"{org}\""))
}

async fn the_organisation_filter_offers_a_new_sender_at_once(backend: Backend) {
    let o = office(backend).await;
    let kerr = o
        .app
        .number("SELECT organisation_id FROM users WHERE email = 'bob@kerr.example'")
        .await;
    let fiscal_org = o
        .app
        .number("SELECT organisation_id FROM users WHERE email = 'fiona@pf.example'")
        .await;
    o.fiscal
        .send_ok(&Outgoing::to("ann@brodie.example", "From the fiscal", "1"))
        .await;
    let inbox = o.ann.text("/mail/inbox").await;
    assert!(offers_organisation(&inbox, fiscal_org));
    assert!(!offers_organisation(&inbox, kerr), "nothing from Kerr yet");

    // The choices just read are remembered; a letter arriving now is offered all the same.
    let thread = o
        .bob
        .send_ok(&Outgoing::to("ann@brodie.example", "From Kerr", "2"))
        .await;
    let inbox = o.ann.text("/mail/inbox").await;
    assert!(offers_organisation(&inbox, kerr), "offered with its letter");
    assert!(offers_organisation(&inbox, fiscal_org));

    // Filed away, the letter takes its sender's choice with it.
    let page = o.ann.text(&thread).await;
    let entry = page
        .split("name=\"entry\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the reader's copy");
    let fields = [("folder", "inbox"), ("action", "delete"), ("entry", entry)];
    assert_eq!(
        o.ann.submit(&thread, "/mail/bulk", &fields).await.status(),
        303
    );
    let inbox = o.ann.text("/mail/inbox").await;
    assert!(!offers_organisation(&inbox, kerr), "no longer in the inbox");
    assert!(offers_organisation(
        &o.ann.text("/mail/deleted").await,
        kerr
    ));
}

on_both_backends!(
    the_organisation_filter_offers_a_new_sender_at_once,
    a_conversation_is_archived_from_its_own_page,
    the_list_refresh_shows_new_mail_without_keeping_the_session_alive,
    a_folder_sorts_and_filters_from_its_address,
    a_filtered_list_pages_by_fifty_and_keeps_its_filters,
    a_case_filter_names_only_the_users_own_cases,
);
