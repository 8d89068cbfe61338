//! The edges of the web layer: where to go after signing in, requests from other sites,
//! cookie names on https, tokens kept out of URLs, text that is not UTF-8, file names as
//! people gave them, panics, and uploads on slow links.

use std::time::Duration;

use casemail::domain::OrganisationKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Backend, Browser, Outgoing, PASSWORD, TestApp, csrf_token, location};
use crate::mail::office;
use crate::on_both_backends;

on_both_backends!(
    only_a_plain_local_path_is_followed_after_sign_in,
    requests_from_another_origin_change_nothing,
    cookies_carry_the_host_prefix_on_https,
    multipart_forms_carry_the_token_in_the_body_not_the_url,
    text_that_is_not_utf8_is_refused_naming_the_field,
    deleting_someone_elses_draft_is_not_found,
    file_names_keep_quotes_and_lose_line_breaks,
    a_panicking_handler_answers_with_the_error_page,
    a_slow_upload_that_keeps_moving_arrives,
    an_upload_that_stalls_is_given_up_and_leaves_nothing,
    an_upload_broken_off_after_its_first_file_leaves_nothing,
    the_sweep_removes_files_no_message_refers_to,
    attachments_beyond_the_storage_allowance_are_refused,
    a_full_disk_is_explained_and_what_was_typed_is_kept,
);

async fn only_a_plain_local_path_is_followed_after_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    for (next, expected) in [
        ("/\nx", "/"),
        ("/\t/evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/ spaced", "/"),
        ("/account?tab=keys", "/account?tab=keys"),
    ] {
        let browser = app.browser();
        let response = browser
            .submit(
                "/sign-in",
                "/sign-in",
                &[
                    ("email", "ann@brodie.example"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(response.status(), 303, "next={next:?}");
        assert_eq!(location(&response), expected, "next={next:?}");
    }
}

async fn requests_from_another_origin_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let browser = app.browser();
    browser.sign_in_ok("ann@brodie.example").await;
    let token = csrf_token(&browser.text("/account").await).expect("a form token on the page");
    for origin in ["https://evil.example", "null"] {
        let forged = browser
            .client
            .post(app.url("/sign-out"))
            .header("origin", origin)
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .expect("post");
        assert_eq!(forged.status(), 403, "Origin: {origin}");
        assert_eq!(
            browser.get("/account").await.status(),
            200,
            "still signed in"
        );
    }
    let own_origin = app.address.clone();
    let same = browser
        .client
        .post(app.url("/sign-out"))
        .header("origin", own_origin)
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(same.status(), 303, "the service's own pages may post");
    assert_eq!(browser.get("/account").await.status(), 303, "signed out");
}

async fn cookies_carry_the_host_prefix_on_https(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.public_url = Some("https://casemail.example".to_string());
    })
    .await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    // A client without a cookie jar: Secure cookies are not kept over plain http.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let form = client.get(app.url("/sign-in")).send().await.expect("get");
    let set = set_cookies(&form);
    let csrf = set
        .iter()
        .find_map(|c| c.strip_prefix("__Host-casemail_csrf="))
        .unwrap_or_else(|| panic!("no __Host- form cookie in {set:?}"));
    assert!(csrf.contains("Secure") && csrf.contains("Path=/"), "{csrf}");
    let cookie_token = csrf.split(';').next().expect("a value").to_string();
    let page_token = csrf_token(&form.text().await.expect("body")).expect("a form token");
    let signed_in = client
        .post(app.url("/sign-in"))
        .header("cookie", format!("__Host-casemail_csrf={cookie_token}"))
        .form(&[
            ("email", "ann@brodie.example"),
            ("password", PASSWORD),
            ("csrf_token", page_token.as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(signed_in.status(), 303);
    let set = set_cookies(&signed_in);
    assert!(
        set.iter()
            .any(|c| c.starts_with("__Host-casemail_session=") && c.contains("Secure")),
        "{set:?}"
    );
    assert!(
        !set.iter().any(|c| c.starts_with("casemail_")),
        "no cookie without the prefix: {set:?}"
    );
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

async fn multipart_forms_carry_the_token_in_the_body_not_the_url(backend: Backend) {
    let o = office(backend).await;
    let page = o.ann.text("/compose").await;
    assert!(
        !page.contains("csrf_token="),
        "no form on the compose page puts the token in its URL"
    );
    let token = csrf_token(&page).expect("a form token on the page");
    let form = || {
        reqwest::multipart::Form::new()
            .text("to", "fiona@pf.example")
            .text("subject", "Token in the URL")
            .text("body", "Should not be sent.")
            .text("action", "send")
    };
    let in_url = o
        .ann
        .post_multipart(&format!("/compose?csrf_token={token}"), form())
        .await;
    assert_eq!(in_url.status(), 403, "a token in the URL is not accepted");
    let last = o
        .ann
        .post_multipart("/compose", form().text("csrf_token", token.clone()))
        .await;
    assert_eq!(last.status(), 403, "the token must be the first field");
    assert!(!o.ann.text("/mail/sent").await.contains("Token in the URL"));
    o.ann
        .send_ok(&Outgoing::to(
            "fiona@pf.example",
            "Token first",
            "The token leads the form.",
        ))
        .await;
}

async fn text_that_is_not_utf8_is_refused_naming_the_field(backend: Backend) {
    let o = office(backend).await;
    let page = o.ann.text("/account/password").await;
    let token = csrf_token(&page).expect("a form token on the page");
    let response = o
        .ann
        .client
        .post(o.app.url("/account/password"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf_token={token}&current_password=caf%E9&new_password=x&confirm_password=x"
        ))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 400);
    let body = response.text().await.expect("body");
    assert!(body.contains("current_password"), "names the field");
    assert!(body.contains("not valid"), "says what is wrong");

    let page = o.ann.text("/compose").await;
    let token = csrf_token(&page).expect("a form token on the page");
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .text("to", "fiona@pf.example")
        .part(
            "subject",
            reqwest::multipart::Part::bytes(b"Caf\xe9 meeting".to_vec()),
        )
        .text("body", "Latin-1 subject.")
        .text("action", "send");
    let response = o.ann.post_multipart("/compose", form).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.expect("body").contains("subject"));
    assert!(
        !o.fiscal.text("/mail/inbox").await.contains("Latin-1"),
        "nothing was sent with altered text"
    );
}

async fn deleting_someone_elses_draft_is_not_found(backend: Backend) {
    let o = office(backend).await;
    let page = o.ann.text("/compose").await;
    let token = csrf_token(&page).expect("a form token on the page");
    let saved = o
        .ann
        .client
        .post(o.app.url("/drafts/autosave"))
        .header("x-csrf-token", token)
        .header("hx-request", "true")
        .multipart(
            reqwest::multipart::Form::new()
                .text("to", "fiona@pf.example")
                .text("subject", "Ann's half-written letter")
                .text("body", "Half written"),
        )
        .send()
        .await
        .expect("autosave");
    assert_eq!(saved.status(), 200);
    let draft = o.app.number("SELECT MAX(id) FROM drafts").await;
    let response = o
        .bob
        .submit("/drafts", &format!("/drafts/{draft}/delete"), &[])
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        o.app
            .number(&format!("SELECT COUNT(*) FROM drafts WHERE id = {draft}"))
            .await,
        1,
        "ann's draft is still there"
    );
    let own = o
        .ann
        .submit("/drafts", &format!("/drafts/{draft}/delete"), &[])
        .await;
    assert_eq!(own.status(), 303);
}

async fn file_names_keep_quotes_and_lose_line_breaks(backend: Backend) {
    let o = office(backend).await;
    let page = o.ann.text("/compose").await;
    let token = csrf_token(&page).expect("a form token on the page");
    // As a browser sends it (the HTML form encoding): quotes as %22, line breaks as %0A,
    // everything else as UTF-8.
    let part = reqwest::multipart::Part::bytes(b"statement text".to_vec())
        .file_name("Statement %22final%22%0Av2 \u{e9}t\u{e9}.pdf")
        .mime_str("application/pdf")
        .expect("media type");
    let form = reqwest::multipart::Form::new()
        .percent_encode_noop()
        .text("csrf_token", token)
        .text("to", "fiona@pf.example")
        .text("subject", "Named statement")
        .text("body", "Attached.")
        .part("attachments", part)
        .text("action", "send");
    let sent = o.ann.post_multipart("/compose", form).await;
    assert_eq!(sent.status(), 303);
    let thread = location(&sent);
    let page = o.fiscal.text(&thread).await;
    assert!(
        page.contains("Statement &#34;final&#34; v2 \u{e9}t\u{e9}.pdf")
            || page.contains("Statement &quot;final&quot; v2 \u{e9}t\u{e9}.pdf"),
        "the name as given, escaped for the page"
    );
    assert!(!page.contains("%22"), "no form encoding shown");
    let id = thread_id(&thread);
    let messages = o
        .app
        .store
        .thread_for_user(o.ids[0], id)
        .await
        .expect("the thread");
    let download = o
        .fiscal
        .get(&format!(
            "/messages/{}/attachments/0",
            messages[0].message_id
        ))
        .await;
    let disposition = download
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .expect("a content disposition")
        .to_string();
    assert_eq!(
        disposition,
        "attachment; filename=\"Statement _final_ v2 _t_.pdf\"; \
         filename*=UTF-8''Statement%20%22final%22%20v2%20%C3%A9t%C3%A9.pdf"
    );
}

/// A handler with a bug: it indexes past the end of an empty list.
async fn faulty_handler() -> String {
    let rows: Vec<String> = std::hint::black_box(Vec::new());
    rows[0].clone()
}

async fn a_panicking_handler_answers_with_the_error_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let routes = axum::Router::new().route("/boom", axum::routing::get(faulty_handler));
    let router = casemail::web::with_middleware(routes, app.app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let response = reqwest::get(format!("http://{address}/boom"))
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(response.status(), 500);
    let body = response.text().await.expect("body");
    assert!(body.contains("Sorry, there is a problem with the service"));
    assert!(
        !body.contains("index out of bounds"),
        "nothing internal shown"
    );
    server.abort();
}

/// Sends the compose form by hand on a raw connection, the file in `chunks` pieces of
/// `chunk` bytes with `pause` between them, then returns the raw response (empty if the
/// server closed the connection).
async fn upload_slowly(
    app: &TestApp,
    browser: &Browser,
    chunks: usize,
    chunk: usize,
    pause: Duration,
) -> String {
    let page = browser.text("/compose").await;
    let token = csrf_token(&page).expect("a form token on the page");
    let cookies = cookie_header(app, browser);
    let boundary = "slowlinkboundary";
    let mut head = String::new();
    for (name, value) in [
        ("csrf_token", token.as_str()),
        ("to", "fiona@pf.example"),
        ("subject", "Disclosure from court"),
        ("body", "Bundle attached."),
    ] {
        head.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    head.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; \
         filename=\"bundle.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    ));
    let tail = format!(
        "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nsend\r\n\
         --{boundary}--\r\n"
    );
    let length = head.len() + chunks * chunk + tail.len();
    let host = app.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let request = format!(
        "POST /compose HTTP/1.1\r\nHost: {host}\r\nCookie: {cookies}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\
         Connection: close\r\n\r\n{head}"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let piece = vec![b'%'; chunk];
    for _ in 0..chunks {
        if stream.write_all(&piece).await.is_err() {
            break;
        }
        tokio::time::sleep(pause).await;
    }
    let _ = stream.write_all(tail.as_bytes()).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

async fn a_slow_upload_that_keeps_moving_arrives(backend: Backend) {
    let o = crate::mail::office_with_config(backend, |config| {
        config.request_seconds = 1;
        config.idle_read_seconds = 1;
    })
    .await;
    // Three seconds of uploading, three times the request limit, never idle for long.
    let response = upload_slowly(&o.app, &o.ann, 12, 16 * 1024, Duration::from_millis(250)).await;
    assert!(
        response.starts_with("HTTP/1.1 303"),
        "accepted: {}",
        response.lines().next().unwrap_or("")
    );
    assert!(
        o.fiscal
            .text("/mail/inbox")
            .await
            .contains("Disclosure from court")
    );
}

async fn an_upload_that_stalls_is_given_up_and_leaves_nothing(backend: Backend) {
    let o = crate::mail::office_with_config(backend, |config| {
        config.idle_read_seconds = 1;
    })
    .await;
    let response = upload_slowly(&o.app, &o.ann, 2, 16 * 1024, Duration::from_millis(2500)).await;
    assert!(
        !response.starts_with("HTTP/1.1 303"),
        "not accepted: {}",
        response.lines().next().unwrap_or("")
    );
    assert!(
        !o.fiscal
            .text("/mail/inbox")
            .await
            .contains("Disclosure from court")
    );
    assert_eq!(o.app.number("SELECT COUNT(*) FROM attachments").await, 0);
    let blobs = o.app.dir.path().join("blobs");
    let files = crate::edges::files_under(&blobs);
    assert!(files.is_empty(), "no blob left behind: {files:?}");
}

/// Every file below `dir` (none if it does not exist).
pub(crate) fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn cookie_header(app: &TestApp, browser: &Browser) -> String {
    reqwest::cookie::CookieStore::cookies(browser.jar.as_ref(), &app.url("/").parse().expect("url"))
        .expect("cookies")
        .to_str()
        .expect("ascii")
        .to_string()
}

fn blob_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    files_under(&app.dir.path().join("blobs"))
}

async fn an_upload_broken_off_after_its_first_file_leaves_nothing(backend: Backend) {
    let o = office(backend).await;
    let page = o.ann.text("/compose").await;
    let token = csrf_token(&page).expect("a form token on the page");
    let boundary = "brokenoffboundary";
    let mut body = String::new();
    for (name, value) in [
        ("csrf_token", token.as_str()),
        ("to", "fiona@pf.example"),
        ("subject", "Two bundles"),
        ("body", "Both attached."),
    ] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    let file = |name: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; \
             filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
    };
    body.push_str(&file("first.pdf"));
    body.push_str(&"1".repeat(256 * 1024));
    body.push_str("\r\n");
    body.push_str(&file("second.pdf"));
    body.push_str(&"2".repeat(64 * 1024));
    let host = o.app.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let request = format!(
        "POST /compose HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        cookie_header(&o.app, &o.ann),
        body.len() + 10 * 1024 * 1024,
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    // Wait until the first file is whole in the blob store, then go away mid-second.
    let mut waited = 0;
    while blob_files(&o.app).is_empty() && waited < 100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    drop(stream);
    let mut left = blob_files(&o.app);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = blob_files(&o.app);
    }
    assert!(left.is_empty(), "files left behind: {left:?}");
    assert_eq!(o.app.number("SELECT COUNT(*) FROM attachments").await, 0);
}

async fn the_sweep_removes_files_no_message_refers_to(backend: Backend) {
    let o = office(backend).await;
    let thread = o
        .ann
        .send_ok(&Outgoing {
            attachments: &[("kept.pdf", b"kept statement".to_vec())],
            ..Outgoing::to("fiona@pf.example", "Kept", "Attached.")
        })
        .await;
    let kept = blob_files(&o.app);
    assert_eq!(kept.len(), 1);
    // What a server killed mid-upload leaves: a whole blob with no message, and a partial.
    let blobs = o.app.dir.path().join("blobs");
    std::fs::create_dir_all(blobs.join("ab")).expect("shard");
    let orphan = blobs.join("ab").join("ab0123456789abcdef0123456789abcd");
    std::fs::write(&orphan, b"ciphertext of nothing").expect("orphan");
    let partial = blobs.join("tmp").join("cd0123456789abcdef0123456789abcd");
    std::fs::write(&partial, b"half an upload").expect("partial");

    let removed = o
        .app
        .app
        .mail
        .sweep_orphan_blobs(Duration::ZERO)
        .await
        .expect("sweep");
    assert_eq!(removed, 2);
    assert!(!orphan.exists() && !partial.exists());
    assert_eq!(blob_files(&o.app), kept, "the attached file stays");
    let page = o.fiscal.text(&thread).await;
    assert!(page.contains("kept.pdf"));
    // The sweep that runs on its own leaves young files alone.
    std::fs::write(&orphan, b"just written").expect("orphan");
    let removed = o
        .app
        .app
        .mail
        .sweep_orphan_blobs(casemail::mail::ORPHAN_BLOB_AGE)
        .await
        .expect("sweep");
    assert_eq!(removed, 0);
}

async fn attachments_beyond_the_storage_allowance_are_refused(backend: Backend) {
    let o = crate::mail::office_with_config(backend, |config| config.storage_quota_mb = 1).await;
    o.ann
        .send_ok(&Outgoing {
            attachments: &[("first.pdf", vec![7u8; 700 * 1024])],
            ..Outgoing::to("fiona@pf.example", "First bundle", "Attached.")
        })
        .await;
    let refused = o
        .ann
        .send(&Outgoing {
            attachments: &[("second.pdf", vec![8u8; 700 * 1024])],
            ..Outgoing::to("fiona@pf.example", "Second bundle", "Attached.")
        })
        .await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.expect("body");
    assert!(
        page.contains("does not fit in your storage allowance of 1.0 MB"),
        "the person is told why"
    );
    assert!(page.contains("Second bundle"), "what was typed is kept");
    assert_eq!(blob_files(&o.app).len(), 1, "the refused file is not kept");

    // Forwarding makes copies for the new recipients: they count too.
    let received = o
        .fiscal
        .send_ok(&Outgoing {
            attachments: &[("bundle.pdf", vec![9u8; 400 * 1024])],
            ..Outgoing::to("ann@brodie.example", "Bundle for you", "Attached.")
        })
        .await;
    let id = thread_id(&received);
    let message = o
        .app
        .store
        .thread_for_user(o.ids[1], id)
        .await
        .expect("the thread")[0]
        .message_id;
    let extra = [("forward_of", message.to_string())];
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let forwarded = o
        .ann
        .send(&Outgoing {
            extra: &extra,
            ..Outgoing::to("bob@kerr.example", "Fwd: Bundle for you", "For you.")
        })
        .await;
    assert_eq!(forwarded.status(), 422);
    assert!(
        forwarded
            .text()
            .await
            .expect("body")
            .contains("forwarded attachments do not fit")
    );
    assert_eq!(blob_files(&o.app).len(), 2, "no copy was made");
}

async fn a_full_disk_is_explained_and_what_was_typed_is_kept(backend: Backend) {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let disk = crate::helpers::SmallDisk::mount(dir.path(), 24);
    let app = TestApp::spawn_in(backend, dir, |_| {}).await;
    app.user(
        "fiona@pf.example",
        OrganisationKind::Prosecution,
        "Glasgow PF",
    )
    .await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let ann = app.browser();
    ann.sign_in_ok("ann@brodie.example").await;
    let compose = ann.text("/compose").await;

    if backend == Backend::Sqlite {
        // The write-ahead log gives its space back, so every later write needs new space.
        app.sql("PRAGMA wal_checkpoint(TRUNCATE)").await;
    }
    disk.fill();
    let token = csrf_token(&compose).expect("a form token on the page");
    let part = reqwest::multipart::Part::bytes(vec![5u8; 256 * 1024])
        .file_name("bundle.pdf")
        .mime_str("application/pdf")
        .expect("media type");
    let response = ann
        .post_multipart(
            "/compose",
            reqwest::multipart::Form::new()
                .text("csrf_token", token)
                .text("to", "fiona@pf.example")
                .text("subject", "Disclosure on a full disk")
                .text("body", "TYPED-WORDS-8d1e that must not be lost")
                .part("attachments", part)
                .text("action", "send"),
        )
        .await;
    assert_eq!(response.status(), 507);
    let page = response.text().await.expect("body");
    assert!(page.contains("storage is full"), "says what happened");
    assert!(
        page.contains("TYPED-WORDS-8d1e"),
        "what was typed comes back"
    );
    assert!(page.contains("Disclosure on a full disk"));
    match backend {
        // The database is elsewhere: the text is kept as a draft too.
        Backend::Postgres => assert!(page.contains("kept in your drafts")),
        Backend::Sqlite => assert!(page.contains("could not be kept as a draft")),
    }

    // Signing in needs the database to write a session: on SQLite, whose database is on
    // the full disk, the person is told why.
    let fiona = app.browser();
    let signing_in = fiona.sign_in("fiona@pf.example", PASSWORD).await;
    match backend {
        Backend::Postgres => assert_eq!(signing_in.status(), 303),
        Backend::Sqlite => {
            assert_eq!(signing_in.status(), 507);
            let page = signing_in.text().await.expect("body");
            assert!(page.contains("storage is full or cannot be written"));
        }
    }

    // Nothing was half-stored.
    disk.free();
    assert_eq!(app.number("SELECT COUNT(*) FROM attachments").await, 0);
    let drafts = app.number("SELECT COUNT(*) FROM drafts").await;
    match backend {
        Backend::Postgres => assert_eq!(drafts, 1, "the draft it said it kept"),
        Backend::Sqlite => assert_eq!(drafts, 0, "no draft, as it said"),
    }
    // Space again: with the database elsewhere, everything works at once. (On SQLite a
    // pooled connection whose commit failed can keep the write lock until it is next
    // used, so writes may wait for it; a known gap.)
    if backend == Backend::Postgres {
        assert!(
            !fiona
                .text("/mail/inbox")
                .await
                .contains("Disclosure on a full disk")
        );
        ann.send_ok(&Outgoing::to(
            "fiona@pf.example",
            "After the disk was cleared",
            "Sent.",
        ))
        .await;
    }
    drop(app);
    drop(disk);
}

/// The thread id in a `/threads/N?…` path.
fn thread_id(path: &str) -> i64 {
    path.trim_start_matches("/threads/")
        .split(['?', '#'])
        .next()
        .expect("a path")
        .parse()
        .expect("thread id")
}
