//! The gateway, end to end with real peers on loopback: a fiscal on a secure domain's own
//! mail server and a solicitor in Casemail exchange letters with attachments both ways,
//! through Casemail's Postfix; the refusals (no TLS, an unlisted domain, an unknown
//! recipient, too large, a failed DKIM signature, a malformed message); the domain's TLS
//! policy (verified certificate, pinned certificate); a server that is down; and a scan
//! of the database, blobs and Postfix's queue for anything in clear.

use std::time::Duration;

use base64::Engine;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;

use casemail::domain::OrganisationKind;
use casemail::gateway::DomainDraft;

use crate::database_dump::{contains, raw_bytes};
use crate::gateway_peers::{
    Certificates, Dns, GatewayPorts, GatewayPostfix, PeerServer, free_port,
};
use crate::helpers::{Backend, Outgoing, TestApp};
use crate::on_both_backends;

/// Runs on both backends when the gateway's peers are installed (see build.rs).
macro_rules! on_gateway {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(casemail_gateway), ignore = "gateway suite: apt-get install postfix dnsmasq-base python3-aiosmtpd openssl, run as root")]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(all(casemail_gateway, casemail_postgres)), ignore = "gateway suite on PostgreSQL: install the gateway's peers and set CASEMAIL_TEST_POSTGRES_URL")]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            }
        )*
    };
}

on_gateway!(
    letters_cross_the_gateway_both_ways_and_nothing_is_kept_in_clear,
    a_letter_waits_while_the_mail_server_is_down_and_goes_when_it_is_back,
);
on_both_backends!(without_a_gateway_casemail_is_a_closed_system);

const MAX_MB: u64 = 40;

/// The secure domains of the test, each with a mail server of its own (Postfix keys TLS
/// policy by the server a domain's mail goes to).
const DOMAINS: [&str; 4] = ["peer.test", "lax.test", "pinned.test", "wrongpin.test"];

struct World {
    app: TestApp,
    postfix: GatewayPostfix,
    /// One server per domain of `DOMAINS`, all storing in one Maildir.
    peers: Vec<PeerServer>,
    certificates: Certificates,
    signing_seed: Vec<u8>,
    _dns: Dns,
    _dir: tempfile::TempDir,
}

fn dkim_key(pkcs8: &[u8]) -> Ed25519Key {
    Ed25519Key::from_pkcs8_der(pkcs8).expect("an Ed25519 key")
}

async fn world(backend: Backend) -> World {
    let dir = tempfile::TempDir::new().expect("a directory");
    let certificates = Certificates::make(&dir.path().join("certs"));
    let signing_seed = Ed25519Key::generate_pkcs8().expect("a key");
    let public =
        base64::engine::general_purpose::STANDARD.encode(dkim_key(&signing_seed).public_key());
    let records = vec![
        ("peer.test", "v=spf1 ip4:127.0.0.1 -all".to_string()),
        ("lax.test", "v=spf1 ip4:127.0.0.1 -all".to_string()),
        (
            "sel._domainkey.peer.test",
            format!("v=DKIM1; k=ed25519; p={public}"),
        ),
        (
            "sel._domainkey.lax.test",
            format!("v=DKIM1; k=ed25519; p={public}"),
        ),
        ("_dmarc.peer.test", "v=DMARC1; p=reject".to_string()),
        ("_dmarc.lax.test", "v=DMARC1; p=none".to_string()),
    ];
    let dns = Dns::start(&records).await;
    let ports = GatewayPorts {
        lmtp: free_port(),
        socketmap: free_port(),
        submit: free_port(),
    };
    let dns_port = dns.port;
    let app = TestApp::spawn_with(backend, |config| {
        let gateway = &mut config.gateway;
        gateway.enabled = true;
        gateway.gateway_hostname = "mx.casemail.test".into();
        gateway.gateway_lmtp_bind = ([127, 0, 0, 1], ports.lmtp).into();
        gateway.gateway_socketmap_bind = ([127, 0, 0, 1], ports.socketmap).into();
        gateway.gateway_submit = ([127, 0, 0, 1], ports.submit).into();
        gateway.gateway_dns = Some(([127, 0, 0, 1], dns_port).into());
        gateway.gateway_max_message_mb = MAX_MB;
    })
    .await;
    let postfix = GatewayPostfix::start(
        &dir.path().join("postfix"),
        &certificates,
        &ports,
        MAX_MB * 1024 * 1024,
    );
    let mut peers = Vec::new();
    for _ in DOMAINS {
        peers.push(PeerServer::start(&dir.path().join("peer-mail"), &certificates).await);
    }
    World {
        app,
        postfix,
        peers,
        certificates,
        signing_seed,
        _dns: dns,
        _dir: dir,
    }
}

/// Sends `raw` into Casemail's Postfix as the secure domain's server would.
async fn send_in(world: &World, from: &str, to: &str, raw: &[u8], tls: bool) -> Result<(), String> {
    let tls = if tls {
        let ca = std::fs::read(world.certificates.file("ca.pem")).expect("the CA");
        Tls::Required(
            TlsParameters::builder("mx.casemail.test".into())
                .add_root_certificate(Certificate::from_pem(&ca).expect("a certificate"))
                .build_rustls()
                .expect("TLS parameters"),
        )
    } else {
        Tls::None
    };
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(world.postfix.inbound_port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(30)))
        .build();
    let envelope = lettre::address::Envelope::new(
        Some(from.parse().expect("an address")),
        vec![to.parse().expect("an address")],
    )
    .expect("an envelope");
    transport
        .send_raw(&envelope, raw)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A letter as the secure domain's mail system writes it: a UTF-8 subject and names, a
/// quoted-printable body, a base64 attachment; signed with DKIM for `domain`.
fn letter(
    world: &World,
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
    attachment: Option<(&str, Vec<u8>)>,
    headers: &[(&str, &str)],
) -> Vec<u8> {
    let domain = from.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    let mut builder = Message::builder()
        .from(Mailbox::new(
            Some("Fiona Fiscal-Ó".into()),
            from.parse().expect("from"),
        ))
        .to(to.parse().expect("to"))
        .subject(subject)
        .message_id(Some(format!(
            "<{}@{domain}>",
            uuid::Uuid::new_v4().simple()
        )));
    for (name, value) in headers {
        builder = match *name {
            "In-Reply-To" => builder.in_reply_to(format!("<{value}>")),
            _ => builder,
        };
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .header(ContentTransferEncoding::QuotedPrintable)
        .body(body.to_string());
    let message = match attachment {
        None => builder.singlepart(text),
        Some((name, bytes)) => builder.multipart(MultiPart::mixed().singlepart(text).singlepart(
            Attachment::new(name.to_string()).body(
                bytes,
                ContentType::parse("application/pdf").expect("a type"),
            ),
        )),
    }
    .expect("a message");
    let raw = message.formatted();
    let signature = DkimSigner::from_key(dkim_key(&world.signing_seed))
        .domain(domain)
        .selector("sel")
        .headers(["From", "To", "Subject", "Date", "Message-ID"])
        .sign(&raw)
        .expect("a DKIM signature");
    [signature.to_header().as_bytes(), &raw].concat()
}

/// Lists `domain` as a secure domain, as the service administrator ops@ does.
async fn add_domain(
    app: &TestApp,
    domain: &str,
    next_hop: String,
    tls: &str,
    fingerprint: &str,
    dkim: &str,
) {
    let admin = app
        .app
        .accounts
        .account_by_email(
            &casemail::domain::EmailAddress::parse("ops@casemail.example").expect("an address"),
        )
        .await
        .expect("read")
        .expect("the service administrator");
    app.app
        .gateway
        .add_domain(
            &admin,
            &DomainDraft {
                domain,
                organisation: "Crown Office (secure mail)",
                kind: "prosecution",
                tls,
                fingerprint,
                next_hop: &next_hop,
                dkim_failure: dkim,
            },
            "127.0.0.1",
        )
        .await
        .unwrap_or_else(|e| panic!("{domain} added: {e}"));
}

/// Waits until `check` holds, running the gateway's outbound job as the scheduler would.
/// Generous: on a machine running the whole suite, a 28 MB message through Postfix and
/// into Casemail's debug build can take a while.
async fn eventually(world: &World, what: &str, seconds: u64, check: impl AsyncFn() -> bool) {
    for _ in 0..seconds * 4 {
        let _ = world.app.app.gateway.send_outbound().await;
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!(
        "{what} did not happen in {seconds} s; Postfix said:\n{}",
        world.postfix.log()
    );
}

async fn letters_cross_the_gateway_both_ways_and_nothing_is_kept_in_clear(backend: Backend) {
    let world = world(backend).await;
    let app = &world.app;
    app.service_admin("ops@casemail.example").await;
    let ann_id = app
        .user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let hop = |n: usize| format!("127.0.0.1:{}", world.peers[n].port);
    add_domain(&world.app, "peer.test", hop(0), "verify", "", "reject").await;
    add_domain(&world.app, "lax.test", hop(1), "verify", "", "mark").await;
    let fingerprint = world.certificates.peer_fingerprint();
    add_domain(
        &world.app,
        "pinned.test",
        hop(2),
        "fingerprint",
        &fingerprint,
        "reject",
    )
    .await;
    let wrong = "AB:".repeat(31) + "AB";
    add_domain(
        &world.app,
        "wrongpin.test",
        hop(3),
        "fingerprint",
        &wrong,
        "reject",
    )
    .await;
    add_domain(
        &world.app,
        "down.test",
        format!("127.0.0.1:{}", free_port()),
        "verify",
        "",
        "reject",
    )
    .await;

    // The letter from the fiscal: 20 MiB attachment, UTF-8 everywhere.
    let statement: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .chain(b"ATTACH-MARKER-4e1c".iter().copied())
        .collect();
    let raw = letter(
        &world,
        "fiscal@peer.test",
        "ann@brodie.example",
        "SUBJECT-MARKER-77ab précognition — HMA v Brodie",
        "BODY-MARKER-19cd\nDéclaration de témoin enclosed; reply by Friday.",
        Some(("Déclaration NAME-MARKER-5a0e.pdf", statement.clone())),
        &[],
    );
    send_in(&world, "fiscal@peer.test", "ann@brodie.example", &raw, true)
        .await
        .expect("Postfix takes the letter over TLS");
    let ann = app.browser();
    ann.sign_in_ok("ann@brodie.example").await;
    eventually(&world, "the letter reached ann", 120, async || {
        ann.text("/mail/inbox")
            .await
            .contains("SUBJECT-MARKER-77ab")
    })
    .await;
    let (message_id, thread_id): (i64, i64) = {
        let id = app
            .number(&format!(
                "SELECT message_id FROM mailbox_entries WHERE user_id = {ann_id} ORDER BY id DESC LIMIT 1"
            ))
            .await;
        (
            id,
            app.number(&format!("SELECT thread_id FROM messages WHERE id = {id}"))
                .await,
        )
    };
    let page = ann.text(&format!("/threads/{thread_id}")).await;
    assert!(
        page.contains("précognition — HMA v Brodie"),
        "the UTF-8 subject"
    );
    assert!(
        page.contains("Déclaration de témoin enclosed"),
        "the quoted-printable body"
    );
    assert!(
        page.contains("Déclaration NAME-MARKER-5a0e.pdf"),
        "the UTF-8 file name"
    );
    assert!(
        page.contains("DKIM pass") && page.contains("TLSv1"),
        "how it arrived: {page}"
    );
    let download = ann
        .get(&format!("/messages/{message_id}/attachments/0"))
        .await;
    assert_eq!(
        download.bytes().await.expect("body").to_vec(),
        statement,
        "the attachment whole"
    );
    let arrival = app
        .text_of("SELECT payload FROM audit_events WHERE kind = 'gateway.received' ORDER BY seq DESC LIMIT 1")
        .await;
    for field in [
        "\"cipher\"",
        "\"tls\":\"TLSv1",
        "\"dkim\":\"pass\"",
        "\"spf\":\"pass\"",
        "\"dmarc\":\"pass\"",
        "\"peer\":\"127.0.0.1\"",
    ] {
        assert!(
            arrival.contains(field),
            "the audit records {field}: {arrival}"
        );
    }

    // Ann answers from Casemail, with an attachment: it leaves over TLS, verified.
    let extra = [("reply_to", message_id.to_string())];
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = [(
        "reply NAME-MARKER-0b7f.pdf",
        b"%PDF REPLY-MARKER-2d9e".to_vec(),
    )];
    let reply_thread = ann
        .send_ok(&Outgoing {
            extra: &extra,
            attachments: &answer,
            ..Outgoing::to(
                "fiscal@peer.test",
                "Re: SUBJECT-MARKER-77ab précognition",
                "OUT-MARKER-6c3a Received, thank you.",
            )
        })
        .await;
    assert_eq!(
        reply_thread,
        format!("/threads/{thread_id}"),
        "the answer joins the conversation"
    );
    eventually(
        &world,
        "the answer reached the secure domain's server",
        30,
        async || {
            world.peers[0]
                .messages()
                .iter()
                .any(|m| contains(m, "OUT-MARKER-6c3a"))
        },
    )
    .await;
    let received = world.peers[0]
        .messages()
        .into_iter()
        .find(|m| contains(m, "OUT-MARKER-6c3a"))
        .expect("the answer");
    let received_text = String::from_utf8_lossy(&received).to_string();
    let original_id = app
        .text_of(&format!(
            "SELECT internet_id FROM messages WHERE id = {message_id}"
        ))
        .await;
    assert!(
        received_text.contains(&original_id),
        "it answers the fiscal's letter: {received_text}"
    );
    assert!(
        contains(&received, "REPLY-MARKER-2d9e") || received_text.contains("reply"),
        "with its attachment"
    );
    eventually(&world, "the sender sees it handed over", 120, async || {
        ann.text(&format!("/threads/{thread_id}"))
            .await
            .contains("Handed to the recipient")
    })
    .await;

    // The fiscal's reply to the answer joins the same conversation.
    let answer_id = app
        .text_of(&format!(
            "SELECT internet_id FROM messages WHERE thread_id = {thread_id} AND internet_id IS NOT NULL ORDER BY id DESC LIMIT 1"
        ))
        .await;
    let again = letter(
        &world,
        "fiscal@peer.test",
        "ann@brodie.example",
        "Re: Re: précognition",
        "SECOND-MARKER-8f21 Noted.",
        None,
        &[("In-Reply-To", &answer_id)],
    );
    send_in(
        &world,
        "fiscal@peer.test",
        "ann@brodie.example",
        &again,
        true,
    )
    .await
    .expect("taken");
    eventually(
        &world,
        "the reply joined the conversation",
        30,
        async || {
            ann.text(&format!("/threads/{thread_id}"))
                .await
                .contains("SECOND-MARKER-8f21")
        },
    )
    .await;

    // A pinned certificate that matches is delivered; letters to a server that is down
    // or whose certificate is not the pinned one fail, and the sender is told.
    for (to, marker) in [
        ("clerk@pinned.test", "PINNED-MARKER-31aa"),
        ("clerk@wrongpin.test", "WRONGPIN-MARKER-90bd"),
        ("clerk@down.test", "DOWN-MARKER-44c2"),
    ] {
        ann.send_ok(&Outgoing::to(to, "Outside", marker)).await;
    }
    eventually(&world, "the pinned letter arrived", 120, async || {
        world.peers[0]
            .messages()
            .iter()
            .any(|m| contains(m, "PINNED-MARKER-31aa"))
    })
    .await;
    eventually(&world, "the failures were reported", 120, async || {
        app.number("SELECT COUNT(*) FROM outbound_mail WHERE state = 'failed'")
            .await
            == 2
    })
    .await;
    assert!(
        !world.peers[0]
            .messages()
            .iter()
            .any(|m| contains(m, "WRONGPIN-MARKER-90bd")),
        "nothing goes to a server whose certificate is not the pinned one"
    );
    let sent = ann.text("/mail/sent").await;
    assert!(sent.contains("Outside"));
    let failed_thread = app
        .number(
            "SELECT m.thread_id FROM outbound_mail b JOIN messages m ON m.id = b.message_id \
             JOIN users u ON u.id = b.recipient_id WHERE u.email = 'clerk@down.test'",
        )
        .await;
    assert!(
        ann.text(&format!("/threads/{failed_thread}"))
            .await
            .contains("Could not be delivered"),
        "the sender sees the failure"
    );

    // Refusals, each with the right reply and nothing kept.
    let before = app.number("SELECT COUNT(*) FROM messages").await;
    let plain = send_in(
        &world,
        "fiscal@peer.test",
        "ann@brodie.example",
        &raw[..2000],
        false,
    )
    .await;
    assert!(
        plain
            .as_ref()
            .is_err_and(|e| e.contains("STARTTLS") || e.contains("530")),
        "{plain:?}"
    );
    let unlisted = letter(
        &world,
        "someone@unlisted.test",
        "ann@brodie.example",
        "Hello",
        "Hi",
        None,
        &[],
    );
    let refused = send_in(
        &world,
        "someone@unlisted.test",
        "ann@brodie.example",
        &unlisted,
        true,
    )
    .await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("5.7.1") || e.contains("554")),
        "{refused:?}"
    );
    let unknown = send_in(
        &world,
        "fiscal@peer.test",
        "nobody@brodie.example",
        &unlisted,
        true,
    )
    .await;
    assert!(
        unknown.as_ref().is_err_and(|e| e.contains("550")),
        "{unknown:?}"
    );
    let huge = vec![b'a'; (MAX_MB as usize + 1) * 1024 * 1024];
    let too_large = send_in(
        &world,
        "fiscal@peer.test",
        "ann@brodie.example",
        &huge,
        true,
    )
    .await;
    assert!(
        too_large
            .as_ref()
            .is_err_and(|e| e.contains("552") || e.contains("5.3.4")),
        "{too_large:?}"
    );
    // A signature that no longer matches (the body was changed on the way): refused for
    // peer.test, whose policy is to refuse; delivered marked for lax.test.
    let mut tampered = letter(
        &world,
        "fiscal@peer.test",
        "ann@brodie.example",
        "Tampered",
        "TAMPER-MARKER-1 original",
        None,
        &[],
    );
    let at = tampered.len() - 10;
    tampered[at] ^= 0x01;
    send_in(
        &world,
        "fiscal@peer.test",
        "ann@brodie.example",
        &tampered,
        true,
    )
    .await
    .expect("Postfix takes it; Casemail refuses it");
    let mut lax = letter(
        &world,
        "clerk@lax.test",
        "ann@brodie.example",
        "Lax",
        "LAX-MARKER-2 original",
        None,
        &[],
    );
    let at = lax.len() - 10;
    lax[at] ^= 0x01;
    send_in(&world, "clerk@lax.test", "ann@brodie.example", &lax, true)
        .await
        .expect("taken");
    let malformed =
        b"From: not an address\r\nTo: ann@brodie.example\r\nSubject: x\r\n\r\nbody\r\n".to_vec();
    send_in(
        &world,
        "fiscal@peer.test",
        "ann@brodie.example",
        &malformed,
        true,
    )
    .await
    .expect("Postfix takes it; Casemail refuses it");
    eventually(&world, "the refusals were recorded", 120, async || {
        app.number("SELECT COUNT(*) FROM audit_events WHERE kind = 'gateway.refused'")
            .await
            >= 2
    })
    .await;
    eventually(&world, "the marked letter arrived", 120, async || {
        ann.text("/mail/inbox").await.contains("Lax")
    })
    .await;
    assert_eq!(
        app.number("SELECT COUNT(*) FROM messages").await,
        before + 1,
        "only the letter from the domain that marks failures was kept"
    );
    let inbox = ann.text("/mail/inbox").await;
    assert!(
        !inbox.contains("Tampered"),
        "the tampered letter was refused"
    );
    let lax_thread = app
        .number(&format!(
            "SELECT thread_id FROM messages WHERE id = (SELECT MAX(message_id) FROM mailbox_entries WHERE user_id = {ann_id})"
        ))
        .await;
    assert!(
        ann.text(&format!("/threads/{lax_thread}"))
            .await
            .contains("DKIM fail"),
        "marked as failing"
    );
    eventually(
        &world,
        "the refused letters were returned to their senders",
        30,
        async || {
            world.peers[0]
                .messages()
                .iter()
                .any(|m| contains(m, "5.7.20"))
        },
    )
    .await;

    // Nothing in clear: the database, the blobs and Postfix's queue, once it is empty.
    eventually(&world, "Postfix's queue emptied", 120, async || {
        world.postfix.queued() == 0
    })
    .await;
    let mut stored = raw_bytes(app).await;
    for file in crate::mail::walk(&app.dir.path().join("blobs")) {
        stored.extend(std::fs::read(file).expect("read the file"));
    }
    for file in world.postfix.queue_files() {
        stored.extend(std::fs::read(file).unwrap_or_default());
    }
    for marker in [
        "SUBJECT-MARKER-77ab",
        "BODY-MARKER-19cd",
        "ATTACH-MARKER-4e1c",
        "NAME-MARKER-5a0e",
        "OUT-MARKER-6c3a",
        "REPLY-MARKER-2d9e",
        "NAME-MARKER-0b7f",
        "SECOND-MARKER-8f21",
        "PINNED-MARKER-31aa",
        "DOWN-MARKER-44c2",
        "LAX-MARKER-2",
    ] {
        assert!(!contains(&stored, marker), "{marker} is stored in clear");
    }
}

async fn without_a_gateway_casemail_is_a_closed_system(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    let ann = app.browser();
    ann.sign_in_ok("ann@brodie.example").await;
    let response = ann
        .send(&Outgoing::to("fiscal@peer.test", "Hello", "Outside"))
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.expect("body");
    assert!(page.contains("There is no Casemail account for fiscal@peer.test"));
    assert!(
        !ann.text("/compose")
            .await
            .contains("Writing to someone outside Casemail")
    );
}

/// Casemail's own mail server is down: the letter stays queued (sealed), is retried with
/// backoff, and is handed over once the server answers.
async fn a_letter_waits_while_the_mail_server_is_down_and_goes_when_it_is_back(backend: Backend) {
    let submit = free_port();
    let dir = tempfile::TempDir::new().expect("a directory");
    let app = TestApp::spawn_with(backend, |config| {
        let gateway = &mut config.gateway;
        gateway.enabled = true;
        gateway.gateway_hostname = "mx.casemail.test".into();
        gateway.gateway_lmtp_bind = ([127, 0, 0, 1], free_port()).into();
        gateway.gateway_socketmap_bind = ([127, 0, 0, 1], free_port()).into();
        gateway.gateway_submit = ([127, 0, 0, 1], submit).into();
    })
    .await;
    app.service_admin("ops@casemail.example").await;
    app.user("ann@brodie.example", OrganisationKind::Defence, "Brodie")
        .await;
    add_domain(&app, "peer.test", String::new(), "verify", "", "reject").await;
    let ann = app.browser();
    ann.sign_in_ok("ann@brodie.example").await;
    let thread = ann
        .send_ok(&Outgoing::to(
            "fiscal@peer.test",
            "Waiting",
            "WAIT-MARKER-7e0d",
        ))
        .await;
    assert_eq!(
        app.app.gateway.send_outbound().await.expect("the job runs"),
        0
    );
    assert_eq!(
        app.number("SELECT attempts FROM outbound_mail").await,
        1,
        "tried once"
    );
    assert_eq!(
        app.text_of("SELECT state FROM outbound_mail").await,
        "queued"
    );
    assert!(
        ann.text(&thread)
            .await
            .contains("Waiting to leave Casemail")
    );
    assert_eq!(
        app.app.gateway.send_outbound().await.expect("the job runs"),
        0,
        "not retried before its time"
    );
    let relay = crate::notifications::Relay::start(submit, dir.path().join("relay"))
        .await
        .expect("the mail server is back");
    app.clock.advance(61);
    assert_eq!(
        app.app.gateway.send_outbound().await.expect("the job runs"),
        1
    );
    assert_eq!(
        app.text_of("SELECT state FROM outbound_mail").await,
        "handed"
    );
    assert!(
        relay
            .messages()
            .iter()
            .any(|m| m.contains("WAIT-MARKER-7e0d")),
        "the letter reached the mail server"
    );
    assert!(ann.text(&thread).await.contains("Handed to Casemail"));
}
