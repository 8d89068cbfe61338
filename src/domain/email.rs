use super::Invalid;

/// An email address: a person's sign-in name and their Casemail address.
///
/// Stored lower-cased so that `Ann@Firm.example` and `ann@firm.example` are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.trim().to_lowercase();
        if value.is_empty() {
            return Err(Invalid("Enter an email address"));
        }
        if value.len() > 254 {
            return Err(Invalid("Email address must be 254 characters or fewer"));
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err(Invalid(
                "Enter an email address in the correct format, like name@example.org",
            ));
        };
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && value
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | ',' | ';'));
        if !well_formed {
            return Err(Invalid(
                "Enter an email address in the correct format, like name@example.org",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        let email = EmailAddress::parse("  Ann.Smith@Firm.Example ").map(|e| e.0);
        assert_eq!(email, Ok("ann.smith@firm.example".to_string()));
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "ann",
            "ann@",
            "@firm.example",
            "ann@firm",
            "ann@@firm.example",
            "ann@firm..example",
            "ann smith@firm.example",
            "ann@.firm.example",
            "<ann>@firm.example",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn refuses_overlong_addresses() {
        let long = format!("{}@firm.example", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }
}
