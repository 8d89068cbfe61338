//! LMTP (RFC 2033) for the mail server in front: it hands over each message it accepted,
//! with what it knows of the client (XFORWARD), and gets one reply per recipient. Only
//! the mail server connects (the listener is on loopback); the size limit is enforced as
//! the message is read, and a refused message leaves nothing behind.

use std::net::IpAddr;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::Gateway;
use super::inbound::Arrival;

/// The address inside `<…>` of a MAIL or RCPT argument.
fn path_of(argument: &str) -> Option<String> {
    let start = argument.find('<')?;
    let end = argument[start..].find('>')? + start;
    Some(argument[start + 1..end].trim().to_ascii_lowercase())
}

#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    recipients: Vec<String>,
    peer: Option<IpAddr>,
    helo: Option<String>,
    queue_id: Option<String>,
}

pub(super) async fn session(gateway: Gateway, stream: TcpStream) -> anyhow::Result<()> {
    let hostname = gateway.config.gateway.gateway_hostname.clone();
    let limit = gateway.config.gateway.max_message_bytes();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write
        .write_all(format!("220 {hostname} Casemail LMTP ready\r\n").as_bytes())
        .await?;
    let mut transaction = Transaction::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let (verb, argument) = text.split_once(' ').unwrap_or((text.as_str(), ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "LHLO" => format!(
                "250-{hostname}\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n\
                 250-SMTPUTF8\r\n250-SIZE {limit}\r\n250 XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT"
            ),
            "XFORWARD" => {
                for attribute in argument.split_whitespace() {
                    if let Some((name, value)) = attribute.split_once('=') {
                        let value = (!value.starts_with('[')).then(|| value.to_string());
                        match name.to_ascii_uppercase().as_str() {
                            "ADDR" => transaction.peer = value.and_then(|v| v.parse().ok()),
                            "HELO" => transaction.helo = value,
                            "IDENT" => transaction.queue_id = value,
                            _ => {}
                        }
                    }
                }
                "250 2.0.0 Ok".to_string()
            }
            "MAIL" => match path_of(argument) {
                Some(from) => {
                    transaction.mail_from = Some(from);
                    transaction.recipients.clear();
                    "250 2.1.0 Ok".to_string()
                }
                None => "501 5.5.4 Syntax: MAIL FROM:<address>".to_string(),
            },
            "RCPT" => match (&transaction.mail_from, path_of(argument)) {
                (None, _) => "503 5.5.1 MAIL first".to_string(),
                (_, None) => "501 5.5.4 Syntax: RCPT TO:<address>".to_string(),
                (Some(_), Some(to)) => match gateway.lookup("recipients", &to).await {
                    Ok(Some(_)) => {
                        transaction.recipients.push(to);
                        "250 2.1.5 Ok".to_string()
                    }
                    Ok(None) => format!("550 5.1.1 <{to}>: no such mailbox in Casemail"),
                    Err(_) => "451 4.3.0 Try again later".to_string(),
                },
            },
            "DATA" => {
                if transaction.recipients.is_empty() {
                    "503 5.5.1 No valid recipients".to_string()
                } else {
                    write
                        .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let raw = read_data(&mut read, limit).await?;
                    let count = transaction.recipients.len();
                    let replies: Vec<String> = match raw {
                        None => (0..count)
                            .map(|_| format!("552 5.3.4 Message larger than {limit} bytes"))
                            .collect(),
                        Some(raw) => {
                            let arrival = Arrival {
                                mail_from: transaction.mail_from.clone().unwrap_or_default(),
                                recipients: transaction.recipients.clone(),
                                raw,
                                peer: transaction.peer,
                                helo: transaction.helo.clone(),
                                queue_id: transaction.queue_id.clone(),
                            };
                            gateway
                                .receive(arrival)
                                .await
                                .into_iter()
                                .map(|answer| match answer {
                                    Ok(()) => "250 2.0.0 Delivered, encrypted".to_string(),
                                    Err(refusal) => refusal.reply(),
                                })
                                .collect()
                        }
                    };
                    transaction = Transaction::default();
                    replies.join("\r\n")
                }
            }
            "RSET" => {
                transaction = Transaction::default();
                "250 2.0.0 Ok".to_string()
            }
            "NOOP" => "250 2.0.0 Ok".to_string(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => "500 5.5.2 Command not recognised".to_string(),
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

/// Reads a message up to the lone dot, undoing dot-stuffing; None when it is larger than
/// `limit` (the rest is read and dropped, so the session can go on).
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(
    read: &mut R,
    limit: u64,
) -> anyhow::Result<Option<Vec<u8>>> {
    let mut message = Vec::new();
    let mut too_large = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            anyhow::bail!("the connection closed during DATA");
        }
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        let content = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        if message.len() as u64 + content.len() as u64 > limit {
            too_large = true;
            message.clear();
        }
        if !too_large {
            message.extend_from_slice(content);
        }
    }
    Ok((!too_large).then_some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_taken_from_angle_brackets() {
        assert_eq!(
            path_of("FROM:<Fiscal@Peer.test> SIZE=100").as_deref(),
            Some("fiscal@peer.test")
        );
        assert_eq!(path_of("FROM:<>").as_deref(), Some(""));
        assert_eq!(path_of("FROM:fiscal@peer.test"), None);
    }

    #[tokio::test]
    async fn data_is_unstuffed_and_held_to_its_limit() {
        let mut input: &[u8] = b"Subject: x\r\n\r\n..dot\r\nline\r\n.\r\nNEXT";
        let got = read_data(&mut input, 1000).await.ok().flatten();
        assert_eq!(
            got.as_deref(),
            Some(&b"Subject: x\r\n\r\n.dot\r\nline\r\n"[..])
        );
        let mut input: &[u8] = b"0123456789\r\n0123456789\r\n.\r\n";
        assert_eq!(read_data(&mut input, 15).await.ok(), Some(None));
    }
}
