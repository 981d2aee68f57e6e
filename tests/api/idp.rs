//! Real identity providers for the SSO tests, run with Node from
//! `tests/idp`: an OpenID Connect provider (the `oidc-provider` npm
//! package, `server.mjs`), a SAML IdP (`samlify`, `saml-idp.mjs`; in
//! `idp/saml.rs`, the `saml` build only), and a browser stand-in that
//! walks their login forms over HTTP.
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
        if !dir.join("node_modules/oidc-provider").exists()
            || !dir.join("node_modules/samlify").exists()
        {
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

/// Starts `script` in `tests/idp` with `IDP_CONFIG`; answers the process,
/// its stdin (the process ends when it closes) and its first line (JSON).
async fn spawn_node(script: &str, config: &Value) -> (Child, ChildStdin, Value) {
    ensure_installed();
    let mut child = Command::new("node")
        .arg(script)
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
        .expect("the IdP printed its address");
    // Drain what it prints later, so it never writes into a closed or
    // full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, stdin, serde_json::from_str(&first).unwrap())
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
        let (child, stdin, first) = spawn_node("server.mjs", &config).await;
        Self {
            issuer: first["issuer"].as_str().unwrap().to_owned(),
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

/// The cookie that binds an SSO sign-in to the browser that started it.
pub const SSO_BINDING_COOKIE: &str = "__Host-orgql_sso";

/// A browser: keeps cookies, follows no redirect by itself. reqwest's jar
/// never sends a Secure cookie over plain http, so orgql's `__Host-`
/// binding cookie is kept here by hand and sent to orgql's `/sso/` paths.
pub struct Browser {
    pub client: reqwest::Client,
    sso_binding: std::sync::Mutex<Option<String>>,
}

impl Default for Browser {
    fn default() -> Self {
        Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            sso_binding: std::sync::Mutex::new(None),
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

/// The binding cookie's value that `response` sets: `Some("")` when it
/// clears it.
pub fn sso_binding_set_by(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            let pair = value.split(';').next()?;
            let (name, value) = pair.trim().split_once('=')?;
            (name == SSO_BINDING_COOKIE).then(|| value.to_owned())
        })
}

impl Browser {
    /// The binding cookie this browser holds, if any.
    pub fn sso_binding(&self) -> Option<String> {
        self.sso_binding.lock().unwrap().clone()
    }

    /// Makes this browser hold `binding` (another browser's cookie, say).
    pub fn set_sso_binding(&self, binding: Option<String>) {
        *self.sso_binding.lock().unwrap() = binding;
    }

    /// Adds the binding cookie to a request for one of orgql's `/sso/`
    /// paths, as a browser would.
    fn with_binding(&self, url: &str, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let to_sso = reqwest::Url::parse(url).is_ok_and(|u| u.path().starts_with("/sso/"));
        match self.sso_binding() {
            Some(binding) if to_sso => request.header(
                reqwest::header::COOKIE,
                format!("{SSO_BINDING_COOKIE}={binding}"),
            ),
            _ => request,
        }
    }

    /// Keeps (or drops) the binding cookie `response` sets.
    fn keep_binding(&self, response: &reqwest::Response) {
        if let Some(binding) = sso_binding_set_by(response) {
            self.set_sso_binding(Some(binding).filter(|b| !b.is_empty()));
        }
    }

    /// GETs `url` and answers the redirect's target.
    pub async fn redirect_of(&self, url: &str) -> (StatusCode, Option<String>) {
        let response = self
            .with_binding(url, self.client.get(url))
            .send()
            .await
            .unwrap();
        self.keep_binding(&response);
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

// The SAML IdP needs the `saml` build (its keys come from OpenSSL).
#[cfg(feature = "saml")]
mod saml;
#[cfg(feature = "saml")]
pub use saml::{KeyPair, SamlIdp, SamlPost};
