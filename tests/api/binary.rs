//! The real `orgql` binary, started for tests that need the process itself:
//! its log output, its mail directory, its answer to signals.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// A running `orgql serve`.
pub struct Server {
    child: Child,
    /// The log up to "listening", then the rest, read as it comes (an
    /// unread pipe would fill and stall the server).
    logs: String,
    rest: JoinHandle<String>,
    pub address: String,
}

impl Server {
    /// Starts `orgql serve` in `dir` on a free port with `env` on top of
    /// the settings tests need, and waits until it listens.
    pub async fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orgql"));
        command
            .arg("serve")
            .current_dir(dir)
            .env("ORGQL_LISTEN", "127.0.0.1:0")
            .env(
                "ORGQL_JWT_SECRET",
                "a test secret that is long enough to sign",
            )
            .env("ORGQL_INSECURE_FAST_PASSWORD_HASHING", "true")
            // Load from one address would otherwise be rate limited.
            .env("ORGQL_RATE_LIMIT_PER_IP", "1000000")
            .env("ORGQL_RATE_LIMIT_PER_ACCOUNT", "1000000")
            .env_remove("ORGQL_DATABASE_URL")
            .env_remove("ORGQL_MAIL_DIR")
            .env_remove("ORGQL_SMTP_URL")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the orgql binary starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut logs = String::new();
        let address = loop {
            let mut line = String::new();
            let read =
                tokio::time::timeout(Duration::from_secs(30), stderr.read_line(&mut line)).await;
            assert!(
                matches!(read, Ok(Ok(n)) if n > 0),
                "the server did not start: {logs}"
            );
            logs.push_str(&line);
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split('/').next().unwrap().to_owned();
            }
        };
        let rest = tokio::spawn(async move {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest).await;
            rest
        });
        Self {
            child,
            logs,
            rest,
            address,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.address)
    }

    /// Sends SIGTERM.
    pub async fn terminate(&self) {
        let pid = self.child.id().expect("the server is running");
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .unwrap();
        assert!(status.success(), "kill -TERM {pid}");
    }

    /// Waits (at most `limit`) for the process to exit; returns its status
    /// and the whole log.
    pub async fn wait(mut self, limit: Duration) -> (ExitStatus, String) {
        let exited = tokio::time::timeout(limit, async {
            let status = self.child.wait().await.unwrap();
            (status, self.rest.await.unwrap_or_default())
        })
        .await;
        match exited {
            Ok((status, rest)) => (status, self.logs + &rest),
            Err(_) => panic!("the server did not exit within {limit:?}: {}", self.logs),
        }
    }
}

/// Posts one GraphQL operation to `url`; asserts it had no error and
/// returns its `data`.
pub async fn call(url: &str, query: &str, variables: Value, token: Option<&str>) -> Value {
    let mut request = reqwest::Client::new()
        .post(url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response: Value = request.send().await.unwrap().json().await.unwrap();
    assert!(response.get("errors").is_none(), "{response}");
    response["data"].clone()
}

/// The `.eml` files in `dir` addressed to `to`, decoded from
/// quoted-printable (RFC 2045: soft breaks and "=3D" undone), once at least
/// one is there (within 10 s).
pub async fn written_mail(dir: &Path, to: &str) -> Vec<String> {
    for _ in 0..100 {
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mail: Vec<String> = entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| {
                    std::fs::read_to_string(e.path())
                        .unwrap()
                        .replace("=\r\n", "")
                        .replace("=\n", "")
                        .replace("=3D", "=")
                })
                .filter(|m| m.contains(&format!("To: {to}")))
                .collect();
            if !mail.is_empty() {
                return mail;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no .eml file appeared in {}", dir.display());
}

/// What signing a new account up and in gave.
pub struct SignedIn {
    pub access_token: String,
    pub refresh_token: String,
    /// The token of the mailed verification link (used).
    pub verification_token: String,
}

/// Signs `email` up on the server at `url`, proves the address with the
/// link mailed to `mail_dir`, and signs in: `signUp` signs nobody in.
pub async fn sign_up_and_in(url: &str, mail_dir: &Path, email: &str, password: &str) -> SignedIn {
    let signed_up = call(
        url,
        "mutation($e: String!, $p: String!) { signUp(input: { email: $e, password: $p, name: \"Someone\" }) { accessToken } }",
        json!({ "e": email, "p": password }),
        None,
    )
    .await;
    assert!(signed_up["signUp"]["accessToken"].is_null(), "{signed_up}");
    let mail = written_mail(mail_dir, email).await;
    let verification_token = crate::helpers::token_in(&mail[0]);
    call(
        url,
        "mutation($t: String!) { verifyEmail(input: { token: $t }) { user { id } } }",
        json!({ "t": verification_token }),
        None,
    )
    .await;
    let signed_in = call(
        url,
        "mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { accessToken refreshToken } }",
        json!({ "e": email, "p": password }),
        None,
    )
    .await;
    SignedIn {
        access_token: signed_in["logIn"]["accessToken"]
            .as_str()
            .unwrap()
            .to_owned(),
        refresh_token: signed_in["logIn"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned(),
        verification_token,
    }
}
