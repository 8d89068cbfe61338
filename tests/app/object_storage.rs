//! Attachments in an S3-compatible object store (a real s3s-fs server on loopback):
//! upload (small, and multipart), download, forward, the sweep of undelivered and orphaned
//! objects, shredding, and the store going down under a running server.

use std::time::Duration;

use crate::database_dump::{contains, raw_bytes};
use crate::helpers::{Backend, Outgoing};
use crate::mail::{Office, office_with_config, walk};
use crate::object_store_server::{BUCKET, S3Server};

/// Runs a test body with attachments in S3, on both database backends. Built as ignored,
/// with the way to run it, when s3s-fs was not installed for the build (see build.rs).
macro_rules! on_object_storage {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(casemail_s3), ignore = "object-storage suite: cargo install s3s-fs --version 0.14.1 --features binary --locked")]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(all(casemail_s3, casemail_postgres)), ignore = "object-storage suite on PostgreSQL: install s3s-fs and set CASEMAIL_TEST_POSTGRES_URL")]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            }
        )*
    };
}

on_object_storage!(
    attachments_go_up_and_come_down_through_object_storage,
    undelivered_and_orphaned_objects_are_removed_and_shredding_keeps_others_reading,
    an_object_store_that_is_down_is_said_plainly_and_nothing_is_lost,
);

/// An office whose attachments go to a fresh S3 server (kept in a directory of its own).
async fn office_on_s3(
    backend: Backend,
    adjust: impl FnOnce(&mut casemail::config::Config),
) -> (Office, S3Server, tempfile::TempDir) {
    let dir = tempfile::TempDir::new().expect("a directory for the object store");
    let s3 = S3Server::start(&dir.path().join("s3")).await;
    let office = office_with_config(backend, |config| {
        s3.configure(config);
        adjust(config);
    })
    .await;
    (office, s3, dir)
}

async fn thread_message(o: &Office, user: usize, thread: &str) -> i64 {
    let id: i64 = thread
        .trim_start_matches("/threads/")
        .parse()
        .expect("a thread path");
    o.app
        .store
        .thread_for_user(o.ids[user], id)
        .await
        .expect("the thread")[0]
        .message_id
}

/// Bytes that do not compress or repeat, with a marker at the start, `mib` MiB long.
fn statement(marker: &str, mib: usize) -> Vec<u8> {
    let mut bytes = marker.as_bytes().to_vec();
    let mut state: u32 = 0x9e37_79b9;
    while bytes.len() < mib * 1024 * 1024 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes
}

async fn attachments_go_up_and_come_down_through_object_storage(backend: Backend) {
    let (o, s3, _dir) = office_on_s3(backend, |_| {}).await;
    let small = b"%PDF SMALL-MARKER-3b1e witness statement".to_vec();
    // Larger than one 8 MiB part: it goes up as a multipart upload.
    let large = statement("LARGE-MARKER-81d0", 12);
    let files = [
        ("NAME-MARKER-c2f4.pdf", small.clone()),
        ("productions.pdf", large.clone()),
    ];
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            attachments: &files,
            ..Outgoing::to("ann@brodie.example", "SUBJECT-MARKER-70aa", "Enclosed.")
        })
        .await;
    let message = thread_message(&o, 1, &thread).await;
    for (position, expected) in [(0, &small), (1, &large)] {
        let download = o
            .ann
            .get(&format!("/messages/{message}/attachments/{position}"))
            .await;
        assert_eq!(download.status(), 200);
        assert_eq!(
            &download.bytes().await.expect("response body").to_vec(),
            expected,
            "attachment {position} comes back whole"
        );
    }

    let extra = [("forward_of", message.to_string())];
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let forwarded = o
        .ann
        .send_ok(&Outgoing {
            extra: &extra,
            ..Outgoing::to("bob@kerr.example", "Fwd: productions", "For you.")
        })
        .await;
    let bobs = thread_message(&o, 2, &forwarded).await;
    let download = o.bob.get(&format!("/messages/{bobs}/attachments/1")).await;
    assert_eq!(
        download.bytes().await.expect("response body").to_vec(),
        large,
        "the forwarded copy, encrypted again for bob, reads the same"
    );

    assert!(
        walk(&o.app.dir.path().join("blobs")).is_empty(),
        "nothing is kept on the server's own disk"
    );
    let objects = s3.objects();
    assert_eq!(
        objects.len(),
        4,
        "two attachments and their forwarded copies"
    );
    let mut stored = raw_bytes(&o.app).await;
    for file in s3.files() {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        assert!(
            !name.is_some_and(|n| n.starts_with(".upload_id")),
            "no part of a multipart upload is left behind"
        );
        stored.extend(std::fs::read(&file).expect("read the file"));
    }
    assert!(contains(&stored, "age-encryption.org/v1"));
    for marker in [
        "SMALL-MARKER-3b1e",
        "LARGE-MARKER-81d0",
        "NAME-MARKER-c2f4",
        "SUBJECT-MARKER-70aa",
    ] {
        assert!(!contains(&stored, marker), "{marker} is stored in clear");
    }
}

/// Waits for background removals (an aborted upload, a staged object dropped) to finish.
async fn objects_settle(s3: &S3Server, expected: usize) -> usize {
    for _ in 0..100 {
        if s3.objects().len() == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s3.objects().len()
}

async fn undelivered_and_orphaned_objects_are_removed_and_shredding_keeps_others_reading(
    backend: Backend,
) {
    let (o, s3, _dir) = office_on_s3(backend, |config| config.max_attachment_mb = 1).await;
    let kept = b"production 14".to_vec();
    let files = [("productions.pdf", kept.clone())];
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            cc: "bob@kerr.example",
            attachments: &files,
            ..Outgoing::to("ann@brodie.example", "Productions", "Enclosed.")
        })
        .await;
    assert_eq!(objects_settle(&s3, 1).await, 1);

    // A message whose second file is over the limit is not sent: the first file's object
    // goes, and the second's upload is never completed.
    let refused = [
        ("first.pdf", b"first".to_vec()),
        ("second.pdf", statement("OVER", 2)),
    ];
    let response = o
        .fiscal
        .send(&Outgoing {
            attachments: &refused,
            ..Outgoing::to("ann@brodie.example", "Too large", "Two files.")
        })
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        objects_settle(&s3, 1).await,
        1,
        "nothing left of the refused message"
    );

    // An object no message names (a server killed between storing and delivering).
    let orphan = s3
        .root
        .join(BUCKET)
        .join("blobs")
        .join("0123456789abcdef0123456789abcdef");
    std::fs::write(&orphan, b"age-encryption.org/v1 orphan").expect("write the orphan");
    let removed = o
        .app
        .app
        .mail
        .sweep_orphan_blobs(Duration::ZERO)
        .await
        .expect("the sweep runs");
    assert_eq!(removed, 1, "the orphan and only the orphan");
    assert!(!orphan.exists());

    // Shredding bob's keys leaves ann reading the attachment they shared.
    let mut change = o.app.change().await;
    change.shred_account(o.ids[2]).await.expect("shred");
    change.commit().await.expect("commit");
    let message = thread_message(&o, 1, &thread).await;
    let download = o
        .ann
        .get(&format!("/messages/{message}/attachments/0"))
        .await;
    assert_eq!(
        download.bytes().await.expect("response body").to_vec(),
        kept
    );
    assert_eq!(
        s3.objects().len(),
        1,
        "the shared object stays for the others"
    );
}

async fn an_object_store_that_is_down_is_said_plainly_and_nothing_is_lost(backend: Backend) {
    let (o, mut s3, _dir) = office_on_s3(backend, |_| {}).await;
    let statement_bytes = b"statement of PC Ross".to_vec();
    let files = [("statement.pdf", statement_bytes.clone())];
    let thread = o
        .fiscal
        .send_ok(&Outgoing {
            attachments: &files,
            ..Outgoing::to("ann@brodie.example", "Statement", "Enclosed.")
        })
        .await;
    let message = thread_message(&o, 1, &thread).await;
    let ready = o.ann.get("/readyz").await;
    assert_eq!(ready.status(), 200);

    s3.stop();
    let ready = o.ann.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.text().await.expect("body"), "blob store unavailable");

    let download = o
        .ann
        .get(&format!("/messages/{message}/attachments/0"))
        .await;
    assert_eq!(download.status(), 503);
    let page = download.text().await.expect("body");
    assert!(
        page.contains("Attachments cannot be reached just now"),
        "{page}"
    );
    assert!(!page.contains("127.0.0.1"), "nothing internal is shown");

    let more = [("second.pdf", b"second statement".to_vec())];
    let response = o
        .fiscal
        .send(&Outgoing {
            attachments: &more,
            ..Outgoing::to("ann@brodie.example", "Second statement", "Typed with care.")
        })
        .await;
    assert_eq!(response.status(), 503);
    let page = response.text().await.expect("body");
    assert!(
        page.contains("the store that keeps attachments is not answering")
            && page.contains("kept in your drafts"),
        "the sender is told why and where the message is"
    );
    assert!(
        page.contains("Typed with care."),
        "the form comes back as typed"
    );
    assert!(o.fiscal.text("/drafts").await.contains("Second statement"));

    // Mail without attachments still goes.
    o.fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "No files",
            "Just text.",
        ))
        .await;

    s3.resume().await;
    assert_eq!(o.ann.get("/readyz").await.status(), 200);
    let download = o
        .ann
        .get(&format!("/messages/{message}/attachments/0"))
        .await;
    assert_eq!(
        download.bytes().await.expect("response body").to_vec(),
        statement_bytes,
        "the attachment was never lost"
    );
}
