//! A database made by the previous release (tests/fixtures/release-2026-12-04) opened by
//! this one: its migrations apply, people sign in with their passwords, read their letters
//! and attachments, the audit chain verifies, and the notifications it had queued go out.

use std::path::{Path, PathBuf};

use crate::helpers::{Backend, TestApp, TestDatabase};
use crate::on_both_backends;

on_both_backends!(a_database_made_by_the_previous_release_is_upgraded_in_place);

/// Shortly after the fixtures were made (2026-12-07 05:46 UTC).
const AFTER_FIXTURES: i64 = 1_796_630_000;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/release-2026-12-04")
}

async fn load(backend: Backend, database: &TestDatabase, dir: &Path) {
    let (dump, blobs) = match backend {
        Backend::Sqlite => ("sqlite.sql", "sqlite-blobs"),
        Backend::Postgres => ("postgres.sql", "postgres-blobs"),
    };
    let dump = fixtures().join(dump);
    match backend {
        Backend::Sqlite => {
            use sqlx::{ConnectOptions, Connection};
            let script = std::fs::read_to_string(&dump).expect("the SQLite dump");
            // The dump creates tables in name order, so a table may be filled before the
            // one it refers to exists.
            let mut connection = database
                .url
                .parse::<sqlx::sqlite::SqliteConnectOptions>()
                .expect("an SQLite URL")
                .create_if_missing(true)
                .foreign_keys(false)
                .connect()
                .await
                .expect("create the SQLite file");
            sqlx::raw_sql(&script)
                .execute(&mut connection)
                .await
                .expect("load the SQLite dump");
            connection.close().await.expect("close");
        }
        Backend::Postgres => {
            let output = std::process::Command::new("psql")
                .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
                .arg(&dump)
                .arg(&database.url)
                .output()
                .expect("psql must be installed");
            assert!(
                output.status.success(),
                "psql could not load the dump: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    for entry in std::fs::read_dir(fixtures().join(blobs)).expect("the fixture's blobs") {
        let entry = entry.expect("an entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        let shard = dir.join("blobs").join(&name[..2]);
        std::fs::create_dir_all(&shard).expect("the blob directory");
        std::fs::copy(entry.path(), shard.join(&name)).expect("copy the blob");
    }
}

async fn a_database_made_by_the_previous_release_is_upgraded_in_place(backend: Backend) {
    let password = match backend {
        Backend::Sqlite => "demo-grWoXI5BYr1S",
        Backend::Postgres => "demo-xS1r_Wpv3R0-",
    };
    let app = TestApp::spawn_prepared(backend, AFTER_FIXTURES, async |database, dir| {
        load(backend, database, dir).await
    })
    .await;
    let newest = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite"))
        .expect("the migrations")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count() as i64;
    assert_eq!(
        app.number("SELECT MAX(version) FROM _sqlx_migrations")
            .await,
        newest,
        "every later migration was applied"
    );
    assert!(app.number("SELECT COUNT(*) FROM audit_events").await > 50);

    let deborah = app.browser();
    let response = deborah
        .sign_in("deborah@brodiewylie.example", password)
        .await;
    assert_eq!(response.status(), 303, "the old password still signs in");
    let inbox = deborah.text("/mail/inbox").await;
    assert!(
        inbox.contains("HMA v Campbell: disclosure of witness statements"),
        "the letter from before the upgrade is listed"
    );
    let deborah_id = app.id_of("deborah@brodiewylie.example").await;
    let message = app
        .number(&format!(
            "SELECT a.message_id FROM attachments a \
             JOIN mailbox_entries e ON e.message_id = a.message_id \
             WHERE e.user_id = {deborah_id}"
        ))
        .await;
    let thread = app
        .number(&format!(
            "SELECT thread_id FROM messages WHERE id = {message}"
        ))
        .await;
    assert!(
        deborah
            .text(&format!("/threads/{thread}"))
            .await
            .contains("section 121"),
        "its text opens with her key"
    );
    let download = deborah
        .get(&format!("/messages/{message}/attachments/0"))
        .await;
    assert_eq!(download.status(), 200);
    assert!(
        String::from_utf8_lossy(&download.bytes().await.expect("body"))
            .starts_with("STATEMENT OF JOHN SMITH"),
        "the attachment stored by the old release decrypts"
    );

    let verification = app.app.audit.verify(None).await.expect("the chain is read");
    assert!(
        verification.broken.is_none(),
        "the old chain and the new events verify"
    );
    assert!(
        app.app
            .notifications
            .deliver()
            .await
            .expect("delivery runs")
            > 0,
        "notifications queued by the old release go out"
    );
}
