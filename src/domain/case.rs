//! Criminal cases: references, courts, charges.

use super::Invalid;

/// A case reference such as `PF/2026/000123` or a court number. Unique within the owning
/// prosecution office; stored upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReference(String);

impl CaseReference {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.trim().to_uppercase();
        if value.is_empty() {
            return Err(Invalid("Enter the case reference"));
        }
        if value.len() > 40 {
            return Err(Invalid("Case reference must be 40 characters or fewer"));
        }
        let allowed = value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.' | ' '));
        if !allowed || !value.chars().any(|c| c.is_ascii_digit()) {
            return Err(Invalid(
                "Enter the case reference as it appears on the papers, like PF/2026/000123",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    Open,
    Concluded,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Concluded => "concluded",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        match input {
            "open" => Ok(Self::Open),
            "concluded" => Ok(Self::Concluded),
            _ => Err(Invalid("Unknown case status")),
        }
    }
}

/// The charges as a numbered list: one wording per non-empty line.
pub fn parse_charges(input: &str) -> Result<Vec<String>, Invalid> {
    let charges: Vec<String> = input
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    if charges.is_empty() {
        return Err(Invalid("Enter at least one charge, one per line"));
    }
    if charges.len() > 50 {
        return Err(Invalid("Enter 50 charges or fewer"));
    }
    if charges.iter().any(|c| c.chars().count() > 2000) {
        return Err(Invalid("Each charge must be 2,000 characters or fewer"));
    }
    Ok(charges)
}

/// A short required line of text (title, court, accused).
pub fn parse_line(input: &str, missing: &'static str, limit: usize) -> Result<String, Invalid> {
    let value = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if value.is_empty() {
        return Err(Invalid(missing));
    }
    if value.chars().count() > limit {
        return Err(Invalid("That is too long: shorten it"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_normalised_and_checked() {
        assert_eq!(
            CaseReference::parse(" pf/2026/000123 ").map(|r| r.0),
            Ok("PF/2026/000123".to_string())
        );
        assert!(CaseReference::parse("").is_err());
        assert!(CaseReference::parse("no digits").is_err());
        assert!(CaseReference::parse("PF/2026/<script>").is_err());
        assert!(CaseReference::parse(&"1".repeat(41)).is_err());
    }

    #[test]
    fn charges_are_one_per_line() {
        assert_eq!(
            parse_charges("Assault to injury\n\n  Breach of the peace  \n"),
            Ok(vec![
                "Assault to injury".to_string(),
                "Breach of the peace".to_string()
            ])
        );
        assert!(parse_charges(" \n ").is_err());
    }
}
