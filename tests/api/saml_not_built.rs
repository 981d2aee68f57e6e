//! A server built without the `saml` feature (plain `cargo test`): SAML is
//! refused wherever it is asked for, with a message that says how to get
//! it, and OIDC works as before. A SAML connection that a SAML build left
//! in the database crashes nothing: it reads, refuses to sign anyone in,
//! and can be deactivated and deleted.

use chrono::Utc;
use entity::values::{Role, SsoProtocol, SsoStatus, Tier};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;
use crate::sso::{APP_RETURN, configure, entity_audit, urlencode};

/// What the refusal must tell the operator.
const HOW_TO_GET_SAML: &str = "--features saml";

/// A certificate as a SAML build stores it, and its SHA-256.
const IDP_CERTIFICATE: &str = include_str!("../../fuzz/idp-certificate.pem");
const IDP_CERTIFICATE_SHA256: &str =
    "b0d35541d20c33050a63adf1b68c6428c11de29059cbce4def9e515957a198b9";

async fn enterprise() -> (TestApp, TestUser, TestOrg) {
    let app = spawn_app_with(configure).await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    app.set_tier(&org, Tier::Enterprise).await;
    (app, owner, org)
}

async fn create(app: &TestApp, owner: &TestUser, input: Value) -> Value {
    app.graphql(
        "mutation($i: CreateSsoConnectionInput!) { createSsoConnection(input: $i) { connection { id protocol status } } }",
        json!({ "i": input }),
        Some(&owner.token),
    )
    .await
}

/// The refusal: BAD_USER_INPUT on `protocol`, naming the way to SAML.
fn assert_saml_not_built(response: &Value) {
    assert_error(response, "BAD_USER_INPUT");
    let error = &response["errors"][0];
    assert_eq!(error["extensions"]["field"], "protocol", "{response}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("without SAML support") && message.contains(HOW_TO_GET_SAML),
        "{message}"
    );
}

async fn connection_count(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    entity::sso_connection::Entity::find()
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn creating_a_saml_connection_is_refused_with_how_to_get_saml() {
    let (app, owner, org) = enterprise().await;
    let refused = create(
        &app,
        &owner,
        json!({
            "organizationId": org.id, "protocol": "SAML",
            "idpEntityId": "https://idp.acme.test/saml",
            "idpSsoUrl": "https://idp.acme.test/sso",
            "idpCertificate": IDP_CERTIFICATE,
        }),
    )
    .await;
    assert_saml_not_built(&refused);
    assert_eq!(connection_count(&app).await, 0);
}

#[tokio::test]
async fn an_oidc_connection_is_created_as_before() {
    let (app, owner, org) = enterprise().await;
    let created = create(
        &app,
        &owner,
        json!({
            "organizationId": org.id, "protocol": "OIDC",
            "issuerUrl": "https://idp.acme.test", "clientId": "orgql",
            "clientSecret": "a client secret",
        }),
    )
    .await;
    assert_ok(&created);
    let connection = &created["data"]["createSsoConnection"]["connection"];
    assert_eq!(connection["protocol"], "OIDC");
    assert_eq!(connection["status"], "DRAFT");
}

/// A tested, ACTIVE SAML connection as a SAML build would have left it;
/// answers its public id.
async fn saml_connection_from_a_saml_build(app: &TestApp, org: &TestOrg) -> String {
    let id = Uuid::now_v7();
    let now = Utc::now();
    entity::sso_connection::ActiveModel {
        id: Set(id),
        organization_id: Set(org.uuid),
        protocol: Set(SsoProtocol::Saml),
        status: Set(SsoStatus::Active),
        issuer_url: Set(String::new()),
        client_id: Set(String::new()),
        client_secret_sealed: Set(String::new()),
        idp_entity_id: Set(Some("https://idp.acme.test/saml".to_owned())),
        idp_sso_url: Set(Some("https://idp.acme.test/sso".to_owned())),
        idp_certificate: Set(Some(IDP_CERTIFICATE.trim().to_owned() + "\n")),
        jit_provisioning: Set(true),
        default_role: Set(Role::Member),
        tested_at: Set(Some(now)),
        created_by_user_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.db)
    .await
    .unwrap();
    orgql::domain::ids::encode(orgql::domain::ids::IdKind::SsoConnection, id)
}

async fn call(app: &TestApp, owner: &TestUser, mutation: &str, connection_id: &str) -> Value {
    app.graphql(
        &format!("mutation($c: ID!) {{ {mutation}(input: {{ connectionId: $c }}) {{ connection {{ status }} }} }}"),
        json!({ "c": connection_id }),
        Some(&owner.token),
    )
    .await
}

/// An HTTP refusal's status and message (GraphQL's error shape).
async fn refusal(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let error = &body["errors"][0];
    (
        status,
        error["extensions"]["code"].as_str().unwrap().to_owned(),
        error["message"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_saml_connection_a_saml_build_made_reads_signs_nobody_in_and_can_be_removed() {
    let (app, owner, org) = enterprise().await;
    let connection_id = saml_connection_from_a_saml_build(&app, &org).await;

    // It reads; only its SP metadata, which takes SAML to write, is refused.
    let listed = app
        .graphql(
            "query($o: ID!) { organization(id: $o) { ssoConnections { id protocol status idpEntityId spEntityId acsUrl spMetadataXml } } }",
            json!({ "o": org.id }),
            Some(&owner.token),
        )
        .await;
    assert_saml_not_built(&listed);
    let connection = &listed["data"]["organization"]["ssoConnections"][0];
    assert_eq!(connection["id"], connection_id.as_str());
    assert_eq!(connection["protocol"], "SAML");
    assert_eq!(connection["idpEntityId"], "https://idp.acme.test/saml");
    assert_eq!(connection["acsUrl"], "http://orgql.test/sso/saml/acs");
    assert_eq!(connection["spMetadataXml"], Value::Null);

    // Nobody signs in through it: the start, a test sign-in, the ACS and
    // the SP metadata all say why.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = client
        .get(format!(
            "{}/sso/{}/start?redirect_uri={}",
            app.base,
            org.slug,
            urlencode(APP_RETURN)
        ))
        .send()
        .await
        .unwrap();
    let (status, code, message) = refusal(start).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "BAD_USER_INPUT")
    );
    assert!(message.contains(HOW_TO_GET_SAML), "{message}");
    let tested = app
        .graphql(
            "mutation($c: ID!, $r: String!) { testSsoConnection(input: { connectionId: $c, redirectUri: $r }) { authorizationUrl } }",
            json!({ "c": connection_id, "r": APP_RETURN }),
            Some(&owner.token),
        )
        .await;
    assert_saml_not_built(&tested);
    let acs = client
        .post(format!("{}/sso/saml/acs", app.base))
        .form(&[
            ("SAMLResponse", "PHNhbWxwOlJlc3BvbnNlLz4="),
            ("RelayState", "r"),
        ])
        .send()
        .await
        .unwrap();
    let metadata = client
        .get(format!("{}/sso/saml/{connection_id}", app.base))
        .send()
        .await
        .unwrap();
    for response in [acs, metadata] {
        let (status, code, message) = refusal(response).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::NOT_FOUND, "NOT_FOUND")
        );
        assert!(message.contains(HOW_TO_GET_SAML), "{message}");
    }

    // It cannot be changed or made the way in again...
    let updated = app
        .graphql(
            "mutation($c: ID!) { updateSsoConnection(input: { connectionId: $c, jitProvisioning: false }) { connection { id } } }",
            json!({ "c": connection_id }),
            Some(&owner.token),
        )
        .await;
    assert_saml_not_built(&updated);
    let deactivated = call(&app, &owner, "deactivateSsoConnection", &connection_id).await;
    assert_ok(&deactivated);
    assert_eq!(
        deactivated["data"]["deactivateSsoConnection"]["connection"]["status"],
        "INACTIVE"
    );
    let activated = call(&app, &owner, "activateSsoConnection", &connection_id).await;
    assert_saml_not_built(&activated);

    // ...but it can be deleted, audited with its certificate's fingerprint.
    let deleted = app
        .graphql(
            "mutation($c: ID!) { deleteSsoConnection(input: { connectionId: $c }) { deletedConnectionId } }",
            json!({ "c": connection_id }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&deleted);
    assert_eq!(connection_count(&app).await, 0);
    let audit = entity_audit(&app, "sso_connection.deleted").await;
    assert_eq!(
        audit[0].metadata["idpCertificateSha256"],
        IDP_CERTIFICATE_SHA256
    );
}
