//! Large attachments over loopback HTTP to a separate server process, whose resident
//! memory is sampled while they stream.

use std::time::{Duration, Instant};

use anyhow::Context;
use casemail::auth::SessionCookie;
use casemail::crypto::{Recipients, SealingWriter, UserIdentity, opening_reader};
use casemail::store::UserAccount;
use std::io::{Read, Write};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::http::ServerProcess;
use crate::{Bench, cookie_for};

/// Peak resident memory of process `pid`, sampled while `work` runs.
async fn with_peak_rss<T>(pid: u32, work: impl std::future::Future<Output = T>) -> (T, u64) {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            peak = peak.max(resident_kib_of(pid));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak
    });
    let out = work.await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.unwrap_or(0);
    (out, peak)
}

fn resident_kib_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Transfers run against a separate server process, so that its resident memory is the
/// server's alone (not this benchmark's client or its earlier work).
pub async fn transfer_figures(
    bench: &Bench,
    people: &[UserAccount],
    mib: u64,
) -> anyhow::Result<()> {
    let app = &bench.app;
    let server = ServerProcess::start(bench).await?;
    let address = server.address;
    let result = async {
        let sender = cookie_for(app, &people[0].email).await?;
        let reader = cookie_for(app, &people[1].email).await?;
        let pid = server.pid();
        let baseline = resident_kib_of(pid);
        let size = mib * 1024 * 1024;
        let ((location, upload), upload_peak) =
            with_peak_rss(pid, upload(address, &sender, &people[1].email, size)).await;
        let location = location?;
        let thread = crate::seed::thread_of(&location)?;
        let message_id = bench.store.thread_for_user(people[1].id, thread).await?[0].message_id;
        let ((received, download), download_peak) =
            with_peak_rss(pid, download(address, &reader, message_id)).await;
        anyhow::ensure!(received? == size, "downloaded size differs");
        let rate = |d: Duration| size as f64 / 1024.0 / 1024.0 / d.as_secs_f64();
        println!(
            "{:<44} {:>8.0} MiB/s  server peak RSS {:>4} MiB  (idle {} MiB; {mib} MiB over loopback HTTP)",
            "attachment upload (encrypt to blob)",
            rate(upload),
            upload_peak / 1024,
            baseline / 1024
        );
        println!(
            "{:<44} {:>8.0} MiB/s  server peak RSS {:>4} MiB",
            "attachment download (decrypt stream)",
            rate(download),
            download_peak / 1024
        );
        Ok(())
    }
    .await;
    drop(server);
    result
}

async fn upload(
    address: std::net::SocketAddr,
    cookie: &SessionCookie,
    to: &str,
    size: u64,
) -> (anyhow::Result<String>, Duration) {
    let start = Instant::now();
    let result = async {
        let boundary = "casemailbenchboundary";
        let mut head = String::new();
        let token = cookie.csrf_token();
        for (name, value) in [("csrf_token", token.as_str()), ("to", to), ("subject", "Large bundle"), ("body", "Attached.")] {
            head.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        head.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; \
             filename=\"bundle.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        ));
        let tail = format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nsend\r\n--{boundary}--\r\n"
        );
        let length = head.len() as u64 + size + tail.len() as u64;
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        let request = format!(
            "POST /compose HTTP/1.1\r\nHost: {address}\r\nCookie: casemail_session={}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\
             Connection: close\r\n\r\n{head}",
            cookie.value()
        );
        stream.write_all(request.as_bytes()).await?;
        let chunk: Vec<u8> = (0..1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let mut sent = 0u64;
        while sent < size {
            let n = (size - sent).min(chunk.len() as u64) as usize;
            stream.write_all(&chunk[..n]).await?;
            sent += n as u64;
        }
        stream.write_all(tail.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        let text = String::from_utf8_lossy(&response);
        let location = text
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .context("upload was not accepted")?;
        Ok(location.to_string())
    }
    .await;
    (result, start.elapsed())
}

async fn download(
    address: std::net::SocketAddr,
    cookie: &SessionCookie,
    message_id: i64,
) -> (anyhow::Result<u64>, Duration) {
    let start = Instant::now();
    let result = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        let request = format!(
            "GET /messages/{message_id}/attachments/0 HTTP/1.1\r\nHost: {address}\r\n\
             Cookie: casemail_session={}\r\nConnection: close\r\n\r\n",
            cookie.value()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut buffer = vec![0u8; 1024 * 1024];
        let mut total = 0u64;
        let mut header_end = None;
        let mut head = Vec::new();
        loop {
            let n = stream.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            if header_end.is_none() {
                head.extend_from_slice(&buffer[..n]);
                if let Some(pos) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    header_end = Some(pos);
                    total += (head.len() - pos - 4) as u64;
                    head.clear();
                }
            } else {
                total += n as u64;
            }
        }
        Ok(total)
    }
    .await;
    (result, start.elapsed())
}

/// age's own stream speed in this run, the yardstick for the transfer figures.
pub fn raw_age_figures(dir: &std::path::Path) -> anyhow::Result<()> {
    let size: usize = 256 * 1024 * 1024;
    let reader = UserIdentity::generate();
    let recipients = Recipients::parse([
        reader.recipient().as_str(),
        UserIdentity::generate().recipient().as_str(),
    ])?;
    let chunk = vec![7u8; 1024 * 1024];
    let path = dir.join("raw-age.bin");
    let file = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(&path)?);
    let start = Instant::now();
    let mut writer = SealingWriter::new(&recipients, file)?;
    for _ in 0..size / chunk.len() {
        writer.write_all(&chunk)?;
    }
    writer.finish()?;
    let encrypt = start.elapsed();
    let start = Instant::now();
    let file = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(&path)?);
    let mut plain = opening_reader(&reader, file)?;
    let mut buffer = vec![0u8; 256 * 1024];
    while plain.read(&mut buffer)? > 0 {}
    let decrypt = start.elapsed();
    let _ = std::fs::remove_file(&path);
    let rate = |d: Duration| size as f64 / 1024.0 / 1024.0 / d.as_secs_f64();
    println!(
        "{:<44} {:>8.0} MiB/s encrypt, {:.0} MiB/s decrypt (256 MiB, file to file)",
        "age stream speed (yardstick)",
        rate(encrypt),
        rate(decrypt)
    );
    Ok(())
}
