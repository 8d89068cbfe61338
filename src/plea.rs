//! Running a plea negotiation: every transition is decided by the state machine in
//! `domain::plea`, announced by a message in the case's plea thread (terms encrypted to the
//! participants), and written only if nobody changed the negotiation meanwhile.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::audit::Origin;
use crate::clock::display_time;
use crate::domain::EnvelopeContent;
use crate::domain::{
    ChargePosition, Negotiation, NegotiationState, OfferOutcome, PleaAction, Refusal, Side,
};
use crate::domain::{EventKind, SubjectKind};
use crate::mail::{Addressees, DeliveryRoute};
use crate::state::Casemail;
use crate::store::{
    AddressRecord, CaseRow, Expected, NegotiationRow, NewOffer, PleaWrite, PleaWritten, UserAccount,
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

impl From<crate::crypto::KeyError> for PleaProblem {
    fn from(error: crate::crypto::KeyError) -> Self {
        Self::Internal(error.into())
    }
}

impl From<crate::store::StoreError> for PleaProblem {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Internal(error.into())
    }
}

pub fn negotiation_of(row: &NegotiationRow) -> Negotiation {
    Negotiation {
        state: NegotiationState::parse(&row.state).unwrap_or(NegotiationState::Closed),
        version: row.version,
        offered_by: row
            .offered_by_side
            .as_deref()
            .and_then(|s| Side::parse(s).ok()),
        respond_by: row.respond_by,
    }
}

impl Casemail {
    /// The case's negotiation, with an offer past its respond-by time marked lapsed.
    pub async fn negotiation(&self, case_id: i64) -> anyhow::Result<Option<NegotiationRow>> {
        let Some(row) = self.store.negotiation_for_case(case_id).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if let Some(lapse) = negotiation_of(&row).lapse_if_due(now) {
            let (state, version) = (row.state.clone(), row.version);
            self.store
                .write_plea(PleaWrite {
                    case_id,
                    thread_id: Some(row.thread_id),
                    expected: Some(Expected {
                        state: &state,
                        version,
                    }),
                    state: lapse.next.state.as_str(),
                    version: lapse.next.version,
                    offered_by_side: lapse.next.offered_by.map(Side::as_str),
                    respond_by: lapse.next.respond_by,
                    ended: lapse.ended.map(|(v, o)| (v, o.as_str())),
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

    /// Applies one step of the negotiation on behalf of `actor`, a participant of `case`.
    pub async fn plea_action(
        &self,
        actor: &UserAccount,
        case: &CaseRow,
        request: PleaRequest,
        client_address: &str,
    ) -> Result<i64, PleaProblem> {
        let side = case.side();
        let current_row = self.negotiation(case.id).await?;
        let current = current_row.as_ref().map(negotiation_of).unwrap_or_default();
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
            .filter(|p| p.user_id != actor.id && p.status != "deleted")
            .map(|p| AddressRecord {
                id: p.user_id,
                email: p.email.clone(),
                name: p.name.clone(),
                status: p.status.clone(),
                public_recipient: p.public_recipient.clone(),
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
                },
                &[],
            )
            .await?;
        let made = match (transition.made, terms) {
            (Some(version), Some(terms)) => Some(NewOffer {
                version,
                side: side.as_str(),
                respond_by: transition.next.respond_by,
                terms: crate::crypto::seal(
                    &addressees.content_recipients(actor)?,
                    &serde_json::to_vec(&terms).map_err(anyhow::Error::from)?,
                )
                .map_err(anyhow::Error::from)?,
            }),
            _ => None,
        };
        let expected_state = current_row.as_ref().map(|r| r.state.clone());
        let written = self
            .store
            .write_plea(PleaWrite {
                case_id: case.id,
                thread_id: current_row.as_ref().map(|r| r.thread_id),
                expected: expected_state.as_deref().map(|state| Expected {
                    state,
                    version: current.version,
                }),
                state: transition.next.state.as_str(),
                version: transition.next.version,
                offered_by_side: transition.next.offered_by.map(Side::as_str),
                respond_by: transition.next.respond_by,
                ended: transition.ended.map(|(v, o)| (v, o.as_str())),
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
) -> Vec<crate::store::NewEvent> {
    let mut events = Vec::new();
    let mut push = |kind: EventKind, version: i64| {
        let mut event = origin.event(
            now,
            kind,
            SubjectKind::Case,
            Some(case_id),
            serde_json::json!({ "version": version }),
        );
        event.case_id = Some(case_id);
        events.push(event);
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
