//! Accounts and their keys: creating them, signing in and out, sessions, passwords,
//! registration and invitations, recovery, and the deployment's recovery key.
//!
//! Every change is written with its audit event in one store change.

mod create;
mod delegation;
mod password;
mod profile;
mod recovery;
mod recovery_key;
mod registration;
mod sessions;
mod sign_in;
mod teams;
pub mod throttle;

use std::sync::Arc;

use crate::auth::Kdf;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

pub use create::{AccountDraft, CreateAccountError};
pub use delegation::{DelegatedMailbox, DelegationProblem};
pub use password::ChangePasswordError;
pub use recovery::{RecoveryError, new_recovery_code, normalise_recovery_code};
pub use registration::{
    Firm, FirstAdministrator, InvitationProblem, Registration, RegistrationProblem,
};
pub use sessions::SessionCheck;
pub use sign_in::{DEVICE_REMEMBERED_SECONDS, SignInAttempt, SignInError, SignedIn};
pub use teams::{TeamDraft, TeamProblem};

#[derive(Clone)]
pub struct Accounts {
    store: Store,
    config: Arc<Config>,
    clock: Clock,
    kdf: Kdf,
}

impl Accounts {
    pub fn new(store: Store, config: Arc<Config>, clock: Clock, kdf: Kdf) -> Self {
        Self {
            store,
            config,
            clock,
            kdf,
        }
    }
}
