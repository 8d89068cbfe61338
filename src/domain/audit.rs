//! The words of the audit trail: every kind of event that is recorded, with what it means
//! to the people who read the trail, and the kinds of thing an event is about.

use super::{Invalid, OfferOutcome};

/// Defines `EventKind` from one table, so the stored name and the description of every
/// kind are written once and no kind can lack either.
macro_rules! event_kinds {
    ($($variant:ident = $name:literal => $description:literal,)*) => {
        /// A kind of audit event. Stored by its dotted name (`message.sent`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $($variant,)*
        }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(Self::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            /// What the event means, in words for people reading the trail.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Self::$variant => $description,)*
                }
            }
        }
    };
}

event_kinds! {
    MessageSent = "message.sent" => "Message sent",
    MessageDelivered = "message.delivered" => "Delivered to mailbox",
    MessageOpened = "message.opened" => "Message opened",
    MessageReplied = "message.replied" => "Reply sent",
    MessageForwarded = "message.forwarded" => "Message forwarded",
    ReplyNotNeeded = "message.reply_not_needed" => "Marked as needing no reply",
    ReplyReminderSent = "message.reply_reminder_sent" => "Reply-by reminder emailed",
    AttachmentDownloaded = "attachment.downloaded" => "Attachment downloaded",
    PleaOffered = "plea.offered" => "Plea offer made",
    PleaAccepted = "plea.accepted" => "Plea offer accepted",
    PleaRejected = "plea.rejected" => "Plea offer rejected",
    PleaCountered = "plea.countered" => "Plea offer answered with a counter-offer",
    PleaWithdrawn = "plea.withdrawn" => "Plea offer withdrawn",
    PleaLapsed = "plea.lapsed" => "Plea offer lapsed",
    PleaClosed = "plea.closed" => "Plea negotiation closed",
    CaseCreated = "case.created" => "Case created",
    CaseParticipantAdded = "case.participant_added" => "Participant added",
    CaseParticipantRemoved = "case.participant_removed" => "Participant removed",
    CaseAccessRequested = "case.access_requested" => "Asked to join the case",
    CaseRequestAccepted = "case.request_accepted" => "Request to join accepted",
    CaseRequestDeclined = "case.request_declined" => "Request to join declined",
    CaseStatusChanged = "case.status_changed" => "Case status changed",
    CaseThreadTagged = "case.thread_tagged" => "Conversation tagged with the case",
    CaseGivenToTeam = "case.given_to_team" => "Case given to a team mailbox",
    SignedIn = "user.signed_in" => "Signed in",
    SignInFailed = "user.sign_in_failed" => "Failed sign-in",
    SignInRefused = "user.sign_in_refused" => "Sign-in refused",
    SignedOut = "user.signed_out" => "Signed out",
    SessionExpired = "session.expired" => "Session expired",
    SecondFactorEnrolled = "user.second_factor_enrolled" => "Second factor set up",
    SecondFactorPassed = "user.second_factor_passed" => "Second factor accepted",
    SecondFactorFailed = "user.second_factor_failed" => "Wrong second-factor code",
    PasskeyAdded = "user.passkey_added" => "Passkey added",
    PasskeyRemoved = "user.passkey_removed" => "Passkey removed",
    PasswordChanged = "user.password_changed" => "Password changed",
    PasswordChangeFailed = "user.password_change_failed"
        => "Password change failed (wrong current password)",
    RecoveredWithCode = "user.recovered_with_code" => "Password reset with a recovery code",
    RecoveryCodeIssued = "user.recovery_code_issued" => "New recovery code issued",
    Registered = "user.registered" => "Registered, waiting for approval",
    RegistrationAddressTaken = "user.registration_address_taken"
        => "Someone tried to register with this account's address",
    InvitationAccepted = "user.invitation_accepted" => "Invitation accepted, account created",
    DirectoryListingChanged = "user.directory_listing_changed" => "Directory listing changed",
    DelegateGranted = "user.delegate_granted" => "Delegate access granted",
    DelegateWithdrawn = "user.delegate_withdrawn" => "Delegate access withdrawn",
    DelegateEntered = "user.delegate_entered" => "Delegate opened the mailbox",
    TeamCreated = "admin.team_created" => "Team mailbox created",
    TeamMemberAdded = "team.member_added" => "Member added to the team",
    TeamMemberRemoved = "team.member_removed" => "Member removed from the team",
    TeamKeyRotated = "team.key_rotated" => "Team key replaced: later mail is sealed to the new key",
    TeamEntered = "team.entered" => "Member opened the team mailbox",
    ThreadAssigned = "message.assigned" => "Letter assigned",
    GatewayQueued = "gateway.queued" => "Queued to leave Casemail for a secure domain",
    GatewayHanded = "gateway.handed" => "Handed to Casemail's mail server",
    GatewayRelayed = "gateway.relayed" => "Handed to the recipient's mail server",
    GatewayDelayed = "gateway.delayed" => "Not yet delivered outside Casemail: still trying",
    GatewayFailed = "gateway.failed" => "Could not be delivered outside Casemail",
    GatewayReceived = "gateway.received" => "Received from a secure domain",
    GatewayRefused = "gateway.refused" => "Mail from outside Casemail refused",
    SecureDomainAdded = "admin.secure_domain_added" => "Secure mail domain added",
    SecureDomainRemoved = "admin.secure_domain_removed" => "Secure mail domain removed",
    StatusChanged = "user.status_changed" => "Account status changed",
    InvitationSent = "admin.invitation_sent" => "Invitation sent",
    OrganisationSaved = "admin.organisation_saved" => "Organisation created or changed",
    SecondFactorReset = "admin.second_factor_reset" => "Second factor reset by an administrator",
    AccountRecovered = "admin.account_recovered"
        => "Account recovered by an administrator with the recovery key",
    NewKeysIssued = "admin.new_keys_issued" => "New keys issued by an administrator",
    FirstAdministratorCreated = "admin.first_administrator_created"
        => "First service administrator created",
}

impl EventKind {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == input)
            .ok_or(Invalid("Unknown audit event kind"))
    }

    /// The event recording how an offer ended; None for an offer still pending.
    pub fn offer_ended(outcome: OfferOutcome) -> Option<Self> {
        match outcome {
            OfferOutcome::Pending => None,
            OfferOutcome::Accepted => Some(Self::PleaAccepted),
            OfferOutcome::Rejected => Some(Self::PleaRejected),
            OfferOutcome::Countered => Some(Self::PleaCountered),
            OfferOutcome::Withdrawn => Some(Self::PleaWithdrawn),
            OfferOutcome::Lapsed => Some(Self::PleaLapsed),
        }
    }
}

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    Message,
    Case,
    User,
    Invitation,
    Organisation,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 5] = [
        Self::Message,
        Self::Case,
        Self::User,
        Self::Invitation,
        Self::Organisation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Case => "case",
            Self::User => "user",
            Self::Invitation => "invitation",
            Self::Organisation => "organisation",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == input)
            .ok_or(Invalid("Unknown audit subject"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_unique_name_that_reads_back() {
        let mut names = std::collections::HashSet::new();
        for kind in EventKind::ALL {
            assert!(names.insert(kind.as_str()), "{} twice", kind.as_str());
            assert_eq!(EventKind::parse(kind.as_str()), Ok(*kind));
            assert!(!kind.describe().is_empty());
        }
        assert!(EventKind::parse("message.unheard_of").is_err());
    }

    #[test]
    fn every_subject_reads_back() {
        for subject in SubjectKind::ALL {
            assert_eq!(SubjectKind::parse(subject.as_str()), Ok(subject));
        }
    }

    #[test]
    fn only_ended_offers_have_an_event() {
        assert_eq!(EventKind::offer_ended(OfferOutcome::Pending), None);
        assert_eq!(
            EventKind::offer_ended(OfferOutcome::Lapsed),
            Some(EventKind::PleaLapsed)
        );
    }
}
