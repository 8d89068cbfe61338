//! Composing: checking what was typed (addresses, subject, body, and that a case-tagged
//! conversation stays among the case's participants), and filling the form for a reply
//! or a forward.

use anyhow::Context;

use super::{Addressees, Mail, Outgoing};
use crate::clock::display_time;
use crate::crypto::{UserIdentity, open_item};
use crate::domain::{
    AddressList, Addressing, Body, Composition, EnvelopeContent, FieldErrors, Subject, UserStatus,
    parse_reply_by,
};
use crate::store::UserAccount;

#[derive(Debug, thiserror::Error)]
pub enum AddressProblem {
    #[error(
        "There is no Casemail account for {0}. Check the address, or find the person in the directory."
    )]
    Unknown(String),
    #[error(
        "{0} cannot receive mail because their account is not active. Contact their organisation another way."
    )]
    CannotReceive(String),
    #[error("You do not need to add yourself: a copy of everything you send is kept in Sent.")]
    Yourself,
    #[error("Enter at least one recipient in To")]
    NoRecipients,
    #[error("{0} does not take part in this case. Add them to the case first.")]
    NotInCase(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(AddressProblem: crate::store::StoreError);

/// The compose form filled in for a reply or a forward.
pub struct Prefill {
    pub composition: Composition,
    /// Names of the attachments a forward carries along.
    pub forwarded_attachments: Vec<String>,
}

impl Mail {
    /// Checks a composition; the message and its addressees if it can be sent. An error is
    /// a failure of the service, not of what was typed.
    pub async fn check_composition(
        &self,
        sender: &UserAccount,
        composition: &Composition,
    ) -> anyhow::Result<Result<(Outgoing, Addressees), FieldErrors>> {
        let mut problem = FieldErrors::default();
        let to = problem.check("to", AddressList::parse(&composition.to));
        let cc = problem.check("cc", AddressList::parse(&composition.cc));
        let subject = problem.check("subject", Subject::parse(&composition.subject));
        let body = problem.check("body", Body::parse(&composition.body));
        let reply_by = problem.check(
            "reply_by",
            parse_reply_by(&composition.reply_by, self.clock.now()),
        );
        let addressees = match (&to, &cc) {
            (Some(to), Some(cc)) => match self.resolve_addressees(sender, to, cc).await {
                Ok(addressees) => Some(addressees),
                Err(AddressProblem::Internal(error)) => return Err(error),
                Err(address) => {
                    problem.add("to", address.to_string());
                    None
                }
            },
            _ => None,
        };
        let (Some(to), Some(cc), Some(subject), Some(body), Some(addressees), Some(reply_by)) =
            (to, cc, subject, body, addressees, reply_by)
        else {
            return Ok(Err(problem));
        };
        // A case-tagged conversation may only include the case's participants.
        let case_id = match composition.reply_to {
            Some(message_id) => match self.thread_of(sender.id, message_id).await? {
                Some(thread_id) => self.store.thread_case(thread_id).await?,
                None => {
                    problem.add(
                        "to",
                        "The message you are replying to is no longer in your mailbox. Copy \
                         your text and write a new message instead.",
                    );
                    return Ok(Err(problem));
                }
            },
            None => composition.case_id,
        };
        if let Some(case_id) = case_id {
            if self
                .store
                .case_for_user(sender.id, case_id)
                .await?
                .is_none()
            {
                problem.add("case_id", "Choose one of your cases");
                return Ok(Err(problem));
            }
            let emails = to
                .addresses()
                .iter()
                .chain(cc.addresses())
                .map(|e| e.as_str());
            match self.check_case_addressees(case_id, emails).await {
                Ok(()) => {}
                Err(AddressProblem::Internal(error)) => return Err(error),
                Err(address) => {
                    problem.add("to", address.to_string());
                    return Ok(Err(problem));
                }
            }
        }
        Ok(Ok((
            Outgoing {
                to,
                cc,
                subject,
                body,
                reply_to: composition.reply_to,
                forward_of: composition.forward_of,
                case_id: if composition.reply_to.is_some() {
                    None
                } else {
                    case_id
                },
                reply_by,
                fingerprint: None,
            },
            addressees,
        )))
    }

    pub async fn resolve_addressees(
        &self,
        sender: &UserAccount,
        to: &AddressList,
        cc: &AddressList,
    ) -> Result<Addressees, AddressProblem> {
        if to.is_empty() {
            return Err(AddressProblem::NoRecipients);
        }
        let wanted: Vec<&str> = to
            .addresses()
            .iter()
            .chain(cc.addresses())
            .map(|e| e.as_str())
            .collect();
        let mut records = self.store.address_records(&wanted).await?;
        // Someone at a secure domain outside Casemail, reached through the gateway.
        for email in &wanted {
            if !records.iter().any(|r| r.email == *email)
                && let Some(outside) = self.outside_addressee(email).await?
            {
                records.push(outside);
            }
        }
        let mut resolved = Addressees {
            to: Vec::new(),
            cc: Vec::new(),
        };
        for (list, out) in [(to, &mut resolved.to), (cc, &mut resolved.cc)] {
            for email in list.addresses() {
                if email.as_str() == sender.email {
                    return Err(AddressProblem::Yourself);
                }
                let record = records
                    .iter()
                    .find(|r| r.email == email.as_str())
                    .filter(|r| r.status != UserStatus::Deleted)
                    .ok_or_else(|| AddressProblem::Unknown(email.to_string()))?;
                if !record.can_receive() {
                    return Err(AddressProblem::CannotReceive(email.to_string()));
                }
                out.push(record.clone());
            }
        }
        // Someone in both To and Cc receives one copy, as To.
        let to_ids: Vec<i64> = resolved.to.iter().map(|r| r.id).collect();
        resolved.cc.retain(|r| !to_ids.contains(&r.id));
        Ok(resolved)
    }

    /// Checks that everyone a case-tagged message goes to (or who holds a copy of a thread
    /// being tagged) takes part in the case.
    pub async fn check_case_addressees(
        &self,
        case_id: i64,
        emails: impl Iterator<Item = &str>,
    ) -> Result<(), AddressProblem> {
        let participants = self.store.participants(case_id).await?;
        for email in emails {
            if !participants.iter().any(|p| p.email == email) {
                return Err(AddressProblem::NotInCase(email.to_string()));
            }
        }
        Ok(())
    }

    /// The thread a reply joins, if the sender holds a copy of the message replied to.
    pub async fn thread_of(&self, user_id: i64, message_id: i64) -> anyhow::Result<Option<i64>> {
        Ok(self
            .store
            .message_for_user(user_id, message_id)
            .await?
            .map(|(_, thread, _)| thread))
    }

    /// The form for a reply (to the sender, or with `all` to everyone) or a forward of a
    /// message the user holds; None if they hold no copy.
    pub async fn prefill(
        &self,
        user: &UserAccount,
        identity: &UserIdentity,
        original: i64,
        forward: bool,
        all: bool,
    ) -> anyhow::Result<Option<Prefill>> {
        let Some((envelope, thread_id, _)) = self.store.message_for_user(user.id, original).await?
        else {
            return Ok(None);
        };
        let content: EnvelopeContent = open_item(identity, &envelope)?;
        let rows = self.store.thread_for_user(user.id, thread_id).await?;
        let row = rows
            .iter()
            .find(|r| r.message_id == original)
            .context("message vanished from its thread")?;
        let addressees = self.store.addressees(&[original]).await?;
        let of_kind = |kind: Addressing| -> Vec<String> {
            addressees
                .iter()
                .filter(|a| a.kind == kind)
                .map(|a| a.email.clone())
                .collect()
        };
        let quoted = quote(
            &format!("{} <{}>", row.sender_name, row.sender_email),
            &display_time(row.sent_at),
            &content.body,
        );
        let mut composition = Composition::default();
        if forward {
            composition.subject = Subject::forward(&content.subject);
            composition.body = format!("\n\n---------- Forwarded message ----------\n{quoted}");
            composition.forward_of = Some(original);
            return Ok(Some(Prefill {
                composition,
                forwarded_attachments: content.attachments.iter().map(|a| a.name.clone()).collect(),
            }));
        }
        composition.subject = Subject::reply(&content.subject);
        composition.body = format!("\n\n{quoted}");
        composition.reply_to = Some(original);
        let me = user.email.as_str();
        let sender_is_me = row.sender_email == me;
        let mut to: Vec<String> = if sender_is_me {
            of_kind(Addressing::To)
        } else {
            vec![row.sender_email.clone()]
        };
        let mut cc: Vec<String> = Vec::new();
        if all {
            if !sender_is_me {
                to.extend(of_kind(Addressing::To));
            }
            cc.extend(of_kind(Addressing::Cc));
        }
        to.retain(|a| a != me);
        cc.retain(|a| a != me && !to.contains(a));
        to.dedup();
        composition.to = to.join(", ");
        composition.cc = cc.join(", ");
        Ok(Some(Prefill {
            composition,
            forwarded_attachments: Vec::new(),
        }))
    }
}

fn quote(sender: &str, sent: &str, body: &str) -> String {
    let quoted: Vec<String> = body.lines().map(|l| format!("> {l}")).collect();
    format!("On {sent}, {sender} wrote:\n{}", quoted.join("\n"))
}
