//! Checking a session on each request, keeping it alive, and ending it.

use super::Accounts;
use crate::audit::Origin;
use crate::domain::EventKind;
use crate::store::SessionUser;

/// Sessions are touched at most this often, so reading pages does not write on every
/// request while the idle limit stays accurate to a minute.
const TOUCH_INTERVAL_SECONDS: i64 = 60;

/// What a session cookie leads to.
pub enum SessionCheck {
    /// No session has this token (never had, or it ended).
    Unknown,
    /// The session passed its idle or absolute limit and has now ended.
    Expired,
    /// The account may no longer hold a session (locked, suspended, deleted); it ended.
    Ended,
    Live(Box<SessionUser>),
}

impl Accounts {
    /// The session named by a cookie's token, ending it when it has expired or its account
    /// may no longer hold one.
    pub async fn check_session(&self, token_hash: &str) -> anyhow::Result<SessionCheck> {
        let Some(session) = self.store.session(token_hash).await? else {
            return Ok(SessionCheck::Unknown);
        };
        let now = self.clock.now();
        if self.has_expired(&session, now) {
            let limit = if now >= session.expires_at {
                "absolute"
            } else {
                "idle"
            };
            let event = Origin::user(&session.account, "").user_event(
                now,
                EventKind::SessionExpired,
                session.account.id,
                serde_json::json!({ "limit": limit }),
            );
            let mut change = self.store.begin(now).await?;
            change.end_session(token_hash).await?;
            change.record(&[event]).await?;
            change.commit().await?;
            return Ok(SessionCheck::Expired);
        }
        if !session.account.status.may_hold_session() {
            let mut change = self.store.begin(now).await?;
            change.end_session(token_hash).await?;
            change.commit().await?;
            return Ok(SessionCheck::Ended);
        }
        Ok(SessionCheck::Live(Box::new(session)))
    }

    /// Counts a request as activity, writing at most once a minute. When the database
    /// cannot be written (a full disk), the request goes on: the person can still read,
    /// and keep what they were writing, while the session's idle clock is not moved.
    pub async fn keep_alive(&self, session: &SessionUser) -> anyhow::Result<()> {
        let now = self.clock.now();
        if now - session.last_seen_at >= TOUCH_INTERVAL_SECONDS {
            match self.store.touch_session(&session.token_hash, now).await {
                Err(error) if crate::store::storage_unavailable(&error) => {
                    tracing::warn!(%error, "could not record session activity");
                }
                other => other?,
            }
        }
        Ok(())
    }

    /// Whether the session is past its idle or absolute limit.
    pub fn has_expired(&self, session: &SessionUser, now: i64) -> bool {
        now >= session.expires_at
            || now - session.last_seen_at >= self.config.session_idle_seconds()
    }

    /// Whether a browser with this session is fully signed in (the sign-in page then sends
    /// it on instead of asking again).
    pub async fn is_signed_in(&self, token_hash: &str) -> anyhow::Result<bool> {
        Ok(match self.store.session(token_hash).await? {
            Some(session) => {
                !self.has_expired(&session, self.clock.now())
                    && session.account.status.may_hold_session()
                    && !session.second_factor_pending
            }
            None => false,
        })
    }

    /// Ends the session, recording who signed out.
    pub async fn sign_out(&self, token_hash: &str, client_address: &str) -> anyhow::Result<()> {
        let now = self.clock.now();
        let session = self.store.session(token_hash).await?;
        let mut change = self.store.begin(now).await?;
        change.end_session(token_hash).await?;
        if let Some(session) = session {
            let account = &session.account;
            change
                .record(&[Origin::user(account, client_address).user_event(
                    now,
                    EventKind::SignedOut,
                    account.id,
                    serde_json::json!({}),
                )])
                .await?;
        }
        change.commit().await?;
        Ok(())
    }

    /// Removes sessions past their idle or absolute limit; returns how many.
    pub async fn remove_expired_sessions(&self) -> anyhow::Result<u64> {
        Ok(self
            .store
            .delete_expired_sessions(self.clock.now(), self.config.session_idle_seconds())
            .await?)
    }

    /// How many sessions the person has open (shown on their account page).
    pub async fn open_sessions(&self, user_id: i64) -> anyhow::Result<i64> {
        Ok(self.store.count_sessions(user_id).await?)
    }
}
