//! A user's age X25519 identity and the three ways it is kept at rest:
//! wrapped under their password (scrypt), wrapped to the deployment's recovery recipient,
//! and, while signed in, wrapped to a per-session key whose secret lives only in the
//! browser's cookie.

use std::io::{Read, Write};
use std::iter;
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;
use zeroize::Zeroizing;

/// scrypt work factor (log2 N) for the password wrap. 2^15 costs about 80 ms and 32 MiB on
/// the reference machine, which keeps sign-in (argon2 + this unwrap) well under 300 ms while
/// making each offline guess against a stolen database as costly as that.
pub const PASSWORD_WRAP_LOG_N: u8 = 15;

/// scrypt work factor for the recovery-code wrap (the code itself is the strength).
pub const RECOVERY_CODE_LOG_N: u8 = 10;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key could not be unwrapped (wrong secret or damaged data)")]
    Unwrap,
    #[error("the wrapped key is not a valid identity")]
    Malformed,
    #[error("encryption failed: {0}")]
    Encrypt(String),
}

/// A mailbox's private identity, unwrapped in memory for the length of one operation.
/// A person's has one key. A team's gains a key each time it is rotated (when a member
/// leaves): new mail is sealed to the newest key only, and the earlier keys travel with
/// it so that the members who remain still read the team's history.
#[derive(Clone)]
pub struct UserIdentity {
    current: x25519::Identity,
    earlier: Vec<x25519::Identity>,
}

impl UserIdentity {
    pub fn generate() -> Self {
        Self {
            current: x25519::Identity::generate(),
            earlier: Vec::new(),
        }
    }

    /// An identity kept in a file of the server's own (the gateway's key): the first
    /// `AGE-SECRET-KEY-…` line of `text`; comment lines are skipped.
    pub fn from_secret_text(text: &str) -> Result<Self, KeyError> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .ok_or(KeyError::Malformed)?;
        Ok(Self {
            current: x25519::Identity::from_str(line).map_err(|_| KeyError::Malformed)?,
            earlier: Vec::new(),
        })
    }

    /// The current key's secret, in age's text form, to be written to such a file.
    pub fn secret_text(&self) -> SecretString {
        self.current.to_string()
    }

    /// A new current key, keeping this identity's keys as earlier ones.
    pub fn rotated(&self) -> Self {
        let mut earlier = Vec::with_capacity(self.earlier.len() + 1);
        earlier.push(self.current.clone());
        earlier.extend(self.earlier.iter().cloned());
        Self {
            current: x25519::Identity::generate(),
            earlier,
        }
    }

    /// The public half of the current key, stored in clear so that anyone can encrypt to
    /// this mailbox.
    pub fn recipient(&self) -> String {
        self.current.to_public().to_string()
    }

    /// Every key, newest first, for opening what was sealed to any of them.
    pub fn age_identities(&self) -> impl Iterator<Item = &dyn age::Identity> {
        iter::once(&self.current)
            .chain(self.earlier.iter())
            .map(|key| key as &dyn age::Identity)
    }

    pub fn wrap_with_password(&self, password: &SecretString) -> Result<Vec<u8>, KeyError> {
        let mut recipient = age::scrypt::Recipient::new(password.clone());
        recipient.set_work_factor(PASSWORD_WRAP_LOG_N);
        self.wrap(&recipient)
    }

    /// Wraps under a generated recovery code. The code carries ~100 random bits, so the
    /// work factor only needs to be token: guessing is hopeless either way.
    pub fn wrap_with_code(&self, code: &SecretString) -> Result<Vec<u8>, KeyError> {
        let mut recipient = age::scrypt::Recipient::new(code.clone());
        recipient.set_work_factor(RECOVERY_CODE_LOG_N);
        self.wrap(&recipient)
    }

    pub fn unwrap_with_code(wrapped: &[u8], code: &SecretString) -> Result<Self, KeyError> {
        let mut identity = age::scrypt::Identity::new(code.clone());
        identity.set_max_work_factor(RECOVERY_CODE_LOG_N);
        Self::unwrap(wrapped, &identity)
    }

    pub fn unwrap_with_password(wrapped: &[u8], password: &SecretString) -> Result<Self, KeyError> {
        let mut identity = age::scrypt::Identity::new(password.clone());
        // Refuse stored wraps that demand more work than we ever write: a tampered row must
        // not be able to make sign-in burn seconds of CPU and a gigabyte of memory.
        identity.set_max_work_factor(PASSWORD_WRAP_LOG_N);
        Self::unwrap(wrapped, &identity)
    }

    /// Wraps to an age X25519 recipient (the recovery recipient or a session key).
    pub fn wrap_to(&self, recipient: &x25519::Recipient) -> Result<Vec<u8>, KeyError> {
        self.wrap(recipient)
    }

    pub fn unwrap_with(wrapped: &[u8], identity: &x25519::Identity) -> Result<Self, KeyError> {
        Self::unwrap(wrapped, identity)
    }

    /// Unwraps what was wrapped to `holder` (a mailbox identity wrapped to a member or a
    /// delegate).
    pub fn unwrap_for(wrapped: &[u8], holder: &Self) -> Result<Self, KeyError> {
        Self::unwrap_any(wrapped, holder.age_identities())
    }

    fn wrap(&self, recipient: &dyn age::Recipient) -> Result<Vec<u8>, KeyError> {
        // One key per line, the current one first.
        let mut secret = Zeroizing::new(self.current.to_string().expose_secret().to_string());
        for key in &self.earlier {
            secret.push('\n');
            secret.push_str(key.to_string().expose_secret());
        }
        let encryptor = age::Encryptor::with_recipients(iter::once(recipient))
            .map_err(|e| KeyError::Encrypt(e.to_string()))?;
        let mut out = Vec::with_capacity(256);
        let mut writer = encryptor
            .wrap_output(&mut out)
            .map_err(|e| KeyError::Encrypt(e.to_string()))?;
        writer
            .write_all(secret.as_bytes())
            .and_then(|()| writer.finish().map(drop))
            .map_err(|e| KeyError::Encrypt(e.to_string()))?;
        Ok(out)
    }

    fn unwrap(wrapped: &[u8], identity: &dyn age::Identity) -> Result<Self, KeyError> {
        Self::unwrap_any(wrapped, iter::once(identity))
    }

    fn unwrap_any<'a>(
        wrapped: &[u8],
        identities: impl Iterator<Item = &'a dyn age::Identity>,
    ) -> Result<Self, KeyError> {
        let decryptor = age::Decryptor::new_buffered(wrapped).map_err(|_| KeyError::Malformed)?;
        let mut reader = decryptor
            .decrypt(identities)
            .map_err(|_| KeyError::Unwrap)?;
        let mut plain = Zeroizing::new(String::new());
        reader
            .read_to_string(&mut plain)
            .map_err(|_| KeyError::Unwrap)?;
        let mut keys = plain
            .lines()
            .map(|line| x25519::Identity::from_str(line.trim()).map_err(|_| KeyError::Malformed));
        let current = keys.next().ok_or(KeyError::Malformed)??;
        let earlier = keys.collect::<Result<Vec<_>, _>>()?;
        Ok(Self { current, earlier })
    }
}

/// A fresh key for one signed-in session. The secret half goes to the browser in the
/// session cookie; the server keeps only the user's identity wrapped to the public half, so
/// neither the database nor the cookie alone can unwrap it.
pub struct SessionKey(x25519::Identity);

impl SessionKey {
    pub fn generate() -> Self {
        Self(x25519::Identity::generate())
    }

    pub fn parse(secret: &str) -> Result<Self, KeyError> {
        x25519::Identity::from_str(secret)
            .map(Self)
            .map_err(|_| KeyError::Malformed)
    }

    pub fn secret(&self) -> SecretString {
        self.0.to_string()
    }

    pub fn seal(&self, identity: &UserIdentity) -> Result<Vec<u8>, KeyError> {
        identity.wrap_to(&self.0.to_public())
    }

    pub fn open(&self, wrapped: &[u8]) -> Result<UserIdentity, KeyError> {
        UserIdentity::unwrap_with(wrapped, &self.0)
    }
}

/// Writes a secret identity to a new file only its owner reads (mode 0600), never over an
/// existing one: `about` (comment lines), the public key, then the secret.
pub fn write_identity_file(
    path: &std::path::Path,
    about: &str,
    public: &str,
    secret: &SecretString,
) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    for line in about.lines() {
        writeln!(file, "# {}", line.trim())?;
    }
    writeln!(file, "# public key: {public}\n{}", secret.expose_secret())?;
    file.sync_all()
}

/// Parses an age X25519 public key such as the configured recovery recipient.
pub fn parse_recipient(input: &str) -> Result<x25519::Recipient, KeyError> {
    x25519::Recipient::from_str(input.trim()).map_err(|_| KeyError::Malformed)
}

/// A new recovery key pair: (public recipient, secret identity in age's text format).
pub fn generate_recovery_key_pair() -> (String, SecretString) {
    let identity = x25519::Identity::generate();
    (identity.to_public().to_string(), identity.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn password_wrap_round_trips_and_refuses_wrong_password() -> Result<(), KeyError> {
        let identity = UserIdentity::generate();
        let wrapped = identity.wrap_with_password(&secret("correct horse battery"))?;
        let back = UserIdentity::unwrap_with_password(&wrapped, &secret("correct horse battery"))?;
        assert_eq!(back.recipient(), identity.recipient());
        assert!(matches!(
            UserIdentity::unwrap_with_password(&wrapped, &secret("wrong horse battery")),
            Err(KeyError::Unwrap)
        ));
        Ok(())
    }

    #[test]
    fn wrapped_key_does_not_contain_the_secret() -> Result<(), KeyError> {
        let identity = UserIdentity::generate();
        let wrapped = identity.wrap_with_password(&secret("correct horse battery"))?;
        let plain = identity.current.to_string();
        let needle = plain.expose_secret().as_bytes();
        assert!(!wrapped.windows(needle.len()).any(|w| w == needle));
        Ok(())
    }

    #[test]
    fn session_key_opens_only_its_own_seal() -> Result<(), KeyError> {
        let identity = UserIdentity::generate();
        let session = SessionKey::generate();
        let sealed = session.seal(&identity)?;
        let reparsed = SessionKey::parse(session.secret().expose_secret())?;
        assert_eq!(reparsed.open(&sealed)?.recipient(), identity.recipient());
        assert!(SessionKey::generate().open(&sealed).is_err());
        Ok(())
    }

    #[test]
    fn recovery_pair_unwraps_what_was_wrapped_to_it() -> Result<(), KeyError> {
        let (public, private) = generate_recovery_key_pair();
        let identity = UserIdentity::generate();
        let wrapped = identity.wrap_to(&parse_recipient(&public)?)?;
        let custodian =
            x25519::Identity::from_str(private.expose_secret()).map_err(|_| KeyError::Malformed)?;
        assert_eq!(
            UserIdentity::unwrap_with(&wrapped, &custodian)?.recipient(),
            identity.recipient()
        );
        Ok(())
    }

    #[test]
    fn a_rotated_identity_opens_old_and_new_mail_and_the_old_one_only_old() -> Result<(), KeyError>
    {
        let team = UserIdentity::generate();
        let before = crate::crypto::seal(
            &crate::crypto::Recipients::parse([team.recipient().as_str()])?,
            b"history",
        )?;
        let rotated = team.rotated();
        assert_ne!(rotated.recipient(), team.recipient());
        let after = crate::crypto::seal(
            &crate::crypto::Recipients::parse([rotated.recipient().as_str()])?,
            b"later",
        )?;
        // The rotated identity survives a wrap to a member with every key.
        let member = UserIdentity::generate();
        let wrapped = rotated.wrap_to(&parse_recipient(&member.recipient())?)?;
        let unwrapped = UserIdentity::unwrap_for(&wrapped, &member)?;
        assert_eq!(crate::crypto::open(&unwrapped, &before)?, b"history");
        assert_eq!(crate::crypto::open(&unwrapped, &after)?, b"later");
        assert!(crate::crypto::open(&team, &after).is_err());
        Ok(())
    }
}
