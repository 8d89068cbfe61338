//! How values are shown on pages: times and sizes.

use std::borrow::Borrow;

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
