//! Mail: delivery to every recipient with nothing in clear, access only through one's own
//! copy, folders, replies, forwards, drafts and attachments.

use casemail::domain::{EventKind, Folder, OrganisationKind, SubjectKind, UserStatus};
use casemail::store::{Delivery, EventFilter, NewEntry};

use crate::database_dump::{contains, raw_bytes};
use crate::helpers::{Backend, Browser, Outgoing, TestApp, location};
use crate::on_both_backends;

on_both_backends!(
    a_message_reaches_every_recipient_and_nothing_is_stored_in_clear,
    people_outside_a_message_get_not_found,
    unknown_and_inactive_addresses_are_refused_and_the_form_kept,
    delivery_is_all_or_nothing,
    delivery_and_first_opening_are_recorded_per_recipient,
    shredding_a_users_keys_leaves_other_recipients_reading,
    folders_move_restore_and_empty,
    replies_join_the_thread_and_forwards_reencrypt_attachments,
    drafts_are_encrypted_and_survive_the_session,
    oversized_attachments_are_refused_and_leave_nothing,
    risky_attachments_are_flagged_and_served_safely,
    folders_page_by_keyset,
);

/// A fiscal and two defence agents, each signed in in their own browser.
pub(crate) struct Office {
    pub(crate) app: TestApp,
    pub(crate) fiscal: Browser,
    pub(crate) ann: Browser,
    pub(crate) bob: Browser,
    pub(crate) ids: [i64; 3],
}

pub(crate) async fn office(backend: Backend) -> Office {
    office_with(TestApp::spawn(backend).await).await
}

/// The same office on a server whose configuration `adjust` changes first.
pub(crate) async fn office_with_config(
    backend: Backend,
    adjust: impl FnOnce(&mut casemail::config::Config),
) -> Office {
    office_with(TestApp::spawn_with(backend, adjust).await).await
}

async fn office_with(app: TestApp) -> Office {
    let f = app
        .user(
            "fiona@pf.example",
            OrganisationKind::Prosecution,
            "Glasgow PF",
        )
        .await;
    let a = app
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let b = app
        .user("bob@kerr.example", OrganisationKind::Defence, "Kerr Legal")
        .await;
    let (fiscal, ann, bob) = (app.browser(), app.browser(), app.browser());
    fiscal.sign_in_ok("fiona@pf.example").await;
    ann.sign_in_ok("ann@brodie.example").await;
    bob.sign_in_ok("bob@kerr.example").await;
    Office {
        app,
        fiscal,
        ann,
        bob,
        ids: [f, a, b],
    }
}

fn thread_id(path: &str) -> i64 {
    path.trim_start_matches("/threads/")
        .parse()
        .unwrap_or_else(|_| panic!("thread path {path}"))
}

async fn a_message_reaches_every_recipient_and_nothing_is_stored_in_clear(backend: Backend) {
    let o = office(backend).await;
    let attachment = b"%PDF ATTACHMENT-MARKER-c41d witness statement".to_vec();
    let files = [("NAME-MARKER-77a1.pdf", attachment.clone())];
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            cc: "bob@kerr.example",
            attachments: &files,
            ..Outgoing::to(
                "ann@brodie.example",
                "SUBJECT-MARKER-9e2b disclosure",
                "BODY-MARKER-5f60\nsecond line",
            )
        })
        .await;

    for reader in [&o.ann, &o.bob] {
        let inbox = reader.text("/mail/inbox").await;
        assert!(
            inbox.contains("SUBJECT-MARKER-9e2b"),
            "listed in each inbox"
        );
        assert!(inbox.contains("Has attachments"), "attachment marker shown");
        let page = reader.text(&thread).await;
        assert!(
            page.contains("BODY-MARKER-5f60\nsecond line"),
            "line breaks kept"
        );
        assert!(page.contains("NAME-MARKER-77a1.pdf"));
    }
    assert!(
        o.fiscal
            .text("/mail/sent")
            .await
            .contains("SUBJECT-MARKER-9e2b")
    );

    let id = thread_id(&thread);
    let message = o
        .app
        .store
        .thread_for_user(o.ids[1], id)
        .await
        .expect("the thread");
    let download = o
        .ann
        .get(&format!(
            "/messages/{}/attachments/0",
            message[0].message_id
        ))
        .await;
    assert_eq!(download.status(), 200);
    let disposition = download
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert_eq!(
        download.bytes().await.expect("response body").to_vec(),
        attachment
    );

    let told = o
        .app
        .store
        .notifications_for("ann@brodie.example")
        .await
        .expect("the queued email");
    assert!(
        told.iter()
            .any(|n| n.subject == "You have a new message in Casemail")
    );
    assert!(
        told.iter()
            .all(|n| !n.subject.contains("MARKER") && !n.body.contains("MARKER")),
        "no content in email"
    );

    let mut stored = raw_bytes(&o.app).await;
    for entry in walk(&o.app.dir.path().join("blobs")) {
        stored.extend(std::fs::read(entry).expect("read the file"));
    }
    assert!(contains(&stored, "age-encryption.org/v1"));
    for marker in [
        "SUBJECT-MARKER-9e2b",
        "BODY-MARKER-5f60",
        "ATTACHMENT-MARKER-c41d",
        "NAME-MARKER-77a1",
    ] {
        assert!(!contains(&stored, marker), "{marker} is stored in clear");
    }
}

pub(crate) fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

async fn people_outside_a_message_get_not_found(backend: Backend) {
    let o = office(backend).await;
    let files = [("statement.pdf", b"secret".to_vec())];
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            attachments: &files,
            ..Outgoing::to("ann@brodie.example", "Bail", "Terms")
        })
        .await;
    let id = thread_id(&thread);
    let message_id = o
        .app
        .store
        .thread_for_user(o.ids[0], id)
        .await
        .expect("the thread")[0]
        .message_id;
    casemail::cli::create_service_admin(
        &o.app.app,
        "ops@casemail.example",
        "Ops",
        "Service",
        crate::helpers::PASSWORD,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let admin = o.app.browser();
    admin.sign_in_ok("ops@casemail.example").await;
    for outsider in [&o.bob, &admin] {
        for path in [
            thread.clone(),
            format!("/messages/{message_id}/attachments/0"),
            format!("/compose?reply_to={message_id}"),
            format!("/compose?forward={message_id}"),
        ] {
            assert_eq!(outsider.get(&path).await.status(), 404, "{path}");
        }
    }
    // Someone else's mailbox entry cannot be moved either.
    let entry = o
        .app
        .store
        .thread_for_user(o.ids[1], id)
        .await
        .expect("the thread")[0]
        .entry_id;
    o.bob
        .submit(
            "/mail/inbox",
            "/mail/bulk",
            &[
                ("folder", "inbox"),
                ("action", "delete"),
                ("entry", &entry.to_string()),
            ],
        )
        .await;
    assert!(o.ann.text("/mail/inbox").await.contains("Bail"));
}

async fn unknown_and_inactive_addresses_are_refused_and_the_form_kept(backend: Backend) {
    let o = office(backend).await;
    let response = o
        .fiscal
        .send(&Outgoing::to(
            "ann@brodie.example, nobody@brodie.example",
            "Plea",
            "Dear agent",
        ))
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("response body");
    assert!(page.contains("There is no Casemail account for nobody@brodie.example"));
    assert!(
        page.contains("value=\"Plea\"") && page.contains("Dear agent"),
        "typed text is kept"
    );

    o.app.set_status(o.ids[2], UserStatus::Locked).await;
    let page = o
        .fiscal
        .send(&Outgoing::to("bob@kerr.example", "Plea", "Dear agent"))
        .await
        .text()
        .await
        .expect("response body");
    assert!(page.contains("bob@kerr.example cannot receive mail"));

    let page = o
        .fiscal
        .send(&Outgoing::to("not an address", "", ""))
        .await
        .text()
        .await
        .expect("response body");
    assert!(page.contains("is not a valid email address"));
    assert!(page.contains("Enter a subject") && page.contains("Enter a message"));

    assert!(
        o.ann.text("/mail/inbox").await.contains("No messages"),
        "nothing was delivered"
    );
}

async fn delivery_is_all_or_nothing(backend: Backend) {
    let o = office(backend).await;
    let entry = |user_id| NewEntry {
        user_id,
        folder: Folder::Inbox,
        is_read: false,
        summary: b"x".to_vec(),
    };
    let delivery = Delivery {
        thread_id: None,
        case_id: None,
        plea: false,
        sender_id: o.ids[0],
        sent_at: o.app.clock.now(),
        envelope: b"sealed".to_vec(),
        size: 6,
        forwarded_from: None,
        to: vec![o.ids[1]],
        cc: vec![],
        // The second mailbox does not exist: the whole delivery must roll back.
        entries: vec![entry(o.ids[1]), entry(987_654)],
        attachments: vec![],
        sender_org_id: 1,
        client_address: String::new(),
        reply_to: None,
        reply_by: None,
        sent_by: None,
        teams: Vec::new(),
        fingerprint: None,
    };
    let mut change = o.app.change().await;
    assert!(change.deliver(&delivery).await.is_err());
    drop(change);
    let rows = o
        .app
        .store
        .mailbox_page(o.ids[1], Folder::Inbox, None, 10)
        .await
        .expect("the folder");
    assert!(rows.is_empty(), "no partial delivery");
}

async fn delivery_and_first_opening_are_recorded_per_recipient(backend: Backend) {
    let o = office(backend).await;
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            cc: "bob@kerr.example",
            ..Outgoing::to("ann@brodie.example", "Bail", "Terms")
        })
        .await;
    let sent_at = o.app.clock.now();
    let message_id = o
        .app
        .store
        .thread_for_user(o.ids[0], thread_id(&thread))
        .await
        .expect("the thread")[0]
        .message_id;
    o.app.clock.advance(120);
    o.ann.text(&thread).await;
    o.app.clock.advance(120);
    o.ann.text(&thread).await;
    let receipts = o
        .app
        .store
        .delivery_receipts(message_id)
        .await
        .expect("delivery receipts");
    let of = |id| {
        receipts
            .iter()
            .find(|r| r.user_id == id)
            .unwrap_or_else(|| panic!("receipt for {id}"))
    };
    assert_eq!(receipts.len(), 3);
    assert_eq!(of(o.ids[1]).delivered_at, sent_at);
    assert_eq!(
        of(o.ids[1]).first_read_at,
        Some(sent_at + 120),
        "first opening, not the latest"
    );
    assert_eq!(of(o.ids[2]).first_read_at, None, "bob has not opened it");
    assert_eq!(of(o.ids[0]).folder, Folder::Sent);

    // Opened, marked unread and opened again within one second: read again, and only the
    // first opening is recorded as the first.
    let opened_at = o.app.clock.now();
    o.bob.text(&thread).await;
    let entry = o
        .app
        .store
        .mailbox_page(o.ids[2], Folder::Inbox, None, 10)
        .await
        .expect("bob's inbox")[0]
        .entry_id
        .to_string();
    let fields = [
        ("folder", "inbox"),
        ("action", "unread"),
        ("entry", entry.as_str()),
    ];
    let marked = o.bob.submit("/mail/inbox", "/mail/bulk", &fields).await;
    assert_eq!(marked.status(), 303);
    assert!(
        o.bob
            .text("/mail/inbox")
            .await
            .contains("app-unread-tag\">1<")
    );
    o.bob.text(&thread).await;
    assert!(!o.bob.text("/mail/inbox").await.contains("app-unread-tag"));
    let receipts = o
        .app
        .store
        .delivery_receipts(message_id)
        .await
        .expect("delivery receipts");
    let bob = receipts
        .iter()
        .find(|r| r.user_id == o.ids[2])
        .expect("bob");
    assert_eq!(bob.first_read_at, Some(opened_at));
    let store = &o.app.store;
    let openings = |actor| async move {
        let events = store
            .audit_events(&EventFilter {
                subject: Some((SubjectKind::Message, message_id)),
                kind: Some(EventKind::MessageOpened),
                actor_id: Some(actor),
                limit: 10,
                ..EventFilter::default()
            })
            .await
            .expect("the trail");
        // Newest first in the trail; oldest first here.
        events
            .into_iter()
            .rev()
            .map(|e| e.payload)
            .collect::<Vec<_>>()
    };
    let (first, again) = (r#"{"first":true}"#, r#"{"first":false}"#);
    assert_eq!(openings(o.ids[1]).await, [first, again]);
    assert_eq!(openings(o.ids[2]).await, [first, again]);
}

async fn shredding_a_users_keys_leaves_other_recipients_reading(backend: Backend) {
    let o = office(backend).await;
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            cc: "bob@kerr.example",
            ..Outgoing::to("ann@brodie.example", "Indictment", "Served today")
        })
        .await;
    let mut change = o.app.change().await;
    change.shred_account(o.ids[2]).await.expect("shred");
    change.commit().await.expect("commit");
    assert!(o.ann.text(&thread).await.contains("Served today"));
    assert_eq!(
        o.bob.get(&thread).await.status(),
        303,
        "bob's session is gone"
    );
    let fresh = o.app.browser();
    assert_eq!(
        fresh
            .sign_in("bob@kerr.example", crate::helpers::PASSWORD)
            .await
            .status(),
        422
    );
    assert!(
        o.app
            .store
            .recovery_wrap(o.ids[2])
            .await
            .expect("the store answers")
            .is_none(),
        "no wrap of bob's key is left"
    );
    let email =
        casemail::domain::EmailAddress::parse("bob@kerr.example").unwrap_or_else(|e| panic!("{e}"));
    let record = o
        .app
        .store
        .sign_in_record(&email)
        .await
        .expect("the store answers")
        .unwrap_or_else(|| panic!("row kept"));
    assert!(record.identity_wrapped_password.is_none());
    assert!(
        o.app
            .store
            .thread_for_user(o.ids[2], thread_id(&thread))
            .await
            .expect("the thread")
            .is_empty()
    );
}

async fn folders_move_restore_and_empty(backend: Backend) {
    let o = office(backend).await;
    o.fiscal
        .send_ok(&Outgoing::to("ann@brodie.example", "First letter", "One"))
        .await;
    o.fiscal
        .send_ok(&Outgoing::to("ann@brodie.example", "Second letter", "Two"))
        .await;
    let inbox = o.ann.text("/mail/inbox").await;
    assert!(
        inbox.contains("app-unread-tag\">2<"),
        "two unread in the navigation"
    );
    let rows = o
        .app
        .store
        .mailbox_page(o.ids[1], Folder::Inbox, None, 10)
        .await
        .expect("the folder");
    let (second, first) = (rows[0].entry_id.to_string(), rows[1].entry_id.to_string());

    let act = |action: &'static str, folder: &'static str, entries: Vec<String>| {
        let ann = o.ann.clone();
        async move {
            let mut fields = vec![
                ("folder", folder.to_string()),
                ("action", action.to_string()),
            ];
            fields.extend(entries.into_iter().map(|e| ("entry", e)));
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = ann
                .submit(&format!("/mail/{folder}"), "/mail/bulk", &fields)
                .await;
            assert_eq!(response.status(), 303, "{action}");
            location(&response)
        }
    };
    assert_eq!(
        act("read", "inbox", vec![first.clone(), second.clone()]).await,
        "/mail/inbox?done=read"
    );
    assert!(!o.ann.text("/mail/inbox").await.contains("app-unread-tag"));
    act("unread", "inbox", vec![first.clone()]).await;
    assert!(
        o.ann
            .text("/mail/inbox")
            .await
            .contains("app-unread-tag\">1<")
    );
    act("archive", "inbox", vec![first.clone()]).await;
    assert!(o.ann.text("/mail/archive").await.contains("First letter"));
    assert!(!o.ann.text("/mail/inbox").await.contains("First letter"));
    act("delete", "archive", vec![first.clone()]).await;
    act("delete", "inbox", vec![second.clone()]).await;
    let deleted = o.ann.text("/mail/deleted").await;
    assert!(deleted.contains("First letter") && deleted.contains("Second letter"));
    act("restore", "deleted", vec![first.clone()]).await;
    assert!(
        o.ann.text("/mail/archive").await.contains("First letter"),
        "restored to where it was"
    );
    let response = o
        .ann
        .submit("/mail/deleted", "/mail/deleted/empty", &[])
        .await;
    assert_eq!(location(&response), "/mail/deleted?done=emptied");
    assert!(!o.ann.text("/mail/deleted").await.contains("Second letter"));
    assert!(
        o.fiscal.text("/mail/sent").await.contains("Second letter"),
        "the sender keeps theirs"
    );
}

async fn replies_join_the_thread_and_forwards_reencrypt_attachments(backend: Backend) {
    let o = office(backend).await;
    let files = [("productions.pdf", b"production 14 content".to_vec())];
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            attachments: &files,
            ..Outgoing::to("ann@brodie.example", "Productions", "Enclosed.")
        })
        .await;
    let original = o
        .app
        .store
        .thread_for_user(o.ids[1], thread_id(&thread))
        .await
        .expect("the thread")[0]
        .message_id;

    let reply_form = o.ann.text(&format!("/compose?reply_to={original}")).await;
    assert!(reply_form.contains("value=\"Re: Productions\""));
    assert!(reply_form.contains("value=\"fiona@pf.example\""));
    let extra = [("reply_to", original.to_string())];
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = o
        .ann
        .send_ok(&Outgoing {
            extra: &extra,
            ..Outgoing::to(
                "fiona@pf.example",
                "Re: Productions",
                "Received with thanks.",
            )
        })
        .await;
    assert_eq!(reply, thread, "the reply joins the thread");
    let page = o.fiscal.text(&thread).await;
    assert!(page.contains("Enclosed.") && page.contains("Received with thanks."));

    let forward_form = o.ann.text(&format!("/compose?forward={original}")).await;
    assert!(forward_form.contains("Fwd: Productions") && forward_form.contains("productions.pdf"));
    let extra = [("forward_of", original.to_string())];
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let forwarded = o
        .ann
        .send_ok(&Outgoing {
            extra: &extra,
            ..Outgoing::to(
                "bob@kerr.example",
                "Fwd: Productions",
                "For your information.",
            )
        })
        .await;
    assert_ne!(forwarded, thread);
    let bobs = o
        .app
        .store
        .thread_for_user(o.ids[2], thread_id(&forwarded))
        .await
        .expect("the thread");
    let download = o
        .bob
        .get(&format!("/messages/{}/attachments/0", bobs[0].message_id))
        .await;
    assert_eq!(
        download.bytes().await.expect("response body").to_vec(),
        b"production 14 content".to_vec()
    );
    assert_eq!(
        o.bob.get(&thread).await.status(),
        404,
        "the original thread stays closed to bob"
    );
}

async fn drafts_are_encrypted_and_survive_the_session(backend: Backend) {
    let o = office(backend).await;
    let page = o.ann.text("/compose").await;
    let token = crate::helpers::csrf_token(&page).expect("a form token on the page");
    let form = reqwest::multipart::Form::new()
        .text("to", "fiona@pf.example")
        .text("subject", "DRAFT-MARKER-31c9 plea position")
        .text("body", "Half written");
    let response = o
        .ann
        .client
        .post(o.app.url("/drafts/autosave"))
        .header("x-csrf-token", token)
        .header("hx-request", "true")
        .multipart(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .expect("response body")
            .contains("name=\"draft_id\"")
    );

    o.app.clock.advance(31 * 60);
    assert_eq!(
        o.ann.get("/drafts").await.status(),
        303,
        "the session expired"
    );
    o.ann.sign_in_ok("ann@brodie.example").await;
    let response = o.ann.get("/drafts").await;
    assert_eq!(response.status(), 200, "{}", location(&response));
    let drafts = response.text().await.expect("response body");
    assert!(drafts.contains("DRAFT-MARKER-31c9 plea position"));
    assert!(
        !contains(&raw_bytes(&o.app).await, "DRAFT-MARKER-31c9"),
        "drafts are encrypted"
    );
    o.fiscal.sign_in_ok("fiona@pf.example").await;
    assert!(
        !o.fiscal.text("/drafts").await.contains("DRAFT-MARKER"),
        "drafts are private"
    );
}

async fn oversized_attachments_are_refused_and_leave_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.max_attachment_mb = 1).await;
    let o = office_with(app).await;
    let files = [("huge.pdf", vec![0u8; 1024 * 1024 + 1])];
    let response = o
        .fiscal
        .send(&Outgoing {
            attachments: &files,
            ..Outgoing::to("ann@brodie.example", "Bundle", "Attached")
        })
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("response body");
    assert!(
        page.contains("“huge.pdf” is larger than the 1.0 MB limit"),
        "the limit is named"
    );
    assert!(page.contains("value=\"Bundle\""));
    assert!(o.ann.text("/mail/inbox").await.contains("No messages"));
    let blobs: Vec<_> = walk(&o.app.dir.path().join("blobs"));
    assert!(blobs.is_empty(), "no ciphertext left behind: {blobs:?}");
}

async fn risky_attachments_are_flagged_and_served_safely(backend: Backend) {
    let o = office(backend).await;
    let files = [
        ("Schedule.xlsm", b"macro".to_vec()),
        ("page.html", b"<script>alert(1)</script>".to_vec()),
    ];
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            attachments: &files,
            ..Outgoing::to("ann@brodie.example", "Schedules", "See attached")
        })
        .await;
    let page = o.ann.text(&thread).await;
    assert!(page.contains("This document can contain macros"));
    let message_id = o
        .app
        .store
        .thread_for_user(o.ids[1], thread_id(&thread))
        .await
        .expect("the thread")[0]
        .message_id;
    let html = o
        .ann
        .get(&format!("/messages/{message_id}/attachments/1"))
        .await;
    assert_eq!(
        html.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/octet-stream")
    );
    assert_eq!(
        html.headers()
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
}

async fn folders_page_by_keyset(backend: Backend) {
    let o = office(backend).await;
    for n in 0..55 {
        o.app.clock.advance(1);
        let subject = format!("Letter number {n:02}");
        o.fiscal
            .send_ok(&Outgoing::to("ann@brodie.example", &subject, "Text"))
            .await;
    }
    let first = o.ann.text("/mail/inbox").await;
    assert_eq!(first.matches("href=\"/threads/").count(), 50);
    assert!(first.contains("Letter number 54") && !first.contains("Letter number 04"));
    let start = first
        .find("/mail/inbox?after=")
        .unwrap_or_else(|| panic!("older link"));
    let end = first[start..].find('"').unwrap_or(0) + start;
    let second = o.ann.text(&first[start..end]).await;
    assert_eq!(second.matches("href=\"/threads/").count(), 5);
    assert!(second.contains("Letter number 04") && second.contains("Letter number 00"));
    assert!(!second.contains("/mail/inbox?after="), "no further page");
}
