//! The web application: routes, middleware, extractors and pages.
//!
//! May use every other module.

mod assets;
mod csrf;
mod error;
mod errors;
mod extract;
mod format;
mod headers;
mod limits;
mod metrics;
mod page;
mod server;
mod session;
mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderName;
use axum::middleware;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::web::error::AppError;

pub use assets::asset_version;
pub use extract::CurrentUser;
pub use server::{serve, shutdown_signal};
pub use session::session_cookie_name;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(app: AppState) -> Router {
    with_middleware(pages(), app)
}

/// Every page of the service, before the middleware.
fn pages() -> Router<AppState> {
    Router::new()
        .route("/", get(views::mailbox::home))
        .route("/mail/unread", get(views::mailbox::unread_count))
        .route("/mail/bulk", post(views::mailbox::bulk))
        .route("/mail/deleted/empty", post(views::mailbox::empty_deleted))
        .route("/mail/due", get(views::due::show))
        .route("/mail/{folder}", get(views::mailbox::folder))
        .route("/mail/{folder}/rows", get(views::mailbox::rows))
        .route("/threads/{id}", get(views::thread::show))
        .route("/threads/{id}/no-reply", post(views::due::no_reply_needed))
        .route(
            "/messages/{id}/attachments/{position}",
            get(views::thread::download),
        )
        .route(
            "/compose",
            get(views::compose::form)
                .post(views::compose::submit)
                // Attachments stream to disk with their own per-file limit.
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/drafts", get(views::drafts::list))
        .route("/drafts/autosave", post(views::drafts::autosave))
        .route("/drafts/{id}/delete", post(views::drafts::delete))
        .route("/directory", get(views::directory::show))
        .route("/directory/suggest", get(views::directory::suggest))
        .route("/search", get(views::search::show))
        .route("/cases", get(views::cases::list))
        .route(
            "/cases/new",
            get(views::cases::new_form).post(views::cases::create),
        )
        .route(
            "/cases/request",
            get(views::case_participants::request_form)
                .post(views::case_participants::request_access),
        )
        .route("/cases/{id}", get(views::cases::show))
        .route("/cases/{id}/status", post(views::cases::set_status))
        .route("/cases/{id}/team", post(views::cases::give_to_team))
        .route(
            "/cases/{id}/participants",
            post(views::case_participants::add_participant),
        )
        .route(
            "/cases/{id}/participants/{user}/remove",
            post(views::case_participants::remove_participant),
        )
        .route(
            "/cases/{id}/requests/{request}",
            post(views::case_participants::decide_request),
        )
        .route(
            "/cases/{id}/plea",
            get(views::plea::show).post(views::plea::act),
        )
        .route("/cases/{id}/plea/minute", get(views::plea::minute))
        .route("/cases/{id}/plea/history", get(views::plea::history))
        .route("/threads/{id}/case", post(views::thread::tag_case))
        .route(
            "/messages/{id}/receipts",
            get(views::audit::receipts_partial),
        )
        .route("/cases/{id}/audit", get(views::audit::case_audit))
        .route("/cases/{id}/audit.csv", get(views::audit::case_audit_csv))
        .route("/account/activity", get(views::audit::own_activity))
        .route(
            "/account/delegates",
            get(views::delegates::show).post(views::delegates::grant),
        )
        .route(
            "/account/delegates/{id}/withdraw",
            post(views::delegates::withdraw),
        )
        .route("/delegations", get(views::delegates::mailboxes))
        .route("/delegations/switch", post(views::delegates::switch))
        .route(
            "/teams",
            get(|| async { axum::response::Redirect::to("/delegations") }),
        )
        .route("/teams/{id}", get(views::teams::show))
        .route("/teams/{id}/members", post(views::teams::add_member))
        .route(
            "/teams/{id}/members/{member}/remove",
            post(views::teams::remove_member),
        )
        .route("/threads/{id}/assign", post(views::teams::assign))
        .route(
            "/admin/teams",
            get(views::teams::admin_list).post(views::teams::create),
        )
        .route(
            "/admin",
            get(|| async { axum::response::Redirect::to("/admin/users") }),
        )
        .route("/admin/users", get(views::admin::users))
        .route("/admin/users/{id}", get(views::admin::user_detail))
        .route(
            "/admin/users/{id}/status",
            post(views::admin::change_status),
        )
        .route(
            "/admin/invitations",
            get(views::invitations::invitations).post(views::invitations::invite),
        )
        .route(
            "/admin/invitations/bulk",
            get(views::bulk::form).post(views::bulk::upload),
        )
        .route(
            "/admin/invitations/{id}/resend",
            post(views::invitations::resend_invitation),
        )
        .route(
            "/admin/organisations",
            get(views::organisations::organisations),
        )
        .route(
            "/admin/organisations/{id}",
            post(views::organisations::save_organisation),
        )
        .route("/admin/policy", get(views::admin::policy))
        .route(
            "/admin/domains",
            get(views::domains::list).post(views::domains::add),
        )
        .route("/admin/domains/{id}/remove", post(views::domains::remove))
        .route(
            "/admin/users/{id}/recover",
            post(views::recovery::admin_recover),
        )
        .route(
            "/admin/users/{id}/new-keys",
            post(views::recovery::admin_new_keys),
        )
        .route(
            "/recover",
            get(views::recovery::form).post(views::recovery::submit),
        )
        .route("/account/recovery-code", post(views::recovery::new_code))
        .route("/account/directory", post(views::account::set_listing))
        .route("/admin/audit", get(views::audit::admin_audit))
        .route("/admin/audit.csv", get(views::audit::admin_audit_csv))
        .route(
            "/sign-in",
            get(views::sign_in::form).post(views::sign_in::submit),
        )
        .route("/sign-out", post(views::sign_in::sign_out))
        .route(
            "/sign-in/code",
            get(views::second_factor::code_form).post(views::second_factor::check_code),
        )
        .route(
            "/sign-in/code/passkey/options",
            post(views::passkeys::sign_in_options),
        )
        .route("/sign-in/code/passkey", post(views::passkeys::sign_in))
        .route(
            "/account/passkeys",
            get(views::passkeys::list).post(views::passkeys::add),
        )
        .route(
            "/account/passkeys/options",
            post(views::passkeys::registration_options),
        )
        .route(
            "/account/passkeys/{id}/remove",
            post(views::passkeys::remove),
        )
        .route(
            "/account/two-factor",
            get(views::second_factor::setup).post(views::second_factor::confirm),
        )
        .route(
            "/register",
            get(views::register::form).post(views::register::submit),
        )
        .route(
            "/invite/{token}",
            get(views::register::invitation).post(views::register::accept),
        )
        .route(
            "/setup/{token}",
            get(views::setup::form).post(views::setup::submit),
        )
        .route("/account", get(views::account::show))
        .route(
            "/account/password",
            get(views::account::password_form).post(views::account::change_password),
        )
        .route("/healthz", get(views::health::live))
        .route("/readyz", get(views::health::ready))
        .route("/static/{version}/{*path}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .fallback(|| async { AppError::NotFound })
}

/// The middleware every page runs under: request ids and tracing, time limits, security
/// headers, error pages (also for panics) and request-forgery checks. Public so that tests
/// can put a route of their own under the same stack.
pub fn with_middleware(routes: Router<AppState>, app: AppState) -> Router {
    routes
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(
                    |request: &axum::http::Request<_>| {
                        let id = request
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        // The path only: query strings may carry tokens.
                        tracing::info_span!("request", method = %request.method(),
                            path = %request.uri().path(), request_id = %id)
                    },
                ))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(middleware::from_fn_with_state(
                    app.clone(),
                    limits::limit_time,
                ))
                .layer(middleware::from_fn_with_state(
                    app.clone(),
                    headers::security_headers,
                ))
                .layer(middleware::from_fn(errors::render_errors))
                .layer(middleware::from_fn(metrics::record))
                // A panic in a handler becomes the error page, not a dropped connection.
                .layer(CatchPanicLayer::custom(errors::panicked))
                .layer(middleware::from_fn_with_state(app.clone(), csrf::protect)),
        )
        .with_state(app)
}
