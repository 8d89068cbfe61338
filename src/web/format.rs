//! How values are shown on pages: times, sizes and reply-by marks.

use std::borrow::Borrow;

use crate::domain::ReplyMark;
use crate::mail::ListedMessage;

/// "23 November 2026, 18:02 GMT". Templates pass references, code passes values.
pub fn time(unix_seconds: impl Borrow<i64>) -> String {
    crate::clock::display_time(*unix_seconds.borrow())
}

/// "18:02", "Mon 18:02" or "23 Nov": a list's date column, relative to `now`.
pub fn short_time(unix_seconds: impl Borrow<i64>, now: impl Borrow<i64>) -> String {
    crate::clock::short_time(*unix_seconds.borrow(), *now.borrow())
}

/// For `<time datetime="…">`.
pub fn iso_time(unix_seconds: impl Borrow<i64>) -> String {
    crate::clock::iso_time(*unix_seconds.borrow())
}

pub fn size(bytes: impl Borrow<u64>) -> String {
    let bytes = *bytes.borrow();
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} bytes")
    } else if b < KIB * KIB {
        format!("{:.0} KB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MB", b / KIB / KIB)
    } else {
        format!("{:.2} GB", b / KIB / KIB / KIB)
    }
}

/// A reply-by mark in words, and the colour of the tag it is shown in.
pub struct ShownReply {
    pub label: String,
    pub class: &'static str,
}

/// What a listed letter shows about the reply asked for: to its recipient what is asked
/// of them, to its sender how the answers stand.
pub fn reply(message: &ListedMessage, now: impl Borrow<i64>) -> Option<ShownReply> {
    let sent = message.replies.is_some();
    Some(reply_mark(message.reply_mark(*now.borrow())?, sent))
}

pub fn reply_mark(mark: ReplyMark, sent: bool) -> ShownReply {
    let date = crate::clock::short_date;
    match mark {
        ReplyMark::Due(by) => ShownReply {
            label: if sent {
                format!("Awaiting reply by {}", date(by))
            } else {
                format!("Reply by {}", date(by))
            },
            class: "govuk-tag--yellow",
        },
        ReplyMark::Overdue(by) => ShownReply {
            label: format!("Overdue, due {}", date(by)),
            class: "govuk-tag--red",
        },
        ReplyMark::Answered => ShownReply {
            label: "Answered".to_string(),
            class: "govuk-tag--green",
        },
        ReplyMark::NotNeeded => ShownReply {
            label: "No reply needed".to_string(),
            class: "govuk-tag--grey",
        },
        ReplyMark::Awaited => ShownReply {
            label: "Needs reply".to_string(),
            class: "govuk-tag--yellow",
        },
    }
}
