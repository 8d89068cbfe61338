//! Decides which optional test suites this build can run, so that `cargo test` reports a
//! suite it cannot run as ignored, with the reason and how to run it, instead of passing
//! it silently. CI sets CASEMAIL_TEST_REQUIRE_POSTGRES=1 and CASEMAIL_TEST_REQUIRE_BROWSER=1,
//! and the build fails when a required suite could not run.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(casemail_postgres)");
    println!("cargo::rustc-check-cfg=cfg(casemail_browser)");
    for variable in [
        "CASEMAIL_TEST_POSTGRES_URL",
        "CASEMAIL_TEST_REQUIRE_POSTGRES",
        "CASEMAIL_TEST_REQUIRE_BROWSER",
    ] {
        println!("cargo::rerun-if-env-changed={variable}");
    }
    // Installing the npm packages changes this directory.
    println!("cargo::rerun-if-changed=tests/browser");
    println!("cargo::rerun-if-changed=build.rs");

    let required = |variable: &str| std::env::var(variable).as_deref() == Ok("1");
    if std::env::var("CASEMAIL_TEST_POSTGRES_URL").is_ok() {
        println!("cargo::rustc-cfg=casemail_postgres");
    } else if required("CASEMAIL_TEST_REQUIRE_POSTGRES") {
        panic!("CASEMAIL_TEST_REQUIRE_POSTGRES=1 but CASEMAIL_TEST_POSTGRES_URL is not set");
    }

    let browser = Path::new("tests/browser/node_modules");
    let browser_ready = Path::new("/usr/bin/chromium").exists()
        && browser.join("playwright-core").exists()
        && browser.join("axe-core").exists();
    if browser_ready {
        println!("cargo::rustc-cfg=casemail_browser");
    } else if required("CASEMAIL_TEST_REQUIRE_BROWSER") {
        panic!(
            "CASEMAIL_TEST_REQUIRE_BROWSER=1 but Chromium or tests/browser/node_modules is \
             missing (apt-get install chromium; npm ci --prefix tests/browser)"
        );
    }
}
