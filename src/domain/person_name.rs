use super::{Invalid, LineRule, tidy_line};

/// A person's full name as shown to their correspondents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        tidy_line(
            input,
            &LineRule {
                max_chars: 100,
                empty: "Enter a full name",
                too_long: "Full name must be 100 characters or fewer",
                control: "Full name must not contain control characters",
            },
        )
        .map(Self)
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
