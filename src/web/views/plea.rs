//! The plea negotiation page of a case, its actions and the minute of agreement.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};

use crate::cases::CaseDetails;
use crate::domain::FieldErrors;
use crate::domain::{ChargePosition, NegotiationState, Side};
use crate::plea::{ChargeTerm, Offer, OfferTerms, PleaProblem, PleaRequest, TermChange};
use crate::state::AppState;
use crate::store::{CaseRow, ParticipantRow};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::extract::{ClientInfo, CurrentUser};
use crate::web::format;
use crate::web::page::{Page, Section};

pub struct ShownOffer {
    pub version: i64,
    pub side: &'static str,
    pub proposer: String,
    pub made: String,
    pub respond_by: Option<String>,
    pub outcome: String,
    pub answered: Option<String>,
    /// Who answered it, when a person did (not the time limit).
    pub answerer: Option<String>,
    pub terms: Option<OfferTerms>,
    /// What changed from the version before, when both can be read.
    pub changes: Vec<TermChange>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/plea.html")]
pub struct PleaPage {
    page: Page,
    case: CaseRow,
    details: CaseDetails,
    state: Option<NegotiationState>,
    version: i64,
    my_side: Side,
    offered_by: Option<Side>,
    thread_id: Option<i64>,
    /// Newest first.
    offers: Vec<ShownOffer>,
    positions: [ChargePosition; 4],
    /// What the offer form starts from: what was typed when it comes back with errors,
    /// otherwise the latest version's terms, so an untouched term is kept, not dropped.
    prefill: Option<OfferTerms>,
    errors: FieldErrors,
}

impl PleaPage {
    fn can_offer(&self) -> bool {
        matches!(self.state, None | Some(NegotiationState::Open))
    }

    fn can_answer(&self) -> bool {
        self.state == Some(NegotiationState::OfferPending) && self.offered_by != Some(self.my_side)
    }

    fn can_withdraw(&self) -> bool {
        self.state == Some(NegotiationState::OfferPending) && self.offered_by == Some(self.my_side)
    }

    fn can_close(&self) -> bool {
        matches!(
            self.state,
            Some(NegotiationState::Open | NegotiationState::OfferPending)
        )
    }

    fn agreed(&self) -> bool {
        self.state == Some(NegotiationState::Agreed)
    }

    /// The offer waiting for an answer, shown first.
    fn pending(&self) -> Option<&ShownOffer> {
        (self.state == Some(NegotiationState::OfferPending))
            .then(|| self.offers.first())
            .flatten()
    }

    /// Earlier versions, newest first: all of them unless one is pending.
    fn history(&self) -> &[ShownOffer] {
        let skip = usize::from(self.pending().is_some()).min(self.offers.len());
        &self.offers[skip..]
    }

    fn prefill_checked(&self, number: &usize, position: &str) -> bool {
        self.prefill_term(*number)
            .is_some_and(|t| t.position == position)
    }

    fn prefill_amended(&self, number: &usize) -> &str {
        self.prefill_term(*number)
            .map_or("", |t| t.amended_wording.as_str())
    }

    fn prefill_terms(&self) -> &str {
        self.prefill.as_ref().map_or("", |t| t.terms.as_str())
    }

    fn prefill_term(&self, number: usize) -> Option<&ChargeTerm> {
        self.prefill
            .as_ref()?
            .positions
            .iter()
            .find(|t| t.number == number)
    }
}

pub async fn show(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(case_id): Path<i64>,
    user: CurrentUser,
) -> Result<PleaPage, AppError> {
    render(&app, &csrf, &user, case_id, FieldErrors::default(), None).await
}

async fn render(
    app: &AppState,
    csrf: &CsrfToken,
    user: &CurrentUser,
    case_id: i64,
    errors: FieldErrors,
    typed: Option<OfferTerms>,
) -> Result<PleaPage, AppError> {
    let keys = user.mailbox_keys(app).await?;
    let identity = &keys.identity;
    let (case, details) = app
        .cases
        .case_for(&user.account, &keys, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let negotiation = app.plea.negotiation(case_id).await?;
    let mut offers: Vec<ShownOffer> = match &negotiation {
        Some(row) => app
            .plea
            .offers(identity, row)
            .await?
            .into_iter()
            .map(|Offer { row: offer, terms }| ShownOffer {
                version: offer.version,
                side: offer.side.label(),
                proposer: offer.proposer_name,
                made: format::time(offer.made_at),
                respond_by: offer.respond_by.map(format::time),
                outcome: offer.outcome.as_str().to_string(),
                answered: offer.answered_at.map(|at| {
                    format!(
                        "{} by {}",
                        format::time(at),
                        offer.answerer_name.as_deref().unwrap_or("time limit")
                    )
                }),
                answerer: offer.answerer_name,
                terms,
                changes: Vec::new(),
            })
            .collect(),
        None => Vec::new(),
    };
    for i in 1..offers.len() {
        if let (Some(before), Some(after)) = (&offers[i - 1].terms, &offers[i].terms) {
            offers[i].changes = after.changes_from(before);
        }
    }
    offers.reverse();
    let prefill = typed.or_else(|| offers.iter().find_map(|o| o.terms.clone()));
    let state = negotiation.as_ref().map(|r| r.negotiation.state);
    Ok(PleaPage {
        page: Page::signed_in(app, csrf, user, Section::Cases).await?,
        my_side: case.side,
        offered_by: negotiation.as_ref().and_then(|r| r.negotiation.offered_by),
        version: negotiation.as_ref().map_or(0, |r| r.negotiation.version),
        thread_id: negotiation.as_ref().map(|r| r.thread_id),
        state,
        case,
        details,
        offers,
        positions: ChargePosition::ALL,
        prefill,
        errors,
    })
}

/// One form for every action; `action` says which, `version` which offer it answers.
pub async fn act(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(case_id): Path<i64>,
    user: CurrentUser,
    client: ClientInfo,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let keys = user.mailbox_keys(&app).await?;
    let (case, details) = app
        .cases
        .case_for(&user.account, &keys, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::default();
    let version = field("version").parse::<i64>().unwrap_or(0);
    let mut typed = None;
    let request = match field("action").as_str() {
        "offer" | "counter" => {
            let terms = read_terms(&details, &field, &mut errors);
            typed = Some(terms.clone());
            let respond_by = read_respond_by(&field("respond_by"), &mut errors);
            if field("action") == "offer" {
                PleaRequest::Offer { terms, respond_by }
            } else {
                PleaRequest::Counter {
                    version,
                    terms,
                    respond_by,
                }
            }
        }
        "accept" => PleaRequest::Accept { version },
        "reject" => {
            let reason = field("reason");
            if reason.is_empty() {
                errors.add("reason", "Give a reason for rejecting the offer");
            }
            PleaRequest::Reject { version, reason }
        }
        "withdraw" => PleaRequest::Withdraw { version },
        "close" => PleaRequest::Close,
        _ => {
            return Err(AppError::BadRequest(
                "Choose what to do with the negotiation.",
            ));
        }
    };
    if errors.is_empty() {
        match app
            .plea
            .act(&user.account, &case, request, &client.address)
            .await
        {
            Ok(_) => return Ok(Redirect::to(&format!("/cases/{case_id}/plea")).into_response()),
            Err(PleaProblem::Internal(e)) => return Err(AppError::Internal(e)),
            Err(problem) => errors.add("negotiation", problem.to_string()),
        }
    }
    let mut response = render(&app, &csrf, &user, case_id, errors, typed)
        .await?
        .into_response();
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

fn read_terms(
    details: &CaseDetails,
    field: &dyn Fn(&str) -> String,
    errors: &mut FieldErrors,
) -> OfferTerms {
    let mut positions = Vec::new();
    for (index, charge) in details.charges.iter().enumerate() {
        let number = index + 1;
        let position = field(&format!("position_{number}"));
        let amended = field(&format!("amended_{number}"));
        match ChargePosition::parse(&position) {
            Ok(ChargePosition::GuiltyAsAmended) if amended.is_empty() => errors.add(
                "position_1",
                format!("Give the amended wording for charge {number}"),
            ),
            Ok(_) => {}
            Err(_) => errors.add(
                "position_1",
                format!("Choose a position for charge {number}"),
            ),
        }
        positions.push(ChargeTerm {
            number,
            charge: charge.clone(),
            position,
            amended_wording: amended,
        });
    }
    OfferTerms {
        positions,
        terms: field("terms"),
    }
}

fn read_respond_by(input: &str, errors: &mut FieldErrors) -> Option<i64> {
    if input.is_empty() {
        return None;
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(input, format) {
        // Offers lapse at the end of the respond-by day.
        Ok(day) => Some(day.midnight().assume_utc().unix_timestamp() + 86_400 - 1),
        Err(_) => {
            errors.add(
                "respond_by",
                "Enter the respond-by date in the format 2026-12-01",
            );
            None
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/minute.html")]
pub struct MinutePage {
    page: Page,
    case: CaseRow,
    details: CaseDetails,
    /// Who made or answered an offer, with their side.
    negotiators: Vec<(String, &'static str)>,
    /// The defence agents of record.
    agents: Vec<ParticipantRow>,
    offer: ShownOffer,
}

/// A printable minute of agreement; only once the negotiation is agreed.
pub async fn minute(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(case_id): Path<i64>,
    user: CurrentUser,
) -> Result<MinutePage, AppError> {
    let page = render(&app, &csrf, &user, case_id, FieldErrors::default(), None).await?;
    if !page.agreed() {
        return Err(AppError::NotFound);
    }
    let mut negotiators: Vec<(String, &'static str)> = Vec::new();
    for offer in page.offers.iter().rev() {
        let answering_side = if offer.side == Side::Prosecution.label() {
            Side::Defence.label()
        } else {
            Side::Prosecution.label()
        };
        let people = [
            Some((offer.proposer.clone(), offer.side)),
            offer.answerer.clone().map(|name| (name, answering_side)),
        ];
        for person in people.into_iter().flatten() {
            if !negotiators.contains(&person) {
                negotiators.push(person);
            }
        }
    }
    let agents = app
        .cases
        .participants(&user.account, case_id)
        .await?
        .ok_or(AppError::NotFound)?
        .into_iter()
        .filter(|p| p.side == Side::Defence)
        .collect();
    let offer = page
        .offers
        .into_iter()
        .find(|o| o.outcome == "accepted")
        .ok_or(AppError::NotFound)?;
    Ok(MinutePage {
        page: page.page,
        negotiators,
        agents,
        case: page.case,
        details: page.details,
        offer,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/plea_history.html")]
pub struct PleaHistoryPage {
    page: Page,
    case: CaseRow,
    details: CaseDetails,
    /// Oldest first, as the negotiation ran.
    offers: Vec<ShownOffer>,
}

/// Every version of the negotiation on one page, for printing.
pub async fn history(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(case_id): Path<i64>,
    user: CurrentUser,
) -> Result<PleaHistoryPage, AppError> {
    let page = render(&app, &csrf, &user, case_id, FieldErrors::default(), None).await?;
    let mut offers = page.offers;
    offers.reverse();
    Ok(PleaHistoryPage {
        page: page.page,
        case: page.case,
        details: page.details,
        offers,
    })
}
