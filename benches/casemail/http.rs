//! What a user's browser meets: requests from this process over loopback HTTP to a separate
//! server process, each with a new connection or on one kept alive.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use casemail::auth::SessionCookie;
use casemail::domain::Folder;
use casemail::store::UserAccount;
use reqwest::header::{COOKIE, SET_COOKIE};

use crate::stats::report;
use crate::{Bench, PASSWORD};

/// A running server process on the benchmark's database and data directory.
pub struct ServerProcess {
    child: std::process::Child,
    pub address: SocketAddr,
}

impl ServerProcess {
    pub async fn start(bench: &Bench) -> anyhow::Result<Self> {
        let config = &bench.app.config;
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
            probe.local_addr()?.port()
        };
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        let storage = &config.object_storage;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_casemail"));
        if storage.blob_store == casemail::config::BlobBackend::S3 {
            command
                .env("CASEMAIL_BLOB_STORE", "s3")
                .env(
                    "CASEMAIL_S3_ENDPOINT",
                    storage.s3_endpoint.clone().unwrap_or_default(),
                )
                .env(
                    "CASEMAIL_S3_BUCKET",
                    storage.s3_bucket.clone().unwrap_or_default(),
                )
                .env(
                    "CASEMAIL_S3_ACCESS_KEY_ID",
                    storage.s3_access_key_id.clone().unwrap_or_default(),
                )
                .env(
                    "CASEMAIL_S3_SECRET_ACCESS_KEY",
                    storage.s3_secret_access_key.clone().unwrap_or_default(),
                );
        }
        let child = command
            .env("CASEMAIL_BIND", address.to_string())
            .env("CASEMAIL_DATA_DIR", &config.data_dir)
            .env("CASEMAIL_DATABASE_URL", config.database_url())
            .env("CASEMAIL_TRUST_FORWARDED_FOR", "true")
            .env("CASEMAIL_SCHEDULED_JOBS", config.scheduled_jobs.to_string())
            .env(
                "CASEMAIL_MAX_ATTACHMENT_MB",
                config.max_attachment_mb.to_string(),
            )
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("cannot start the server process")?;
        let server = Self { child, address };
        server.wait_until_ready().await?;
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = client.get(self.url("/readyz")).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the server process did not become ready")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that opens a new connection for every request, as a browser does after idling.
fn new_connection_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// A client that keeps its connection open between requests.
fn keep_alive_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

fn cookie_from(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get_all(SET_COOKIE).iter().find_map(|h| {
        let text = h.to_str().ok()?;
        let pair = text.split(';').next()?;
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

fn hidden_csrf_token(page: &str) -> Option<String> {
    let at = page.find("name=\"csrf_token\" value=\"")? + "name=\"csrf_token\" value=\"".len();
    page[at..].split('"').next().map(str::to_string)
}

/// Signs in through the form as a browser does; the time is that of the POST alone.
pub async fn sign_in(
    server: &ServerProcess,
    email: &str,
) -> anyhow::Result<(SessionCookie, Duration)> {
    let client = new_connection_client()?;
    let form = client.get(server.url("/sign-in")).send().await?;
    let csrf_cookie = cookie_from(&form, "casemail_csrf").context("no CSRF cookie")?;
    let token = hidden_csrf_token(&form.text().await?).context("no CSRF token")?;
    let start = Instant::now();
    let response = client
        .post(server.url("/sign-in"))
        .header(COOKIE, format!("casemail_csrf={csrf_cookie}"))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", &token),
            ("next", ""),
        ])
        .send()
        .await?;
    let elapsed = start.elapsed();
    anyhow::ensure!(
        response.status() == 303,
        "sign-in answered {}",
        response.status()
    );
    let value = cookie_from(&response, "casemail_session").context("no session cookie")?;
    let cookie = SessionCookie::parse(&value).context("malformed session cookie")?;
    Ok((cookie, elapsed))
}

async fn timed_get(
    client: &reqwest::Client,
    server: &ServerProcess,
    cookie: &SessionCookie,
    path: &str,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let response = client
        .get(server.url(path))
        .header(COOKIE, format!("casemail_session={}", cookie.value()))
        .send()
        .await?;
    let status = response.status();
    response.bytes().await?;
    let elapsed = start.elapsed();
    anyhow::ensure!(status.is_success(), "{path} answered {status}");
    Ok(elapsed)
}

/// `runs` requests for each path in turn, after a few unmeasured ones.
pub async fn measure_gets(
    server: &ServerProcess,
    cookie: &SessionCookie,
    name: &str,
    paths: &[String],
    runs: usize,
    budget: &str,
) -> anyhow::Result<()> {
    for (mode, client) in [
        ("new connection", new_connection_client()?),
        ("keep-alive", keep_alive_client()?),
    ] {
        for path in paths.iter().take(3) {
            timed_get(&client, server, cookie, path).await?;
        }
        let mut samples = Vec::with_capacity(runs);
        for n in 0..runs {
            let path = &paths[n % paths.len()];
            samples.push(timed_get(&client, server, cookie, path).await?);
        }
        report(&format!("{name}, {mode}"), &mut samples, budget);
    }
    Ok(())
}

/// The figures a user feels, for the large mailbox `owner` (seeded and taken in) and the
/// circular read by `reader`.
pub async fn figures(
    bench: &Bench,
    people: &[UserAccount],
    owner: &UserAccount,
    messages: usize,
) -> anyhow::Result<()> {
    println!("-- over loopback HTTP, from this process to a separate server process --");
    let server = ServerProcess::start(bench).await?;
    let mut samples = Vec::new();
    for _ in 0..40 {
        samples.push(sign_in(&server, &people[0].email).await?.1);
    }
    report("sign-in (form POST)", &mut samples, "p99 <= 200 ms");

    let (cookie, _) = sign_in(&server, &owner.email).await?;
    let inbox = ["/mail/inbox".to_string()];
    measure_gets(
        &server,
        &cookie,
        &format!("inbox first page ({messages} messages)"),
        &inbox,
        200,
        "p99 <= 5 ms",
    )
    .await?;

    let (middle, cursor) = crate::seed::halfway_page(bench, owner, messages).await?;
    let deep = [format!("/mail/inbox?after={cursor}")];
    measure_gets(&server, &cookie, "inbox page halfway down", &deep, 200, "-").await?;

    let threads: Vec<String> = middle
        .iter()
        .take(40)
        .map(|r| format!("/threads/{}", r.thread_id))
        .collect();
    measure_gets(
        &server,
        &cookie,
        "open a message",
        &threads,
        400,
        "p99 <= 5 ms",
    )
    .await?;

    let words: Vec<String> = (0..50)
        .map(|n| format!("/search?q=word{}", (n * 7919) % messages.max(1)))
        .collect();
    measure_gets(
        &server,
        &cookie,
        "search by word",
        &words,
        100,
        "p99 <= 50 ms",
    )
    .await?;

    let reader = &people[20];
    let (reader_cookie, _) = sign_in(&server, &reader.email).await?;
    let circulars: Vec<String> = bench
        .store
        .mailbox_page(reader.id, Folder::Inbox, None, 20)
        .await?
        .iter()
        .map(|r| format!("/threads/{}", r.thread_id))
        .collect();
    measure_gets(
        &server,
        &reader_cookie,
        "open a message sent to 20",
        &circulars,
        200,
        "-",
    )
    .await?;

    let (sender_cookie, _) = sign_in(&server, &people[0].email).await?;
    send_figures(&server, &sender_cookie, &people[1..21]).await?;
    crate::settle(bench).await?;
    download_figures(bench, &server, &sender_cookie, &people[1]).await?;
    crate::team::figures(bench, &server, &people[20], &people[19], messages).await
}

fn compose_form(
    cookie: &SessionCookie,
    to: &str,
    subject: &str,
    attachment: Option<Vec<u8>>,
) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new()
        .text("csrf_token", cookie.csrf_token())
        .text("to", to.to_string())
        .text("cc", "")
        .text("subject", subject.to_string())
        .text(
            "body",
            "A letter of about a paragraph, sent through the compose form.",
        );
    if let Some(bytes) = attachment {
        form = form.part(
            "attachments",
            reqwest::multipart::Part::bytes(bytes).file_name("statement.pdf"),
        );
    }
    form.text("action", "send")
}

async fn post_compose(
    client: &reqwest::Client,
    server: &ServerProcess,
    cookie: &SessionCookie,
    form: reqwest::multipart::Form,
) -> anyhow::Result<(String, Duration)> {
    let start = Instant::now();
    let response = client
        .post(server.url("/compose"))
        .header(COOKIE, format!("casemail_session={}", cookie.value()))
        .multipart(form)
        .send()
        .await?;
    let elapsed = start.elapsed();
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_string)
        .context("the message was not sent")?;
    Ok((location, elapsed))
}

async fn send_figures(
    server: &ServerProcess,
    cookie: &SessionCookie,
    recipients: &[UserAccount],
) -> anyhow::Result<()> {
    let to: Vec<&str> = recipients.iter().map(|p| p.email.as_str()).collect();
    let to = to.join(", ");
    let client = keep_alive_client()?;
    let mut samples = Vec::new();
    for n in 0..100 {
        let form = compose_form(cookie, &to, &format!("Circular over HTTP {n}"), None);
        samples.push(post_compose(&client, server, cookie, form).await?.1);
    }
    report("send to 20 recipients (compose POST)", &mut samples, "-");
    Ok(())
}

async fn download_figures(
    bench: &Bench,
    server: &ServerProcess,
    sender: &SessionCookie,
    reader: &UserAccount,
) -> anyhow::Result<()> {
    let bytes: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    let client = keep_alive_client()?;
    let form = compose_form(sender, &reader.email, "Statement", Some(bytes));
    let (location, _) = post_compose(&client, server, sender, form).await?;
    let thread = crate::seed::thread_of(&location)?;
    let message = bench.store.thread_for_user(reader.id, thread).await?[0].message_id;
    let (cookie, _) = sign_in(server, &reader.email).await?;
    let path = [format!("/messages/{message}/attachments/0")];
    measure_gets(
        server,
        &cookie,
        "download a 256 KiB attachment",
        &path,
        100,
        "-",
    )
    .await
}
