//! Content encryption: small items (message envelopes, per-reader summaries, drafts) as
//! whole age files, and attachments as age streams that never sit whole in memory.

use std::io::{BufRead, Read, Write};

use age::x25519;
use sha2::{Digest, Sha256};

use super::keys::{KeyError, UserIdentity, parse_recipient};

/// The public keys a piece of content is addressed to.
#[derive(Clone)]
pub struct Recipients(Vec<x25519::Recipient>);

impl Recipients {
    /// Parses stored `age1…` public keys; duplicates are harmless but skipped.
    pub fn parse<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<Self, KeyError> {
        let mut out: Vec<x25519::Recipient> = Vec::new();
        for key in keys {
            let recipient = parse_recipient(key)?;
            if !out.iter().any(|r| r.to_string() == recipient.to_string()) {
                out.push(recipient);
            }
        }
        if out.is_empty() {
            return Err(KeyError::Encrypt("no recipients".into()));
        }
        Ok(Self(out))
    }

    fn encryptor(&self) -> Result<age::Encryptor, KeyError> {
        age::Encryptor::with_recipients(self.0.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| KeyError::Encrypt(e.to_string()))
    }
}

/// Encrypts a small item to every recipient.
pub fn seal(recipients: &Recipients, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
    let mut out = Vec::with_capacity(plaintext.len() + 200 * recipients.0.len());
    let mut writer = recipients
        .encryptor()?
        .wrap_output(&mut out)
        .map_err(|e| KeyError::Encrypt(e.to_string()))?;
    writer
        .write_all(plaintext)
        .and_then(|()| writer.finish().map(drop))
        .map_err(|e| KeyError::Encrypt(e.to_string()))?;
    Ok(out)
}

/// Decrypts a small item with one reader's identity.
pub fn open(identity: &UserIdentity, ciphertext: &[u8]) -> Result<Vec<u8>, KeyError> {
    let mut reader = opening_reader(identity, ciphertext)?;
    let mut out = Vec::with_capacity(ciphertext.len());
    reader.read_to_end(&mut out).map_err(|_| KeyError::Unwrap)?;
    Ok(out)
}

/// Streams plaintext in and ciphertext out, counting the plaintext and hashing it so the
/// recipient can check what they downloaded.
pub struct SealingWriter<W: Write> {
    inner: age::stream::StreamWriter<W>,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> SealingWriter<W> {
    pub fn new(recipients: &Recipients, output: W) -> Result<Self, KeyError> {
        let inner = recipients
            .encryptor()?
            .wrap_output(output)
            .map_err(|e| KeyError::Encrypt(e.to_string()))?;
        Ok(Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Completes the age stream; returns the output, plaintext size and SHA-256 (hex).
    pub fn finish(self) -> std::io::Result<(W, u64, String)> {
        let output = self.inner.finish()?;
        let digest = self.hasher.finalize();
        let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok((output, self.size, hex))
    }
}

impl<W: Write> Write for SealingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader of the plaintext of an age stream addressed to `identity`.
pub fn opening_reader<R: BufRead>(
    identity: &UserIdentity,
    input: R,
) -> Result<impl Read, KeyError> {
    let decryptor = age::Decryptor::new_buffered(input).map_err(|_| KeyError::Malformed)?;
    decryptor
        .decrypt(identity.age_identities())
        .map_err(|_| KeyError::Unwrap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recipient_and_only_they_can_open() -> Result<(), KeyError> {
        let ann = UserIdentity::generate();
        let bob = UserIdentity::generate();
        let eve = UserIdentity::generate();
        let recipients = Recipients::parse([ann.recipient().as_str(), bob.recipient().as_str()])?;
        let sealed = seal(&recipients, b"plea terms")?;
        assert_eq!(open(&ann, &sealed)?, b"plea terms");
        assert_eq!(open(&bob, &sealed)?, b"plea terms");
        assert!(open(&eve, &sealed).is_err());
        Ok(())
    }

    #[test]
    fn streams_round_trip_with_size_and_digest() -> Result<(), Box<dyn std::error::Error>> {
        let ann = UserIdentity::generate();
        let recipients = Recipients::parse([ann.recipient().as_str()])?;
        let mut writer = SealingWriter::new(&recipients, Vec::new())?;
        let data = vec![7u8; 200_000];
        writer.write_all(&data)?;
        let (sealed, size, digest) = writer.finish()?;
        assert_eq!(size, 200_000);
        assert_eq!(digest, crate::crypto::sha256_hex(&data));
        let mut plain = Vec::new();
        opening_reader(&ann, &sealed[..])?.read_to_end(&mut plain)?;
        assert_eq!(plain, data);
        Ok(())
    }
}
