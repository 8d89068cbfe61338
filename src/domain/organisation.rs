use super::Invalid;

/// What kind of body an organisation is; it decides which powers its admins have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganisationKind {
    Prosecution,
    Defence,
    Court,
    Service,
}

impl OrganisationKind {
    pub const ALL: [Self; 4] = [Self::Prosecution, Self::Defence, Self::Court, Self::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prosecution => "prosecution",
            Self::Defence => "defence",
            Self::Court => "court",
            Self::Service => "service",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Prosecution => "Prosecution office",
            Self::Defence => "Defence firm",
            Self::Court => "Court",
            Self::Service => "Service operator",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == input)
            .ok_or(Invalid("Choose what kind of organisation this is"))
    }
}

/// The registered name of an organisation, e.g. "Glasgow Procurator Fiscal Office".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationName(String);

impl OrganisationName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if value.is_empty() {
            return Err(Invalid("Enter the organisation's name"));
        }
        if value.chars().count() > 120 {
            return Err(Invalid("Organisation name must be 120 characters or fewer"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The area an organisation works in (a sheriffdom or court district). A prosecution
/// office's admins administer the defence firms that share its jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jurisdiction(String);

impl Jurisdiction {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if value.chars().count() > 80 {
            return Err(Invalid("Jurisdiction must be 80 characters or fewer"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in OrganisationKind::ALL {
            assert_eq!(OrganisationKind::parse(kind.as_str()), Ok(kind));
        }
        assert!(OrganisationKind::parse("police").is_err());
    }

    #[test]
    fn names_are_required_and_bounded() {
        assert!(OrganisationName::parse("  ").is_err());
        assert!(OrganisationName::parse(&"x".repeat(121)).is_err());
        assert_eq!(
            OrganisationName::parse(" Glasgow   PF ").map(|n| n.0),
            Ok("Glasgow PF".to_string())
        );
    }
}
