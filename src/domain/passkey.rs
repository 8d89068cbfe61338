use super::{Invalid, LineRule, tidy_line};

/// The name a person gives a passkey so they can tell their passkeys apart ("Work laptop",
/// "Blue security key").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        tidy_line(
            input,
            &LineRule {
                max_chars: 60,
                empty: "Enter a name for the passkey, such as the device it is on",
                too_long: "Passkey name must be 60 characters or fewer",
                control: "Passkey name must not contain control characters",
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
    fn keeps_a_tidied_name() {
        assert_eq!(
            PasskeyName::parse("  Work   laptop ").map(|n| n.0),
            Ok("Work laptop".to_string())
        );
    }

    #[test]
    fn refuses_empty_long_and_control_characters() {
        assert!(PasskeyName::parse(" ").is_err());
        assert!(PasskeyName::parse(&"k".repeat(61)).is_err());
        assert!(PasskeyName::parse("key\u{7}").is_err());
    }
}
