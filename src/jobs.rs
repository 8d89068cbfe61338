//! Scheduled work: removing expired sessions and orphaned attachment files, sending
//! notification email and applying the inactivity policy. With several instances on one database, each run takes a job lock or
//! claims its rows, so running the jobs in every instance is safe.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::state::AppState;

/// The background jobs of one instance; they stop when this is dropped.
pub struct Jobs(Vec<JoinHandle<()>>);

impl Drop for Jobs {
    fn drop(&mut self) {
        for job in &self.0 {
            job.abort();
        }
    }
}

/// Starts the log checkpointer and the session and blob sweepers always, and the notification and policy jobs when
/// the configuration asks this instance to run them.
pub fn start(app: &AppState) -> Jobs {
    let mut jobs = vec![
        tokio::spawn(checkpoint_log(app.clone())),
        tokio::spawn(sweep_sessions(app.clone())),
        tokio::spawn(sweep_blobs(app.clone())),
    ];
    if app.config.scheduled_jobs {
        jobs.push(tokio::spawn(run_scheduled_jobs(app.clone())));
        jobs.push(tokio::spawn(send_notifications(app.clone())));
    }
    Jobs(jobs)
}

/// Counts a run of `job` for the metrics, by outcome.
fn counted<T, E>(job: &'static str, result: Result<T, E>) -> Result<T, E> {
    let outcome = if result.is_ok() { "ok" } else { "failed" };
    metrics::counter!("casemail_job_runs_total", "job" => job, "outcome" => outcome).increment(1);
    result
}

/// SQLite's write-ahead log folded into the database every second, off the request path,
/// and its planner statistics refreshed every hour as the mailboxes grow.
async fn checkpoint_log(app: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    let mut ticks: u64 = 0;
    loop {
        every.tick().await;
        ticks += 1;
        if let Err(error) = app.checkpoint().await {
            tracing::warn!(%error, "could not checkpoint the database log");
        }
        if ticks.is_multiple_of(3600)
            && let Err(error) = app.refresh_statistics().await
        {
            tracing::warn!(%error, "could not refresh the database statistics");
        }
    }
}

async fn sweep_sessions(app: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(300));
    loop {
        every.tick().await;
        match counted("sessions", app.accounts.remove_expired_sessions().await) {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "removed expired sessions"),
            Err(error) => tracing::warn!(%error, "could not remove expired sessions"),
        }
    }
}

/// Blobs no message refers to, at start (after a crash) and every hour. Safe in every
/// instance at once: only unreferenced, old files go.
async fn sweep_blobs(app: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        match counted(
            "blob_sweep",
            app.mail
                .sweep_orphan_blobs(crate::mail::ORPHAN_BLOB_AGE)
                .await,
        ) {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "removed attachment files no message refers to"),
            Err(error) => tracing::warn!(%error, "could not sweep attachment files"),
        }
    }
}

/// Notification email, and letters leaving for secure domains, every five seconds until
/// nothing is due: each instance claims the rows it sends, so all of them may run this.
async fn send_notifications(app: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        if let Err(error) = counted("notifications", app.notifications.deliver().await) {
            tracing::warn!(%error, "notification delivery failed");
        }
        if app.gateway.is_enabled()
            && let Err(error) = counted("gateway_outbound", app.gateway.send_outbound().await)
        {
            tracing::warn!(%error, "handing letters to the mail server failed");
        }
    }
}

/// Reply-by reminders every half minute; the audit chain's new
/// events checked every minute; the inactivity policy every ten minutes (job locks make one
/// instance run the check and the policy when several share a database; reminders claim
/// each copy, so every instance may run them).
async fn run_scheduled_jobs(app: AppState) {
    let holder = uuid::Uuid::new_v4().to_string();
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        if ticks.is_multiple_of(20)
            && let Err(error) = counted(
                "inactivity_policy",
                app.lifecycle
                    .run_inactivity_policy(&holder, app.clock.now())
                    .await,
            )
        {
            tracing::warn!(%error, "inactivity policy run failed");
        }
        if ticks.is_multiple_of(2)
            && let Err(error) = counted(
                "audit_check",
                app.audit.check_new_events(&holder, app.clock.now()).await,
            )
        {
            tracing::warn!(%error, "audit chain check failed");
        }
        if let Err(error) = counted(
            "reply_reminders",
            app.mail.send_reply_reminders(app.clock.now()).await,
        ) {
            tracing::warn!(%error, "reply-by reminders failed");
        }
        ticks += 1;
    }
}
