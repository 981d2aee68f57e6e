//! Secrets never reach the logs: the real `orgql` binary runs with every
//! log level on (RUST_LOG=trace) while passwords, refresh tokens, join
//! codes and API tokens are created and used, and its output holds none of
//! them, nor the keys and secrets it was given (it logs their ids only). (Invitation links, which only mail carries, are checked in
//! `mail_dir.rs`.)

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    async fn call(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(
            response.get("errors").is_none() || query.contains("# may fail"),
            "{response}"
        );
        response["data"].clone()
    }
}

const JWT_SECRET: &str = "a test secret that is long enough to sign";
const JWT_FALLBACK: &str = "the previous signing secret, long enough";
const SEALING_KEY: &str = "the sealing key of this test, long enough";
const SEALING_FALLBACK: &str = "the previous sealing key, long enough too";

#[tokio::test]
async fn no_secret_is_ever_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_orgql"))
        .arg("serve")
        .env(
            "ORGQL_DATABASE_URL",
            format!("sqlite://{}/orgql.db?mode=rwc", dir.path().display()),
        )
        .env("ORGQL_LISTEN", "127.0.0.1:0")
        .env("ORGQL_JWT_SECRET", JWT_SECRET)
        .env("ORGQL_JWT_SECRET_FALLBACK", JWT_FALLBACK)
        .env("ORGQL_MFA_ENCRYPTION_KEY", SEALING_KEY)
        .env("ORGQL_MFA_ENCRYPTION_KEY_FALLBACK", SEALING_FALLBACK)
        .env("ORGQL_INSECURE_FAST_PASSWORD_HASHING", "true")
        .env("ORGQL_RATE_LIMIT_PER_IP", "1000000")
        .env("ORGQL_RATE_LIMIT_PER_ACCOUNT", "1000000")
        .env("RUST_LOG", "trace")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the orgql binary starts");
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut logs = String::new();
    let address = loop {
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(30), stderr.read_line(&mut line)).await;
        assert!(
            matches!(read, Ok(Ok(n)) if n > 0),
            "the server did not start: {logs}"
        );
        logs.push_str(&line);
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    // Drain the log while the scenario runs: a full pipe would block the
    // server's next log line, and with it the request that writes it.
    let drained = tokio::spawn(async move {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest).await;
        rest
    });
    let client = Client {
        http: reqwest::Client::new(),
        url: format!("http://{address}/graphql"),
    };

    let password = "violet tractor umbrella 42 battery";
    let mail_dir = dir.path().join("mail");
    let ann =
        crate::binary::sign_up_and_in(&client.url, &mail_dir, "ann@example.com", password).await;
    let access = ann.access_token;
    let refresh = ann.refresh_token;
    let rotated = client
        .call("mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { refreshToken } }", json!({ "t": refresh }), None)
        .await["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let org = client
        .call(
            "mutation { createOrganization(input: { name: \"Acme\" }) { organization { id } } }",
            json!({}),
            Some(&access),
        )
        .await;
    let org_id = org["createOrganization"]["organization"]["id"].clone();
    let code = client
        .call(
            "mutation($o: ID!) { createJoinCode(input: { organizationId: $o }) { code } }",
            json!({ "o": org_id }),
            Some(&access),
        )
        .await["createJoinCode"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob =
        crate::binary::sign_up_and_in(&client.url, &mail_dir, "bob@example.com", "another secret")
            .await
            .access_token;
    client
        .call(
            "mutation($c: String!) { joinOrganization(input: { code: $c }) { role } }",
            json!({ "c": code }),
            Some(&bob),
        )
        .await;
    let created = client
        .call("mutation($o: ID!) { createApiToken(input: { organizationId: $o, name: \"CI\", scopes: [ORG_VIEW] }) { token apiToken { id } } }", json!({ "o": org_id }), Some(&access))
        .await;
    let api_token = created["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    client
        .call(
            "query($id: ID!) { organization(id: $id) { name } }",
            json!({ "id": org_id }),
            Some(&api_token),
        )
        .await;
    client
        .call(
            "mutation($t: ID!) { revokeApiToken(input: { apiTokenId: $t }) { apiToken { id } } }",
            json!({ "t": created["createApiToken"]["apiToken"]["id"] }),
            Some(&access),
        )
        .await;
    client
        .call(
            "query($id: ID!) { organization(id: $id) { name } } # may fail",
            json!({ "id": org_id }),
            Some(&api_token),
        )
        .await;
    client.call("mutation { logIn(input: { email: \"ann@example.com\", password: \"wrong password\" }) { accessToken } } # may fail", json!({}), None).await;

    server.start_kill().unwrap();
    let rest = tokio::time::timeout(Duration::from_secs(10), drained)
        .await
        .expect("the log ends with the server")
        .unwrap();
    logs.push_str(&rest);
    assert!(
        logs.contains("finished processing request"),
        "the server logged its requests"
    );
    assert!(
        logs.contains("keys in use access_token_kid="),
        "the server logged its key ids"
    );
    let api_secret = api_token.rsplit('_').next().unwrap();
    for (what, secret) in [
        ("password", password),
        ("verification token", ann.verification_token.as_str()),
        ("wrong password", "wrong password"),
        ("refresh token", refresh.as_str()),
        ("rotated refresh token", rotated.as_str()),
        ("join code", code.as_str()),
        ("API token", api_secret),
        ("access token", access.as_str()),
        ("JWT secret", JWT_SECRET),
        ("fallback JWT secret", JWT_FALLBACK),
        ("sealing key", SEALING_KEY),
        ("fallback sealing key", SEALING_FALLBACK),
    ] {
        assert!(!logs.contains(secret), "the {what} appears in the logs");
    }
}
