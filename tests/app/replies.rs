//! Reply-by dates: a letter asking for an answer by a day is due, goes overdue on a moved
//! clock, is reminded of by email (without content, once each), and closes when its
//! recipient replies or says no reply is needed; the sender sees how the answers stand.

use crate::helpers::{Backend, Outgoing, location};
use crate::mail::office;
use crate::on_both_backends;

on_both_backends!(
    a_reply_by_letter_goes_overdue_is_reminded_of_and_closes_with_a_reply,
    no_reply_needed_closes_a_letter_for_that_person_only_and_is_audited,
    a_bad_reply_by_date_comes_back_with_everything_typed,
);

const DAY: i64 = 86_400;

/// The day `days` after the test clock's today, as a date input sends it.
fn day_after(now: i64, days: i64) -> String {
    let today = casemail::clock::local_date(now).expect("today");
    today
        .checked_add(jiff::Span::new().days(days))
        .expect("a later day")
        .to_string()
}

async fn a_reply_by_letter_goes_overdue_is_reminded_of_and_closes_with_a_reply(backend: Backend) {
    let o = office(backend).await;
    let by = day_after(o.app.clock.now(), 2);
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            cc: "bob@kerr.example",
            extra: &[("reply_by", &by)],
            ..Outgoing::to(
                "ann@brodie.example",
                "SUBJECT-MARKER-r1 bail conditions",
                "Please confirm your client's address.",
            )
        })
        .await;

    let inbox = o.ann.text("/mail/inbox").await;
    assert!(inbox.contains("Reply by "), "due mark in the list");
    let due = o.ann.text("/mail/due").await;
    assert!(due.contains("SUBJECT-MARKER-r1"), "listed as due");
    assert!(
        o.ann
            .text("/mail/inbox?reply=1")
            .await
            .contains("SUBJECT-MARKER-r1")
    );
    // Cc is told, not asked.
    assert!(!o.bob.text("/mail/due").await.contains("SUBJECT-MARKER-r1"));
    assert!(
        !o.bob
            .text("/mail/inbox?reply=1")
            .await
            .contains("SUBJECT-MARKER-r1")
    );
    assert!(
        o.fiscal
            .text("/mail/sent")
            .await
            .contains("Awaiting reply by ")
    );
    let page = o.ann.text(&thread).await;
    assert!(page.contains("needs your reply by"), "the letter says so");

    // Nothing to remind of yet; then the day before, once; then once overdue.
    let reminders = || o.app.app.mail.send_reply_reminders(o.app.clock.now());
    assert_eq!(reminders().await.expect("reminders"), 0);
    o.app.clock.advance(2 * DAY);
    assert_eq!(reminders().await.expect("reminders"), 1, "the day before");
    assert_eq!(reminders().await.expect("reminders"), 0, "only once");
    o.app.clock.advance(DAY);
    // Sessions have lapsed over the days the clock moved.
    o.ann.sign_in_ok("ann@brodie.example").await;
    o.fiscal.sign_in_ok("fiona@pf.example").await;
    assert!(o.ann.text("/mail/inbox").await.contains("Overdue"));
    assert!(o.ann.text(&thread).await.contains("it is overdue"));
    assert!(o.fiscal.text("/mail/sent").await.contains("Overdue"));
    assert!(o.ann.text("/mail/due").await.contains("Overdue (1)"));
    assert_eq!(reminders().await.expect("reminders"), 1, "once overdue");
    assert_eq!(reminders().await.expect("reminders"), 0, "only once");
    let emails = o
        .app
        .number(
            "SELECT COUNT(*) FROM notifications WHERE recipient = 'ann@brodie.example' \
             AND dedupe_key LIKE 'reply-reminder:%'",
        )
        .await;
    assert_eq!(emails, 2);
    for order in ["ASC", "DESC"] {
        let text = o
            .app
            .text_of(&format!(
                "SELECT subject || ' ' || body FROM notifications \
                 WHERE dedupe_key LIKE 'reply-reminder:%' ORDER BY id {order}"
            ))
            .await;
        assert!(text.contains("Glasgow PF"), "says who wrote: {text}");
        assert!(
            !text.contains("SUBJECT-MARKER-r1") && !text.contains("address"),
            "no content in reminder email: {text}"
        );
    }
    // Replying answers it.
    let original = o.ann.last_message_id(&thread).await;
    o.ann
        .send_ok(&Outgoing {
            extra: &[("reply_to", &original)],
            ..Outgoing::to(
                "fiona@pf.example",
                "Re: SUBJECT-MARKER-r1 bail conditions",
                "The address is unchanged.",
            )
        })
        .await;
    assert!(
        o.ann
            .text("/mail/due")
            .await
            .contains("No letter is waiting for your reply")
    );
    assert!(!o.ann.text(&thread).await.contains("needs your reply by"));
    let sent = o.fiscal.text("/mail/sent").await;
    assert!(sent.contains(">Answered<"), "the sender sees it answered");
    let receipts = o.fiscal.text(&thread).await;
    assert!(receipts.contains("Answered") && receipts.contains("Not asked (Cc)"));
    assert_eq!(
        reminders().await.expect("reminders"),
        0,
        "nothing left to remind"
    );
    assert_eq!(
        o.app
            .number("SELECT COUNT(*) FROM audit_events WHERE kind = 'message.reply_reminder_sent'")
            .await,
        2
    );
}

async fn no_reply_needed_closes_a_letter_for_that_person_only_and_is_audited(backend: Backend) {
    let o = office(backend).await;
    let now = o.app.clock.now();
    let (soon, later) = (day_after(now, 1), day_after(now, 5));
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            extra: &[("reply_by", &later)],
            ..Outgoing::to(
                "ann@brodie.example, bob@kerr.example",
                "Later letter",
                "Views on the trial diet, please.",
            )
        })
        .await;
    o.fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "Undated letter",
            "For information.",
        ))
        .await;
    o.fiscal
        .send_ok(&Outgoing {
            extra: &[("reply_by", &soon)],
            ..Outgoing::to("ann@brodie.example", "Sooner letter", "Confirm attendance.")
        })
        .await;
    // Soonest date first, undated last.
    let sorted = o.ann.text("/mail/inbox?sort=reply_by&order=asc").await;
    let at = |s: &str| sorted.find(&format!(">{s}<")).expect("listed");
    assert!(at("Sooner letter") < at("Later letter") && at("Later letter") < at("Undated letter"));

    // Someone who is not in the conversation changes nothing.
    let carol = o
        .app
        .user(
            "carol@kerr.example",
            casemail::domain::OrganisationKind::Defence,
            "Kerr Legal",
        )
        .await;
    let stranger = o.app.browser();
    stranger.sign_in_ok("carol@kerr.example").await;
    let csrf = crate::helpers::csrf_token(&stranger.text("/mail/inbox").await).expect("token");
    stranger
        .post_raw(&format!("{thread}/no-reply"), &[("csrf_token", &csrf)])
        .await;
    assert!(o.ann.text("/mail/due").await.contains("Later letter"));

    let page = o.ann.text(&thread).await;
    let csrf = crate::helpers::csrf_token(&page).expect("token");
    let response = o
        .ann
        .post_raw(&format!("{thread}/no-reply"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(location(&response), format!("{thread}?no_reply=1"));
    assert!(
        o.ann
            .text(&location(&response))
            .await
            .contains("Marked as needing no reply")
    );
    let due = o.ann.text("/mail/due").await;
    assert!(!due.contains("Later letter") && due.contains("Sooner letter"));
    assert!(
        o.bob.text("/mail/due").await.contains("Later letter"),
        "Bob is still asked"
    );
    let sent = o.fiscal.text("/mail/sent").await;
    assert!(sent.contains("Awaiting reply by "), "still waiting for Bob");
    let receipts = o.fiscal.text(&thread).await;
    assert!(receipts.contains("No reply needed"));
    let ann_id = o.ids[1];
    assert_eq!(
        o.app
            .number(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE kind = 'message.reply_not_needed' \
                 AND actor_id = {ann_id}"
            ))
            .await,
        1
    );
    assert_eq!(
        o.app
            .number(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE kind = 'message.reply_not_needed' \
                 AND actor_id = {carol}"
            ))
            .await,
        0
    );

    // Bob's reply leaves nobody awaited: answered.
    let original = o.bob.last_message_id(&thread).await;
    o.bob
        .send_ok(&Outgoing {
            extra: &[("reply_to", &original)],
            ..Outgoing::to("fiona@pf.example", "Re: Later letter", "No objection.")
        })
        .await;
    let sent = o.fiscal.text("/mail/sent").await;
    let at = sent.find(">Later letter<").expect("listed");
    let start = sent[..at].rfind("<tr").expect("its row");
    let end = at + sent[at..].find("</tr>").expect("its row's end");
    assert!(
        sent[start..end].contains(">Answered<"),
        "answered once nobody is awaited"
    );
}

async fn a_bad_reply_by_date_comes_back_with_everything_typed(backend: Backend) {
    let o = office(backend).await;
    let yesterday = day_after(o.app.clock.now(), -1);
    for (typed, says) in [
        (yesterday.as_str(), "in the past"),
        ("next Tuesday", "for example 2026-12-05"),
    ] {
        let response = o
            .fiscal
            .send(&Outgoing {
                extra: &[("reply_by", typed)],
                ..Outgoing::to("ann@brodie.example", "Kept subject", "Kept body text")
            })
            .await;
        assert_eq!(response.status(), 422, "{typed}: the form comes back");
        let page = response.text().await.expect("page");
        assert!(page.contains(says), "{typed}: {says}");
        assert!(page.contains("Kept subject") && page.contains("Kept body text"));
        assert!(
            page.contains(&format!("value=\"{typed}\"")),
            "the date as typed"
        );
    }
    assert!(
        o.ann.text("/mail/inbox").await.contains("No messages"),
        "nothing was sent"
    );
}
