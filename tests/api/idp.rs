//! A real OpenID Connect provider for the SSO tests: the `oidc-provider`
//! npm package, run with Node from `tests/idp/server.mjs`, and a browser
//! stand-in that walks its login and consent forms over HTTP.
//!
//! `npm ci` runs in `tests/idp` on first use when `node_modules` is
//! missing, under a file lock, so a plain `cargo test` works on a fresh
//! machine and concurrent tests install once.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

fn idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/idp")
}

fn ensure_installed() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let dir = idp_dir();
        let lock = std::fs::File::create(std::env::temp_dir().join("orgql-test-idp.lock"))
            .expect("create the npm lock file");
        lock.lock().expect("take the npm lock");
        if !dir.join("node_modules/oidc-provider").exists() {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm (Node.js 20 or later) must be installed for the SSO tests");
            assert!(status.success(), "npm ci in tests/idp failed");
        }
        lock.unlock().ok();
    });
}

/// A running provider; the process ends when this is dropped.
pub struct Idp {
    pub issuer: String,
    _child: Child,
    _stdin: ChildStdin,
}

impl Idp {
    /// Starts a provider with `config`: `{ clients: [...], accounts: { login:
    /// claims } }`.
    pub async fn start(config: Value) -> Self {
        ensure_installed();
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(idp_dir())
            .env("IDP_CONFIG", config.to_string())
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
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next_line()
            .await
            .expect("read the IdP's first line")
            .expect("the IdP printed its issuer");
        // Drain what it prints later, so it never writes into a closed or
        // full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let issuer = serde_json::from_str::<Value>(&first).unwrap()["issuer"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            issuer,
            _child: child,
            _stdin: stdin,
        }
    }

    /// Spoils the ID token of the next token response (`forged`,
    /// `unsigned`, `wrong_audience`, `expired`, `wrong_nonce`,
    /// `wrong_issuer`).
    pub async fn tamper(&self, mode: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/__test/tamper", self.issuer))
            .json(&serde_json::json!({ "mode": mode }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
}

/// A browser: keeps cookies, follows no redirect by itself.
pub struct Browser {
    pub client: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }
}

fn location(base: &str, response: &reqwest::Response) -> String {
    let raw = response
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap();
    reqwest::Url::parse(base)
        .unwrap()
        .join(raw)
        .unwrap()
        .to_string()
}

impl Browser {
    /// GETs `url` and answers the redirect's target.
    pub async fn redirect_of(&self, url: &str) -> (StatusCode, Option<String>) {
        let response = self.client.get(url).send().await.unwrap();
        let status = response.status();
        if status.is_redirection() {
            (status, Some(location(url, &response)))
        } else {
            (status, None)
        }
    }

    /// Walks the IdP from its authorization URL, signing in as `login` and
    /// consenting, until it redirects to a URL starting with `until`;
    /// answers that URL.
    pub async fn through_idp(&self, authorization_url: &str, login: &str, until: &str) -> String {
        let mut url = authorization_url.to_owned();
        for _ in 0..12 {
            if url.starts_with(until) {
                return url;
            }
            let response = self.client.get(&url).send().await.unwrap();
            if response.status().is_redirection() {
                url = location(&url, &response);
                continue;
            }
            let page = response.text().await.unwrap();
            let form: Vec<(&str, &str)> = if page.contains("name=\"prompt\" value=\"login\"") {
                vec![("prompt", "login"), ("login", login), ("password", "any")]
            } else if page.contains("name=\"prompt\" value=\"consent\"") {
                vec![("prompt", "consent")]
            } else {
                panic!("unexpected IdP page at {url}: {page}");
            };
            let response = self.client.post(&url).form(&form).send().await.unwrap();
            assert!(
                response.status().is_redirection(),
                "the IdP did not redirect after its form: {}",
                response.status()
            );
            url = location(&url, &response);
        }
        panic!("the IdP never sent the browser back to {until}");
    }
}
