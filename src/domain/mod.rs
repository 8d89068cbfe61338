//! The language of Casemail: validated values and the rules that apply to them.
//!
//! Nothing here performs I/O or knows about HTTP, SQL or templates, so every rule can be
//! unit-tested beside the type it belongs to.

mod admin;
mod audit;
mod case;
mod content;
mod directory_terms;
mod email;
mod field_errors;
mod lifecycle;
mod listing;
mod mail;
mod organisation;
mod passkey;
mod password;
mod person_name;
mod plea;
mod reply_by;
mod search_terms;
mod secure_domain;
mod throttle;
mod user;

pub use admin::{AccountAction, OrgScope, may_administer};
pub use audit::{EventKind, SubjectKind};
pub use case::{CaseReference, CaseStatus, parse_charges, parse_line};
pub use content::{AttachmentInfo, Composition, EnvelopeContent, Summary};
pub use directory_terms::{directory_query, directory_terms, prefix_end};
pub use email::EmailAddress;
pub use field_errors::{FieldError, FieldErrors};
pub use lifecycle::{Decision, InactivityPolicy, Step};
pub use listing::{ListFilter, MailSort, SortKey, subject_sort_key};
pub use mail::{
    AddressList, Addressing, AttachmentRisk, BadAddress, Body, Folder, Subject, clean_file_name,
    safe_media_type,
};
pub use organisation::{Jurisdiction, OrganisationKind, OrganisationName};
pub use passkey::PasskeyName;
pub use password::Password;
pub use person_name::PersonName;
pub use plea::{
    ChargePosition, Negotiation, NegotiationState, OfferOutcome, PleaAction, Refusal, Side,
    Transition,
};
pub use reply_by::{ReplyCount, ReplyMark, ReplyState, parse_reply_by, reminder_due};
pub use search_terms::{
    Postings, bucket_name, index_terms, matching_in, query_shard_name, query_words, shard_name,
};
pub use secure_domain::{CertificateFingerprint, DkimFailure, MailDomain, NextHop, TlsPolicy};
pub use throttle::{ThrottleRule, minutes_until};
pub use user::{Role, UserStatus};

/// A value that failed validation, with a message written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub &'static str);

/// What a one-line name may be, and what to say when it is not.
struct LineRule {
    max_chars: usize,
    empty: &'static str,
    too_long: &'static str,
    control: &'static str,
}

/// A name typed on one line: inner whitespace collapsed, not empty, not too long, no
/// control characters.
fn tidy_line(input: &str, rule: &LineRule) -> Result<String, Invalid> {
    let value = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if value.is_empty() {
        return Err(Invalid(rule.empty));
    }
    if value.chars().count() > rule.max_chars {
        return Err(Invalid(rule.too_long));
    }
    if value.chars().any(char::is_control) {
        return Err(Invalid(rule.control));
    }
    Ok(value)
}

/// Values stored as their text name (`as_str`) convert back with `parse`, so the store
/// can decode a column straight into the type; an unknown name is an error, not a default.
/// They display as that name.
macro_rules! stored_as_text {
    ($($kind:ty),* $(,)?) => {
        $(
            impl TryFrom<String> for $kind {
                type Error = Invalid;

                fn try_from(stored: String) -> Result<Self, Invalid> {
                    Self::parse(&stored)
                }
            }

            impl std::fmt::Display for $kind {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
        )*
    };
}

stored_as_text!(
    Addressing,
    EventKind,
    SubjectKind,
    UserStatus,
    OrganisationKind,
    Folder,
    ReplyState,
    CaseStatus,
    Side,
    NegotiationState,
    OfferOutcome,
);
