//! Delivers the outbox: over SMTP (lettre) when `ORGQL_SMTP_URL` is set,
//! otherwise as one `.eml` file per email in the mail directory
//! (`ORGQL_MAIL_DIR`), which only the server's user may read. Mail holds
//! one-time links, so it never goes to the log: the log says only that a
//! message was written, and where. A failed send stays in the outbox and
//! is retried with backoff; nothing is lost.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::mail::outbox::{self, Outbox};

/// How often the sender looks for due retries when nothing wakes it.
const POLL: Duration = Duration::from_secs(5);

enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    Files {
        transport: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
    },
}

pub struct Mailer {
    db: DatabaseConnection,
    outbox: Outbox,
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    /// A sender over SMTP when `smtp_url` is given, else into `mail_dir`
    /// (created, readable by this user only, if absent).
    pub fn new(
        db: DatabaseConnection,
        outbox: Outbox,
        smtp_url: Option<&str>,
        mail_dir: &Path,
        from: &str,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(Box::new(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("ORGQL_SMTP_URL is not a usable SMTP URL: {e}"))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            )),
            None => {
                create_private_dir(mail_dir).map_err(|e| {
                    format!(
                        "cannot create the mail directory {}: {e}; set ORGQL_MAIL_DIR to a writable directory, or ORGQL_SMTP_URL",
                        mail_dir.display()
                    )
                })?;
                Transport::Files {
                    transport: AsyncFileTransport::new(mail_dir),
                    dir: mail_dir.to_owned(),
                }
            }
        };
        let from = from
            .parse()
            .map_err(|e| format!("ORGQL_MAIL_FROM is not an email address: {e}"))?;
        Ok(Self {
            db,
            outbox,
            transport,
            from,
        })
    }

    /// Where mail goes, for the start-up log line.
    pub fn destination(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP (ORGQL_SMTP_URL)".to_owned(),
            Transport::Files { dir, .. } => format!(".eml files in {}", dir.display()),
        }
    }

    /// Sends what is due until `stop` is cancelled; an email being sent then
    /// is finished first.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            if let Err(e) = self.deliver_due(&stop).await {
                tracing::warn!(target: "orgql::mail", error = %e, "could not read the outbox");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.outbox.woken() => {},
                _ = tokio::time::sleep(POLL) => {},
            }
        }
    }

    /// Sends due emails, one at a time, until none is due or `stop` is
    /// cancelled; returns how many went out. Claimed emails left unsent
    /// stay in the outbox for the next run.
    pub async fn deliver_due(&self, stop: &CancellationToken) -> crate::error::AppResult<usize> {
        let mut sent = 0;
        for email in outbox::claim_due(&self.db, 50).await? {
            if stop.is_cancelled() {
                break;
            }
            let body = email.body.clone().unwrap_or_default();
            match self.send(&email.recipient, &email.subject, body).await {
                Ok(()) => {
                    outbox::mark_sent(&self.db, email.id).await?;
                    sent += 1;
                }
                Err(error) => {
                    let next = outbox::mark_failed(&self.db, &email, &error).await?;
                    tracing::warn!(target: "orgql::mail", email_id = %email.id, attempt = email.attempts + 1, %next, %error, "email not sent; will retry");
                }
            }
        }
        Ok(sent)
    }

    async fn send(&self, recipient: &str, subject: &str, body: String) -> Result<(), String> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(recipient
                .parse()
                .map_err(|e| format!("bad recipient: {e}"))?)
            .subject(subject)
            .body(body)
            .map_err(|e| e.to_string())?;
        match &self.transport {
            Transport::Smtp(transport) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Transport::Files { transport, dir } => {
                let id = transport.send(message).await.map_err(|e| e.to_string())?;
                // The file name only: the message holds the secret.
                let file = dir.join(format!("{id}.eml"));
                tracing::info!(target: "orgql::mail", file = %file.display(), "email written to the mail directory (no ORGQL_SMTP_URL set)");
                Ok(())
            }
        }
    }
}

/// Creates `dir` if absent; a new directory is readable by this user only
/// (its files hold one-time links).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
