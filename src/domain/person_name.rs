use super::Invalid;

/// A person's full name as shown to their correspondents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if value.is_empty() {
            return Err(Invalid("Enter a full name"));
        }
        if value.chars().count() > 100 {
            return Err(Invalid("Full name must be 100 characters or fewer"));
        }
        if value.chars().any(char::is_control) {
            return Err(Invalid("Full name must not contain control characters"));
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
    fn collapses_inner_whitespace() {
        assert_eq!(
            PersonName::parse("  Morag   MacLeod ").map(|n| n.0),
            Ok("Morag MacLeod".to_string())
        );
    }

    #[test]
    fn keeps_names_from_any_script() {
        assert!(PersonName::parse("Siobhán Ó Ceallaigh").is_ok());
        assert!(PersonName::parse("李小龍").is_ok());
    }

    #[test]
    fn refuses_empty_long_and_control_characters() {
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"a".repeat(101)).is_err());
        assert!(PersonName::parse("Ann\u{0}Smith").is_err());
    }
}
