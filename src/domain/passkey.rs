use super::Invalid;

/// The name a person gives a passkey so they can tell their passkeys apart ("Work laptop",
/// "Blue security key").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if value.is_empty() {
            return Err(Invalid(
                "Enter a name for the passkey, such as the device it is on",
            ));
        }
        if value.chars().count() > 60 {
            return Err(Invalid("Passkey name must be 60 characters or fewer"));
        }
        if value.chars().any(char::is_control) {
            return Err(Invalid("Passkey name must not contain control characters"));
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
