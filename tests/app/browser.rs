//! Runs the real-browser journeys (tests/browser, playwright-core driving Debian's
//! Chromium, with axe-core) against the casemail binary built for this test run.
//! Built as ignored, saying how to run it, when Chromium or the npm packages are missing
//! (see build.rs); CI requires them.

use std::path::Path;
use std::process::Command;

#[test]
#[cfg_attr(
    not(casemail_browser),
    ignore = "browser suite: apt-get install chromium nodejs npm, then npm ci --prefix tests/browser"
)]
fn browser_journeys_pass_with_no_accessibility_violations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let output = Command::new("node")
        // A process a journey left behind must not hold the run open once the journeys end.
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-force-exit",
            "journeys.test.mjs",
        ])
        .current_dir(&dir)
        .env("CASEMAIL_BIN", env!("CARGO_BIN_EXE_casemail"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "browser journeys failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("# fail 0"), "{report}");
}
