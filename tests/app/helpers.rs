//! Spawns Casemail on 127.0.0.1 with a fresh database per test, on SQLite always and on
//! PostgreSQL when CASEMAIL_TEST_POSTGRES_URL is set.

use std::sync::Arc;

use casemail::accounts::AccountDraft;
use casemail::clock::Clock;
use casemail::config::Config;
use casemail::domain::{
    EmailAddress, Jurisdiction, OrganisationKind, OrganisationName, Password, PersonName,
    UserStatus,
};
use casemail::state::{AppState, Casemail};
use casemail::store::{Change, NewNotification, Store};
use reqwest::cookie::Jar;
use reqwest::redirect::Policy;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const PASSWORD: &str = "correct horse battery staple";

/// 2026-11-23 09:00 UTC: tests run on a clock they control.
pub const START: i64 = 1_795_424_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body on both backends. The PostgreSQL variant is built as ignored, with the
/// way to run it as the reason, when CASEMAIL_TEST_POSTGRES_URL was not set for the build
/// (see build.rs); CI requires it.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(casemail_postgres), ignore = "PostgreSQL suite: set CASEMAIL_TEST_POSTGRES_URL=postgres://USER@HOST/DB to run it")]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// The server PostgreSQL test databases are created on.
pub fn postgres_url() -> String {
    std::env::var("CASEMAIL_TEST_POSTGRES_URL").expect(
        "CASEMAIL_TEST_POSTGRES_URL was set when the tests were built; set it again to run them",
    )
}

/// A fresh database: an SQLite file in the test's directory, or a new PostgreSQL database.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
}

impl TestDatabase {
    pub async fn create(backend: Backend, dir: &std::path::Path) -> Self {
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.join("casemail.db").display()),
            Backend::Postgres => {
                let admin_url = postgres_url();
                let name = format!("casemail_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::postgres::PgConnection::connect_with(
                    &admin_url
                        .parse()
                        .unwrap_or_else(|e| panic!("bad postgres url: {e}")),
                )
                .await
                .unwrap_or_else(|e| panic!("cannot reach PostgreSQL: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .unwrap_or_else(|e| panic!("cannot create test database: {e}"));
                replace_database(&admin_url, &name)
            }
        };
        Self { backend, url }
    }
}

use sqlx::Connection;

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let root = match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

pub struct TestApp {
    pub app: AppState,
    /// A connection of the test's own to the server's database, for reading and tampering
    /// with what is stored, as an attacker with the database would.
    pub store: Store,
    pub address: String,
    pub clock: Clock,
    pub dir: Arc<TempDir>,
    pub database: Arc<TestDatabase>,
    /// Authenticator secrets of enrolled users, by email: the tests' phone.
    pub second_factors: SecondFactors,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// A server whose configuration `adjust` changes first.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = TempDir::new().unwrap_or_else(|e| panic!("tempdir: {e}"));
        Self::spawn_in(backend, dir, adjust).await
    }

    /// A server storing under `dir` (for example a small disk of its own).
    pub async fn spawn_in(
        backend: Backend,
        dir: TempDir,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let dir = Arc::new(dir);
        let database = Arc::new(TestDatabase::create(backend, dir.path()).await);
        let mut config = Config::for_data_dir(dir.path());
        adjust(&mut config);
        Self::spawn_on(dir, database, Clock::manual(START), config).await
    }

    /// A server on a database and data directory that `prepare` fills first (a database
    /// made by an earlier release, say), on a clock starting at `start`.
    pub async fn spawn_prepared(
        backend: Backend,
        start: i64,
        prepare: impl AsyncFnOnce(&TestDatabase, &std::path::Path),
    ) -> Self {
        let dir = Arc::new(TempDir::new().unwrap_or_else(|e| panic!("tempdir: {e}")));
        let database = Arc::new(TestDatabase::create(backend, dir.path()).await);
        prepare(&database, dir.path()).await;
        let config = Config::for_data_dir(dir.path());
        Self::spawn_on(dir, database, Clock::manual(start), config).await
    }

    /// Another server on the same data directory and database: a restart, or a second
    /// instance behind a load balancer.
    pub async fn spawn_again(&self) -> Self {
        let config = Config::clone(&self.app.config);
        let mut again = Self::spawn_on(
            self.dir.clone(),
            self.database.clone(),
            self.clock.clone(),
            config,
        )
        .await;
        again.second_factors = self.second_factors.clone();
        again
    }

    async fn spawn_on(
        dir: Arc<TempDir>,
        database: Arc<TestDatabase>,
        clock: Clock,
        mut config: Config,
    ) -> Self {
        // Tests run the jobs themselves, on the test's clock.
        config.scheduled_jobs = false;
        config.database_url = Some(database.url.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"))
            .port();
        // As a person would reach it: by name (passkeys belong to a name, not an address).
        if config.public_url.is_none() {
            config.public_url = Some(format!("http://localhost:{port}"));
        }
        let app = Casemail::open(config, clock.clone())
            .await
            .unwrap_or_else(|e| panic!("open: {e:#}"));
        let store = Store::connect(&database.url)
            .await
            .unwrap_or_else(|e| panic!("test store: {e}"));
        app.accounts
            .ensure_recovery_key()
            .await
            .unwrap_or_else(|e| panic!("recovery key: {e:#}"));
        let address = format!("http://127.0.0.1:{port}");
        let (tx, rx) = oneshot::channel();
        let served = app.clone();
        let server = tokio::spawn(async move {
            let _ = casemail::web::serve(served, listener, async {
                let _ = rx.await;
            })
            .await;
        });
        Self {
            app,
            store,
            address,
            clock,
            dir,
            database,
            second_factors: SecondFactors::default(),
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.app.close().await;
        self.store.close().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn browser(&self) -> Browser {
        let mut browser = Browser::new(self.address.clone());
        browser.clock = Some(self.clock.clone());
        browser.second_factors = self.second_factors.clone();
        browser
    }

    /// A browser whose requests come from client address `address`, for a server that
    /// trusts X-Forwarded-For (as behind a proxy).
    pub fn browser_at(&self, address: &str) -> Browser {
        let mut browser = self.browser();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            address.parse().expect("an address as a header"),
        );
        browser.client = reqwest::Client::builder()
            .cookie_provider(browser.jar.clone())
            .default_headers(headers)
            .redirect(Policy::none())
            .build()
            .expect("client");
        browser
    }

    /// A service administrator ("Ops", of the service organisation) with the test password.
    pub async fn service_admin(&self, email: &str) {
        casemail::cli::create_service_admin(&self.app, email, "Ops", "Service", PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    pub async fn organisation(&self, kind: OrganisationKind, name: &str, area: &str) -> i64 {
        self.app
            .admin
            .ensure_organisation(
                kind,
                &OrganisationName::parse(name).unwrap_or_else(|e| panic!("{e}")),
                &Jurisdiction::parse(area).unwrap_or_else(|e| panic!("{e}")),
            )
            .await
            .unwrap_or_else(|e| panic!("organisation: {e}"))
            .id
    }

    /// An active user of a new or existing organisation, with PASSWORD.
    pub async fn user(&self, email: &str, kind: OrganisationKind, organisation: &str) -> i64 {
        self.account(email, kind, organisation, "Glasgow", false)
            .await
    }

    /// An active account with PASSWORD in the named organisation (created in `area` if new).
    pub async fn account(
        &self,
        email: &str,
        kind: OrganisationKind,
        organisation: &str,
        area: &str,
        is_admin: bool,
    ) -> i64 {
        let organisation_id = self.organisation(kind, organisation, area).await;
        self.app
            .accounts
            .create_account(AccountDraft {
                organisation_id,
                email: EmailAddress::parse(email).unwrap_or_else(|e| panic!("{e}")),
                name: PersonName::parse("Test Person").unwrap_or_else(|e| panic!("{e}")),
                is_admin,
                status: UserStatus::Active,
                password: Password::parse(PASSWORD).unwrap_or_else(|e| panic!("{e}")),
            })
            .await
            .unwrap_or_else(|e| panic!("create user: {e}"))
    }

    /// Starts a change written straight into the database, bypassing the services: the
    /// state an operator, the policy or an earlier release might have left.
    pub async fn change(&self) -> Change {
        self.store
            .begin(self.clock.now())
            .await
            .expect("begin a change")
    }

    /// Sets an account's status directly in the database.
    pub async fn set_status(&self, user_id: i64, status: UserStatus) {
        let mut change = self.change().await;
        change
            .set_user_status(user_id, status)
            .await
            .expect("set the status");
        change.commit().await.expect("commit");
    }

    /// Queues a notification directly, as a service would with its change.
    pub async fn queue_email(&self, recipient: &str, subject: &str, body: &str) {
        let mut change = self.change().await;
        change
            .notify(&[NewNotification {
                recipient: recipient.into(),
                subject: subject.into(),
                body: body.into(),
                dedupe_key: None,
            }])
            .await
            .expect("queue");
        change.commit().await.expect("commit");
    }

    /// Runs SQL on the database directly, as someone with access to it could.
    pub async fn sql(&self, sql: &str) {
        let pool = self.raw_pool().await;
        sqlx::query(sql)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
    }

    /// The single number a query answers (a count, an id).
    pub async fn number(&self, sql: &str) -> i64 {
        let pool = self.raw_pool().await;
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
        n
    }

    /// The single text a query answers.
    pub async fn text_of(&self, sql: &str) -> String {
        let pool = self.raw_pool().await;
        let (text,): (String,) = sqlx::query_as(sql)
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
        text
    }

    async fn raw_pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.database.url)
            .await
            .expect("raw connection to the test database")
    }

    /// The id of the account with this address.
    pub async fn id_of(&self, email: &str) -> i64 {
        let email = EmailAddress::parse(email).unwrap_or_else(|e| panic!("{e}"));
        self.store
            .address_record(&email)
            .await
            .unwrap_or_else(|e| panic!("address lookup: {e}"))
            .map(|r| r.id)
            .unwrap_or_else(|| panic!("no account for {email}"))
    }

    /// Waits (at most ten seconds) until a mailbox's mail has all been taken in, which a
    /// list of it starts in the background.
    pub async fn wait_taken_in(&self, user_id: i64) {
        for _ in 0..1000 {
            let waiting = self
                .store
                .has_waiting_summaries(user_id)
                .await
                .unwrap_or_else(|e| panic!("waiting mail: {e}"));
            if !waiting {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("mail listed ten seconds ago was not taken in");
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests assert them),
/// and fills in the form token the way a page's forms do.
pub type SecondFactors = Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>;

#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    base: String,
    clock: Option<Clock>,
    second_factors: SecondFactors,
}

impl Browser {
    pub fn new(base: String) -> Self {
        let jar = Arc::new(Jar::default());
        Self {
            client: client_with(jar.clone()),
            jar,
            base,
            clock: None,
            second_factors: SecondFactors::default(),
        }
    }

    /// The server this browser talks to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The same cookies, talking to another server (after a restart, or another instance).
    pub fn pointed_at(&self, base: String) -> Self {
        Self {
            client: client_with(self.jar.clone()),
            jar: self.jar.clone(),
            base,
            clock: self.clock.clone(),
            second_factors: self.second_factors.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn text(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.expect("response body")
    }

    /// Posts a form as the page at `form_page` would, with that page's CSRF token.
    pub async fn submit(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let page = self
            .get(form_page)
            .await
            .text()
            .await
            .expect("response body");
        let token = csrf_token(&page).unwrap_or_else(|| panic!("no CSRF token on {form_page}"));
        let mut body: Vec<(&str, &str)> = fields.to_vec();
        body.push(("csrf_token", &token));
        self.post_raw(action, &body).await
    }

    pub async fn post_raw(&self, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{action}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {action}: {e}"))
    }

    /// Posts a multipart form as it stands (the caller puts the form token in it).
    pub async fn post_multipart(
        &self,
        action: &str,
        form: reqwest::multipart::Form,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{action}", self.base))
            .multipart(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {action}: {e}"))
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.submit(
            "/sign-in",
            "/sign-in",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Sends a message through the compose form, as a browser without JavaScript would.
    pub async fn send(&self, message: &Outgoing<'_>) -> reqwest::Response {
        let page = self.text("/compose").await;
        let token = csrf_token(&page).unwrap_or_else(|| panic!("no CSRF token on /compose"));
        let mut form = reqwest::multipart::Form::new()
            .text("csrf_token", token)
            .text("to", message.to.to_string())
            .text("cc", message.cc.to_string())
            .text("subject", message.subject.to_string())
            .text("body", message.body.to_string());
        for (name, value) in message.extra {
            form = form.text(name.to_string(), value.to_string());
        }
        for (name, bytes) in message.attachments {
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(name.to_string())
                .mime_str(match name.rsplit('.').next() {
                    Some("html") => "text/html",
                    Some("xlsm") => "application/vnd.ms-excel.sheet.macroenabled.12",
                    _ => "application/pdf",
                })
                .unwrap_or_else(|e| panic!("{e}"));
            form = form.part("attachments", part);
        }
        form = form.text("action", message.action.to_string());
        self.post_multipart("/compose", form).await
    }

    /// The message a conversation page offers replies to last.
    pub async fn last_message_id(&self, thread: &str) -> String {
        let page = self.text(thread).await;
        let at = page.rfind("reply_to=").expect("a reply link") + "reply_to=".len();
        page[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect()
    }

    /// Sends and returns the new thread's path.
    pub async fn send_ok(&self, message: &Outgoing<'_>) -> String {
        let response = self.send(message).await;
        let status = response.status();
        let target = location(&response);
        if status != 303 {
            let body = response.text().await.expect("response body");
            panic!(
                "send failed with {status}: {}",
                &body[body.find("govuk-error-summary").unwrap_or(0)..]
                    .chars()
                    .take(600)
                    .collect::<String>()
            );
        }
        target.trim_end_matches("?sent=1").to_string()
    }

    /// Signs in with PASSWORD, answering the second factor as the person's phone would,
    /// and enrolling one first if the account must have it (administrators).
    pub async fn sign_in_ok(&self, email: &str) {
        let response = self.sign_in(email, PASSWORD).await;
        assert_eq!(response.status(), 303, "sign-in of {email} should redirect");
        if location(&response) == "/sign-in/code" {
            let secret = self
                .second_factors
                .lock()
                .map(|s| s.get(email).cloned())
                .ok()
                .flatten();
            let secret = secret
                .unwrap_or_else(|| panic!("{email} has a second factor the test does not know"));
            let code = self.next_code(&secret, email);
            let response = self
                .submit("/sign-in/code", "/sign-in/code", &[("code", &code)])
                .await;
            assert_eq!(location(&response), "/", "{email}: second factor accepted");
        } else {
            assert_eq!(location(&response), "/");
        }
        let account = self.get("/account").await;
        if location(&account) == "/account/two-factor" {
            self.enrol_second_factor(email).await;
        }
    }

    /// Moves the clock to the next 30-second step (a code is accepted once) and returns
    /// the authenticator's code for it.
    pub fn next_code(&self, secret: &str, email: &str) -> String {
        let clock = self
            .clock
            .as_ref()
            .unwrap_or_else(|| panic!("second factor needs the test clock"));
        clock.advance(30);
        casemail::second_factor::code_at(secret, email, clock.now())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn enrol_second_factor(&self, email: &str) {
        let page = self.text("/account/two-factor").await;
        let marker = "id=\"totp-secret\">";
        let start = page
            .find(marker)
            .unwrap_or_else(|| panic!("secret on the setup page"))
            + marker.len();
        let end = page[start..].find('<').map_or(start, |e| start + e);
        let secret = page[start..end].to_string();
        let code = self.next_code(&secret, email);
        let response = self
            .submit(
                "/account/two-factor",
                "/account/two-factor",
                &[("code", &code)],
            )
            .await;
        assert_eq!(response.status(), 200, "enrolment confirmed");
        assert!(
            response
                .text()
                .await
                .expect("response body")
                .contains("Your recovery codes")
        );
        if let Ok(mut secrets) = self.second_factors.lock() {
            secrets.insert(email.to_string(), secret);
        }
    }
}

fn client_with(jar: Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

pub fn csrf_token(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A message as typed into the compose form.
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub cc: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub attachments: &'a [(&'a str, Vec<u8>)],
    pub extra: &'a [(&'a str, &'a str)],
    pub action: &'a str,
}

impl<'a> Outgoing<'a> {
    pub fn to(to: &'a str, subject: &'a str, body: &'a str) -> Self {
        Self {
            to,
            cc: "",
            subject,
            body,
            attachments: &[],
            extra: &[],
            action: "send",
        }
    }
}

/// A small filesystem of the test's own (tmpfs; mounting needs root), to fill up as a
/// disk fills. Unmounted when dropped.
pub struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    pub fn mount(path: &std::path::Path, mib: u64) -> Self {
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(path)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a {mib} MiB tmpfs on {} failed: the full-disk tests need root",
            path.display()
        );
        Self {
            path: path.to_path_buf(),
        }
    }

    /// Writes a filler file until the disk has no space left.
    pub fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.path.join("filler")).expect("filler");
        let block = vec![0u8; 64 * 1024];
        while filler.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while filler.write_all(&small).is_ok() {}
        let _ = filler.sync_all();
    }

    /// Gives the space back.
    pub fn free(&self) {
        std::fs::remove_file(self.path.join("filler")).expect("remove filler");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

/// Runs a program of the test's setup (openssl, postfix, chown…) in `dir`; its standard
/// output, or a panic naming what it said.
pub fn run_ok(program: &str, args: &[&str], dir: &std::path::Path) -> String {
    let output = std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
