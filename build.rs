//! Decides which optional test suites this build can run, so that `cargo test` reports a
//! suite it cannot run as ignored, with the reason and how to run it, instead of passing
//! it silently. CI sets CASEMAIL_TEST_REQUIRE_POSTGRES=1 and CASEMAIL_TEST_REQUIRE_BROWSER=1,
//! and the build fails when a required suite could not run.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(casemail_postgres)");
    println!("cargo::rustc-check-cfg=cfg(casemail_browser)");
    println!("cargo::rustc-check-cfg=cfg(casemail_s3)");
    println!("cargo::rustc-check-cfg=cfg(casemail_postgres_tls)");
    println!("cargo::rustc-check-cfg=cfg(casemail_haproxy)");
    println!("cargo::rustc-check-cfg=cfg(casemail_gateway)");
    for variable in [
        "CASEMAIL_TEST_POSTGRES_URL",
        "CASEMAIL_TEST_REQUIRE_POSTGRES",
        "CASEMAIL_TEST_REQUIRE_BROWSER",
        "CASEMAIL_TEST_REQUIRE_S3",
        "CASEMAIL_TEST_REQUIRE_POSTGRES_TLS",
        "CASEMAIL_TEST_REQUIRE_HAPROXY",
        "CASEMAIL_TEST_REQUIRE_GATEWAY",
        "PATH",
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

    // The object-storage suite runs attachments through a real S3-protocol server.
    if let Some(bin) = cargo_bin() {
        // Installing a program there changes the directory.
        println!("cargo::rerun-if-changed={}", bin.display());
    }
    match find_program("s3s-fs") {
        Some(path) => {
            println!("cargo::rustc-cfg=casemail_s3");
            println!("cargo::rustc-env=CASEMAIL_TEST_S3S_FS={}", path.display());
        }
        None if required("CASEMAIL_TEST_REQUIRE_S3") => panic!(
            "CASEMAIL_TEST_REQUIRE_S3=1 but s3s-fs is not installed \
             (cargo install s3s-fs --version 0.14.1 --features binary --locked)"
        ),
        None => {}
    }

    // Two instances behind a real load balancer.
    match find_program("haproxy")
        .or_else(|| Some(std::path::PathBuf::from("/usr/sbin/haproxy")).filter(|p| p.is_file()))
    {
        Some(path) => {
            println!("cargo::rustc-cfg=casemail_haproxy");
            println!("cargo::rustc-env=CASEMAIL_TEST_HAPROXY={}", path.display());
        }
        None if required("CASEMAIL_TEST_REQUIRE_HAPROXY") => {
            panic!(
                "CASEMAIL_TEST_REQUIRE_HAPROXY=1 but HAProxy is not installed (apt-get install haproxy)"
            )
        }
        None => {}
    }

    // The gateway's peers: Postfix (Casemail's own instance), dnsmasq (DNS for SPF, DKIM
    // and DMARC), aiosmtpd with STARTTLS (a secure domain's server), openssl; as root.
    let gateway_ready = Path::new("/usr/sbin/postfix").exists()
        && Path::new("/usr/sbin/dnsmasq").exists()
        && Path::new("/usr/bin/openssl").exists()
        && std::process::Command::new("/usr/bin/python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success())
        && (std::env::var("USER").as_deref() == Ok("root")
            || std::env::var("HOME").as_deref() == Ok("/root"));
    if gateway_ready {
        println!("cargo::rustc-cfg=casemail_gateway");
    } else if required("CASEMAIL_TEST_REQUIRE_GATEWAY") {
        panic!(
            "CASEMAIL_TEST_REQUIRE_GATEWAY=1 but the gateway's peers are missing (apt-get \
             install postfix dnsmasq-base python3-aiosmtpd openssl; run as root)"
        );
    }

    // PostgreSQL over TLS: the test starts a server of its own with a certificate (as
    // root, running the server as the postgres user), so it needs the server programs.
    let runs_as_root = std::env::var("USER").as_deref() == Ok("root")
        || std::env::var("HOME").as_deref() == Ok("/root");
    match postgres_server_bin() {
        Some(bin) if runs_as_root && Path::new("/usr/bin/openssl").exists() => {
            println!("cargo::rustc-cfg=casemail_postgres_tls");
            println!(
                "cargo::rustc-env=CASEMAIL_TEST_POSTGRES_BIN={}",
                bin.display()
            );
        }
        _ if required("CASEMAIL_TEST_REQUIRE_POSTGRES_TLS") => panic!(
            "CASEMAIL_TEST_REQUIRE_POSTGRES_TLS=1 but the PostgreSQL server programs, openssl \
             or root are missing (apt-get install postgresql openssl; run as root)"
        ),
        _ => {}
    }
}

fn cargo_bin() -> Option<std::path::PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .map(|home| home.join("bin"))
        .filter(|bin| bin.is_dir())
}

/// PostgreSQL's server programs (initdb, pg_ctl), for a throwaway server of the test's own.
fn postgres_server_bin() -> Option<std::path::PathBuf> {
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|version| version.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop()
}

/// A program on the PATH or among cargo's installed binaries.
fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let cargo_bin = cargo_bin();
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
