//! Graceful shutdown of the real binary: on SIGTERM it stops accepting,
//! finishes the requests in flight, stops its background tasks and exits 0.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::binary::Server;
use crate::mail::smtp_listener_slow;

#[tokio::test]
async fn sigterm_mid_load_finishes_the_requests_in_flight_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;

    // Load: clients signing up one account after another.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (url, stop, answered) = (server.url(), stop.clone(), answered.clone());
        workers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let email = format!("w{worker}n{n}@example.com");
                let sent = client
                    .post(&url)
                    .json(&json!({ "query": "mutation($e: String!) { signUp(input: { email: $e, password: \"violet tractor umbrella 42\", name: \"W\" }) { user { id } } }", "variables": { "e": email } }))
                    .send()
                    .await;
                // Refused or reset connections are requests the server
                // never took (it stopped accepting); an answer it gave
                // must be whole and successful.
                let Ok(response) = sent else { continue };
                let body: Value = response.json().await.expect("a whole JSON answer");
                assert!(body.get("errors").is_none(), "{body}");
                answered.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // One request held in flight: headers and half the body sent before
    // the signal, the rest after.
    let body = br#"{"query":"{ __typename }"}"#;
    let mut slow = TcpStream::connect(&server.address).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.address,
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = answered.load(Ordering::Relaxed);
    assert!(before > 0, "the load is running");

    server.terminate().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.write_all(&body[10..]).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        read.is_ok(),
        "the request in flight is answered and closed: {answer:?}"
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""__typename":"Query""#), "{answer}");

    let (status, logs) = server.wait(Duration::from_secs(20)).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    assert_eq!(status.code(), Some(0), "{logs}");
    assert!(
        logs.contains("stopped: requests and background work finished"),
        "{logs}"
    );
}

#[tokio::test]
async fn sigterm_during_an_email_delivery_lets_it_finish() {
    let (port, mut inbox) = smtp_listener_slow(Duration::from_secs(2)).await;
    let dir = tempfile::tempdir().unwrap();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let server = Server::start(dir.path(), &[("ORGQL_SMTP_URL", &smtp)]).await;
    let client = reqwest::Client::new();
    let call = |query: &'static str, variables: Value, token: Option<String>| {
        let mut request = client
            .post(server.url())
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            assert!(body.get("errors").is_none(), "{body}");
            body["data"].clone()
        }
    };
    call("mutation { signUp(input: { email: \"ann@example.com\", password: \"violet tractor umbrella 42\", name: \"Ann\" }) { user { id } } }", json!({}), None)
        .await;
    // Sign-up mails a verification link first; let it through, and use it
    // (an unverified address does not sign in).
    let verification = tokio::time::timeout(Duration::from_secs(10), inbox.recv())
        .await
        .expect("the verification email is delivered")
        .unwrap();
    call(
        "mutation($t: String!) { verifyEmail(input: { token: $t }) { user { id } } }",
        // Quoted-printable on the wire: soft breaks and "=3D" undone.
        json!({ "t": crate::helpers::token_in(&verification.replace("=\r\n", "").replace("=3D", "=")) }),
        None,
    )
    .await;
    let token = call("mutation { logIn(input: { email: \"ann@example.com\", password: \"violet tractor umbrella 42\" }) { accessToken } }", json!({}), None)
        .await["logIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let org = call(
        "mutation { createOrganization(input: { name: \"Acme\" }) { organization { id } } }",
        json!({}),
        Some(token.clone()),
    )
    .await["createOrganization"]["organization"]["id"]
        .clone();
    call("mutation($o: ID!) { createInvitation(input: { organizationId: $o, email: \"bob@example.com\" }) { token } }", json!({ "o": org }), Some(token))
        .await;

    // The message is on the wire; the server waits for the SMTP answer.
    let invitation = tokio::time::timeout(Duration::from_secs(10), inbox.recv())
        .await
        .expect("the delivery starts")
        .unwrap();
    assert!(invitation.contains("To: bob@example.com"), "{invitation}");
    server.terminate().await;
    let (status, logs) = server.wait(Duration::from_secs(20)).await;
    assert_eq!(status.code(), Some(0), "{logs}");

    // Finished, not abandoned: the outbox records the email as sent.
    let db = sea_orm::Database::connect(format!("sqlite://{}/orgql.db", dir.path().display()))
        .await
        .unwrap();
    let rows = entity::outbox_email::Entity::find().all(&db).await.unwrap();
    assert_eq!(rows.len(), 2, "the verification and the invitation");
    assert!(rows.iter().all(|r| r.sent_at.is_some()), "{rows:?}");
}

/// What one client saw while it hammered the server.
#[derive(Debug, Default)]
struct Tally {
    answered: usize,
    /// Connections refused: the server had stopped listening.
    refused: usize,
    /// Requests sent on a connection and never answered whole: a reset,
    /// a connection closed before the answer, a wrong answer.
    lost: Vec<String>,
}

/// Sends `{ __typename }` on one keep-alive client, as fast as answers
/// come, until `stop`.
async fn hammer(url: String, stop: Arc<AtomicBool>) -> Tally {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let mut tally = Tally::default();
    // Once an answer said `Connection: close`, the server has begun to
    // stop: a new connection may then be refused, or (when its handshake
    // completes in the instant the listening socket closes, which no
    // server can avoid) reset before its request is read. Either way the
    // request was never accepted. A reset before that answer is a request
    // lost.
    let mut server_closing = false;
    while !stop.load(Ordering::Relaxed) {
        let sent = client
            .post(&url)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                server_closing |= response
                    .headers()
                    .get(reqwest::header::CONNECTION)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
                match response.text().await {
                    Ok(body) if status == 200 && body.contains(r#""__typename":"Query""#) => {
                        tally.answered += 1;
                    }
                    Ok(body) => tally.lost.push(format!("{status}: {body}")),
                    Err(e) => tally.lost.push(format!("reading the answer: {e:?}")),
                }
            }
            Err(e) if e.is_connect() || (server_closing && is_reset(&e)) => {
                tally.refused += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => tally.lost.push(format!("{e:?}")),
        }
    }
    tally
}

/// Whether `e` is the peer resetting the connection before any answer.
fn is_reset(e: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionReset;
        }
        source = cause.source();
    }
    false
}

#[tokio::test]
async fn sigterm_under_load_answers_every_request_it_accepted_five_times_over() {
    for run in 1..=5 {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path(), &[]).await;
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..8)
            .map(|_| tokio::spawn(hammer(server.url(), stop.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        server.terminate().await;
        let (status, logs) = server.wait(Duration::from_secs(20)).await;
        // Clients go on until the process is gone: whatever they sent
        // meanwhile was answered or refused a connection.
        stop.store(true, Ordering::Relaxed);
        let mut answered = 0;
        let mut refused = 0;
        for client in clients {
            let tally = client.await.unwrap();
            assert!(tally.lost.is_empty(), "run {run}: {:?}", tally.lost);
            answered += tally.answered;
            refused += tally.refused;
        }
        assert_eq!(status.code(), Some(0), "run {run}: {logs}");
        assert!(
            answered > 100,
            "run {run}: the load ran ({answered} answers)"
        );
        eprintln!(
            "run {run}: {answered} answered, {refused} connections refused after the signal, none lost"
        );
    }
}

#[tokio::test]
async fn sigterm_during_a_webhook_delivery_lets_it_finish() {
    use crate::binary::{call, sign_up_and_in};
    use crate::webhook_receiver::Receiver;
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("ORGQL_WEBHOOK_ALLOW_HTTP", "true"),
            ("ORGQL_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ],
    )
    .await;
    let url = server.url();
    let ann = sign_up_and_in(
        &url,
        &dir.path().join("mail"),
        "ann@example.com",
        "violet tractor umbrella 42",
    )
    .await;
    let token = Some(ann.access_token.as_str());
    let org = call(
        &url,
        "mutation { createOrganization(input: { name: \"Acme\" }) { organization { id } } }",
        json!({}),
        token,
    )
    .await["createOrganization"]["organization"]["id"]
        .clone();
    let created = call(
        &url,
        "mutation($o: ID!, $u: String!) { createWebhookEndpoint(input: { organizationId: $o, url: $u }) { secret } }",
        json!({ "o": org, "u": receiver.url }),
        token,
    )
    .await;
    receiver
        .set_secret(created["createWebhookEndpoint"]["secret"].as_str().unwrap())
        .await;
    // The receiver takes 2 s to answer the delivery.
    receiver.hang_next(1, 2_000).await;
    call(
        &url,
        "mutation($o: ID!) { createTeam(input: { organizationId: $o, name: \"Core\" }) { team { id } } }",
        json!({ "o": org }),
        token,
    )
    .await;
    let arrived = receiver
        .wait_until(Duration::from_secs(10), |r| !r.is_empty())
        .await;
    assert_eq!(arrived.len(), 1);
    server.terminate().await;
    let (status, logs) = server.wait(Duration::from_secs(20)).await;
    assert_eq!(status.code(), Some(0), "{logs}");

    // Finished, not abandoned: the delivery is recorded as made.
    let db = sea_orm::Database::connect(format!("sqlite://{}/orgql.db", dir.path().display()))
        .await
        .unwrap();
    let deliveries = entity::webhook_delivery::Entity::find()
        .all(&db)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, "DELIVERED", "{deliveries:?}");
    assert_eq!(deliveries[0].attempts, 1);
}
