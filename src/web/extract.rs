//! Extractors: the signed-in user (with their session key) and the client's address.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};

use super::error::AppError;
use super::session;
use crate::accounts::SessionCheck;
use crate::crypto::{MailboxKeys, SessionKey, UserIdentity};
use crate::state::AppState;
use crate::store::UserAccount;

/// The person making the request, with a live session. Extracting it enforces the idle
/// and absolute session limits and the account's status on every request.
pub struct CurrentUser {
    /// The mailbox the request works in: the user's own, or, for a delegate who has
    /// switched, the owner's (with `acting_delegate` naming the delegate).
    pub account: UserAccount,
    pub token_hash: String,
    wrapped_identity: Vec<u8>,
    session_key: SessionKey,
    /// For a delegate at work: their own account, and the owner's identity wrapped to them.
    delegated: Option<(UserAccount, Vec<u8>)>,
}

impl CurrentUser {
    /// Unwraps the identity of the mailbox with the key from the cookie (through the
    /// delegate's own identity, for a delegate). Only content pages need this.
    pub fn identity(&self) -> Result<UserIdentity, AppError> {
        let own = self
            .session_key
            .open(&self.wrapped_identity)
            .map_err(|e| AppError::Internal(e.into()))?;
        match &self.delegated {
            None => Ok(own),
            Some((_, wrapped)) => {
                UserIdentity::unwrap_for(wrapped, &own).map_err(|e| AppError::Internal(e.into()))
            }
        }
    }

    /// The person signed in: the delegate when working in someone else's mailbox.
    pub fn person(&self) -> &UserAccount {
        self.delegated
            .as_ref()
            .map_or(&self.account, |(own, _)| own)
    }

    /// The keys for reading the user's own mailbox: their identity and the mailbox key.
    pub async fn mailbox_keys(&self, app: &AppState) -> Result<MailboxKeys, AppError> {
        let identity = self.identity()?;
        Ok(app.intake.keys(&self.account, &identity).await?)
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
    let next = Some(parts.uri.path().to_string()).filter(|p| parts.method == "GET" && p != "/");
    let sign_in = |expired| AppError::SignInRequired {
        expired,
        next: next.clone(),
    };
    let cookie = session::read(&parts.headers, &app.config).ok_or_else(|| sign_in(false))?;
    let token_hash = cookie.token_hash();
    let session = match app.accounts.check_session(&token_hash).await? {
        SessionCheck::Live(session) => session,
        // A cookie whose session is gone ended by time or elsewhere: say it ended.
        SessionCheck::Unknown | SessionCheck::Expired => return Err(sign_in(true)),
        SessionCheck::Ended => return Err(sign_in(false)),
    };
    let path = parts.uri.path();
    if session.second_factor_pending && !path.starts_with("/sign-in/code") {
        return Err(AppError::SecondFactorNeeded);
    }
    // After an administrator's reset the temporary password must be replaced first.
    if session.account.must_change_password && !path.starts_with("/account/password") {
        return Err(AppError::PasswordChangeRequired);
    }
    // Administrators must have a second factor (where required, a passkey) before they
    // can do anything else.
    let account = &session.account;
    let setting_up =
        path.starts_with("/account/two-factor") || path.starts_with("/account/passkeys");
    if app.config.admins_require_passkey
        && account.role.is_admin()
        && account.passkeys == 0
        && !path.starts_with("/account/passkeys")
    {
        return Err(AppError::PasskeySetup);
    }
    if (account.role.is_admin() || app.config.require_second_factor)
        && !account.has_second_factor()
        && !setting_up
    {
        return Err(AppError::SecondFactorSetup);
    }
    let session_key = cookie.key().ok_or_else(|| sign_in(false))?;
    if touch {
        app.accounts.keep_alive(&session).await?;
    }
    let session = *session;
    let mut user = CurrentUser {
        account: session.account,
        token_hash,
        wrapped_identity: session.wrapped_identity,
        session_key,
        delegated: None,
    };
    if let Some(owner_id) = session.acting_for {
        match app
            .accounts
            .delegated_mailbox(&user.account, owner_id)
            .await?
        {
            Some(mailbox) => {
                let can_send = mailbox
                    .owner
                    .acting_delegate
                    .as_ref()
                    .is_some_and(|d| d.can_send);
                if !delegate_may(&parts.method, path, can_send) {
                    return Err(AppError::OwnerOnly { can_send });
                }
                let own = std::mem::replace(&mut user.account, mailbox.owner);
                user.delegated = Some((own, mailbox.wrapped_identity));
            }
            // Withdrawn (or the owner has gone): the session is the user's own again.
            None => {
                app.accounts
                    .switch_mailbox(&user.account, &user.token_hash, None, "")
                    .await?;
            }
        }
    }
    Ok(user)
}

/// What a delegate may reach in someone else's mailbox: its mail, read; with sending
/// rights also writing, drafts and filing. Everything else (the owner's account settings,
/// cases, administration) stays with the owner. A list of what is open, so that a page
/// added later is closed to delegates until it is put here.
fn delegate_may(method: &Method, path: &str, can_send: bool) -> bool {
    const READING: [&str; 6] = [
        "/mail/",
        "/threads/",
        "/messages/",
        "/search",
        "/directory",
        "/delegations",
    ];
    let writing = path == "/compose" || path.starts_with("/drafts");
    if method == Method::GET || method == Method::HEAD {
        return path == "/" || READING.iter().any(|p| path.starts_with(p)) || (can_send && writing);
    }
    if method == Method::POST {
        if path == "/delegations/switch" || path == "/sign-out" {
            return true;
        }
        let handling = path.starts_with("/threads/")
            && (path.ends_with("/no-reply") || path.ends_with("/assign"));
        return can_send && (writing || handling || path == "/mail/bulk");
    }
    false
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
