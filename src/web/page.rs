//! What every page template needs: asset version, the form token, who is signed in and
//! which navigation item is current.

use super::assets::asset_version;
use super::csrf::CsrfToken;
use super::extract::CurrentUser;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    None,
    Home,
    Account,
}

impl Section {
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Home => "home",
            Self::Account => "account",
        }
    }
}

pub struct NavUser {
    pub name: String,
    pub organisation: String,
}

pub struct Page {
    pub assets: &'static str,
    pub csrf: String,
    pub user: Option<NavUser>,
    pub section: Section,
}

impl Page {
    /// For pages shown before sign-in.
    pub fn anonymous(csrf: &CsrfToken) -> Self {
        Self {
            assets: asset_version(),
            csrf: csrf.0.clone(),
            user: None,
            section: Section::None,
        }
    }

    /// For error pages, which carry no forms.
    pub fn bare() -> Self {
        Self {
            assets: asset_version(),
            csrf: String::new(),
            user: None,
            section: Section::None,
        }
    }

    pub fn signed_in(csrf: &CsrfToken, user: &CurrentUser, section: Section) -> Self {
        let account = &user.account;
        Self {
            assets: asset_version(),
            csrf: csrf.0.clone(),
            user: Some(NavUser {
                name: account.name.clone(),
                organisation: account.organisation.name.clone(),
            }),
            section,
        }
    }

    /// Whether `name` ("home", "account", …) is the current navigation item.
    pub fn is(&self, name: &str) -> bool {
        self.section.name() == name
    }
}
