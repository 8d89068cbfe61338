//! Random bearer tokens (session cookies, setup links) and the digests stored for them.
//! Only a digest is stored, so a copy of the database cannot be replayed as a token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// 256 random bits from the operating system, URL-safe base64 without padding.
pub struct RandomToken(String);

impl RandomToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        // The OS random source failing means the machine cannot do cryptography at all;
        // continuing with a predictable token would be worse than stopping.
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut bytes).expect("operating system random source unavailable");
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Lower-case hex SHA-256 of `input`, for storing token digests.
pub fn sha256_hex(input: &[u8]) -> String {
    let digest = Sha256::digest(input);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = RandomToken::generate();
        let b = RandomToken::generate();
        assert_eq!(a.as_str().len(), 43);
        assert_ne!(a.as_str(), b.as_str());
    }

    #[test]
    fn digest_is_stable_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
