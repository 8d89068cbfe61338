//! `casemail backup` and `casemail restore`: a deployment backed up while people keep
//! sending, restored into a new one (on the same backend, and from SQLite into
//! PostgreSQL), where people sign in and read their mail and attachments, and the audit
//! chain verifies to the head the backup recorded.

use crate::helpers::{Backend, Outgoing, TestApp};
use crate::mail::office;
use crate::on_both_backends;

on_both_backends!(a_backup_taken_while_serving_restores_whole);

async fn a_backup_taken_while_serving_restores_whole(backend: Backend) {
    round_trip(backend, backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(casemail_postgres),
    ignore = "PostgreSQL suite: set CASEMAIL_TEST_POSTGRES_URL=postgres://USER@HOST/DB to run it"
)]
async fn an_sqlite_backup_restores_into_postgresql() {
    round_trip(Backend::Sqlite, Backend::Postgres).await;
}

async fn round_trip(from: Backend, to: Backend) {
    let o = office(from).await;
    let files = [("statement.pdf", b"%PDF statement of PC Ross".to_vec())];
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            cc: "bob@kerr.example",
            attachments: &files,
            ..Outgoing::to(
                "ann@brodie.example",
                "Disclosure",
                "The statement is enclosed.",
            )
        })
        .await;
    assert!(
        o.ann
            .text(&thread)
            .await
            .contains("The statement is enclosed.")
    );

    // People go on sending while the backup runs: whatever it takes, it takes whole.
    let dir = tempfile::TempDir::new().expect("a directory for the backup");
    let target = dir.path().join("backup");
    let sending = async {
        for n in 0..15 {
            o.ann
                .send_ok(&Outgoing::to(
                    "fiona@pf.example",
                    &format!("Letter {n}"),
                    "Sent while the backup ran.",
                ))
                .await;
        }
    };
    let (manifest, ()) = tokio::join!(o.app.app.backups.write(&target, o.app.clock.now()), sending);
    let manifest = manifest.expect("the backup is written");
    assert_eq!(manifest.blobs, 1);
    assert!(manifest.audit_head.is_some());
    assert!(
        !target.join("tables").join("sessions.jsonl").exists(),
        "no sessions"
    );
    let backed_up =
        std::fs::read(target.join("tables").join("messages.jsonl")).expect("the messages table");
    assert!(
        !crate::database_dump::contains(&backed_up, "The statement is enclosed"),
        "the backup is as encrypted as the database"
    );
    assert!(
        o.app
            .app
            .backups
            .write(&target, o.app.clock.now())
            .await
            .is_err(),
        "a backup never writes over another"
    );

    let restored = TestApp::spawn(to).await;
    let again = restored
        .app
        .backups
        .restore(&target)
        .await
        .unwrap_or_else(|e| panic!("the restore succeeds: {e:#}"));
    assert_eq!(
        again.audit_head, manifest.audit_head,
        "the chain ends where it did"
    );
    let message_rows = manifest.tables["messages"];
    assert_eq!(
        restored.number("SELECT COUNT(*) FROM messages").await,
        i64::try_from(message_rows).expect("a count"),
    );

    let ann = restored.browser();
    ann.sign_in_ok("ann@brodie.example").await;
    let inbox = ann.text("/mail/inbox").await;
    assert!(inbox.contains("Disclosure"), "ann's mail is there");
    let thread_id: i64 = thread
        .trim_start_matches("/threads/")
        .parse()
        .expect("a thread path");
    let ann_id = restored.id_of("ann@brodie.example").await;
    let message = restored
        .store
        .thread_for_user(ann_id, thread_id)
        .await
        .expect("the thread")[0]
        .message_id;
    let download = ann.get(&format!("/messages/{message}/attachments/0")).await;
    assert_eq!(
        download.bytes().await.expect("body").to_vec(),
        files[0].1,
        "the attachment came across"
    );
    let fiscal = restored.browser();
    fiscal.sign_in_ok("fiona@pf.example").await;
    assert!(
        fiscal
            .text(&thread)
            .await
            .contains("The statement is enclosed.")
    );

    // A database in use is never overwritten.
    let refused = restored.app.backups.restore(&target).await;
    let error = format!("{:#}", refused.expect_err("a second restore is refused"));
    assert!(error.contains("already in use"), "{error}");
}
