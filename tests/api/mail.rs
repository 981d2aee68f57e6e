//! Delivery of invitation emails: to a real SMTP listener on loopback that
//! the test starts, and retried when the server is down.

use std::time::Duration;

use entity::outbox_email;
use sea_orm::EntityTrait;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::helpers::*;

/// A minimal SMTP server (RFC 5321) that accepts every message and hands
/// each DATA section to the test.
pub async fn smtp_listener() -> (u16, mpsc::UnboundedReceiver<String>) {
    smtp_listener_slow(Duration::ZERO).await
}

/// The same, handing each message over as soon as it is read but
/// acknowledging it only after `delay`: a delivery stays in progress that
/// long.
pub async fn smtp_listener_slow(delay: Duration) -> (u16, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test ESMTP\r\n").await.ok();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            tx.send(data.take().unwrap()).ok();
                            tokio::time::sleep(delay).await;
                            write.write_all(b"250 queued\r\n").await.ok();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 test\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.ok();
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn an_invitation_email_reaches_the_smtp_server_with_its_link() {
    let (port, mut inbox) = smtp_listener().await;
    let app = spawn_app_with(|c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.public_url = "https://app.example.com".into();
    })
    .await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let sent = app
        .graphql("mutation($input: CreateInvitationInput!) { createInvitation(input: $input) { token acceptUrl } }", json!({ "input": { "organizationId": org.id, "email": "bob@example.com" } }), Some(&ann.token))
        .await;
    assert_ok(&sent);
    let url = sent["data"]["createInvitation"]["acceptUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.starts_with("https://app.example.com/invitations/accept?token="));
    // Ann's verification email may come first.
    let message = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let message = inbox.recv().await.unwrap();
            if message.contains("To: bob@example.com") {
                return message;
            }
        }
    })
    .await
    .expect("delivered in time");
    // The body is quoted-printable (RFC 2045): undo soft breaks and "=3D".
    let decoded = message.replace("=\n", "").replace("=3D", "=");
    assert!(decoded.contains(&url), "{message}");
    // Delivered: the outbox keeps no copy of the link.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rows = outbox_email::Entity::find().all(&app.db).await.unwrap();
    assert!(
        rows.iter().all(|r| r.sent_at.is_some() && r.body.is_none()),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_failed_send_is_kept_and_retried_later() {
    // Nothing listens on this port.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(|c| c.smtp_url = Some(format!("smtp://127.0.0.1:{closed}"))).await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let sent = app
        .graphql("mutation($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { status } } }", json!({ "input": { "organizationId": org.id, "email": "bob@example.com" } }), Some(&ann.token))
        .await;
    assert_ok(&sent);
    let mut row = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rows = outbox_email::Entity::find().all(&app.db).await.unwrap();
        if rows.first().is_some_and(|r| r.attempts > 0) {
            row = rows.into_iter().next();
            break;
        }
    }
    let row = row.expect("a failed attempt is recorded");
    assert!(row.sent_at.is_none());
    assert!(row.body.is_some(), "the email is kept for the retry");
    assert!(
        row.next_attempt_at > chrono::Utc::now(),
        "the retry is scheduled later"
    );
    assert!(row.last_error.is_some());
}
