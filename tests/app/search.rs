//! Searching one's own mail by words, sender and dates, over an index encrypted to the
//! mailbox owner that keeps up with new mail.

use casemail::crypto::{MailboxKey, MailboxKeys, UserIdentity, is_mailbox_sealed};
use casemail::domain::{Folder, Summary};

use crate::database_dump::{contains, raw_bytes};
use crate::helpers::{Backend, Outgoing};
use crate::mail::office;
use crate::on_both_backends;

on_both_backends!(
    search_finds_by_words_sender_and_date,
    search_keeps_an_encrypted_index_that_stays_current,
    a_list_takes_new_mail_in_under_the_mailbox_key,
    a_search_does_not_wait_for_a_long_backlog,
    a_crowded_index_bucket_is_split_and_still_finds_every_word,
);

async fn search_finds_by_words_sender_and_date(backend: Backend) {
    let o = office(backend).await;
    o.fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "Bail review",
            "The accused remains on bail",
        ))
        .await;
    o.app.clock.advance(3 * 86_400);
    o.bob.sign_in_ok("bob@kerr.example").await;
    o.ann.sign_in_ok("ann@brodie.example").await;
    o.bob
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "Witness list",
            "Contains the PRECOGNITION schedule",
        ))
        .await;
    let search = |q: &str| {
        let path = format!("/search?{q}");
        let ann = o.ann.clone();
        async move { ann.text(&path).await }
    };
    let page = search("q=precognition").await;
    assert!(page.contains("Witness list") && !page.contains("Bail review"));
    let page = search("q=Precog").await;
    assert!(
        page.contains("Witness list") && !page.contains("Bail review"),
        "a word's beginning finds it"
    );
    let page = search("q=cognition").await;
    assert!(
        page.contains("0 messages found"),
        "words match from their start"
    );
    let page = search("q=accused+bail").await;
    assert!(page.contains("Bail review") && !page.contains("Witness list"));
    let page = search("sender=kerr").await;
    assert!(page.contains("Witness list") && !page.contains("Bail review"));
    let page = search("until=2026-11-24").await;
    assert!(page.contains("Bail review") && !page.contains("Witness list"));
    let response = o.ann.get("/search?from=yesterday").await;
    assert!(
        response
            .text()
            .await
            .expect("response body")
            .contains("Enter a real date")
    );
}

async fn search_keeps_an_encrypted_index_that_stays_current(backend: Backend) {
    let o = office(backend).await;
    for n in 0..70 {
        let body = format!("Routine letter {n} INDEXWORD{n}X");
        o.fiscal
            .send_ok(&Outgoing::to("ann@brodie.example", "Routine", &body))
            .await;
    }
    let page = o.ann.text("/search?q=indexword7x").await;
    assert!(page.contains("1 message found"), "exact word found once");
    let store = &o.app.store;
    assert!(
        !store.has_waiting_summaries(o.ids[1]).await.expect("query"),
        "every letter was taken in before the search answered"
    );
    assert!(
        !store
            .crowded_postings(o.ids[1], 0, 0)
            .await
            .expect("query")
            .is_empty(),
        "the index was built"
    );
    let entry = &store
        .mailbox_page(o.ids[1], Folder::Inbox, None, 1)
        .await
        .expect("the folder")[0];
    assert!(
        is_mailbox_sealed(&entry.summary),
        "the summary is kept under the mailbox key"
    );
    let stranger = MailboxKeys {
        identity: UserIdentity::generate(),
        key: MailboxKey::generate().expect("a key"),
    };
    assert!(
        stranger
            .open_summary::<Summary>(entry.entry_id, &entry.summary)
            .is_err(),
        "a re-sealed summary does not open without the owner's mailbox key"
    );
    let wrapped = store
        .mailbox_key(o.ids[1])
        .await
        .expect("query")
        .expect("the mailbox key");
    assert!(
        wrapped.starts_with(b"age-encryption.org/v1"),
        "the mailbox key is stored only wrapped with age"
    );
    let raw = raw_bytes(&o.app).await;
    for marker in ["indexword7x", "routine letter 7", "Routine letter 7"] {
        assert!(!contains(&raw, marker), "{marker} is not readable at rest");
    }

    o.fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "Late",
            "FRESHWORD arrives after indexing",
        ))
        .await;
    assert!(
        o.ann
            .text("/search?q=freshword")
            .await
            .contains("1 message found"),
        "new mail is searchable at once"
    );
    let entry = o
        .app
        .store
        .mailbox_page(o.ids[1], Folder::Inbox, None, 1)
        .await
        .expect("the folder")[0]
        .entry_id;
    o.ann
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
    assert!(
        o.ann
            .text("/search?q=freshword")
            .await
            .contains("0 messages found"),
        "deleted mail is not found"
    );
    assert!(
        o.fiscal
            .text("/search?q=indexword7x")
            .await
            .contains("1 message found"),
        "the sender finds it too"
    );
}

async fn a_list_takes_new_mail_in_under_the_mailbox_key(backend: Backend) {
    let o = office(backend).await;
    o.fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "Productions schedule",
            "LISTMARKER body",
        ))
        .await;
    let store = &o.app.store;
    assert!(
        store.has_waiting_summaries(o.ids[1]).await.expect("query"),
        "delivered mail waits, sealed with age, until its owner is signed in"
    );
    assert!(
        o.ann
            .text("/mail/inbox")
            .await
            .contains("Productions schedule")
    );
    o.app.wait_taken_in(o.ids[1]).await;
    let entry = &store
        .mailbox_page(o.ids[1], Folder::Inbox, None, 1)
        .await
        .expect("the folder")[0];
    assert!(is_mailbox_sealed(&entry.summary));
    let again = o.ann.text("/mail/inbox").await;
    assert!(
        again.contains("Productions schedule") && !again.contains("cannot be decrypted"),
        "the re-sealed summary lists as before"
    );
    assert!(
        o.ann
            .text("/search?q=listmark")
            .await
            .contains("1 message found")
    );
    for marker in ["LISTMARKER", "listmarker", "Productions schedule"] {
        assert!(
            !contains(&raw_bytes(&o.app).await, marker),
            "{marker} at rest"
        );
    }
}

/// A backlog (mail that arrived while its owner was away) is taken in in the background;
/// a search waits for it only so long, then searches what is in.
async fn a_search_does_not_wait_for_a_long_backlog(backend: Backend) {
    let o = office(backend).await;
    for n in 0..3 {
        o.fiscal
            .send_ok(&Outgoing::to(
                "ann@brodie.example",
                &format!("Backlog {n}"),
                "Unseen",
            ))
            .await;
    }
    let ann = o.ids[1];
    assert!(o.app.store.has_waiting_summaries(ann).await.expect("read"));
    let email = casemail::domain::EmailAddress::parse("ann@brodie.example").expect("address");
    let account = o
        .app
        .app
        .accounts
        .account_by_email(&email)
        .await
        .expect("read")
        .expect("ann");
    let record = o
        .app
        .store
        .sign_in_record(&email)
        .await
        .expect("read")
        .expect("ann");
    let identity = UserIdentity::unwrap_with_password(
        &record.identity_wrapped_password.expect("a wrap"),
        &secrecy::SecretString::from(crate::helpers::PASSWORD.to_string()),
    )
    .expect("the password opens it");
    let keys = o
        .app
        .app
        .intake
        .keys(&account, &identity)
        .await
        .expect("keys");
    let done = o
        .app
        .app
        .intake
        .finish_within(ann, &keys, std::time::Duration::ZERO)
        .await
        .expect("intake runs");
    assert!(!done, "no time to wait: the search goes on with what is in");
    let done = o
        .app
        .app
        .intake
        .finish_within(ann, &keys, std::time::Duration::from_secs(30))
        .await
        .expect("intake runs");
    assert!(done, "given time, everything is taken in");
    assert!(!o.app.store.has_waiting_summaries(ann).await.expect("read"));
}

/// Ten letters of 2,500 reference numbers each put 25,000 words beginning "ref" in one
/// bucket, more than a bucket holds unsplit: intake splits it into shards by the first
/// five letters, and every kind of query still finds what it did.
async fn a_crowded_index_bucket_is_split_and_still_finds_every_word(backend: Backend) {
    let o = office(backend).await;
    for letter in 0..10 {
        let numbers: Vec<String> = (0..2_500).map(|n| format!("ref{letter}{n:04}")).collect();
        let body = format!("Schedule {letter}: {}", numbers.join(" "));
        o.fiscal
            .send_ok(&Outgoing::to("ann@brodie.example", "Schedule", &body))
            .await;
    }
    let found = |page: String, count: &str| {
        assert!(
            page.contains(&format!("{count} found")),
            "expected {count}: {}",
            page.lines().find(|l| l.contains("found")).unwrap_or("")
        )
    };
    found(o.ann.text("/search?q=ref30042").await, "1 message");
    let groups = o
        .app
        .store
        .crowded_postings(o.ids[1], 0, 0)
        .await
        .expect("query");
    assert!(
        groups
            .iter()
            .any(|(_, shard)| *shard != casemail::store::UNSPLIT),
        "the crowded bucket was split into shards"
    );
    found(o.ann.text("/search?q=ref30").await, "1 message");
    found(o.ann.text("/search?q=ref3").await, "1 message");
    found(o.ann.text("/search?q=ref").await, "10 messages");
    found(o.ann.text("/search?q=ref91234+ref").await, "1 message");
    o.fiscal
        .send_ok(&Outgoing::to(
            "ann@brodie.example",
            "Schedule again",
            "Amended: ref30042",
        ))
        .await;
    found(o.ann.text("/search?q=ref30042").await, "2 messages");
}
