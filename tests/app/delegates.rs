//! Delegates: a colleague works in someone's mailbox with their own password, reading or
//! also sending; what they do names them and the owner in the audit chain; withdrawing
//! ends it at once, in sessions already open; administrators cannot give themselves a
//! mailbox, and a delegate never reaches the owner's account, cases or administration.

use casemail::domain::OrganisationKind;

use crate::database_dump::{contains, raw_bytes};
use crate::helpers::{Backend, Outgoing, location};
use crate::mail::office;
use crate::on_both_backends;

on_both_backends!(
    a_delegate_reads_and_sends_on_behalf_and_the_audit_names_both,
    a_withdrawn_delegate_loses_the_mailbox_at_once_and_read_only_cannot_send,
    delegation_stays_in_the_organisation_and_out_of_administrators_hands,
);

async fn a_delegate_reads_and_sends_on_behalf_and_the_audit_names_both(backend: Backend) {
    let o = office(backend).await;
    let clerk_id = o
        .app
        .user("clerk@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let ann_id = o.ids[1];
    let granted = o
        .ann
        .submit(
            "/account/delegates",
            "/account/delegates",
            &[("email", "clerk@brodie.example"), ("access", "send")],
        )
        .await;
    assert_eq!(location(&granted), "/account/delegates?done=granted");
    assert_eq!(o.app.number("SELECT COUNT(*) FROM delegations").await, 1);
    let dump = raw_bytes(&o.app).await;
    assert!(
        !contains(&dump, "AGE-SECRET-KEY"),
        "the owner's identity is stored only wrapped to the delegate"
    );
    let thread = o
        .fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "DELEGATE-SUBJECT letter",
            "DELEGATE-BODY text",
        ))
        .await;

    let clerk = o.app.browser();
    clerk.sign_in_ok("clerk@brodie.example").await;
    assert!(!clerk.text("/mail/inbox").await.contains("DELEGATE-SUBJECT"));
    let list = clerk.text("/delegations").await;
    assert!(list.contains("ann@brodie.example"));
    let switched = clerk
        .submit(
            "/delegations",
            "/delegations/switch",
            &[("owner", &ann_id.to_string())],
        )
        .await;
    assert_eq!(location(&switched), "/mail/inbox");
    let inbox = clerk.text("/mail/inbox").await;
    assert!(inbox.contains("DELEGATE-SUBJECT") && inbox.contains("Working as a delegate"));
    assert!(clerk.text(&thread).await.contains("DELEGATE-BODY text"));
    // The owner's account, cases and administration stay with the owner.
    for path in [
        "/account",
        "/account/delegates",
        "/account/password",
        "/cases",
    ] {
        let response = clerk.get(path).await;
        assert_eq!(response.status(), 403, "{path}");
        assert!(
            response
                .text()
                .await
                .expect("page")
                .contains("This is for the mailbox"),
            "{path} says why"
        );
    }

    let original = clerk.last_message_id(&thread).await;
    clerk
        .send_ok(&Outgoing {
            extra: &[("reply_to", &original)],
            ..Outgoing::to("fiona@pf.example", "Re: DELEGATE-SUBJECT letter", "Noted.")
        })
        .await;
    let seen = o.fiscal.text(&thread).await;
    assert!(
        seen.contains("Sent by Test Person on behalf of Test Person")
            && seen.contains("ann@brodie.example"),
        "the letter comes from the mailbox, sent by the delegate"
    );
    assert!(
        !seen.contains("Not opened"),
        "the delegate's reading shows on the sender's timeline"
    );

    let named = |kind: &str| {
        format!(
            "SELECT COUNT(*) FROM audit_events WHERE kind = '{kind}' AND actor_id = {clerk_id} \
             AND payload LIKE '%\"on_behalf_of\":{ann_id}%'"
        )
    };
    for kind in ["message.opened", "message.sent", "message.replied"] {
        assert!(
            o.app.number(&named(kind)).await >= 1,
            "{kind} names the delegate and the owner"
        );
    }
    assert_eq!(
        o.app
            .number(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE kind = 'message.opened' \
                 AND actor_id = {ann_id}"
            ))
            .await,
        0,
        "the owner is not recorded as having done what the delegate did"
    );
    let activity = o.ann.text("/account/delegates").await;
    assert!(activity.contains("Message sent") && activity.contains("Message opened"));
    let verification = o.app.app.audit.verify(None).await.expect("verify");
    assert!(verification.broken.is_none(), "the chain holds");

    // Back to their own mailbox.
    clerk
        .submit("/mail/inbox", "/delegations/switch", &[("owner", "")])
        .await;
    let own = clerk.text("/mail/inbox").await;
    assert!(!own.contains("DELEGATE-SUBJECT") && !own.contains("Working as a delegate"));
}

async fn a_withdrawn_delegate_loses_the_mailbox_at_once_and_read_only_cannot_send(
    backend: Backend,
) {
    let o = office(backend).await;
    let clerk_id = o
        .app
        .user("clerk@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let ann_id = o.ids[1].to_string();
    o.ann
        .submit(
            "/account/delegates",
            "/account/delegates",
            &[("email", "clerk@brodie.example"), ("access", "read")],
        )
        .await;
    let thread = o
        .fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "WITHDRAW-SUBJECT",
            "For Ann.",
        ))
        .await;
    let clerk = o.app.browser();
    clerk.sign_in_ok("clerk@brodie.example").await;
    clerk
        .submit("/delegations", "/delegations/switch", &[("owner", &ann_id)])
        .await;
    assert!(clerk.text(&thread).await.contains("For Ann."));
    // Reading only: no writing, sending or filing.
    assert_eq!(clerk.get("/compose").await.status(), 403);
    let refused = clerk
        .submit(
            "/mail/inbox",
            "/mail/bulk",
            &[("folder", "inbox"), ("action", "archive"), ("entry", "1")],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let send = clerk
        .submit(
            "/mail/inbox",
            "/compose",
            &[
                ("to", "fiona@pf.example"),
                ("subject", "Should not go"),
                ("body", "No."),
                ("action", "send"),
            ],
        )
        .await;
    assert_eq!(send.status(), 403, "a read-only delegate cannot send");
    assert!(!o.fiscal.text("/mail/inbox").await.contains("Should not go"));

    let withdrawn = o
        .ann
        .submit(
            "/account/delegates",
            &format!("/account/delegates/{clerk_id}/withdraw"),
            &[],
        )
        .await;
    assert_eq!(location(&withdrawn), "/account/delegates?done=withdrawn");
    // The same session, at once: the conversation is gone and the inbox is the clerk's.
    assert_eq!(clerk.get(&thread).await.status(), 404);
    let inbox = clerk.text("/mail/inbox").await;
    assert!(!inbox.contains("WITHDRAW-SUBJECT") && !inbox.contains("Working as a delegate"));
    let again = clerk
        .submit("/mail/inbox", "/delegations/switch", &[("owner", &ann_id)])
        .await;
    assert_eq!(again.status(), 404, "no way back in");
    assert_eq!(o.app.number("SELECT COUNT(*) FROM delegations").await, 0);
}

async fn delegation_stays_in_the_organisation_and_out_of_administrators_hands(backend: Backend) {
    let o = office(backend).await;
    let ann_id = o.ids[1].to_string();
    // Bob is at another firm.
    let refused = o
        .ann
        .submit(
            "/account/delegates",
            "/account/delegates",
            &[("email", "bob@kerr.example"), ("access", "send")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .expect("page")
            .contains("not in your organisation")
    );

    // The firm's administrator can neither open Ann's mailbox nor grant it to themselves.
    o.app
        .account(
            "admin@brodie.example",
            OrganisationKind::Defence,
            "Brodie",
            "Glasgow",
            true,
        )
        .await;
    let admin = o.app.browser();
    admin.sign_in_ok("admin@brodie.example").await;
    let entered = admin
        .submit("/mail/inbox", "/delegations/switch", &[("owner", &ann_id)])
        .await;
    assert_eq!(entered.status(), 404);
    let own = admin
        .submit(
            "/account/delegates",
            "/account/delegates",
            &[("email", "admin@brodie.example"), ("access", "send")],
        )
        .await;
    assert_eq!(own.status(), 422, "not to themselves");
    assert_eq!(o.app.number("SELECT COUNT(*) FROM delegations").await, 0);

    // Made a delegate by Ann, the administrator works in her mailbox as a member only.
    o.ann
        .submit(
            "/account/delegates",
            "/account/delegates",
            &[("email", "admin@brodie.example"), ("access", "send")],
        )
        .await;
    admin
        .submit("/mail/inbox", "/delegations/switch", &[("owner", &ann_id)])
        .await;
    assert_eq!(admin.get("/mail/inbox").await.status(), 200);
    for path in ["/admin/users", "/admin/audit"] {
        assert_eq!(admin.get(path).await.status(), 403, "{path}");
    }
}
