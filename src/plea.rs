//! Running a plea negotiation: every transition is decided by the state machine in
//! `domain::plea`, announced by a message in the case's plea thread (terms encrypted to the
//! participants), and written only if nobody changed the negotiation meanwhile.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::audit::Origin;
use crate::clock::{Clock, display_time};
use crate::crypto::{UserIdentity, open_item, seal_item_to};
use crate::domain::{
    ChargePosition, EnvelopeContent, EventKind, NegotiationState, OfferOutcome, PleaAction,
    Refusal, Side, UserStatus,
};
use crate::mail::{Addressees, DeliveryRoute, Mail};
use crate::store::{
    AddressRecord, CaseRow, NegotiationRow, NewEvent, NewOffer, OfferRow, PleaWrite, PleaWritten,
    Store, UserAccount,
};

/// What an offer proposes, encrypted to the case's participants.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OfferTerms {
    pub positions: Vec<ChargeTerm>,
    pub terms: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChargeTerm {
    pub number: usize,
    pub charge: String,
    pub position: String,
    #[serde(default)]
    pub amended_wording: String,
}

impl ChargeTerm {
    pub fn position_label(&self) -> &'static str {
        ChargePosition::parse(&self.position).map_or("", ChargePosition::label)
    }

    /// The position in words, with the amended wording when there is one.
    fn described(&self) -> String {
        if self.amended_wording.is_empty() {
            self.position_label().to_string()
        } else {
            format!("{}: {}", self.position_label(), self.amended_wording)
        }
    }
}

/// One difference between an offer and the version before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermChange {
    /// "Charge 2" or "Other terms".
    pub what: String,
    /// Empty when the term is new.
    pub before: String,
    /// Empty when the term was dropped.
    pub after: String,
}

impl OfferTerms {
    /// What this offer changes from `before`, charge by charge and in the other terms, so
    /// that nothing is dropped unseen between versions.
    pub fn changes_from(&self, before: &OfferTerms) -> Vec<TermChange> {
        let mut changes = Vec::new();
        for term in &self.positions {
            let earlier = before.positions.iter().find(|t| t.number == term.number);
            let (was, now) = (earlier.map(ChargeTerm::described), term.described());
            if was.as_deref() != Some(now.as_str()) {
                changes.push(TermChange {
                    what: format!("Charge {}", term.number),
                    before: was.unwrap_or_default(),
                    after: now,
                });
            }
        }
        if self.terms.trim() != before.terms.trim() {
            changes.push(TermChange {
                what: "Other terms".into(),
                before: before.terms.trim().to_string(),
                after: self.terms.trim().to_string(),
            });
        }
        changes
    }
}

pub enum PleaRequest {
    Offer {
        terms: OfferTerms,
        respond_by: Option<i64>,
    },
    Accept {
        version: i64,
    },
    Reject {
        version: i64,
        reason: String,
    },
    Counter {
        version: i64,
        terms: OfferTerms,
        respond_by: Option<i64>,
    },
    Withdraw {
        version: i64,
    },
    Close,
}

#[derive(Debug, thiserror::Error)]
pub enum PleaProblem {
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error(
        "Someone else answered or changed this negotiation at the same moment. Read the latest state below and try again if it still applies."
    )]
    Raced,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

internal_from!(PleaProblem: crate::crypto::KeyError, crate::store::StoreError);

/// An offer as its reader sees it, terms opened.
pub struct Offer {
    pub row: OfferRow,
    /// None when the terms were sealed to keys the reader no longer has.
    pub terms: Option<OfferTerms>,
}

#[derive(Clone)]
pub struct Plea {
    store: Store,
    clock: Clock,
    mail: Mail,
}

impl Plea {
    pub fn new(store: Store, clock: Clock, mail: Mail) -> Self {
        Self { store, clock, mail }
    }

    /// The case's negotiation, with an offer past its respond-by time marked lapsed.
    pub async fn negotiation(&self, case_id: i64) -> anyhow::Result<Option<NegotiationRow>> {
        let Some(row) = self.store.negotiation_for_case(case_id).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if let Some(lapse) = row.negotiation.lapse_if_due(now) {
            self.store
                .write_plea(PleaWrite {
                    case_id,
                    thread_id: Some(row.thread_id),
                    expected: Some(row.negotiation),
                    next: lapse.next,
                    ended: lapse.ended,
                    made: None,
                    actor_id: None,
                    now,
                    delivery: None,
                    events: plea_events(&Origin::system(), case_id, &lapse, now),
                })
                .await?;
            return Ok(self.store.negotiation_for_case(case_id).await?);
        }
        Ok(Some(row))
    }

    /// The offers of a negotiation, oldest first, with their terms opened for the reader.
    pub async fn offers(
        &self,
        identity: &UserIdentity,
        negotiation: &NegotiationRow,
    ) -> anyhow::Result<Vec<Offer>> {
        Ok(self
            .store
            .offers(negotiation.thread_id)
            .await?
            .into_iter()
            .map(|row| Offer {
                terms: open_item(identity, &row.terms).ok(),
                row,
            })
            .collect())
    }

    /// Applies one step of the negotiation on behalf of `actor`, a participant of `case`.
    pub async fn act(
        &self,
        actor: &UserAccount,
        case: &CaseRow,
        request: PleaRequest,
        client_address: &str,
    ) -> Result<i64, PleaProblem> {
        let side = case.side;
        let current_row = self.negotiation(case.id).await?;
        let current = current_row
            .as_ref()
            .map(|r| r.negotiation)
            .unwrap_or_default();
        let now = self.clock.now();
        let (action, terms, reason) = match request {
            PleaRequest::Offer { terms, respond_by } => {
                (PleaAction::Offer { respond_by }, Some(terms), None)
            }
            PleaRequest::Accept { version } => (PleaAction::Accept { version }, None, None),
            PleaRequest::Reject { version, reason } => {
                (PleaAction::Reject { version }, None, Some(reason))
            }
            PleaRequest::Counter {
                version,
                terms,
                respond_by,
            } => (
                PleaAction::Counter {
                    version,
                    respond_by,
                },
                Some(terms),
                None,
            ),
            PleaRequest::Withdraw { version } => (PleaAction::Withdraw { version }, None, None),
            PleaRequest::Close => (PleaAction::Close, None, None),
        };
        let transition = current.apply(side, action, now)?;

        let participants = self.store.participants(case.id).await?;
        let others: Vec<AddressRecord> = participants
            .iter()
            .filter(|p| p.user_id != actor.id && p.status != UserStatus::Deleted)
            .map(|p| AddressRecord {
                id: p.user_id,
                email: p.email.clone(),
                name: p.name.clone(),
                status: p.status,
                public_recipient: p.public_recipient.clone(),
                is_team: 0,
                is_external: 0,
            })
            .collect();
        let addressees = Addressees {
            to: others,
            cc: Vec::new(),
        };
        let (subject, body) =
            announcement(case, side, &transition, terms.as_ref(), reason.as_deref());
        let envelope = EnvelopeContent {
            subject,
            body,
            attachments: Vec::new(),
        };
        let delivery = self
            .mail
            .seal_delivery(
                actor,
                &envelope,
                &addressees,
                DeliveryRoute {
                    thread_id: current_row.as_ref().map(|r| r.thread_id),
                    case_id: Some(case.id),
                    plea: true,
                    forwarded_from: None,
                    reply_to: None,
                    client_address: client_address.to_string(),
                    // Offers carry their own respond-by date, and lapse by it.
                    reply_by: None,
                    fingerprint: None,
                },
                &[],
            )
            .await?;
        let made = match (transition.made, terms) {
            (Some(version), Some(terms)) => Some(NewOffer {
                version,
                side,
                respond_by: transition.next.respond_by,
                terms: seal_item_to(&addressees.content_recipients(actor)?, &terms)?,
            }),
            _ => None,
        };
        let written = self
            .store
            .write_plea(PleaWrite {
                case_id: case.id,
                thread_id: current_row.as_ref().map(|r| r.thread_id),
                expected: current_row.as_ref().map(|r| r.negotiation),
                next: transition.next,
                ended: transition.ended,
                made,
                actor_id: Some(actor.id),
                now,
                delivery: Some(delivery),
                events: plea_events(
                    &Origin::user(actor, client_address),
                    case.id,
                    &transition,
                    now,
                ),
            })
            .await?;
        match written {
            PleaWritten::Applied(Some(delivered)) => Ok(delivered.thread_id),
            PleaWritten::Applied(None) => Err(anyhow::anyhow!("transition without message").into()),
            PleaWritten::Conflict => Err(PleaProblem::Raced),
        }
    }
}

/// The audit events of a transition: the offer it ended and the one it made.
fn plea_events(
    origin: &Origin,
    case_id: i64,
    transition: &crate::domain::Transition,
    now: i64,
) -> Vec<NewEvent> {
    let mut events = Vec::new();
    let mut push = |kind: EventKind, version: i64| {
        events.push(origin.case_event(
            now,
            kind,
            case_id,
            serde_json::json!({ "version": version }),
        ));
    };
    if let Some((version, outcome)) = transition.ended
        && let Some(kind) = EventKind::offer_ended(outcome)
    {
        push(kind, version);
    }
    if let Some(version) = transition.made {
        push(EventKind::PleaOffered, version);
    }
    if transition.next.state == NegotiationState::Closed {
        push(EventKind::PleaClosed, transition.next.version);
    }
    events
}

/// The subject and text of the message announcing a transition.
fn announcement(
    case: &CaseRow,
    side: Side,
    transition: &crate::domain::Transition,
    terms: Option<&OfferTerms>,
    reason: Option<&str>,
) -> (String, String) {
    let reference = &case.reference;
    let who = side.label().to_lowercase();
    let mut body = String::new();
    let subject = match (transition.made, transition.ended) {
        (Some(v), Some((old, OfferOutcome::Countered))) => {
            let _ = writeln!(
                body,
                "The {who} answers offer version {old} with a counter-offer, version {v}.\n"
            );
            format!("{reference}: counter-offer, version {v}")
        }
        (Some(v), _) => {
            let _ = writeln!(body, "The {who} makes plea offer version {v}.\n");
            format!("{reference}: plea offer, version {v}")
        }
        (None, Some((v, OfferOutcome::Accepted))) => {
            let _ = writeln!(
                body,
                "The {who} accepts offer version {v}. The negotiation is agreed and its terms are final."
            );
            format!("{reference}: offer version {v} accepted")
        }
        (None, Some((v, OfferOutcome::Rejected))) => {
            let _ = writeln!(
                body,
                "The {who} rejects offer version {v}.\n\nReason:\n{}",
                reason.unwrap_or("")
            );
            format!("{reference}: offer version {v} rejected")
        }
        (None, Some((v, OfferOutcome::Withdrawn)))
            if transition.next.state == NegotiationState::Closed =>
        {
            let _ = writeln!(
                body,
                "The {who} closes the negotiation; offer version {v} is withdrawn."
            );
            format!("{reference}: plea negotiation closed")
        }
        (None, Some((v, _))) => {
            let _ = writeln!(body, "The {who} withdraws offer version {v}.");
            format!("{reference}: offer version {v} withdrawn")
        }
        (None, None) => {
            let _ = writeln!(body, "The {who} closes the negotiation.");
            format!("{reference}: plea negotiation closed")
        }
    };
    if let Some(terms) = terms {
        body.push_str(&render_terms(terms));
        if let Some(by) = transition.next.respond_by {
            let _ = writeln!(body, "\nPlease respond by {}.", display_time(by));
        }
    }
    (subject, body)
}

pub fn render_terms(terms: &OfferTerms) -> String {
    let mut out = String::new();
    for charge in &terms.positions {
        let _ = writeln!(out, "Charge {}: {}", charge.number, charge.charge);
        let _ = writeln!(out, "  Position: {}", charge.position_label());
        if !charge.amended_wording.is_empty() {
            let _ = writeln!(out, "  Amended wording: {}", charge.amended_wording);
        }
    }
    if !terms.terms.trim().is_empty() {
        let _ = writeln!(out, "\nTerms:\n{}", terms.terms.trim());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(positions: &[(&str, &str)], other: &str) -> OfferTerms {
        OfferTerms {
            positions: positions
                .iter()
                .enumerate()
                .map(|(i, (position, amended))| ChargeTerm {
                    number: i + 1,
                    charge: format!("charge {}", i + 1),
                    position: position.to_string(),
                    amended_wording: amended.to_string(),
                })
                .collect(),
            terms: other.into(),
        }
    }

    #[test]
    fn a_counter_offer_shows_each_changed_charge_and_a_dropped_term() {
        let offer = terms(
            &[("guilty_as_libelled", ""), ("not_guilty", "")],
            "Narrative to be agreed",
        );
        let counter = terms(
            &[
                ("guilty_as_libelled", ""),
                ("guilty_as_amended", "deleting \"knife\""),
            ],
            "",
        );
        let changes = counter.changes_from(&offer);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(changes[0].what, "Charge 2");
        assert!(changes[0].after.contains("deleting"));
        assert_eq!(changes[1].what, "Other terms");
        assert_eq!(changes[1].before, "Narrative to be agreed");
        assert!(changes[1].after.is_empty(), "the term was dropped");
        assert!(offer.changes_from(&offer).is_empty());
    }
}
