//! PostgreSQL over TLS with the server's certificate verified (sslmode=verify-full), against
//! a throwaway server of the test's own that refuses connections without TLS.

use std::path::{Path, PathBuf};
use std::process::Command;

use casemail::clock::Clock;
use casemail::config::Config;
use casemail::domain::OrganisationKind;
use casemail::state::Casemail;

use crate::helpers::run_ok;

/// A PostgreSQL server on 127.0.0.1 with a certificate for `localhost` from a CA of its
/// own, accepting only TLS connections; stopped and removed when dropped.
struct TlsPostgres {
    dir: tempfile::TempDir,
    port: u16,
}

/// A CA, and a server certificate from it for localhost and 127.0.0.1.
fn certificates(dir: &Path, prefix: &str) {
    let ca_key = format!("{prefix}ca.key");
    let ca = format!("{prefix}ca.pem");
    run_ok(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=Casemail test CA",
            "-keyout",
            &ca_key,
            "-out",
            &ca,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        dir,
    );
    if !prefix.is_empty() {
        return;
    }
    run_ok(
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
        dir,
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write the extensions");
    run_ok(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
        dir,
    );
}

impl TlsPostgres {
    fn start() -> Self {
        let Some(bin) = option_env!("CASEMAIL_TEST_POSTGRES_BIN") else {
            panic!("the PostgreSQL server programs were not found when the tests were built");
        };
        let dir = tempfile::TempDir::new().expect("a directory for the server");
        let path = dir.path();
        certificates(path, "");
        certificates(path, "other-");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let data = path.join("data");
        std::fs::create_dir(&data).expect("the data directory");
        run_ok(
            "chown",
            &["-R", "postgres:postgres", &path.display().to_string()],
            path,
        );
        run_ok("chmod", &["700", &data.display().to_string()], path);
        let as_postgres = |args: &[&str]| {
            let mut all = vec!["-u", "postgres", "--"];
            all.extend_from_slice(args);
            run_ok("runuser", &all, path);
        };
        let initdb = format!("{bin}/initdb");
        let data_arg = data.display().to_string();
        as_postgres(&[
            &initdb,
            "-D",
            &data_arg,
            "--auth=trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
        ]);
        for (file, mode) in [("server.key", "600"), ("server.crt", "644")] {
            run_ok(
                "install",
                &[
                    "-o",
                    "postgres",
                    "-g",
                    "postgres",
                    "-m",
                    mode,
                    file,
                    &format!("{data_arg}/{file}"),
                ],
                path,
            );
        }
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).expect("the config");
        conf.push_str(&format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
             ssl_min_protocol_version = 'TLSv1.2'\nfsync = off\n",
            path.display()
        ));
        std::fs::write(data.join("postgresql.conf"), conf).expect("write the config");
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostnossl all all 0.0.0.0/0 reject\n\
             hostssl all all 127.0.0.1/32 trust\n",
        )
        .expect("write pg_hba.conf");
        let log = path.join("server.log").display().to_string();
        as_postgres(&[
            &format!("{bin}/pg_ctl"),
            "-D",
            &data_arg,
            "-l",
            &log,
            "-w",
            "-t",
            "60",
            "start",
        ]);
        Self { dir, port }
    }

    fn url(&self, options: &str) -> String {
        format!(
            "postgres://postgres@localhost:{}/postgres?{options}",
            self.port
        )
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        if let Some(bin) = option_env!("CASEMAIL_TEST_POSTGRES_BIN") {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--", &format!("{bin}/pg_ctl"), "-D"])
                .arg(self.dir.path().join("data"))
                .args(["-m", "immediate", "stop"])
                .output();
        }
    }
}

async fn open(dir: &Path, url: String) -> anyhow::Result<casemail::state::AppState> {
    let mut config = Config::for_data_dir(dir);
    config.database_url = Some(url);
    Casemail::open(config, Clock::manual(crate::helpers::START)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(casemail_postgres_tls),
    ignore = "PostgreSQL TLS suite: needs the PostgreSQL server programs, openssl and root"
)]
async fn postgres_connections_use_tls_and_verify_the_server() {
    let server = TlsPostgres::start();
    let data = tempfile::TempDir::new().expect("a data directory");
    let ca = server.file("ca.pem").display().to_string();

    let app = open(
        data.path(),
        server.url(&format!("sslmode=verify-full&sslrootcert={ca}")),
    )
    .await
    .expect("Casemail opens its database over verified TLS");
    let organisation = app
        .admin
        .ensure_organisation(
            OrganisationKind::Prosecution,
            &casemail::domain::OrganisationName::parse("Glasgow PF").expect("a name"),
            &casemail::domain::Jurisdiction::parse("Glasgow").expect("an area"),
        )
        .await
        .expect("written over TLS");
    assert!(organisation.id > 0);
    app.close().await;

    // Every connection the server has is encrypted; one without TLS is refused.
    let ssl_only = Command::new("psql")
        .arg(format!(
            "host=localhost port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert={ca}",
            server.port
        ))
        .args(["-Atc", "SELECT bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE client_addr IS NOT NULL"])
        .output()
        .expect("psql runs");
    assert_eq!(String::from_utf8_lossy(&ssl_only.stdout).trim(), "t");

    let plain = open(data.path(), server.url("sslmode=disable")).await;
    assert!(plain.is_err(), "the server refuses connections without TLS");

    let other_ca = server.file("other-ca.pem").display().to_string();
    let forged = open(
        data.path(),
        server.url(&format!("sslmode=verify-full&sslrootcert={other_ca}")),
    )
    .await;
    let error = format!(
        "{:#}",
        forged
            .err()
            .expect("a server the CA did not certify is refused")
    );
    assert!(
        error.to_lowercase().contains("certificate"),
        "the refusal names the certificate: {error}"
    );
}
