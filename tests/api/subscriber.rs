//! A GraphQL subscriber for the subscription tests: `tests/events/
//! subscriber.mjs`, which speaks graphql-transport-ws with the graphql-ws
//! library (what Apollo Client, urql and GraphiQL use), so the server is
//! checked against the protocol's own client rather than one of ours. It
//! prints one JSON line per happening; the test reads them in order.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use crate::helpers::TestApp;
use crate::webhook_receiver::{ensure_installed, receiver_dir};

/// A running subscriber; the process ends when this is dropped.
pub struct Subscriber {
    lines: mpsc::UnboundedReceiver<Value>,
    _child: Child,
    _stdin: ChildStdin,
}

impl Subscriber {
    /// Connects to `app` with `token` and subscribes with `query`; returns
    /// once the server acknowledged the connection (or the socket closed:
    /// the first line says which).
    pub async fn start(app: &TestApp, token: &str, query: &str, variables: Value) -> Subscriber {
        Self::start_many(app, token, query, variables, 1).await
    }

    /// Like [`Subscriber::start`], subscribing `times` times on the one
    /// socket; each line then carries its subscription's index as `n`.
    pub async fn start_many(
        app: &TestApp,
        token: &str,
        query: &str,
        variables: Value,
        times: usize,
    ) -> Subscriber {
        Self::spawn(app, token, query, variables, times, Value::Null).await
    }

    /// Like [`Subscriber::start`], with `headers` on the upgrade request.
    pub async fn start_with_headers(
        app: &TestApp,
        token: &str,
        query: &str,
        variables: Value,
        headers: Value,
    ) -> Subscriber {
        Self::spawn(app, token, query, variables, 1, headers).await
    }

    async fn spawn(
        app: &TestApp,
        token: &str,
        query: &str,
        variables: Value,
        times: usize,
        headers: Value,
    ) -> Subscriber {
        ensure_installed();
        let url = format!("{}/graphql", app.base.replacen("http://", "ws://", 1));
        let mut child = Command::new("node")
            .arg("subscriber.mjs")
            .current_dir(receiver_dir())
            .env("URL", url)
            .env("TOKEN", token)
            .env("QUERY", query)
            .env("VARIABLES", variables.to_string())
            .env("REPEAT", times.to_string())
            .env(
                "HEADERS",
                if headers.is_null() {
                    "{}".to_owned()
                } else {
                    headers.to_string()
                },
            )
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
        let stdin = child.stdin.take().expect("the subscriber's stdin is piped");
        let stdout = child
            .stdout
            .take()
            .expect("the subscriber's stdout is piped");
        let (send, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut stdout = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = stdout.next_line().await {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| panic!("the subscriber printed {line}"));
                if send.send(value).is_err() {
                    return;
                }
            }
        });
        Subscriber {
            lines,
            _child: child,
            _stdin: stdin,
        }
    }

    /// The next line, within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Value> {
        tokio::time::timeout(timeout, self.lines.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next line, which must come within 10 s.
    pub async fn expect(&mut self) -> Value {
        self.next(Duration::from_secs(10))
            .await
            .expect("the subscriber printed nothing within 10 s")
    }

    /// Waits for the connection's acknowledgement.
    pub async fn connected(&mut self) {
        let first = self.expect().await;
        assert_eq!(first, serde_json::json!({ "connected": true }), "{first}");
    }
}
