//! Delivers the outbox: over SMTP (lettre) when `ORGQL_SMTP_URL` is set,
//! otherwise by writing each email to the log (a development fallback: the
//! log then holds invitation links). A failed send stays in the outbox and
//! is retried with backoff; nothing is lost.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::DatabaseConnection;

use crate::app::StartError;
use crate::domain::outbox::{self, Outbox};

/// How often the sender looks for due retries when nothing wakes it.
const POLL: Duration = Duration::from_secs(5);

enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    Log,
}

pub struct Mailer {
    db: DatabaseConnection,
    outbox: Outbox,
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn new(
        db: DatabaseConnection,
        outbox: Outbox,
        smtp_url: Option<&str>,
        from: &str,
    ) -> Result<Self, StartError> {
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(Box::new(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("ORGQL_SMTP_URL is not a usable SMTP URL: {e}"))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            )),
            None => Transport::Log,
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

    /// Sends what is due until the process ends.
    pub async fn run(self) {
        loop {
            if let Err(e) = self.deliver_due().await {
                tracing::warn!(target: "orgql::mail", error = %e, "could not read the outbox");
            }
            tokio::select! {
                _ = self.outbox.woken() => {},
                _ = tokio::time::sleep(POLL) => {},
            }
        }
    }

    /// Sends every due email once; returns how many went out.
    pub async fn deliver_due(&self) -> crate::error::AppResult<usize> {
        let mut sent = 0;
        for email in outbox::claim_due(&self.db, 50).await? {
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
        match &self.transport {
            Transport::Log => {
                tracing::info!(target: "orgql::mail", to = recipient, subject, body = %body, "email (no ORGQL_SMTP_URL set, so written here)");
                Ok(())
            }
            Transport::Smtp(transport) => {
                let message = Message::builder()
                    .from(self.from.clone())
                    .to(recipient
                        .parse()
                        .map_err(|e| format!("bad recipient: {e}"))?)
                    .subject(subject)
                    .body(body)
                    .map_err(|e| e.to_string())?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }
}
