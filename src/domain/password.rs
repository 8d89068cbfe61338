use super::Invalid;
use secrecy::{ExposeSecret, SecretString};

/// A password that meets the service's policy. Its Debug output is redacted.
pub struct Password(SecretString);

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let chars = input.chars().count();
        if chars == 0 {
            return Err(Invalid("Enter a password"));
        }
        if chars < Self::MIN_CHARS {
            return Err(Invalid("Password must be 12 characters or more"));
        }
        if chars > Self::MAX_CHARS {
            return Err(Invalid("Password must be 256 characters or fewer"));
        }
        if input.trim().is_empty() {
            return Err(Invalid("Password must not be only spaces"));
        }
        Ok(Self(SecretString::from(input)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_length_bounds() {
        assert!(Password::parse("").is_err());
        assert!(Password::parse("short pass!").is_err());
        assert!(Password::parse("twelve chars").is_ok());
        assert!(Password::parse(&"x".repeat(257)).is_err());
        assert!(Password::parse("            ").is_err());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let password = Password::parse("correct horse battery").map(|p| format!("{p:?}"));
        assert_eq!(password, Ok("Password(<redacted>)".to_string()));
    }
}
