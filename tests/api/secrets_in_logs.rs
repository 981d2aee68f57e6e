//! Secrets never reach the logs: passwords, refresh tokens, join codes and
//! API tokens, with every log level on while they are created and used.
//! (Invitation links are written to the log only by the development mail
//! transport, as documented, and are not checked here.)

use std::io::Write;
use std::sync::{Arc, Mutex};

use entity::values::Tier;
use serde_json::json;

use crate::helpers::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_is_ever_logged() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    // The test's runtime is single-threaded: the server runs on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let refreshed = app
        .graphql("mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { refreshToken } }", json!({ "t": ann.refresh_token }), None)
        .await;
    assert_ok(&refreshed);
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let code = app
        .graphql(
            "mutation($o: ID!) { createJoinCode(input: { organizationId: $o }) { code } }",
            json!({ "o": org.id }),
            Some(&ann.token),
        )
        .await["data"]["createJoinCode"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = app.sign_up("Bob").await;
    assert_ok(
        &app.graphql(
            "mutation($c: String!) { joinOrganization(input: { code: $c }) { role } }",
            json!({ "c": code }),
            Some(&bob.token),
        )
        .await,
    );
    let created = app
        .graphql("mutation($o: ID!) { createApiToken(input: { organizationId: $o, name: \"CI\", scopes: [\"org:view\"] }) { token apiToken { id } } }", json!({ "o": org.id }), Some(&ann.token))
        .await;
    let token = created["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ok(
        &app.graphql(
            "query($id: ID!) { organization(id: $id) { name } }",
            json!({ "id": org.id }),
            Some(&token),
        )
        .await,
    );
    app.graphql(
        "mutation($t: ID!) { revokeApiToken(input: { apiTokenId: $t }) { apiToken { id } } }",
        json!({ "t": created["data"]["createApiToken"]["apiToken"]["id"] }),
        Some(&ann.token),
    )
    .await;
    assert_error(
        &app.graphql(
            "query($id: ID!) { organization(id: $id) { name } }",
            json!({ "id": org.id }),
            Some(&token),
        )
        .await,
        "UNAUTHENTICATED",
    );

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("finished processing request"),
        "the capture works: {}",
        &logs[..logs.len().min(500)]
    );
    let api_secret = token.rsplit('_').next().unwrap();
    let new_refresh = refreshed["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap();
    for (what, secret) in [
        ("password", "correct horse"),
        ("refresh token", ann.refresh_token.as_str()),
        ("rotated refresh token", new_refresh),
        ("join code", code.as_str()),
        ("API token", api_secret),
        ("access token", ann.token.as_str()),
    ] {
        assert!(!logs.contains(secret), "the {what} appears in the logs");
    }
}
