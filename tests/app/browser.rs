//! Runs the real-browser journeys (tests/browser, playwright-core driving Debian's
//! Chromium, with axe-core) against the casemail binary built for this test run.
//! Skipped when Chromium or the npm packages are missing, unless
//! CASEMAIL_TEST_REQUIRE_BROWSER=1 (CI), where missing them fails.

use std::path::Path;
use std::process::Command;

#[test]
fn browser_journeys_pass_with_no_accessibility_violations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let ready = Path::new("/usr/bin/chromium").exists()
        && dir.join("node_modules/playwright-core").exists()
        && dir.join("node_modules/axe-core").exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !ready {
        assert!(
            std::env::var("CASEMAIL_TEST_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "CASEMAIL_TEST_REQUIRE_BROWSER=1 but Chromium or tests/browser/node_modules is missing \
             (apt-get install chromium; npm ci --prefix tests/browser)"
        );
        eprintln!(
            "skipping the browser journeys: install chromium and run npm ci in tests/browser"
        );
        return;
    }
    let output = Command::new("node")
        .args(["--test", "--test-concurrency=1", "journeys.test.mjs"])
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
