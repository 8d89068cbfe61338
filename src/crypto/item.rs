//! Small structured items (summaries, drafts, case details, plea terms) as JSON inside an
//! age file: sealed to their readers, opened with one reader's identity.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::envelope::{Recipients, open, seal};
use super::keys::{KeyError, UserIdentity};

/// Encrypts an item to one reader.
pub fn seal_item<T: Serialize>(public_recipient: &str, item: &T) -> Result<Vec<u8>, KeyError> {
    seal_item_to(&Recipients::parse([public_recipient])?, item)
}

/// Encrypts an item to every recipient.
pub fn seal_item_to<T: Serialize>(recipients: &Recipients, item: &T) -> Result<Vec<u8>, KeyError> {
    let plain = serde_json::to_vec(item).map_err(|e| KeyError::Encrypt(e.to_string()))?;
    seal(recipients, &plain)
}

/// Decrypts an item addressed to this reader and reads it back.
pub fn open_item<T: DeserializeOwned>(
    identity: &UserIdentity,
    sealed: &[u8],
) -> Result<T, KeyError> {
    serde_json::from_slice(&open(identity, sealed)?).map_err(|_| KeyError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_opens_only_for_its_reader() -> Result<(), KeyError> {
        let reader = UserIdentity::generate();
        let other = UserIdentity::generate();
        let sealed = seal_item(&reader.recipient(), &vec!["case HMA v Smith".to_string()])?;
        let opened: Vec<String> = open_item(&reader, &sealed)?;
        assert_eq!(opened, vec!["case HMA v Smith".to_string()]);
        assert!(open_item::<Vec<String>>(&other, &sealed).is_err());
        Ok(())
    }
}
