//! Plea negotiation as an explicit state machine. An offer lists a position per charge;
//! the other side accepts, rejects or counters it (naming the version it answers); the
//! offering side may withdraw it while unanswered; past its respond-by date it lapses.
//! Agreement is final.

use super::Invalid;

/// Which side of a case a person acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Prosecution,
    Defence,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prosecution => "prosecution",
            Self::Defence => "defence",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        match input {
            "prosecution" => Ok(Self::Prosecution),
            "defence" => Ok(Self::Defence),
            _ => Err(Invalid("Unknown side")),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Prosecution => "Prosecution",
            Self::Defence => "Defence",
        }
    }
}

/// What an offer proposes for one charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargePosition {
    GuiltyAsLibelled,
    /// Guilty under deletion or amendment; the amended wording goes with it.
    GuiltyAsAmended,
    /// A plea of not guilty to this charge is to be accepted.
    NotGuiltyAccepted,
    /// No plea offered; the charge goes to trial.
    NotGuilty,
}

impl ChargePosition {
    pub const ALL: [Self; 4] = [
        Self::GuiltyAsLibelled,
        Self::GuiltyAsAmended,
        Self::NotGuiltyAccepted,
        Self::NotGuilty,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GuiltyAsLibelled => "guilty_as_libelled",
            Self::GuiltyAsAmended => "guilty_as_amended",
            Self::NotGuiltyAccepted => "not_guilty_accepted",
            Self::NotGuilty => "not_guilty",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::GuiltyAsLibelled => "Guilty as libelled",
            Self::GuiltyAsAmended => "Guilty under deletion or amendment",
            Self::NotGuiltyAccepted => "Not guilty plea to be accepted",
            Self::NotGuilty => "Not guilty (to trial)",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == input)
            .ok_or(Invalid("Choose a position for each charge"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegotiationState {
    /// No live offer.
    Open,
    OfferPending,
    Agreed,
    Closed,
}

impl NegotiationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::OfferPending => "offer_pending",
            Self::Agreed => "agreed",
            Self::Closed => "closed",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        match input {
            "open" => Ok(Self::Open),
            "offer_pending" => Ok(Self::OfferPending),
            "agreed" => Ok(Self::Agreed),
            "closed" => Ok(Self::Closed),
            _ => Err(Invalid("Unknown negotiation state")),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open: no offer waiting",
            Self::OfferPending => "Offer waiting for an answer",
            Self::Agreed => "Agreed",
            Self::Closed => "Closed",
        }
    }
}

/// How an offer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferOutcome {
    Pending,
    Accepted,
    Rejected,
    Countered,
    Withdrawn,
    Lapsed,
}

impl OfferOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Countered => "countered",
            Self::Withdrawn => "withdrawn",
            Self::Lapsed => "lapsed",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        [
            Self::Pending,
            Self::Accepted,
            Self::Rejected,
            Self::Countered,
            Self::Withdrawn,
            Self::Lapsed,
        ]
        .into_iter()
        .find(|o| o.as_str() == input)
        .ok_or(Invalid("Unknown offer outcome"))
    }
}

/// Where a negotiation stands: its state and its latest offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiation {
    pub state: NegotiationState,
    /// The latest offer's version; 0 before any offer.
    pub version: i64,
    pub offered_by: Option<Side>,
    pub respond_by: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PleaAction {
    Offer {
        respond_by: Option<i64>,
    },
    Accept {
        version: i64,
    },
    Reject {
        version: i64,
    },
    Counter {
        version: i64,
        respond_by: Option<i64>,
    },
    Withdraw {
        version: i64,
    },
    Close,
}

/// The result of an allowed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub next: Negotiation,
    /// The offer that this action ended, and how.
    pub ended: Option<(i64, OfferOutcome)>,
    /// The version of the offer this action made, if it made one.
    pub made: Option<i64>,
}

/// Why an action was refused, in words for the person who tried it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("The negotiation has been agreed. The agreed terms are final and cannot be changed.")]
    Agreed,
    #[error("The negotiation has been closed.")]
    Closed,
    #[error(
        "Offer version {answered} has been superseded by version {current}. Read the latest offer and answer that one."
    )]
    Superseded { answered: i64, current: i64 },
    #[error(
        "Offer version {0} is no longer open: it was already answered, withdrawn or has lapsed."
    )]
    NotOpen(i64),
    #[error("There is no offer version {0}.")]
    NoSuchVersion(i64),
    #[error(
        "Offer version {0} is waiting for an answer. Answer it with a counter-offer, or withdraw it first."
    )]
    OfferWaiting(i64),
    #[error("Only the other side can answer this offer.")]
    OwnOffer,
    #[error("Only the side that made an offer can withdraw it.")]
    NotYourOffer,
    #[error("The respond-by date must be in the future.")]
    RespondByPast,
}

impl Negotiation {
    pub fn new() -> Self {
        Self {
            state: NegotiationState::Open,
            version: 0,
            offered_by: None,
            respond_by: None,
        }
    }

    /// The pending offer lapses once its respond-by time has passed.
    pub fn lapse_if_due(&self, now: i64) -> Option<Transition> {
        match (self.state, self.respond_by) {
            (NegotiationState::OfferPending, Some(by)) if now >= by => Some(Transition {
                next: self.reopened(),
                ended: Some((self.version, OfferOutcome::Lapsed)),
                made: None,
            }),
            _ => None,
        }
    }

    /// Applies `action` by someone of side `actor` at `now`. Lapsing is checked first, so
    /// an answer that arrives after the respond-by time is refused.
    pub fn apply(&self, actor: Side, action: PleaAction, now: i64) -> Result<Transition, Refusal> {
        let current = self.lapse_if_due(now).map_or(*self, |t| t.next);
        match current.state {
            NegotiationState::Agreed => return Err(Refusal::Agreed),
            NegotiationState::Closed => return Err(Refusal::Closed),
            _ => {}
        }
        match action {
            PleaAction::Offer { respond_by } => {
                if current.state == NegotiationState::OfferPending {
                    return Err(Refusal::OfferWaiting(current.version));
                }
                check_future(respond_by, now)?;
                Ok(current.new_offer(actor, respond_by, None))
            }
            PleaAction::Accept { version } => {
                current.answerable(actor, version)?;
                Ok(Transition {
                    next: Negotiation {
                        state: NegotiationState::Agreed,
                        ..current
                    },
                    ended: Some((version, OfferOutcome::Accepted)),
                    made: None,
                })
            }
            PleaAction::Reject { version } => {
                current.answerable(actor, version)?;
                Ok(Transition {
                    next: current.reopened(),
                    ended: Some((version, OfferOutcome::Rejected)),
                    made: None,
                })
            }
            PleaAction::Counter {
                version,
                respond_by,
            } => {
                current.answerable(actor, version)?;
                check_future(respond_by, now)?;
                Ok(current.new_offer(actor, respond_by, Some((version, OfferOutcome::Countered))))
            }
            PleaAction::Withdraw { version } => {
                current.live(version)?;
                if current.offered_by != Some(actor) {
                    return Err(Refusal::NotYourOffer);
                }
                Ok(Transition {
                    next: current.reopened(),
                    ended: Some((version, OfferOutcome::Withdrawn)),
                    made: None,
                })
            }
            PleaAction::Close => Ok(Transition {
                next: Negotiation {
                    state: NegotiationState::Closed,
                    respond_by: None,
                    ..current
                },
                ended: (current.state == NegotiationState::OfferPending)
                    .then_some((current.version, OfferOutcome::Withdrawn)),
                made: None,
            }),
        }
    }

    fn new_offer(
        &self,
        actor: Side,
        respond_by: Option<i64>,
        ended: Option<(i64, OfferOutcome)>,
    ) -> Transition {
        let version = self.version + 1;
        Transition {
            next: Negotiation {
                state: NegotiationState::OfferPending,
                version,
                offered_by: Some(actor),
                respond_by,
            },
            ended,
            made: Some(version),
        }
    }

    fn reopened(&self) -> Negotiation {
        Negotiation {
            state: NegotiationState::Open,
            respond_by: None,
            ..*self
        }
    }

    /// `version` must be the offer waiting now.
    fn live(&self, version: i64) -> Result<(), Refusal> {
        if version < 1 || version > self.version {
            return Err(Refusal::NoSuchVersion(version));
        }
        if version < self.version {
            return Err(Refusal::Superseded {
                answered: version,
                current: self.version,
            });
        }
        if self.state != NegotiationState::OfferPending {
            return Err(Refusal::NotOpen(version));
        }
        Ok(())
    }

    fn answerable(&self, actor: Side, version: i64) -> Result<(), Refusal> {
        self.live(version)?;
        if self.offered_by == Some(actor) {
            return Err(Refusal::OwnOffer);
        }
        Ok(())
    }
}

impl Default for Negotiation {
    fn default() -> Self {
        Self::new()
    }
}

fn check_future(respond_by: Option<i64>, now: i64) -> Result<(), Refusal> {
    match respond_by {
        Some(by) if by <= now => Err(Refusal::RespondByPast),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::NegotiationState::*;
    use super::Side::*;
    use super::*;

    const NOW: i64 = 1_000_000;

    fn offer() -> PleaAction {
        PleaAction::Offer { respond_by: None }
    }

    fn pending(version: i64, by: Side) -> Negotiation {
        Negotiation {
            state: OfferPending,
            version,
            offered_by: Some(by),
            respond_by: None,
        }
    }

    #[test]
    fn either_side_may_open_with_an_offer() {
        for side in [Prosecution, Defence] {
            let t = Negotiation::new().apply(side, offer(), NOW);
            assert_eq!(t.map(|t| (t.next, t.made)), Ok((pending(1, side), Some(1))));
        }
    }

    #[test]
    fn a_second_offer_waits_for_the_first_to_be_answered() {
        let n = pending(1, Prosecution);
        assert_eq!(
            n.apply(Prosecution, offer(), NOW),
            Err(Refusal::OfferWaiting(1))
        );
        assert_eq!(
            n.apply(Defence, offer(), NOW),
            Err(Refusal::OfferWaiting(1))
        );
    }

    #[test]
    fn the_other_side_accepts_and_agreement_is_final() {
        let t = pending(2, Defence).apply(Prosecution, PleaAction::Accept { version: 2 }, NOW);
        let agreed = t.map(|t| (t.next.state, t.ended));
        assert_eq!(agreed, Ok((Agreed, Some((2, OfferOutcome::Accepted)))));
        let done = Negotiation {
            state: Agreed,
            ..pending(2, Defence)
        };
        for action in [
            offer(),
            PleaAction::Accept { version: 2 },
            PleaAction::Reject { version: 2 },
            PleaAction::Counter {
                version: 2,
                respond_by: None,
            },
            PleaAction::Withdraw { version: 2 },
            PleaAction::Close,
        ] {
            for side in [Prosecution, Defence] {
                assert_eq!(
                    done.apply(side, action, NOW),
                    Err(Refusal::Agreed),
                    "{action:?}"
                );
            }
        }
    }

    #[test]
    fn nobody_answers_their_own_sides_offer() {
        let n = pending(1, Prosecution);
        for action in [
            PleaAction::Accept { version: 1 },
            PleaAction::Reject { version: 1 },
            PleaAction::Counter {
                version: 1,
                respond_by: None,
            },
        ] {
            assert_eq!(n.apply(Prosecution, action, NOW), Err(Refusal::OwnOffer));
        }
    }

    #[test]
    fn rejection_reopens_the_negotiation() {
        let t = pending(1, Prosecution).apply(Defence, PleaAction::Reject { version: 1 }, NOW);
        assert_eq!(
            t.map(|t| (t.next.state, t.next.version, t.ended)),
            Ok((Open, 1, Some((1, OfferOutcome::Rejected))))
        );
    }

    #[test]
    fn a_counter_offer_is_the_next_version_from_the_other_side() {
        let t = pending(1, Prosecution).apply(
            Defence,
            PleaAction::Counter {
                version: 1,
                respond_by: None,
            },
            NOW,
        );
        assert_eq!(
            t.map(|t| (t.next, t.ended, t.made)),
            Ok((
                pending(2, Defence),
                Some((1, OfferOutcome::Countered)),
                Some(2)
            ))
        );
    }

    #[test]
    fn answers_to_superseded_or_unknown_versions_are_refused() {
        let n = pending(3, Defence);
        assert_eq!(
            n.apply(Prosecution, PleaAction::Accept { version: 2 }, NOW),
            Err(Refusal::Superseded {
                answered: 2,
                current: 3
            })
        );
        assert_eq!(
            n.apply(Prosecution, PleaAction::Accept { version: 4 }, NOW),
            Err(Refusal::NoSuchVersion(4))
        );
        assert_eq!(
            n.apply(Prosecution, PleaAction::Accept { version: 0 }, NOW),
            Err(Refusal::NoSuchVersion(0))
        );
    }

    #[test]
    fn answers_to_a_withdrawn_or_rejected_offer_are_refused() {
        let reopened = Negotiation {
            state: Open,
            ..pending(2, Defence)
        };
        for action in [
            PleaAction::Accept { version: 2 },
            PleaAction::Reject { version: 2 },
            PleaAction::Counter {
                version: 2,
                respond_by: None,
            },
            PleaAction::Withdraw { version: 2 },
        ] {
            assert_eq!(
                reopened.apply(Prosecution, action, NOW),
                Err(Refusal::NotOpen(2))
            );
        }
    }

    #[test]
    fn only_the_offering_side_withdraws() {
        let n = pending(1, Prosecution);
        assert_eq!(
            n.apply(Defence, PleaAction::Withdraw { version: 1 }, NOW),
            Err(Refusal::NotYourOffer)
        );
        let t = n.apply(Prosecution, PleaAction::Withdraw { version: 1 }, NOW);
        assert_eq!(
            t.map(|t| (t.next.state, t.ended)),
            Ok((Open, Some((1, OfferOutcome::Withdrawn))))
        );
    }

    #[test]
    fn an_offer_lapses_at_its_respond_by_time() {
        let n = Negotiation {
            respond_by: Some(NOW),
            ..pending(1, Prosecution)
        };
        assert_eq!(n.lapse_if_due(NOW - 1), None);
        let lapsed = n.lapse_if_due(NOW).map(|t| (t.next.state, t.ended));
        assert_eq!(lapsed, Some((Open, Some((1, OfferOutcome::Lapsed)))));
        // An answer after the deadline is refused; a new offer may then be made.
        assert_eq!(
            n.apply(Defence, PleaAction::Accept { version: 1 }, NOW),
            Err(Refusal::NotOpen(1))
        );
        assert_eq!(n.apply(Defence, offer(), NOW).map(|t| t.made), Ok(Some(2)));
    }

    #[test]
    fn respond_by_must_be_in_the_future() {
        let t = Negotiation::new().apply(
            Prosecution,
            PleaAction::Offer {
                respond_by: Some(NOW),
            },
            NOW,
        );
        assert_eq!(t, Err(Refusal::RespondByPast));
    }

    #[test]
    fn closing_ends_a_waiting_offer_and_then_everything() {
        let t = pending(1, Prosecution).apply(Defence, PleaAction::Close, NOW);
        assert_eq!(
            t.map(|t| (t.next.state, t.ended)),
            Ok((Closed, Some((1, OfferOutcome::Withdrawn))))
        );
        let closed = Negotiation {
            state: Closed,
            ..Negotiation::new()
        };
        assert_eq!(closed.apply(Defence, offer(), NOW), Err(Refusal::Closed));
    }

    #[test]
    fn names_round_trip() {
        for p in ChargePosition::ALL {
            assert_eq!(ChargePosition::parse(p.as_str()), Ok(p));
        }
        for s in [Open, OfferPending, Agreed, Closed] {
            assert_eq!(NegotiationState::parse(s.as_str()), Ok(s));
        }
    }
}
