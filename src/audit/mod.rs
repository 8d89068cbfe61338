//! The audit trail: who did what, built from the domain's words and stored by
//! `store::audit` in a hash chain; verification of the chain; and the views of it that
//! people may read (a case's trail, their own activity, a sender's delivery timeline, the
//! service administrator's search).
//!
//! Events are written by the service that makes each change, in the same store change.

mod checkpoint;
mod timeline;
mod verify;

use std::collections::HashMap;

use crate::domain::{EmailAddress, EventKind, Role, SubjectKind};
use crate::store::{CaseRow, EventFilter, EventRow, NewEvent, Store, UserAccount};

pub use checkpoint::ChainState;
pub use timeline::RecipientTimeline;
pub use verify::{ChainBreak, Verification};

/// The mailbox owner an event's delegate acted for, if any.
pub fn on_behalf_of(event: &EventRow) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(&event.payload)
        .ok()?
        .get("on_behalf_of")?
        .as_i64()
}

/// Who did something and from where.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub actor_id: Option<i64>,
    pub actor_org_id: Option<i64>,
    pub client_address: String,
    /// The mailbox owner a delegate acted for; every event then names both.
    pub on_behalf_of: Option<i64>,
}

impl Origin {
    /// The person at the keyboard: a delegate working in `account`'s mailbox is the actor,
    /// on behalf of its owner.
    pub fn user(account: &UserAccount, client_address: &str) -> Self {
        let (actor_id, actor_org_id, on_behalf_of) = match &account.acting_delegate {
            Some(delegate) => (delegate.id, delegate.organisation_id, Some(account.id)),
            None => (account.id, account.organisation.id, None),
        };
        Self {
            actor_id: Some(actor_id),
            actor_org_id: Some(actor_org_id),
            client_address: client_address.to_string(),
            on_behalf_of,
        }
    }

    /// An operator at the server's command line (recovery with the offline identity).
    pub fn command_line() -> Self {
        Self {
            client_address: "command line".to_string(),
            ..Self::default()
        }
    }

    /// Casemail itself: the inactivity policy, time limits.
    pub fn system() -> Self {
        Self::default()
    }

    /// An event by this origin about `subject_type` `subject_id`.
    pub fn event(
        &self,
        at: i64,
        kind: EventKind,
        subject_type: SubjectKind,
        subject_id: Option<i64>,
        mut payload: serde_json::Value,
    ) -> NewEvent {
        if let (Some(owner), Some(fields)) = (self.on_behalf_of, payload.as_object_mut()) {
            fields.insert("on_behalf_of".into(), owner.into());
        }
        NewEvent {
            at,
            kind,
            actor_id: self.actor_id,
            actor_org_id: self.actor_org_id,
            subject_type,
            subject_id,
            case_id: None,
            client_address: self.client_address.clone(),
            payload: payload.to_string(),
        }
    }

    /// An event about a user account.
    pub fn user_event(
        &self,
        at: i64,
        kind: EventKind,
        user_id: i64,
        payload: serde_json::Value,
    ) -> NewEvent {
        self.event(at, kind, SubjectKind::User, Some(user_id), payload)
    }

    /// An event about a case, found in the case's own trail.
    pub fn case_event(
        &self,
        at: i64,
        kind: EventKind,
        case_id: i64,
        payload: serde_json::Value,
    ) -> NewEvent {
        let mut event = self.event(at, kind, SubjectKind::Case, Some(case_id), payload);
        event.case_id = Some(case_id);
        event
    }
}

/// Events to show, with the names of the people they mention.
pub struct Trail {
    pub events: Vec<EventRow>,
    pub people: HashMap<i64, (String, String)>,
}

/// What the service administrator searches the whole trail for; every field narrows.
#[derive(Debug, Default, Clone)]
pub struct TrailSearch {
    /// The acting person's email address.
    pub person: String,
    /// The acting person's organisation, by name.
    pub organisation: String,
    pub kind_prefix: String,
    pub from: Option<i64>,
    pub until: Option<i64>,
}

#[derive(Clone)]
pub struct Audit {
    store: Store,
}

impl Audit {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The newest event's position and hash, to remember outside the database.
    pub async fn head(&self) -> anyhow::Result<Option<(i64, String)>> {
        Ok(self.store.audit_last().await?)
    }

    /// A case's trail for one of its participants; None for anyone else.
    pub async fn case_trail(
        &self,
        user: &UserAccount,
        case_id: i64,
        actor_id: Option<i64>,
        kind_prefix: &str,
    ) -> anyhow::Result<Option<(CaseRow, Trail)>> {
        let Some(case) = self.store.case_for_user(user.id, case_id).await? else {
            return Ok(None);
        };
        let events = self
            .store
            .audit_events(&EventFilter {
                case_id: Some(case_id),
                actor_id,
                kind_prefix: Some(kind_prefix.to_string()).filter(|k| !k.is_empty()),
                limit: 50_000,
                ..EventFilter::default()
            })
            .await?;
        Ok(Some((case, self.trail(events).await?)))
    }

    /// The person's own sign-ins, failures and account changes, so they notice misuse.
    pub async fn own_activity(&self, user: &UserAccount) -> anyhow::Result<Trail> {
        let events = self
            .store
            .audit_events(&EventFilter {
                subject: Some((SubjectKind::User, user.id)),
                limit: 200,
                ..EventFilter::default()
            })
            .await?;
        self.trail(events).await
    }

    /// The whole deployment's trail, searched by a service administrator; None for anyone
    /// else. An unknown person or organisation matches nothing.
    pub async fn search(
        &self,
        admin: &UserAccount,
        search: &TrailSearch,
    ) -> anyhow::Result<Option<Trail>> {
        if admin.role != Role::ServiceAdmin {
            return Ok(None);
        }
        const NOBODY: i64 = -1;
        let actor_id = match search.person.trim() {
            "" => None,
            email => Some(match EmailAddress::parse(email) {
                Ok(email) => self
                    .store
                    .address_record(&email)
                    .await?
                    .map_or(NOBODY, |r| r.id),
                Err(_) => NOBODY,
            }),
        };
        let actor_org_id = match search.organisation.trim() {
            "" => None,
            name => Some(
                self.store
                    .organisation_by_name(name)
                    .await?
                    .map_or(NOBODY, |o| o.id),
            ),
        };
        let events = self
            .store
            .audit_events(&EventFilter {
                actor_id,
                actor_org_id,
                kind_prefix: Some(search.kind_prefix.clone()).filter(|k| !k.is_empty()),
                from: search.from,
                until: search.until,
                limit: 5_000,
                ..EventFilter::default()
            })
            .await?;
        Ok(Some(self.trail(events).await?))
    }

    async fn trail(&self, events: Vec<EventRow>) -> anyhow::Result<Trail> {
        let mut ids: Vec<i64> = events.iter().filter_map(|e| e.actor_id).collect();
        ids.extend(
            events
                .iter()
                .filter(|e| e.subject_type == SubjectKind::User)
                .filter_map(|e| e.subject_id),
        );
        ids.sort_unstable();
        ids.dedup();
        Ok(Trail {
            people: self.store.user_names(&ids).await?,
            events,
        })
    }
}
