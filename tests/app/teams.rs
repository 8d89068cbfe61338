//! Team mailboxes: mail to a team is sealed to the team's key, which only its members
//! hold (not an administrator who created it); members work in it under their own names,
//! assign and answer its letters; a removed member is out at once, and after a rotation
//! the mail that follows opens only for the members who remain, while a new member reads
//! the history.

use casemail::crypto::{UserIdentity, open};
use casemail::domain::{EmailAddress, OrganisationKind};
use secrecy::SecretString;

use crate::cases::{add, create_case};
use crate::database_dump::{contains, raw_bytes};
use crate::helpers::{Backend, Browser, Outgoing, PASSWORD, TestApp, location};
use crate::on_both_backends;

on_both_backends!(
    team_mail_is_sealed_to_the_team_and_only_its_members_reach_it,
    members_assign_and_answer_and_the_audit_names_each_member,
    a_removed_member_is_out_at_once_and_a_rotation_keeps_later_mail_from_them,
    a_letter_written_to_the_case_reaches_the_team_that_holds_it,
    the_same_letter_sent_twice_into_an_office_is_marked_and_linked,
);

/// A fiscal office with a summary team (Fiona manages, Duncan is a member), an
/// administrator who is not a member, and a defence solicitor who writes to the team.
struct Office {
    app: TestApp,
    fiona: Browser,
    duncan: Browser,
    admin: Browser,
    ann: Browser,
    team_id: i64,
}

const GLASGOW: &str = "Glasgow PF";

async fn office(backend: Backend) -> Office {
    let app = TestApp::spawn(backend).await;
    for email in ["fiona@pf.example", "duncan@pf.example", "kirsty@pf.example"] {
        app.user(email, OrganisationKind::Prosecution, GLASGOW)
            .await;
    }
    app.account(
        "morag@pf.example",
        OrganisationKind::Prosecution,
        GLASGOW,
        "Glasgow",
        true,
    )
    .await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let (fiona, duncan, admin, ann) = (app.browser(), app.browser(), app.browser(), app.browser());
    fiona.sign_in_ok("fiona@pf.example").await;
    duncan.sign_in_ok("duncan@pf.example").await;
    admin.sign_in_ok("morag@pf.example").await;
    ann.sign_in_ok("ann@brodie.example").await;

    // The address must be in the office's own domain.
    let elsewhere = admin
        .submit(
            "/admin/teams",
            "/admin/teams",
            &[
                ("name", "Summary Team"),
                ("email", "summary@elsewhere.example"),
                ("managers", "fiona@pf.example"),
            ],
        )
        .await;
    assert_eq!(elsewhere.status(), 422);
    assert!(
        elsewhere
            .text()
            .await
            .expect("page")
            .contains("@pf.example")
    );
    let created = admin
        .submit(
            "/admin/teams",
            "/admin/teams",
            &[
                ("name", "Summary Team"),
                ("email", "summary@pf.example"),
                ("managers", "fiona@pf.example"),
                ("members", "duncan@pf.example"),
            ],
        )
        .await;
    assert_eq!(location(&created), "/admin/teams?done=created");
    let team_id = app.id_of("summary@pf.example").await;
    Office {
        app,
        fiona,
        duncan,
        admin,
        ann,
        team_id,
    }
}

/// Switches a member's session into the team's mailbox.
async fn enter(member: &Browser, team_id: i64) {
    let entered = member
        .submit(
            "/delegations",
            "/delegations/switch",
            &[("owner", &team_id.to_string())],
        )
        .await;
    assert_eq!(location(&entered), "/mail/inbox");
}

async fn team_mail_is_sealed_to_the_team_and_only_its_members_reach_it(backend: Backend) {
    let o = office(backend).await;
    assert!(
        o.admin
            .text("/admin/teams")
            .await
            .contains("summary@pf.example")
    );
    assert!(
        o.ann
            .text("/directory?q=summary")
            .await
            .contains("Team mailbox"),
        "the team is listed in the directory"
    );
    let certificate = b"TEAMATTACHMENT medical certificate".to_vec();
    let thread = o
        .ann
        .send_ok(&Outgoing {
            attachments: &[("TEAMNAME certificate.txt", certificate.clone())],
            ..Outgoing::to(
                "summary@pf.example",
                "TEAMSUBJECT about the diet",
                "TEAMBODY the defence asks for an adjournment",
            )
        })
        .await;
    let mut stored = raw_bytes(&o.app).await;
    for file in crate::edges::files_under(&o.app.dir.path().join("blobs")) {
        stored.extend(std::fs::read(file).expect("read a blob"));
    }
    assert!(
        contains(&stored, "age-encryption.org/v1"),
        "the blobs were read"
    );
    for marker in [
        "TEAMSUBJECT",
        "TEAMBODY",
        "TEAMATTACHMENT",
        "TEAMNAME",
        "AGE-SECRET-KEY",
    ] {
        assert!(!contains(&stored, marker), "{marker} is stored in clear");
    }
    assert_eq!(
        o.app
            .number(
                "SELECT COUNT(*) FROM mailbox_entries e JOIN users u ON u.id = e.user_id \
                 WHERE u.email IN ('fiona@pf.example', 'duncan@pf.example')"
            )
            .await,
        0,
        "mail to the team is not copied to each member"
    );
    // The team's address has no inbox outside: its members are told instead.
    assert_eq!(
        o.app
            .number("SELECT COUNT(*) FROM notifications WHERE recipient = 'summary@pf.example'")
            .await,
        0
    );
    assert_eq!(
        o.app
            .number(
                "SELECT COUNT(*) FROM notifications WHERE recipient IN \
                 ('fiona@pf.example', 'duncan@pf.example') AND subject LIKE '%team%'"
            )
            .await,
        2
    );

    // A member reads it in the team's mailbox, not in their own.
    assert!(!o.duncan.text("/mail/inbox").await.contains("TEAMSUBJECT"));
    assert!(o.duncan.text("/delegations").await.contains("Summary Team"));
    enter(&o.duncan, o.team_id).await;
    let inbox = o.duncan.text("/mail/inbox").await;
    assert!(inbox.contains("TEAMSUBJECT") && inbox.contains("Working in a team mailbox"));
    assert!(
        inbox.contains("Needs reply"),
        "a team's letter awaits the team's answer"
    );
    assert!(
        o.duncan
            .text(&thread)
            .await
            .contains("TEAMBODY the defence")
    );
    let message = o.ann.last_message_id(&thread).await;
    let download = o
        .duncan
        .get(&format!("/messages/{message}/attachments/0"))
        .await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.expect("body").to_vec(), certificate);
    let duncan_id = o.app.id_of("duncan@pf.example").await;
    assert_eq!(
        o.app
            .number(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE kind = 'attachment.downloaded' \
                 AND actor_id = {duncan_id} AND payload LIKE '%\"on_behalf_of\":{}%'",
                o.team_id
            ))
            .await,
        1,
        "the download names the member and the team"
    );
    let search = o.duncan.text("/search?q=adjournment").await;
    assert!(
        search.contains("TEAMSUBJECT"),
        "search works in the team's mailbox"
    );

    // The administrator who created it, not being a member, reaches none of it.
    let entered = o
        .admin
        .submit(
            "/mail/inbox",
            "/delegations/switch",
            &[("owner", &o.team_id.to_string())],
        )
        .await;
    assert_eq!(entered.status(), 404);
    for path in [
        thread.clone(),
        format!("/messages/{message}/attachments/0"),
        format!("/teams/{}", o.team_id),
        format!("/admin/users/{}", o.team_id),
    ] {
        assert_eq!(o.admin.get(&path).await.status(), 404, "{path}");
    }
    assert!(!o.admin.text("/mail/inbox").await.contains("TEAMSUBJECT"));
    let assign = o
        .admin
        .submit(
            "/mail/inbox",
            &format!("{thread}/assign"),
            &[("member", ""), ("claim", "yes")],
        )
        .await;
    assert_eq!(assign.status(), 404);
    assert_eq!(
        o.app
            .number("SELECT COUNT(*) FROM mailbox_entries WHERE assigned_to IS NOT NULL")
            .await,
        0
    );
    // The team cannot sign in: it has no password.
    let refused = o
        .app
        .browser()
        .sign_in("summary@pf.example", PASSWORD)
        .await;
    assert_ne!(location(&refused), "/");
}

async fn members_assign_and_answer_and_the_audit_names_each_member(backend: Backend) {
    let o = office(backend).await;
    let duncan_id = o.app.id_of("duncan@pf.example").await;
    let fiona_id = o.app.id_of("fiona@pf.example").await;
    let thread = o
        .ann
        .send_ok(&Outgoing::to(
            "summary@pf.example",
            "Disclosure request",
            "Please disclose the CCTV.",
        ))
        .await;
    let due = o.duncan.text("/mail/due").await;
    assert!(
        due.contains("Summary Team") && due.contains("1 letter awaiting a reply"),
        "a member's Due view counts the team's letters"
    );
    enter(&o.duncan, o.team_id).await;
    let claimed = o
        .duncan
        .submit(
            &thread,
            &format!("{thread}/assign"),
            &[("member", ""), ("claim", "yes")],
        )
        .await;
    assert_eq!(location(&claimed), format!("{thread}?assigned=1"));
    assert_eq!(
        o.app
            .number(&format!(
                "SELECT COUNT(*) FROM mailbox_entries WHERE user_id = {} AND assigned_to = {duncan_id}",
                o.team_id
            ))
            .await,
        1
    );
    assert!(
        o.duncan
            .text("/mail/inbox")
            .await
            .contains("With Test Person")
    );

    // Fiona answers from the team's address; the team's copy is then answered.
    enter(&o.fiona, o.team_id).await;
    let page = o.fiona.text(&thread).await;
    assert!(page.contains("Waiting for the team"));
    let original = o.fiona.last_message_id(&thread).await;
    o.fiona
        .send_ok(&Outgoing {
            extra: &[("reply_to", &original)],
            ..Outgoing::to(
                "ann@brodie.example",
                "Re: Disclosure request",
                "CCTV attached soon.",
            )
        })
        .await;
    let answered = o.duncan.text(&thread).await;
    assert!(
        answered.contains("Answered"),
        "Duncan sees the team's letter answered"
    );
    let seen = o.ann.text(&thread).await;
    assert!(
        seen.contains("summary@pf.example")
            && seen.contains("Sent by Test Person on behalf of Summary Team"),
        "the reply comes from the team, naming the member who wrote it"
    );
    assert!(
        seen.contains("\">by Test Person</span>"),
        "the sender's timeline names the members who opened the letter"
    );

    let named = |kind: &str, actor: i64| {
        format!(
            "SELECT COUNT(*) FROM audit_events WHERE kind = '{kind}' AND actor_id = {actor} \
             AND payload LIKE '%\"on_behalf_of\":{}%'",
            o.team_id
        )
    };
    for (kind, actor) in [
        ("team.entered", duncan_id),
        ("message.opened", duncan_id),
        ("message.assigned", duncan_id),
        ("message.opened", fiona_id),
        ("message.replied", fiona_id),
    ] {
        let sql = if kind == "team.entered" {
            format!(
                "SELECT COUNT(*) FROM audit_events WHERE kind = '{kind}' AND actor_id = {actor} \
                 AND subject_id = {}",
                o.team_id
            )
        } else {
            named(kind, actor)
        };
        assert!(
            o.app.number(&sql).await >= 1,
            "{kind} names the member and the team"
        );
    }
    assert_eq!(
        o.app
            .number(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE actor_id = {}",
                o.team_id
            ))
            .await,
        0,
        "the team itself is never the actor"
    );
    let verification = o.app.app.audit.verify(None).await.expect("verify");
    assert!(verification.broken.is_none(), "the chain holds");
}

async fn a_removed_member_is_out_at_once_and_a_rotation_keeps_later_mail_from_them(
    backend: Backend,
) {
    let o = office(backend).await;
    let duncan_id = o.app.id_of("duncan@pf.example").await;
    let fiona_id = o.app.id_of("fiona@pf.example").await;
    let before = o
        .ann
        .send_ok(&Outgoing::to(
            "summary@pf.example",
            "HISTORY letter",
            "HISTORY-BODY",
        ))
        .await;
    enter(&o.duncan, o.team_id).await;
    assert!(o.duncan.text(&before).await.contains("HISTORY-BODY"));
    // What Duncan holds: his identity (from his password) and his wrap of the team's.
    let duncan_identity = identity_of(&o.app, "duncan@pf.example").await;
    let kept_wrap = o
        .app
        .store
        .membership(o.team_id, duncan_id)
        .await
        .expect("store")
        .expect("Duncan is a member")
        .wrapped;
    let old_team_identity =
        UserIdentity::unwrap_for(&kept_wrap, &duncan_identity).expect("his wrap opens for him");

    // The last manager cannot be removed.
    let last = o
        .fiona
        .submit(
            &format!("/teams/{}", o.team_id),
            &format!("/teams/{}/members/{fiona_id}/remove", o.team_id),
            &[("rotate", "yes")],
        )
        .await;
    assert_eq!(last.status(), 422);
    // A member cannot remove anyone.
    o.duncan
        .submit("/mail/inbox", "/delegations/switch", &[("owner", "")])
        .await;
    let not_manager = o
        .duncan
        .submit(
            &format!("/teams/{}", o.team_id),
            &format!("/teams/{}/members/{fiona_id}/remove", o.team_id),
            &[],
        )
        .await;
    assert_eq!(not_manager.status(), 404);
    enter(&o.duncan, o.team_id).await;

    let removed = o
        .fiona
        .submit(
            &format!("/teams/{}", o.team_id),
            &format!("/teams/{}/members/{duncan_id}/remove", o.team_id),
            &[("rotate", "yes")],
        )
        .await;
    assert_eq!(
        location(&removed),
        format!("/teams/{}?done=rotated", o.team_id)
    );
    // Out at once, in the session he already had.
    assert_eq!(o.duncan.get(&before).await.status(), 404);
    let inbox = o.duncan.text("/mail/inbox").await;
    assert!(!inbox.contains("HISTORY letter") && !inbox.contains("Working in a team mailbox"));

    let after = o
        .ann
        .send_ok(&Outgoing::to(
            "summary@pf.example",
            "AFTER letter",
            "AFTER-BODY",
        ))
        .await;
    let envelope_of = |thread: String| {
        let ann = &o.ann;
        let app = &o.app;
        let team_id = o.team_id;
        async move {
            let message_id: i64 = ann.last_message_id(&thread).await.parse().expect("id");
            app.store
                .message_for_user(team_id, message_id)
                .await
                .expect("store")
                .expect("the team's copy")
                .0
        }
    };
    let (old_envelope, new_envelope) = (
        envelope_of(before.clone()).await,
        envelope_of(after.clone()).await,
    );
    assert!(
        open(&old_team_identity, &old_envelope).is_ok(),
        "the key Duncan held opened the team's mail before the rotation"
    );
    assert!(
        open(&old_team_identity, &new_envelope).is_err(),
        "but not what came after it"
    );

    // A new member reads the whole history; the manager who stayed reads both.
    let added = o
        .fiona
        .submit(
            &format!("/teams/{}", o.team_id),
            &format!("/teams/{}/members", o.team_id),
            &[("email", "kirsty@pf.example")],
        )
        .await;
    assert_eq!(location(&added), format!("/teams/{}?done=added", o.team_id));
    let kirsty = o.app.browser();
    kirsty.sign_in_ok("kirsty@pf.example").await;
    enter(&kirsty, o.team_id).await;
    enter(&o.fiona, o.team_id).await;
    for reader in [&kirsty, &o.fiona] {
        assert!(reader.text(&before).await.contains("HISTORY-BODY"));
        assert!(reader.text(&after).await.contains("AFTER-BODY"));
        let inbox = reader.text("/mail/inbox").await;
        assert!(inbox.contains("HISTORY letter") && inbox.contains("AFTER letter"));
    }
    // Someone outside the office cannot be added.
    o.fiona
        .submit("/mail/inbox", "/delegations/switch", &[("owner", "")])
        .await;
    let outsider = o
        .fiona
        .submit(
            &format!("/teams/{}", o.team_id),
            &format!("/teams/{}/members", o.team_id),
            &[("email", "ann@brodie.example")],
        )
        .await;
    assert_eq!(outsider.status(), 422);
    assert_eq!(
        o.app
            .number(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE kind = 'team.key_rotated' AND actor_id = {fiona_id}"
            ))
            .await,
        1
    );
}

async fn identity_of(app: &TestApp, email: &str) -> UserIdentity {
    let email = EmailAddress::parse(email).expect("address");
    let record = app
        .store
        .sign_in_record(&email)
        .await
        .expect("store")
        .expect("account");
    UserIdentity::unwrap_with_password(
        &record.identity_wrapped_password.expect("wrap"),
        &SecretString::from(PASSWORD.to_string()),
    )
    .expect("the password unwraps it")
}

async fn a_letter_written_to_the_case_reaches_the_team_that_holds_it(backend: Backend) {
    let o = office(backend).await;
    let case = create_case(&o.fiona, "PF/2026/000500", "Theft").await;
    assert_eq!(
        add(&o.fiona, case, "ann@brodie.example").await.status(),
        303
    );
    let case_page = format!("/cases/{case}");
    // The defence cannot choose who holds the case.
    let refused = o
        .ann
        .submit(
            &case_page,
            &format!("{case_page}/team"),
            &[("team", &o.team_id.to_string())],
        )
        .await;
    assert_eq!(refused.status(), 404);
    let given = o
        .fiona
        .submit(
            &case_page,
            &format!("{case_page}/team"),
            &[("team", &o.team_id.to_string())],
        )
        .await;
    assert_eq!(location(&given), format!("{case_page}?done=team"));
    let seen = o.ann.text(&case_page).await;
    assert!(
        seen.contains("Write to the case") && seen.contains("to=summary%40pf.example"),
        "the defence writes to the case without knowing who holds it"
    );
    o.ann
        .send_ok(&Outgoing {
            extra: &[("case_id", &case.to_string())],
            ..Outgoing::to(
                "summary@pf.example",
                "CASELETTER for the team",
                "About the theft.",
            )
        })
        .await;
    enter(&o.duncan, o.team_id).await;
    let inbox = o.duncan.text("/mail/inbox").await;
    assert!(
        inbox.contains("CASELETTER") && inbox.contains("PF/2026/000500"),
        "the team sees the letter tagged with the case"
    );
    assert_eq!(
        o.app
            .number(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE kind = 'case.given_to_team' AND case_id = {case}"
            ))
            .await,
        1
    );
}

async fn the_same_letter_sent_twice_into_an_office_is_marked_and_linked(backend: Backend) {
    let o = office(backend).await;
    let first = o
        .ann
        .send_ok(&Outgoing::to(
            "fiona@pf.example",
            "DUPLETTER bail",
            "Bail  review on Monday.",
        ))
        .await;
    // The same letter (spacing aside) to the team, then a different one.
    let second = o
        .ann
        .send_ok(&Outgoing::to(
            "summary@pf.example",
            "DUPLETTER bail",
            "Bail review on Monday.",
        ))
        .await;
    o.ann
        .send_ok(&Outgoing::to(
            "summary@pf.example",
            "DUPLETTER bail",
            "Bail review on Tuesday.",
        ))
        .await;
    // The same words from someone else are their own letter.
    let kirsty = o.app.browser();
    kirsty.sign_in_ok("kirsty@pf.example").await;
    kirsty
        .send_ok(&Outgoing::to(
            "summary@pf.example",
            "DUPLETTER bail",
            "Bail review on Monday.",
        ))
        .await;
    let marked = |user: i64| {
        format!(
            "SELECT COUNT(*) FROM mailbox_entries WHERE user_id = {user} AND duplicate_of IS NOT NULL"
        )
    };
    let fiona_id = o.app.id_of("fiona@pf.example").await;
    assert_eq!(
        o.app.number(&marked(o.team_id)).await,
        1,
        "only the repeat is marked"
    );
    assert_eq!(
        o.app.number(&marked(fiona_id)).await,
        0,
        "the first copy is not"
    );

    enter(&o.duncan, o.team_id).await;
    assert!(
        o.duncan
            .text("/mail/inbox")
            .await
            .contains(">Duplicate</strong>")
    );
    let repeat = o.duncan.text(&second).await;
    assert!(
        repeat.contains("had already reached your office")
            && repeat.contains("Also in: Test Person"),
        "the repeat links to where the letter went first"
    );
    let original = o.fiona.text(&first).await;
    assert!(
        original.contains("also reached other mailboxes")
            && original.contains("Summary Team (team mailbox)"),
        "the first copy links to the repeat"
    );
}
