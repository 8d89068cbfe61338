//! What the server writes to its log when it is not on a terminal: plain lines without
//! colour codes, or with CASEMAIL_LOG_FORMAT=json one JSON object per line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The first log lines of a fresh server, up to the one saying it is serving.
fn first_lines(format: &str) -> Vec<String> {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let mut server = Command::new(env!("CARGO_BIN_EXE_casemail"))
        .env("CASEMAIL_BIND", "127.0.0.1:0")
        .env("CASEMAIL_DATA_DIR", dir.path())
        .env("CASEMAIL_SCHEDULED_JOBS", "false")
        .env("CASEMAIL_LOG_FORMAT", format)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the casemail binary");
    let stdout = server.stdout.take().expect("stdout");
    let started = Instant::now();
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a log line");
        let serving = line.contains("is serving on");
        lines.push(line);
        if serving || started.elapsed() > Duration::from_secs(30) {
            break;
        }
    }
    server.kill().expect("stop the server");
    server.wait().expect("reap");
    assert!(
        lines.iter().any(|l| l.contains("is serving on")),
        "the server started: {lines:?}"
    );
    lines
}

#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    for line in first_lines("text") {
        assert!(!line.contains('\u{1b}'), "colour code in {line:?}");
    }
}

#[test]
fn json_logs_are_one_object_per_line() {
    for line in first_lines("json") {
        let value: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert!(value.get("level").is_some(), "{line}");
        assert!(value.get("fields").is_some(), "{line}");
    }
}
