//! A mailbox's own symmetric key. Mail arrives sealed with age to the owner's public key,
//! which costs one X25519 key agreement to open; once the owner has opened an item, it is
//! kept sealed under this key instead, so a list of fifty rows costs fifty symmetric
//! decryptions and one key agreement (to unwrap this key). The key is stored only wrapped
//! with age to the mailbox's identity, so the database alone still reads nothing.
//!
//! It has two halves: a sealing key (XChaCha20-Poly1305) and a naming key (HMAC-SHA256)
//! that gives search terms bucket numbers the database cannot reverse.

use std::iter;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::envelope::{Recipients, open, seal};
use super::item::open_item;
use super::keys::{KeyError, UserIdentity};

/// What every item sealed under a mailbox key starts with; age files start differently.
const MAGIC: &[u8] = b"cm-mbx1\n";
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

#[derive(Clone)]
pub struct MailboxKey {
    sealing: Zeroizing<[u8; KEY_LEN]>,
    naming: Zeroizing<[u8; KEY_LEN]>,
    /// Sealing keys replaced by a rotation (a team member left), newest first: items
    /// sealed before still open, nothing new is sealed under them.
    earlier: Vec<Zeroizing<[u8; KEY_LEN]>>,
}

impl MailboxKey {
    pub fn generate() -> Result<Self, KeyError> {
        let mut sealing = Zeroizing::new([0u8; KEY_LEN]);
        let mut naming = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(sealing.as_mut())
            .and_then(|()| getrandom::fill(naming.as_mut()))
            .map_err(|e| KeyError::Encrypt(e.to_string()))?;
        Ok(Self {
            sealing,
            naming,
            earlier: Vec::new(),
        })
    }

    /// A new sealing key, keeping this one for what it sealed. The naming key stays, so
    /// the search postings keep their buckets: it names buckets, it seals nothing.
    pub fn rotated(&self) -> Result<Self, KeyError> {
        let mut sealing = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(sealing.as_mut()).map_err(|e| KeyError::Encrypt(e.to_string()))?;
        let mut earlier = Vec::with_capacity(self.earlier.len() + 1);
        earlier.push(self.sealing.clone());
        earlier.extend(self.earlier.iter().cloned());
        Ok(Self {
            sealing,
            naming: self.naming.clone(),
            earlier,
        })
    }

    /// The key sealed with age to the mailbox's public key, for storing: the sealing key,
    /// the naming key, then any earlier sealing keys.
    pub fn wrap(&self, public_recipient: &str) -> Result<Vec<u8>, KeyError> {
        let mut all = Zeroizing::new(Vec::with_capacity((2 + self.earlier.len()) * KEY_LEN));
        all.extend_from_slice(self.sealing.as_ref());
        all.extend_from_slice(self.naming.as_ref());
        for key in &self.earlier {
            all.extend_from_slice(key.as_ref());
        }
        seal(&Recipients::parse([public_recipient])?, &all)
    }

    pub fn unwrap(identity: &UserIdentity, wrapped: &[u8]) -> Result<Self, KeyError> {
        let all = Zeroizing::new(open(identity, wrapped)?);
        if all.len() < 2 * KEY_LEN || all.len() % KEY_LEN != 0 {
            return Err(KeyError::Malformed);
        }
        let mut keys = all.chunks_exact(KEY_LEN).map(|chunk| {
            let mut key = Zeroizing::new([0u8; KEY_LEN]);
            key.copy_from_slice(chunk);
            key
        });
        let (Some(sealing), Some(naming)) = (keys.next(), keys.next()) else {
            return Err(KeyError::Malformed);
        };
        Ok(Self {
            sealing,
            naming,
            earlier: keys.collect(),
        })
    }

    /// Seals an item as JSON. `context` names what and where the item is (for example
    /// "summary 42"); opening needs the same context, so a sealed value copied into another
    /// row does not open there.
    pub fn seal<T: Serialize>(&self, context: &str, item: &T) -> Result<Vec<u8>, KeyError> {
        let plain =
            Zeroizing::new(serde_json::to_vec(item).map_err(|e| KeyError::Encrypt(e.to_string()))?);
        self.seal_bytes(context, &plain)
    }

    pub fn seal_bytes(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| KeyError::Encrypt(e.to_string()))?;
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|e| KeyError::Encrypt(e.to_string()))?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open<T: DeserializeOwned>(&self, context: &str, sealed: &[u8]) -> Result<T, KeyError> {
        let plain = Zeroizing::new(self.open_bytes(context, sealed)?);
        serde_json::from_slice(&plain).map_err(|_| KeyError::Malformed)
    }

    pub fn open_bytes(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rest = sealed.strip_prefix(MAGIC).ok_or(KeyError::Malformed)?;
        if rest.len() < NONCE_LEN {
            return Err(KeyError::Malformed);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let payload = || Payload {
            msg: body,
            aad: context.as_bytes(),
        };
        let nonce = XNonce::from_slice(nonce);
        // Almost always the current key; the earlier ones only for a rotated mailbox's
        // older items.
        iter::once(&self.sealing)
            .chain(self.earlier.iter())
            .find_map(|key| cipher(key).decrypt(nonce, payload()).ok())
            .ok_or(KeyError::Unwrap)
    }

    /// Opens an item kept under this key, or, if it is still the age item it arrived as,
    /// with the owner's identity.
    pub fn open_either<T: DeserializeOwned>(
        &self,
        identity: &UserIdentity,
        context: &str,
        sealed: &[u8],
    ) -> Result<T, KeyError> {
        if is_mailbox_sealed(sealed) {
            self.open(context, sealed)
        } else {
            open_item(identity, sealed)
        }
    }

    /// A keyed hash of a letter's parts (hex), equal for equal letters under this key and
    /// meaningless without it: how the same letter sent twice is recognised.
    pub fn fingerprint(&self, parts: &[&str]) -> Result<String, KeyError> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.naming.as_ref())
            .map_err(|_| KeyError::Malformed)?;
        mac.update(b"letter");
        for part in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        Ok(mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }

    /// A bucket number in `0..buckets` for a search term, stable for this key and
    /// meaningless without it.
    pub fn bucket(&self, term: &str, buckets: u32) -> Result<u32, KeyError> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.naming.as_ref())
            .map_err(|_| KeyError::Malformed)?;
        mac.update(term.as_bytes());
        let tag = mac.finalize().into_bytes();
        Ok(u32::from_be_bytes([tag[0], tag[1], tag[2], tag[3]]) % buckets.max(1))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        cipher(&self.sealing)
    }
}

fn cipher(key: &[u8; KEY_LEN]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(Key::from_slice(key))
}

/// What an owner reads their mailbox with: their identity, for items as they arrived,
/// and the mailbox key, for items taken in.
#[derive(Clone)]
pub struct MailboxKeys {
    pub identity: UserIdentity,
    pub key: MailboxKey,
}

impl MailboxKeys {
    /// Opens an entry's summary, whichever way it is sealed.
    pub fn open_summary<T: DeserializeOwned>(
        &self,
        entry_id: i64,
        sealed: &[u8],
    ) -> Result<T, KeyError> {
        self.key
            .open_either(&self.identity, &summary_context(entry_id), sealed)
    }

    /// Seals an entry's summary under the mailbox key, bound to that entry.
    pub fn seal_summary<T: Serialize>(&self, entry_id: i64, item: &T) -> Result<Vec<u8>, KeyError> {
        self.key.seal(&summary_context(entry_id), item)
    }
}

impl MailboxKeys {
    /// Opens the owner's copy of a case's details, whichever way it is sealed.
    pub fn open_case_copy<T: DeserializeOwned>(
        &self,
        case_id: i64,
        sealed: &[u8],
    ) -> Result<T, KeyError> {
        self.key
            .open_either(&self.identity, &case_context(case_id), sealed)
    }

    pub fn seal_case_copy<T: Serialize>(
        &self,
        case_id: i64,
        item: &T,
    ) -> Result<Vec<u8>, KeyError> {
        self.key.seal(&case_context(case_id), item)
    }
}

fn case_context(case_id: i64) -> String {
    format!("case {case_id}")
}

fn summary_context(entry_id: i64) -> String {
    format!("summary {entry_id}")
}

/// Whether an item is sealed under a mailbox key (rather than with age).
pub fn is_mailbox_sealed(sealed: &[u8]) -> bool {
    sealed.starts_with(MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::seal_item;

    #[test]
    fn an_item_opens_only_with_its_key_and_context() -> Result<(), KeyError> {
        let key = MailboxKey::generate()?;
        let sealed = key.seal("summary 7", &"HMA v Smith".to_string())?;
        assert!(is_mailbox_sealed(&sealed));
        assert_eq!(key.open::<String>("summary 7", &sealed)?, "HMA v Smith");
        assert!(key.open::<String>("summary 8", &sealed).is_err());
        assert!(
            MailboxKey::generate()?
                .open::<String>("summary 7", &sealed)
                .is_err()
        );
        let needle = b"HMA v Smith";
        assert!(!sealed.windows(needle.len()).any(|w| w == needle));
        Ok(())
    }

    #[test]
    fn a_rotated_key_opens_what_came_before_and_the_old_key_not_what_comes_after()
    -> Result<(), KeyError> {
        let team = UserIdentity::generate();
        let old = MailboxKey::generate()?;
        let before = old.seal("summary 1", &1u8)?;
        let rotated = old.rotated()?;
        let after = rotated.seal("summary 2", &2u8)?;
        let back = MailboxKey::unwrap(&team, &rotated.wrap(&team.recipient())?)?;
        assert_eq!(back.open::<u8>("summary 1", &before)?, 1);
        assert_eq!(back.open::<u8>("summary 2", &after)?, 2);
        assert!(old.open::<u8>("summary 2", &after).is_err());
        assert_eq!(back.bucket("smith", 1024)?, old.bucket("smith", 1024)?);
        Ok(())
    }

    #[test]
    fn the_wrapped_key_opens_only_for_the_owner() -> Result<(), KeyError> {
        let owner = UserIdentity::generate();
        let key = MailboxKey::generate()?;
        let wrapped = key.wrap(&owner.recipient())?;
        let back = MailboxKey::unwrap(&owner, &wrapped)?;
        let sealed = key.seal("summary 1", &1u8)?;
        assert_eq!(back.open::<u8>("summary 1", &sealed)?, 1);
        assert_eq!(back.bucket("smith", 1024)?, key.bucket("smith", 1024)?);
        assert!(MailboxKey::unwrap(&UserIdentity::generate(), &wrapped).is_err());
        Ok(())
    }

    #[test]
    fn either_form_opens_and_buckets_depend_on_the_key() -> Result<(), KeyError> {
        let owner = UserIdentity::generate();
        let key = MailboxKey::generate()?;
        let arrived = seal_item(&owner.recipient(), &"letter".to_string())?;
        assert!(!is_mailbox_sealed(&arrived));
        assert_eq!(key.open_either::<String>(&owner, "x", &arrived)?, "letter");
        let other = MailboxKey::generate()?;
        let mut differ = false;
        for term in ["smith", "bail", "witness", "diet", "plea", "court"] {
            differ |= key.bucket(term, 1 << 30)? != other.bucket(term, 1 << 30)?;
        }
        assert!(differ, "another key names the same terms differently");
        Ok(())
    }
}
