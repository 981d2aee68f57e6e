//! A webhook receiver for the webhook tests, run with Node from
//! `tests/events` (`receiver.mjs`): it checks every delivery's Standard
//! Webhooks signature with the specification's reference library
//! (`standardwebhooks` on npm) rather than with crypto of our own, so a
//! delivery counts as signed only if a real consumer would accept it. The
//! test drives it over HTTP: the secret to verify with, failures and hangs
//! to answer with (to exercise retries and the sender's timeout), and the
//! list of what arrived.
//!
//! The library checks the `webhook-timestamp` against the receiver's own
//! (real) clock and refuses one more than five minutes either side of it,
//! so a delivery signed at a server's fake time far from now arrives with
//! `verified == false`.
//!
//! `npm ci` runs in `tests/events` on first use when `node_modules` is
//! missing, under a file lock, so a plain `cargo test` works on a fresh
//! machine and concurrent tests install once.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

pub fn receiver_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/events")
}

/// Installs `tests/events`' packages once (the receiver's and the
/// subscriber's).
pub fn ensure_installed() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = receiver_dir();
        let lock = std::fs::File::create(std::env::temp_dir().join("orgql-test-events.lock"))
            .expect("create the npm lock file");
        lock.lock().expect("take the npm lock");
        let installed = ["standardwebhooks", "graphql-ws", "ws"]
            .iter()
            .all(|package| dir.join("node_modules").join(package).exists());
        if !installed {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm (Node.js 20 or later) must be installed for the webhook tests");
            assert!(status.success(), "npm ci in tests/events failed");
        }
        lock.unlock().ok();
    });
}

/// One request the receiver got, as it recorded it on arrival.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Received {
    /// The request's target: the path and any query string.
    pub path: String,
    /// The `webhook-id` header.
    pub webhook_id: Option<String>,
    /// The `webhook-timestamp` header, as sent.
    pub timestamp: Option<String>,
    /// Whether the reference library accepted the signature.
    pub verified: bool,
    /// The library's refusal (or "no secret set") when not verified.
    pub error: Option<String>,
    /// The status the receiver answered (or, while a delivery hangs, will
    /// answer).
    pub status: u16,
    /// The body, if it is JSON (recorded whether verified or not).
    pub payload: Option<Value>,
}

/// A running receiver; the process ends when this is dropped.
pub struct Receiver {
    /// Where to send deliveries: `http://127.0.0.1:PORT/hook`.
    pub url: String,
    base: String,
    client: reqwest::Client,
    _child: Child,
    _stdin: ChildStdin,
}

impl Receiver {
    /// Starts a receiver on an ephemeral loopback port. It has no secret
    /// until [`Receiver::set_secret`], and refuses (400) every delivery
    /// until then.
    pub async fn start() -> Receiver {
        ensure_installed();
        let mut child = Command::new("node")
            .arg("receiver.mjs")
            .current_dir(receiver_dir())
            .env_remove("PORT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if std::env::var("TEST_LOG").is_ok() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true)
            .spawn()
            .expect("start node");
        let stdin = child.stdin.take().expect("the receiver's stdin is piped");
        let stdout = child.stdout.take().expect("the receiver's stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next_line()
            .await
            .expect("read the receiver's first line")
            .expect("the receiver printed its port");
        // Drain what it prints later, so it never writes into a closed or
        // full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let port: u16 = first
            .strip_prefix("listening ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| {
                panic!("the receiver's first line is not `listening <port>`: {first}")
            });
        let base = format!("http://127.0.0.1:{port}");
        Receiver {
            url: format!("{base}/hook"),
            base,
            client: reqwest::Client::new(),
            _child: child,
            _stdin: stdin,
        }
    }

    async fn control(&self, body: Value) {
        let response = self
            .client
            .post(format!("{}/_control", self.base))
            .json(&body)
            .send()
            .await
            .expect("reach the webhook receiver");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "the webhook receiver refused {body}: {text}"
        );
    }

    /// Sets the secret deliveries are verified with (`whsec_` and base64,
    /// as the library takes it).
    pub async fn set_secret(&self, secret: &str) {
        self.control(json!({ "secret": secret })).await;
    }

    /// Makes the next `n` verified deliveries answer 500.
    pub async fn fail_next(&self, n: u32) {
        self.control(json!({ "failNext": n })).await;
    }

    /// Makes the next `n` verified deliveries wait `ms` milliseconds before
    /// answering 200 (longer than the sender's timeout, to make it give
    /// up). Pending failures from [`Receiver::fail_next`] go first.
    pub async fn hang_next(&self, n: u32, ms: u64) {
        self.control(json!({ "hangNext": n, "hangMs": ms })).await;
    }

    /// Sets the status verified deliveries answer once failures and hangs
    /// are used up (200 until set; 503, say, to fail for good).
    pub async fn set_status(&self, status: u16) {
        self.control(json!({ "status": status })).await;
    }

    /// Every request received so far, in arrival order.
    pub async fn received(&self) -> Vec<Received> {
        self.client
            .get(format!("{}/_control/received", self.base))
            .send()
            .await
            .expect("reach the webhook receiver")
            .error_for_status()
            .expect("the webhook receiver lists what it received")
            .json()
            .await
            .expect("the webhook receiver's list is JSON")
    }

    /// Polls [`Receiver::received`] until `pred` holds or `timeout` passes;
    /// answers the last list either way.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        pred: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        // Real time, not tokio's: the receiver's clock does not stop when a
        // test pauses tokio's.
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let received = self.received().await;
            if pred(&received) || std::time::Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
