//! Mail as people write and file it: folders, address lists, subjects and bodies, and
//! which attachments deserve a warning.

use super::{EmailAddress, Invalid};

/// Where a copy of a message is filed in one person's mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Folder {
    Inbox,
    Sent,
    Archive,
    Deleted,
}

impl Folder {
    pub const ALL: [Self; 4] = [Self::Inbox, Self::Sent, Self::Archive, Self::Deleted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbox => "inbox",
            Self::Sent => "sent",
            Self::Archive => "archive",
            Self::Deleted => "deleted",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Inbox => "Inbox",
            Self::Sent => "Sent",
            Self::Archive => "Archive",
            Self::Deleted => "Deleted",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == input)
            .ok_or(Invalid("There is no such folder"))
    }
}

/// How a message was addressed to someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    To,
    Cc,
}

impl Addressing {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::To => "to",
            Self::Cc => "cc",
        }
    }

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        match input {
            "to" => Ok(Self::To),
            "cc" => Ok(Self::Cc),
            _ => Err(Invalid("Unknown kind of addressee")),
        }
    }
}

/// A list of addresses typed into To or Cc: separated by commas, semicolons or spaces,
/// duplicates dropped, order kept. An address written as `Name <address>` is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddressList(Vec<EmailAddress>);

/// An address that could not be read, quoted back to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{0}” is not a valid email address")]
pub struct BadAddress(pub String);

impl AddressList {
    pub const MAX: usize = 100;

    pub fn parse(input: &str) -> Result<Self, BadAddress> {
        let mut out: Vec<EmailAddress> = Vec::new();
        for part in input.split([',', ';', '\n']) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let address = match (part.rfind('<'), part.rfind('>')) {
                (Some(open), Some(close)) if open < close => &part[open + 1..close],
                _ => part,
            };
            for word in address.split_whitespace() {
                let email = EmailAddress::parse(word).map_err(|_| BadAddress(word.to_string()))?;
                if !out.contains(&email) {
                    out.push(email);
                }
            }
        }
        if out.len() > Self::MAX {
            return Err(BadAddress(format!("more than {} addresses", Self::MAX)));
        }
        Ok(Self(out))
    }

    pub fn addresses(&self) -> &[EmailAddress] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As written back into a form field.
    pub fn joined(&self) -> String {
        self.0
            .iter()
            .map(EmailAddress::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A message subject: required, one line, at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if value.is_empty() {
            return Err(Invalid("Enter a subject"));
        }
        if value.chars().count() > 200 {
            return Err(Invalid("Subject must be 200 characters or fewer"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// "Re: …" for a reply, without stacking prefixes.
    pub fn reply(original: &str) -> String {
        if original.to_lowercase().starts_with("re:") {
            original.to_string()
        } else {
            format!("Re: {original}")
        }
    }

    pub fn forward(original: &str) -> String {
        if original.to_lowercase().starts_with("fwd:") {
            original.to_string()
        } else {
            format!("Fwd: {original}")
        }
    }
}

/// A plain-text message body. Line breaks are kept; nothing is interpreted as markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body(String);

impl Body {
    pub const MAX_BYTES: usize = 1024 * 1024;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let value = input.replace("\r\n", "\n");
        if value.trim().is_empty() {
            return Err(Invalid("Enter a message"));
        }
        if value.len() > Self::MAX_BYTES {
            return Err(Invalid(
                "The message is too long: put long documents in an attachment",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether an attachment can carry programs that run when it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentRisk {
    Ordinary,
    /// Office documents that can carry macros.
    Macros,
    /// Programs and scripts.
    Executable,
}

impl AttachmentRisk {
    pub fn of(file_name: &str) -> Self {
        let extension = file_name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .unwrap_or_default();
        match extension.as_str() {
            "docm" | "dotm" | "xlsm" | "xltm" | "xlsb" | "xlam" | "pptm" | "potm" | "ppam"
            | "ppsm" | "sldm" => Self::Macros,
            "exe" | "msi" | "bat" | "cmd" | "com" | "scr" | "pif" | "js" | "jse" | "vbs"
            | "vbe" | "wsf" | "ps1" | "psm1" | "sh" | "jar" | "dll" | "lnk" | "hta" | "cpl"
            | "msc" | "reg" | "iso" | "img" | "appx" | "msix" => Self::Executable,
            _ => Self::Ordinary,
        }
    }

    pub fn warning(self) -> Option<&'static str> {
        match self {
            Self::Ordinary => None,
            Self::Macros => Some(
                "This document can contain macros. Open it only if you expected it, and do \
                 not enable macros unless you trust the sender.",
            ),
            Self::Executable => Some(
                "This file is a program or script. Do not open it unless you are sure it is \
                 safe.",
            ),
        }
    }
}

/// The media type a download is served with: the stored one only when browsers handle it
/// safely, otherwise a generic binary type.
pub fn safe_media_type(stored: &str) -> &'static str {
    match stored.to_ascii_lowercase().as_str() {
        "application/pdf" => "application/pdf",
        "image/png" => "image/png",
        "image/jpeg" => "image/jpeg",
        "image/gif" => "image/gif",
        "text/plain" => "text/plain; charset=utf-8",
        "text/csv" => "text/csv; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The name a person gave a file, without a path or characters a name cannot hold.
/// Browsers send `"` in a multipart file name as `%22` and line breaks as `%0D`/`%0A`
/// (the HTML form encoding); those are turned back, so "Statement \"final\".pdf" keeps its
/// quotes, and line breaks and other control characters become spaces. Quotes and
/// non-ASCII are safe here: pages escape them and downloads encode them (RFC 6266/8187).
pub fn clean_file_name(input: &str) -> String {
    let decoded = input
        .replace("%22", "\"")
        .replace("%0D", " ")
        .replace("%0A", " ");
    let base = decoded.rsplit(['/', '\\']).next().unwrap_or("");
    let spaced: String = base
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(150)
        .collect();
    let cleaned = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    let cleaned = cleaned.trim_start_matches('.').trim().to_string();
    if cleaned.is_empty() {
        "attachment".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_lists_accept_common_separators_and_names() {
        let list = AddressList::parse("Ann <ANN@firm.example>; bob@pf.example,\nann@firm.example")
            .map(|l| l.joined());
        assert_eq!(list, Ok("ann@firm.example, bob@pf.example".to_string()));
        assert_eq!(AddressList::parse("  ").map(|l| l.is_empty()), Ok(true));
    }

    #[test]
    fn address_lists_name_the_bad_address() {
        assert_eq!(
            AddressList::parse("ann@firm.example, bob-at-pf"),
            Err(BadAddress("bob-at-pf".to_string()))
        );
    }

    #[test]
    fn subjects_are_one_bounded_line() {
        assert_eq!(
            Subject::parse(" Disclosure\n  bundle ").map(|s| s.0),
            Ok("Disclosure bundle".to_string())
        );
        assert!(Subject::parse("").is_err());
        assert!(Subject::parse(&"x".repeat(201)).is_err());
        assert_eq!(Subject::reply("Re: Bail"), "Re: Bail");
        assert_eq!(Subject::reply("Bail"), "Re: Bail");
        assert_eq!(Subject::forward("Bail"), "Fwd: Bail");
    }

    #[test]
    fn bodies_keep_lines_and_refuse_blank() {
        assert_eq!(Body::parse("a\r\nb").map(|b| b.0), Ok("a\nb".to_string()));
        assert!(Body::parse(" \n ").is_err());
        assert!(Body::parse(&"x".repeat(Body::MAX_BYTES + 1)).is_err());
    }

    #[test]
    fn risky_attachments_are_recognised() {
        assert_eq!(AttachmentRisk::of("Schedule.XLSM"), AttachmentRisk::Macros);
        assert_eq!(
            AttachmentRisk::of("invoice.pdf.exe"),
            AttachmentRisk::Executable
        );
        assert_eq!(
            AttachmentRisk::of("statement.pdf"),
            AttachmentRisk::Ordinary
        );
        assert_eq!(AttachmentRisk::of("README"), AttachmentRisk::Ordinary);
    }

    #[test]
    fn only_safe_media_types_are_passed_through() {
        assert_eq!(safe_media_type("application/PDF"), "application/pdf");
        assert_eq!(safe_media_type("text/html"), "application/octet-stream");
        assert_eq!(safe_media_type("image/svg+xml"), "application/octet-stream");
    }

    #[test]
    fn file_names_lose_paths_and_keep_quotes() {
        assert_eq!(clean_file_name("C:\\Users\\x\\st\"at.pdf"), "st\"at.pdf");
        assert_eq!(
            clean_file_name("Statement %22final%22%0D%0Av2.pdf"),
            "Statement \"final\" v2.pdf"
        );
        assert_eq!(clean_file_name("a\tb\nc.pdf"), "a b c.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("..."), "attachment");
    }
}
