//! What every page template needs: asset version, the form token, who is signed in and
//! which navigation item is current.

use super::assets::asset_version;
use super::csrf::CsrfToken;
use super::extract::CurrentUser;
use crate::state::AppState;
use crate::web::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    None,
    Mail,
    Compose,
    Cases,
    Admin,
    Directory,
    Search,
    Account,
}

impl Section {
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Mail => "mail",
            Self::Compose => "compose",
            Self::Cases => "cases",
            Self::Admin => "admin",
            Self::Directory => "directory",
            Self::Search => "search",
            Self::Account => "account",
        }
    }
}

pub struct NavUser {
    pub name: String,
    pub organisation: String,
    /// Unread messages in the inbox, shown in the navigation.
    pub unread: i64,
    /// Letters awaiting the user's reply, and how many of them are overdue.
    pub due: i64,
    pub overdue: i64,
    /// For a delegate at work: whose mailbox this is, and whether they may send from it.
    pub working_in: Option<(String, bool)>,
    /// The mailbox worked in is a team's (its member at work), not a delegated one.
    pub in_team: bool,
    /// Someone has made this person their delegate, or they belong to a team.
    pub has_delegated_mailboxes: bool,
    pub is_service_admin: bool,
    pub is_admin: bool,
}

pub struct Page {
    pub assets: &'static str,
    pub csrf: String,
    pub user: Option<NavUser>,
    pub section: Section,
    /// When the page is made (the application clock), for relative dates in lists.
    pub now: i64,
}

impl Page {
    /// For pages shown before sign-in.
    pub fn anonymous(csrf: &CsrfToken) -> Self {
        Self {
            assets: asset_version(),
            csrf: csrf.0.clone(),
            user: None,
            section: Section::None,
            now: 0,
        }
    }

    /// For error pages, which carry no forms.
    pub fn bare() -> Self {
        Self {
            assets: asset_version(),
            csrf: String::new(),
            user: None,
            section: Section::None,
            now: 0,
        }
    }

    /// For signed-in pages; reads the navigation's counts in one query.
    pub async fn signed_in(
        app: &AppState,
        csrf: &CsrfToken,
        user: &CurrentUser,
        section: Section,
    ) -> Result<Self, AppError> {
        let account = &user.account;
        let person = user.person();
        let counts = app.mail.navigation_counts(account, person).await?;
        let working_in = account
            .acting_delegate
            .as_ref()
            .map(|d| (account.name.clone(), d.can_send));
        Ok(Self {
            assets: asset_version(),
            csrf: csrf.0.clone(),
            user: Some(NavUser {
                name: person.name.clone(),
                organisation: person.organisation.name.clone(),
                unread: counts.unread,
                due: counts.due,
                overdue: counts.overdue,
                // Counted for the person signed in, so a delegate at work counts this one.
                has_delegated_mailboxes: counts.delegated_mailboxes > 0,
                working_in,
                in_team: account.is_team,
                is_service_admin: account.role == crate::domain::Role::ServiceAdmin,
                is_admin: account.role.is_admin(),
            }),
            section,
            now: app.clock.now(),
        })
    }

    /// Whether `name` ("home", "account", …) is the current navigation item.
    pub fn is(&self, name: &str) -> bool {
        self.section.name() == name
    }
}
