//! The server fetches from an OIDC IdP only what it may reach (review L7):
//! a discovery document that names another local service as its
//! `jwks_uri` or `token_endpoint` is refused before anything is sent
//! there, and without the development setting an issuer on a private,
//! loopback or link-local address is refused outright. The hostile issuer
//! and the "internal" service are small listeners in the test; the real
//! IdP (`tests/idp`) is in `sso.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use entity::values::Tier;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;
use crate::sso::{APP_RETURN, CLIENT_ID, CLIENT_SECRET, configure};

/// A local HTTP listener that counts the connections it accepts and
/// answers each with the JSON `answer` gives for its own base URL and the
/// request's path.
struct Listener {
    base: String,
    connections: Arc<AtomicUsize>,
}

impl Listener {
    async fn start(answer: impl Fn(&str, &str) -> Value + Send + Sync + 'static) -> Self {
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", socket.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let (counted, own_base) = (connections.clone(), base.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = socket.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut buffer = vec![0u8; 8192];
                let read = stream.read(&mut buffer).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buffer[..read]);
                let path = request.split(' ').nth(1).unwrap_or("/");
                let body = answer(&own_base, path).to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            }
        });
        Self { base, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// An internal service the server must never be made to call.
async fn internal_service() -> Listener {
    Listener::start(|_, _| json!({ "keys": [] })).await
}

/// An issuer whose discovery document names its own endpoints, except
/// those `overrides` replaces (by field name); it serves an empty JWKS at
/// `/jwks`.
async fn issuer(overrides: Value) -> Listener {
    Listener::start(move |base, path| {
        if path == "/jwks" {
            return json!({ "keys": [] });
        }
        let mut document = json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/auth"),
            "token_endpoint": format!("{base}/token"),
            "userinfo_endpoint": format!("{base}/me"),
            "jwks_uri": format!("{base}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        for (field, value) in overrides.as_object().unwrap() {
            document[field] = value.clone();
        }
        document
    })
    .await
}

/// A server in development mode (plain http issuers on loopback, as the
/// tests' IdPs are) and the owner of an ENTERPRISE organization.
async fn enterprise(
    extra: impl FnOnce(&mut orgql::Config) + Send + 'static,
) -> (TestApp, TestUser, TestOrg) {
    let app = spawn_app_with(|config| {
        configure(config);
        extra(config);
    })
    .await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    app.set_tier(&org, Tier::Enterprise).await;
    (app, owner, org)
}

async fn create_connection(app: &TestApp, owner: &TestUser, org: &TestOrg, issuer: &str) -> Value {
    app.graphql(
        "mutation($i: CreateSsoConnectionInput!) { createSsoConnection(input: $i) { connection { id } } }",
        json!({ "i": { "organizationId": org.id, "protocol": "OIDC", "issuerUrl": issuer,
                       "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET } }),
        Some(&owner.token),
    )
    .await
}

/// Creates a connection to `issuer` and starts a test sign-in through it
/// (which fetches the discovery document and the JWKS).
async fn test_connection(app: &TestApp, owner: &TestUser, org: &TestOrg, issuer: &str) -> Value {
    let created = create_connection(app, owner, org, issuer).await;
    assert_ok(&created);
    app.graphql(
        "mutation($c: ID!, $r: String!) { testSsoConnection(input: { connectionId: $c, redirectUri: $r }) { authorizationUrl } }",
        json!({ "c": created["data"]["createSsoConnection"]["connection"]["id"], "r": APP_RETURN }),
        Some(&owner.token),
    )
    .await
}

#[tokio::test]
async fn a_discovery_document_whose_jwks_uri_names_another_local_service_is_refused_without_calling_it()
 {
    let (app, owner, org) = enterprise(|_| {}).await;
    let internal = internal_service().await;
    let hostile =
        issuer(json!({ "jwks_uri": format!("{}/internal-admin/jwks", internal.base) })).await;

    let tested = test_connection(&app, &owner, &org, &hostile.base).await;

    assert_error(&tested, "BAD_USER_INPUT");
    assert_eq!(hostile.connections(), 1, "the discovery document was read");
    assert_eq!(internal.connections(), 0, "the internal service was called");
}

#[tokio::test]
async fn a_discovery_document_whose_token_endpoint_names_another_local_service_is_refused_at_discovery()
 {
    let (app, owner, org) = enterprise(|_| {}).await;
    let internal = internal_service().await;
    for field in ["token_endpoint", "userinfo_endpoint"] {
        let hostile = issuer(json!({ field: format!("{}/internal-admin", internal.base) })).await;

        // Refused before a sign-in could ever send the client secret there.
        let tested = test_connection(&app, &owner, &org, &hostile.base).await;

        assert_error(&tested, "BAD_USER_INPUT");
        assert!(
            hostile.connections() >= 1,
            "{field}: discovery was not read"
        );
    }
    assert_eq!(internal.connections(), 0);
}

#[tokio::test]
async fn endpoints_on_private_or_loopback_addresses_are_refused_whatever_their_scheme() {
    let (app, owner, org) = enterprise(|_| {}).await;
    let internal = internal_service().await;
    let port = internal.base.rsplit(':').next().unwrap().to_owned();
    for jwks_uri in [
        format!("https://127.0.0.1:{port}/jwks"),
        format!("http://localhost:{port}/jwks"),
        format!("https://localhost:{port}/jwks"),
        format!("https://[::ffff:127.0.0.1]:{port}/jwks"),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://10.0.0.1/jwks".to_owned(),
    ] {
        let hostile = issuer(json!({ "jwks_uri": jwks_uri })).await;
        let tested = test_connection(&app, &owner, &org, &hostile.base).await;
        assert_error(&tested, "BAD_USER_INPUT");
    }
    assert_eq!(internal.connections(), 0);
}

#[tokio::test]
async fn a_discovery_document_naming_only_the_issuers_own_endpoints_is_followed() {
    let (app, owner, org) = enterprise(|_| {}).await;
    let honest = issuer(json!({})).await;

    let tested = test_connection(&app, &owner, &org, &honest.base).await;

    assert_ok(&tested);
    let link = tested["data"]["testSsoConnection"]["authorizationUrl"]
        .as_str()
        .unwrap();
    let url = crate::sso::open_test_link(&app, &crate::idp::Browser::default(), link).await;
    assert!(url.starts_with(&format!("{}/auth?", honest.base)), "{url}");
    // The discovery document, then the JWKS.
    assert_eq!(honest.connections(), 2);
}

#[tokio::test]
async fn without_the_development_setting_an_issuer_on_a_private_or_loopback_address_is_refused() {
    let (app, owner, org) = enterprise(|config| config.sso_allow_http_issuers = false).await;
    let internal = internal_service().await;
    let port = internal.base.rsplit(':').next().unwrap().to_owned();
    for issuer in [
        format!("https://127.0.0.1:{port}"),
        format!("https://localhost:{port}"),
        "https://10.1.2.3".to_owned(),
        "https://192.168.0.10/realms/acme".to_owned(),
        "https://169.254.169.254".to_owned(),
        "https://[::1]".to_owned(),
        "https://[fe80::1]".to_owned(),
        "https://[fd00::1]".to_owned(),
        "https://[::ffff:10.0.0.1]".to_owned(),
    ] {
        let created = create_connection(&app, &owner, &org, &issuer).await;
        assert_error(&created, "BAD_USER_INPUT");
        assert_eq!(
            created["errors"][0]["extensions"]["field"], "issuerUrl",
            "{issuer}: {created}"
        );
    }
    // A public name is still accepted (it is checked where it resolves
    // when the server connects).
    assert_ok(&create_connection(&app, &owner, &org, "https://idp.example.com").await);
    assert_eq!(internal.connections(), 0);
}
