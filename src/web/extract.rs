//! Extractors: the signed-in user (with their session key) and the client's address.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::session;
use crate::crypto::{SessionKey, UserIdentity};
use crate::domain::UserStatus;
use crate::domain::{EventKind, SubjectKind};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{SessionUser, UserAccount};

/// Sessions are touched at most this often, so reading pages does not write on every
/// request while the idle limit stays accurate to a minute.
const TOUCH_INTERVAL_SECONDS: i64 = 60;

/// The person making the request, with a live session. Extracting it enforces the idle
/// and absolute session limits and the account's status on every request.
pub struct CurrentUser {
    pub account: UserAccount,
    pub token_hash: String,
    wrapped_identity: Vec<u8>,
    session_key: SessionKey,
}

impl CurrentUser {
    /// Unwraps the user's private identity with the key from their cookie. Only content
    /// pages need this; most requests never do.
    pub fn identity(&self) -> Result<UserIdentity, AppError> {
        self.session_key
            .open(&self.wrapped_identity)
            .map_err(|e| AppError::Internal(e.into()))
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        authenticate(parts, app, true).await
    }
}

/// The signed-in user for background requests (live counters) that must not count as
/// activity: a page left open would otherwise never reach the idle limit.
pub struct PollingUser(pub CurrentUser);

impl FromRequestParts<AppState> for PollingUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        authenticate(parts, app, false).await.map(Self)
    }
}

async fn authenticate(parts: &Parts, app: &AppState, touch: bool) -> Result<CurrentUser, AppError> {
    {
        let next = Some(parts.uri.path().to_string()).filter(|p| parts.method == "GET" && p != "/");
        let sign_in = |expired| AppError::SignInRequired {
            expired,
            next: next.clone(),
        };
        let cookie = session::read(&parts.headers, &app.config).ok_or_else(|| sign_in(false))?;
        let token_hash = cookie.token_hash();
        let session = app
            .store
            .session(&token_hash)
            .await?
            .ok_or_else(|| sign_in(true))?;
        let now = app.clock.now();
        let idle_for = now - session.last_seen_at;
        if has_expired(app, &session, now) {
            let reason = if now >= session.expires_at {
                "absolute"
            } else {
                "idle"
            };
            let event = crate::audit::Origin::user(&session.account, "").event(
                now,
                EventKind::SessionExpired,
                SubjectKind::User,
                Some(session.account.id),
                serde_json::json!({ "limit": reason }),
            );
            app.store.audit(&[event]).await?;
            app.store.delete_session(&token_hash).await?;
            return Err(sign_in(true));
        }
        if !session.account.status.may_hold_session() {
            app.store.delete_session(&token_hash).await?;
            return Err(sign_in(false));
        }
        if session.account.status == UserStatus::Pending {
            return Err(AppError::AwaitingApproval);
        }
        let path = parts.uri.path();
        if session.second_factor_pending && !path.starts_with("/sign-in/code") {
            return Err(AppError::SecondFactorNeeded);
        }
        // After an administrator's reset the temporary password must be replaced first.
        if session.account.must_change_password && !path.starts_with("/account/password") {
            return Err(AppError::PasswordChangeRequired);
        }
        // Administrators must have a second factor before they can do anything else.
        if (session.account.role.is_admin() || app.config.require_second_factor)
            && !session.account.totp_enrolled
            && !path.starts_with("/account/two-factor")
        {
            return Err(AppError::SecondFactorSetup);
        }
        let session_key = cookie.key().ok_or_else(|| sign_in(false))?;
        if touch && idle_for >= TOUCH_INTERVAL_SECONDS {
            app.store.touch_session(&token_hash, now).await?;
        }
        Ok(CurrentUser {
            account: session.account,
            token_hash,
            wrapped_identity: session.wrapped_identity,
            session_key,
        })
    }
}

/// Whether a session is past its idle or absolute limit.
pub fn has_expired(app: &AppState, session: &SessionUser, now: i64) -> bool {
    now >= session.expires_at || now - session.last_seen_at >= app.config.session_idle_seconds()
}

/// Where a request comes from, for throttling and the session list.
pub struct ClientInfo {
    pub address: String,
    pub user_agent: String,
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_default();
        let forwarded = app
            .config
            .trust_forwarded_for
            .then(|| {
                parts
                    .headers
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.rsplit(',').next())
                    .map(|v| v.trim().to_string())
            })
            .flatten();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        Ok(Self {
            address: forwarded.unwrap_or(peer),
            user_agent,
        })
    }
}
