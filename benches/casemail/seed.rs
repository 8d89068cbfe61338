//! Filling a mailbox faster than sending would: the same sealed items a delivery writes,
//! inserted in batches through the store.

use std::time::Instant;

use casemail::crypto::{Recipients, seal};
use casemail::domain::{EnvelopeContent, Folder, Summary};
use casemail::store::{Delivery, MailboxRow, NewEntry, UserAccount};

use crate::Bench;

/// Fills `owner`'s inbox with `count` messages from `sender`, each with a word of its own
/// (`word{n}`) for search, one a second, the newest sent `age` seconds ago.
pub async fn large_mailbox(
    bench: &Bench,
    sender: &UserAccount,
    owner: &UserAccount,
    count: usize,
    age: i64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let both = Recipients::parse([
        sender.public_recipient.as_str(),
        owner.public_recipient.as_str(),
    ])?;
    let only_owner = Recipients::parse([owner.public_recipient.as_str()])?;
    let only_sender = Recipients::parse([sender.public_recipient.as_str()])?;
    let now = bench.app.clock.now();
    let start = now - age - count as i64;
    let mut n = 0;
    while n < count {
        let mut batch = Vec::new();
        for _ in 0..1000.min(count - n) {
            let envelope = EnvelopeContent {
                subject: format!("Case letter {n}"),
                body: format!(
                    "Regarding matter {n}: the statement of witness word{n} is enclosed, with \
                     the usual paragraph of correspondence about the diet and the productions."
                ),
                attachments: Vec::new(),
            };
            let summary =
                serde_json::to_vec(&Summary::new(&envelope, &sender.name, owner.name.clone()))?;
            batch.push(Delivery {
                thread_id: None,
                case_id: None,
                plea: false,
                sender_id: sender.id,
                sent_at: start + n as i64,
                envelope: seal(&both, &serde_json::to_vec(&envelope)?)?,
                size: envelope.body.len() as i64,
                forwarded_from: None,
                to: vec![owner.id],
                cc: Vec::new(),
                entries: vec![
                    NewEntry {
                        user_id: owner.id,
                        folder: Folder::Inbox,
                        is_read: n % 3 == 0,
                        summary: seal(&only_owner, &summary)?,
                    },
                    NewEntry {
                        user_id: sender.id,
                        folder: Folder::Sent,
                        is_read: true,
                        summary: seal(&only_sender, &summary)?,
                    },
                ],
                attachments: Vec::new(),
                sender_org_id: sender.organisation.id,
                client_address: String::new(),
                reply_to: None,
                reply_by: None,
                sent_by: None,
                teams: Vec::new(),
                fingerprint: None,
            });
            n += 1;
        }
        bench.store.deliver_many(&batch, now).await?;
    }
    if count >= 1000 {
        println!(
            "(seeded {count} messages in {:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The page of `owner`'s inbox halfway down the large mailbox, and the cursor after it.
pub async fn halfway_page(
    bench: &Bench,
    owner: &UserAccount,
    count: usize,
) -> anyhow::Result<(Vec<MailboxRow>, String)> {
    let rows = bench
        .store
        .mailbox_page(owner.id, Folder::Inbox, None, (count / 2) as i64)
        .await?;
    let cursor = rows
        .last()
        .map(|r| format!("{}.{}", r.sent_at, r.entry_id))
        .unwrap_or_default();
    Ok((rows, cursor))
}

/// The thread named by the address a sent message redirects to.
pub fn thread_of(location: &str) -> anyhow::Result<i64> {
    Ok(location
        .trim_start_matches("/threads/")
        .trim_end_matches("?sent=1")
        .parse()?)
}
