//! kill -9 while changes are being made: every change the server acknowledged is there
//! afterwards, and every change there has its audit event, and every event its change.
//! The server is the real binary in a process of its own, killed mid-flight and restarted.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use casemail::accounts::AccountDraft;
use casemail::clock::Clock;
use casemail::config::Config;
use casemail::domain::{
    EmailAddress, Jurisdiction, OrganisationKind, OrganisationName, Password, PersonName,
    UserStatus,
};
use casemail::state::Casemail;

use crate::helpers::{Backend, Browser, PASSWORD, TestDatabase, location};
use crate::on_both_backends;

on_both_backends!(a_kill_between_a_change_and_its_event_cannot_separate_them);

const ROUNDS: usize = 3;
const WRITERS: usize = 4;

fn start_server(config: &Config, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_casemail"))
        .env("CASEMAIL_BIND", format!("127.0.0.1:{port}"))
        .env("CASEMAIL_DATA_DIR", &config.data_dir)
        .env("CASEMAIL_DATABASE_URL", config.database_url())
        .env("CASEMAIL_SCHEDULED_JOBS", "false")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the casemail binary")
}

async fn wait_until_ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not become ready");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

async fn a_kill_between_a_change_and_its_event_cannot_separate_them(backend: Backend) {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let database = TestDatabase::create(backend, dir.path()).await;
    let mut config = Config::for_data_dir(dir.path());
    config.database_url = Some(database.url.clone());
    {
        let app = Casemail::open(config.clone(), Clock::system())
            .await
            .expect("open");
        app.accounts
            .ensure_recovery_key()
            .await
            .expect("recovery key");
        let office = app
            .admin
            .ensure_organisation(
                OrganisationKind::Prosecution,
                &OrganisationName::parse("Glasgow PF").expect("name"),
                &Jurisdiction::parse("Glasgow").expect("area"),
            )
            .await
            .expect("office");
        app.accounts
            .create_account(AccountDraft {
                organisation_id: office.id,
                email: EmailAddress::parse("fiona@pf.example").expect("email"),
                name: PersonName::parse("Fiona Fiscal").expect("name"),
                is_admin: false,
                status: UserStatus::Active,
                password: Password::parse(PASSWORD).expect("password"),
            })
            .await
            .expect("fiscal");
        app.close().await;
    }
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let fiscal = Browser::new(base.clone());
    let mut acknowledged = BTreeSet::new();
    for round in 0..ROUNDS {
        let mut server = start_server(&config, port);
        wait_until_ready(&base).await;
        if round == 0 {
            fiscal.sign_in_ok("fiona@pf.example").await;
        }
        let mut writers = Vec::new();
        for writer in 0..WRITERS {
            let fiscal = fiscal.clone();
            writers.push(tokio::spawn(async move {
                let mut created = Vec::new();
                for n in 0.. {
                    let reference = format!("PF/{round}{writer}/{n:06}");
                    let page = fiscal
                        .client
                        .get(format!("{}/cases/new", fiscal.base()))
                        .send()
                        .await;
                    let Ok(page) = page else { break };
                    let Ok(page) = page.text().await else { break };
                    let Some(token) = crate::helpers::csrf_token(&page) else {
                        break;
                    };
                    let response = fiscal
                        .client
                        .post(format!("{}/cases/new", fiscal.base()))
                        .form(&[
                            ("reference", reference.as_str()),
                            ("title", "HMA v Crash"),
                            ("court", "Glasgow Sheriff Court"),
                            ("accused", "A N Other"),
                            ("charges", "Breach of the peace"),
                            ("csrf_token", token.as_str()),
                        ])
                        .send()
                        .await;
                    let Ok(response) = response else { break };
                    if response.status() == 303 {
                        let id: i64 = location(&response)
                            .trim_start_matches("/cases/")
                            .trim_end_matches("?done=created")
                            .parse()
                            .expect("case id");
                        created.push(id);
                    }
                }
                created
            }));
        }
        // Let changes flow, then kill without warning.
        tokio::time::sleep(Duration::from_millis(1200 + 300 * round as u64)).await;
        server.kill().expect("kill -9");
        server.wait().expect("reap");
        for writer in writers {
            acknowledged.extend(writer.await.expect("writer"));
        }
    }
    assert!(
        acknowledged.len() > 10,
        "changes were made before the kills"
    );

    let app = Casemail::open(config, Clock::system())
        .await
        .expect("reopen");
    let store = casemail::store::Store::connect(&database.url)
        .await
        .expect("store");
    let pool = sqlx::AnyPool::connect(&database.url).await.expect("raw");
    let cases: BTreeSet<i64> = sqlx::query_as::<_, (i64,)>("SELECT id FROM cases")
        .fetch_all(&pool)
        .await
        .expect("cases")
        .into_iter()
        .map(|(id,)| id)
        .collect();
    let recorded: Vec<i64> = sqlx::query_as::<_, (i64,)>(
        "SELECT subject_id FROM audit_events WHERE kind = 'case.created'",
    )
    .fetch_all(&pool)
    .await
    .expect("events")
    .into_iter()
    .map(|(id,)| id)
    .collect();
    let recorded_set: BTreeSet<i64> = recorded.iter().copied().collect();
    assert!(
        acknowledged.is_subset(&cases),
        "every acknowledged case survived: missing {:?}",
        acknowledged.difference(&cases).collect::<Vec<_>>()
    );
    assert_eq!(recorded.len(), recorded_set.len(), "one event per case");
    let unrecorded: Vec<_> = cases.difference(&recorded_set).collect();
    let phantom: Vec<_> = recorded_set.difference(&cases).collect();
    assert!(
        unrecorded.is_empty() && phantom.is_empty(),
        "cases without their event: {unrecorded:?}; events without their case: {phantom:?}"
    );
    let verification = app.audit.verify(None).await.expect("verify");
    assert_eq!(verification.broken, None, "the chain survived the kills");
    pool.close().await;
    store.close().await;
    app.close().await;
}
