//! The commands: serve (default), demo, admin create, keys recovery-new and recover,
//! audit verify and head, backup and restore. Each builds the application state and calls services; none touches the store.

mod demo;
mod demo_cases;

use std::io::Read;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::accounts::CreateAccountError;
use crate::clock::Clock;
use crate::config::{AdminCommand, AuditCommand, Cli, Command, KeysCommand};
use crate::domain::{EmailAddress, OrganisationName, Password, PersonName};
use crate::state::{AppState, Casemail};
use crate::store::AUDIT_GENESIS;

pub use demo::seed as seed_demo;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config.resolve()?;
    let app = Casemail::open(config, Clock::system()).await?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(app, false).await,
        Command::Demo => serve(app, true).await,
        Command::Admin(AdminCommand::Create {
            email,
            name,
            organisation,
            password_file,
        }) => {
            announce_recovery_key(&app).await?;
            let password = read_password(password_file.as_deref())?;
            create_service_admin(&app, &email, &name, &organisation, &password).await?;
            println!("Created service administrator {email}.");
            Ok(())
        }
        Command::Audit(AuditCommand::Head) => {
            match app.audit.head().await? {
                Some((seq, hash)) => println!("{seq}:{hash}"),
                None => println!("0:{AUDIT_GENESIS}"),
            }
            Ok(())
        }
        Command::Audit(AuditCommand::Verify { head }) => {
            let remembered = match head {
                Some(text) => Some(parse_head(&text)?),
                None => None,
            };
            let verification = app.audit.verify(remembered).await?;
            match (verification.broken, verification.head) {
                (None, Some((seq, hash))) => {
                    println!(
                        "OK: {} events, chain intact. Head {seq}:{hash}",
                        verification.count
                    );
                    Ok(())
                }
                (None, None) => {
                    println!("OK: the audit trail is empty.");
                    Ok(())
                }
                (Some(broken), _) => {
                    anyhow::bail!("BROKEN after {} events: {broken}", verification.count)
                }
            }
        }
        Command::Keys(KeysCommand::Recover {
            email,
            identity_file,
        }) => {
            let identity = read_secret(identity_file.as_deref(), "the recovery identity")?;
            let temporary = recover_account(&app, &email, &identity).await?;
            println!("Recovered {email}. Temporary password (tell them by a separate channel):");
            println!("{temporary}");
            println!("They must choose a new password when they sign in; their mail is kept.");
            Ok(())
        }
        Command::Backup { to } => {
            let manifest = app.backups.write(&to, app.clock.now()).await?;
            let rows: u64 = manifest.tables.values().sum();
            println!(
                "Backed up {rows} rows in {} tables and {} attachments to {} (audit head {}).",
                manifest.tables.len(),
                manifest.blobs,
                to.display(),
                head_text(&manifest.audit_head)
            );
            Ok(())
        }
        Command::Restore { from } => {
            let manifest = app.backups.restore(&from).await?;
            let rows: u64 = manifest.tables.values().sum();
            println!(
                "Restored {rows} rows and {} attachments from {}; the audit chain verifies to \
                 its recorded head {}. People sign in again.",
                manifest.blobs,
                from.display(),
                head_text(&manifest.audit_head)
            );
            Ok(())
        }
        Command::Keys(KeysCommand::RecoveryNew) => {
            let path = app.accounts.rotate_recovery_key().await?;
            let public = app.accounts.recovery_recipient().await?;
            println!("New recovery recipient: {public}");
            println!("Secret half written to {}", path.display());
            println!(
                "Move that file to offline custody and delete it from this server. Accounts \
                 are re-wrapped to the new recipient as their owners next sign in."
            );
            if app.config.recovery_recipient.is_some() {
                println!(
                    "Note: CASEMAIL_RECOVERY_RECIPIENT is set and takes precedence; update it \
                     to {public} for the new key to be used."
                );
            }
            Ok(())
        }
    }
}

async fn serve(app: AppState, demo: bool) -> anyhow::Result<()> {
    announce_recovery_key(&app).await?;
    if app.accounts.is_empty().await? {
        if demo || app.config.demo {
            demo::seed(&app).await?;
        } else {
            let link = app.accounts.issue_setup_link().await?;
            tracing::warn!(
                "No accounts yet. Open {link} to create the first service administrator \
                 (the link works once), or run `casemail admin create`."
            );
        }
    } else if demo {
        tracing::info!("Accounts already exist; not seeding the demo again.");
    }
    let listener = TcpListener::bind(app.config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", app.config.bind))?;
    tracing::info!(
        "Casemail is serving on {} ({} database)",
        app.config.public_url(),
        app.backend_name()
    );
    let _jobs = crate::jobs::start(&app);
    crate::web::serve(app, listener, crate::web::shutdown_signal()).await
}

fn head_text(head: &Option<(i64, String)>) -> String {
    head.as_ref().map_or_else(
        || "empty".to_string(),
        |(seq, hash)| format!("{seq}:{hash}"),
    )
}

/// Generates the recovery key pair on first start and says loudly where its secret is.
async fn announce_recovery_key(app: &AppState) -> anyhow::Result<()> {
    if let Some(path) = app.accounts.ensure_recovery_key().await? {
        tracing::warn!(
            "Generated this deployment's recovery key. Its SECRET half is in {}. Move it to \
             offline custody now and delete it from this server: with it and the database, \
             every account's keys can be recovered.",
            path.display()
        );
    }
    Ok(())
}

fn read_password(file: Option<&std::path::Path>) -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("CASEMAIL_ADMIN_PASSWORD") {
        return Ok(password);
    }
    if let Some(path) = file {
        return std::fs::read_to_string(path)
            .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
            .with_context(|| format!("cannot read {}", path.display()));
    }
    eprintln!("Password for the new administrator (then Enter, Ctrl-D):");
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    Ok(input.trim_end_matches(['\r', '\n']).to_string())
}

/// A secret from a file, or from standard input when no file is named; held zeroised.
fn read_secret(
    file: Option<&std::path::Path>,
    what: &str,
) -> anyhow::Result<secrecy::SecretString> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => {
            eprintln!("Paste {what} (then Enter, Ctrl-D):");
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            input
        }
    };
    Ok(secrecy::SecretString::from(text))
}

/// Recovers the account at `email` with the offline identity (`casemail keys recover`);
/// returns the temporary password.
pub async fn recover_account(
    app: &AppState,
    email: &str,
    identity: &secrecy::SecretString,
) -> anyhow::Result<String> {
    let address = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let account = app
        .accounts
        .account_by_email(&address)
        .await?
        .with_context(|| format!("there is no account for {email}"))?;
    app.accounts
        .recover_with_identity(&crate::audit::Origin::command_line(), account.id, identity)
        .await
        .map_err(|problem| anyhow::anyhow!("{problem}"))
}

/// Creates a service administrator and prints their recovery code.
pub async fn create_service_admin(
    app: &AppState,
    email: &str,
    name: &str,
    organisation: &str,
    password: &str,
) -> anyhow::Result<i64> {
    let created = app
        .accounts
        .create_service_admin(
            EmailAddress::parse(email)?,
            PersonName::parse(name)?,
            &OrganisationName::parse(organisation)?,
            Password::parse(password)?,
        )
        .await;
    match created {
        Ok((id, code)) => {
            println!("Recovery code for {email} (shown once; keep it safe): {code}");
            Ok(id)
        }
        Err(CreateAccountError::EmailTaken) => {
            anyhow::bail!("an account with the address {email} already exists")
        }
        Err(CreateAccountError::Internal(error)) => Err(error),
    }
}

/// A head as printed by `casemail audit head`: SEQ:HASH.
fn parse_head(text: &str) -> anyhow::Result<(i64, String)> {
    let (seq, hash) = text
        .trim()
        .split_once(':')
        .context("write the head as SEQ:HASH, as `casemail audit head` prints it")?;
    let seq = seq.parse().context("the head's SEQ must be a number")?;
    anyhow::ensure!(
        hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "the head's HASH must be 64 hexadecimal characters"
    );
    Ok((seq, hash.to_lowercase()))
}
