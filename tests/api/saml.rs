//! Single sign-on through a real SAML IdP (`tests/idp/saml-idp.mjs`, on
//! `samlify`): connections and their per-protocol fields, the browser flow
//! over HTTP (AuthnRequest on the HTTP-Redirect binding, signed Response
//! posted to the ACS), JIT provisioning and linking within verified
//! domains, activation after a test sign-in, the refusals of spoiled and
//! replayed responses, the redirect allowlist, the tier, the sso:manage
//! permission and `ssoRequired` for SAML sessions.

use entity::values::{Role, Tier};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dns_server::DnsServer;
use crate::helpers::*;
use crate::idp::{Browser, KeyPair, SamlIdp, SamlPost};
use crate::sso::{
    APP_RETURN, PUBLIC, configure, entity_audit, exchange, query_param, urlencode, verify_domain,
};

pub(crate) const IDP_ENTITY_ID: &str = "https://idp.acme.test/saml";
const ACS: &str = "/sso/saml/acs";

fn accounts() -> Value {
    json!({
        "alice": { "email": "alice@acme.test", "name": "Alice Saml" },
        // A persistent NameID; the address comes in the `email` attribute.
        "pat": { "email": "pat@acme.test", "persistent": "idp-user-4711", "emailAttribute": true, "name": "Pat" },
        "bob": { "email": "bob@elsewhere.test", "name": "Bob" },
        // A transient NameID: a new one every time.
        "tara": { "email": "tara@acme.test", "transient": true, "emailAttribute": true, "name": "Tara" },
        // `mail` before `email` in the document, and a FriendlyName
        // `email` on another attribute: `email` by Name is the one.
        "quinn": {
            "email": "quinn@acme.test", "persistent": "idp-user-quinn", "emailAttribute": true,
            "extraAttributes": [["mail", "quinn@elsewhere.test"], ["urn:example:alias", "mallory@acme.test", "email"]],
        },
    })
}

pub(crate) struct Saml {
    pub(crate) app: TestApp,
    pub(crate) idp: SamlIdp,
    dns: DnsServer,
    owner: TestUser,
    org: TestOrg,
    connection_id: String,
}

const CONNECTION_FIELDS: &str = "id protocol status issuerUrl clientId redirectUri idpEntityId idpSsoUrl idpCertificate spEntityId acsUrl spMetadataXml jitProvisioning defaultRole testedAt";

async fn create_connection(app: &TestApp, user: &TestUser, org: &TestOrg, input: Value) -> Value {
    let mut input = input;
    input["organizationId"] = json!(org.id);
    input["protocol"] = json!("SAML");
    app.graphql(
        &format!("mutation($i: CreateSsoConnectionInput!) {{ createSsoConnection(input: $i) {{ connection {{ {CONNECTION_FIELDS} }} }} }}"),
        json!({ "i": input }),
        Some(&user.token),
    )
    .await
}

fn saml_input(idp: &SamlIdp) -> Value {
    json!({ "idpEntityId": idp.entity_id, "idpSsoUrl": idp.sso_url, "idpCertificate": idp.cert })
}

/// An app and a SAML IdP that trust each other, an ENTERPRISE organization
/// that verified acme.test, and a DRAFT SAML connection.
pub(crate) async fn setup() -> Saml {
    let dns = DnsServer::start().await;
    let dns_addr = dns.addr;
    let app = spawn_app_with(|config| {
        configure(config);
        config.dns_resolver = Some(dns_addr);
    })
    .await;
    let idp = SamlIdp::start(IDP_ENTITY_ID, accounts()).await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    app.set_tier(&org, Tier::Enterprise).await;
    verify_domain(&app, &dns, &owner, &org, "acme.test").await;
    let created = create_connection(&app, &owner, &org, saml_input(&idp)).await;
    assert_ok(&created);
    let connection = &created["data"]["createSsoConnection"]["connection"];
    idp.trust_sp(connection["spMetadataXml"].as_str().unwrap())
        .await;
    Saml {
        connection_id: connection["id"].as_str().unwrap().to_owned(),
        app,
        idp,
        dns,
        owner,
        org,
    }
}

impl Saml {
    pub(crate) fn start_url(&self, redirect_uri: &str) -> String {
        format!(
            "{}/sso/{}/start?redirect_uri={}",
            self.app.base,
            self.org.slug,
            urlencode(redirect_uri)
        )
    }

    pub(crate) fn acs(&self) -> String {
        format!("{}{ACS}", self.app.base)
    }

    async fn connection_call(&self, mutation: &str, user: &TestUser) -> Value {
        self.app
            .graphql(
                &format!("mutation($c: ID!) {{ {mutation}(input: {{ connectionId: $c }}) {{ connection {{ status testedAt }} }} }}"),
                json!({ "c": self.connection_id }),
                Some(&user.token),
            )
            .await
    }

    /// Posts what the IdP answered to the ACS; answers where the app was
    /// sent.
    pub(crate) async fn post(&self, browser: &Browser, post: &SamlPost) -> String {
        assert_eq!(post.action, format!("{PUBLIC}{ACS}"));
        let (status, to) = browser.post_to_acs(&self.acs(), post).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "the ACS did not redirect");
        to.unwrap()
    }

    /// A test sign-in as `login`; answers where the app was sent.
    async fn test_sign_in(&self, login: &str) -> String {
        let started = self
            .app
            .graphql(
                "mutation($c: ID!, $r: String!) { testSsoConnection(input: { connectionId: $c, redirectUri: $r }) { authorizationUrl } }",
                json!({ "c": self.connection_id, "r": APP_RETURN }),
                Some(&self.owner.token),
            )
            .await;
        assert_ok(&started);
        let url = started["data"]["testSsoConnection"]["authorizationUrl"]
            .as_str()
            .unwrap();
        let browser = Browser::default();
        let to_idp = crate::sso::open_test_link(&self.app, &browser, url).await;
        assert!(to_idp.starts_with(&self.idp.sso_url), "{to_idp}");
        let post = browser.through_saml_idp(&to_idp, login).await;
        self.post(&browser, &post).await
    }

    pub(crate) async fn activate(&self) {
        assert_eq!(
            self.test_sign_in("alice").await,
            format!("{APP_RETURN}?sso_test=passed")
        );
        assert_ok(
            &self
                .connection_call("activateSsoConnection", &self.owner)
                .await,
        );
    }

    /// Starts a sign-in at `/sso/{slug}/start` and signs in at the IdP:
    /// what the IdP's page posts to the ACS.
    pub(crate) async fn idp_answer(&self, browser: &Browser, login: &str) -> SamlPost {
        let (status, to) = browser.redirect_of(&self.start_url(APP_RETURN)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "start refused");
        let to = to.unwrap();
        assert!(to.starts_with(&self.idp.sso_url), "{to}");
        assert!(to.contains("SAMLRequest="), "{to}");
        assert!(to.contains("RelayState="), "{to}");
        browser.through_saml_idp(&to, login).await
    }

    /// A whole sign-in as `login`: the app's return URL.
    async fn sign_in(&self, login: &str) -> String {
        let browser = Browser::default();
        let post = self.idp_answer(&browser, login).await;
        self.post(&browser, &post).await
    }

    async fn session_of(&self, login: &str) -> Value {
        let back = self.sign_in(login).await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
        let exchanged = exchange(&self.app, &code).await;
        assert_ok(&exchanged);
        exchanged["data"]["exchangeSsoCode"].clone()
    }
}

#[tokio::test]
async fn a_saml_connection_shows_orgqls_service_provider_and_takes_only_saml_fields() {
    let saml = setup().await;
    let listed = saml
        .app
        .graphql(
            &format!("query($o: ID!) {{ organization(id: $o) {{ ssoConnections {{ {CONNECTION_FIELDS} }} }} }}"),
            json!({ "o": saml.org.id }),
            Some(&saml.owner.token),
        )
        .await;
    assert_ok(&listed);
    let connection = &listed["data"]["organization"]["ssoConnections"][0];
    assert_eq!(connection["protocol"], "SAML");
    assert_eq!(connection["status"], "DRAFT");
    assert_eq!(connection["idpEntityId"], IDP_ENTITY_ID);
    assert_eq!(connection["idpSsoUrl"], saml.idp.sso_url.as_str());
    assert!(
        connection["idpCertificate"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    // The connection's own SP entity id, by its public id.
    let sp_entity_id = format!("{PUBLIC}/sso/saml/{}", saml.connection_id);
    assert_eq!(connection["spEntityId"], sp_entity_id.as_str());
    assert!(saml.connection_id.starts_with("sso_"));
    assert_eq!(connection["acsUrl"], format!("{PUBLIC}/sso/saml/acs"));
    let metadata = connection["spMetadataXml"].as_str().unwrap();
    assert!(
        metadata.contains(&format!("{PUBLIC}/sso/saml/acs")),
        "{metadata}"
    );
    assert!(
        metadata.contains("WantAssertionsSigned=\"true\""),
        "{metadata}"
    );
    // OIDC's fields are null on a SAML connection.
    assert_eq!(connection["issuerUrl"], Value::Null);
    assert_eq!(connection["clientId"], Value::Null);
    assert_eq!(connection["redirectUri"], Value::Null);
    assert!(metadata.contains(&sp_entity_id), "{metadata}");
    // The same metadata is served where the entity id points; nothing is
    // served for another id.
    let served = reqwest::get(format!("{}/sso/saml/{}", saml.app.base, saml.connection_id))
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.text().await.unwrap(), metadata);
    for other in [
        "sso_01h2e8kqvbfwea724h75qc655w",
        "org_01h2e8kqvbfwea724h75qc655w",
        "metadata",
    ] {
        let response = reqwest::get(format!("{}/sso/saml/{other}", saml.app.base))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{other}");
    }
    // An organization whose slug is `saml` still starts at
    // `/sso/saml/start` (an off-list redirect_uri: start's refusal, 400).
    let start = reqwest::get(format!(
        "{}/sso/saml/start?redirect_uri=http://evil.test/",
        saml.app.base
    ))
    .await
    .unwrap();
    assert_eq!(start.status(), StatusCode::BAD_REQUEST);

    // Each protocol's fields only, each required, the certificate parsed.
    let field_of = |response: &Value| {
        assert_error(response, "BAD_USER_INPUT");
        response["errors"][0]["extensions"]["field"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let mut with_oidc = saml_input(&saml.idp);
    with_oidc["clientId"] = json!("x");
    assert_eq!(
        field_of(&create_connection(&saml.app, &saml.owner, &saml.org, with_oidc).await),
        "clientId"
    );
    let mut bad_cert = saml_input(&saml.idp);
    bad_cert["idpCertificate"] =
        json!("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----");
    assert_eq!(
        field_of(&create_connection(&saml.app, &saml.owner, &saml.org, bad_cert).await),
        "idpCertificate"
    );
    let mut a_key = saml_input(&saml.idp);
    a_key["idpCertificate"] = json!(KeyPair::generate("k").key);
    assert_eq!(
        field_of(&create_connection(&saml.app, &saml.owner, &saml.org, a_key).await),
        "idpCertificate"
    );
    let mut missing = saml_input(&saml.idp);
    missing.as_object_mut().unwrap().remove("idpEntityId");
    assert_eq!(
        field_of(&create_connection(&saml.app, &saml.owner, &saml.org, missing).await),
        "idpEntityId"
    );
    let update = |field: &str, value: &str| {
        let (app, token, id) = (
            &saml.app,
            saml.owner.token.clone(),
            saml.connection_id.clone(),
        );
        let query = format!(
            "mutation($c: ID!, $v: String!) {{ updateSsoConnection(input: {{ connectionId: $c, {field}: $v }}) {{ connection {{ idpSsoUrl }} }} }}"
        );
        let value = value.to_owned();
        async move {
            app.graphql(&query, json!({ "c": id, "v": value }), Some(&token))
                .await
        }
    };
    assert_eq!(
        field_of(&update("issuerUrl", "https://x.test").await),
        "issuerUrl"
    );
    assert_eq!(field_of(&update("clientSecret", "s").await), "clientSecret");
    let moved = update("idpSsoUrl", "https://idp.acme.test/sso").await;
    assert_eq!(
        moved["data"]["updateSsoConnection"]["connection"]["idpSsoUrl"],
        "https://idp.acme.test/sso"
    );
    // An OIDC connection refuses SAML's fields.
    let oidc = saml
        .app
        .graphql(
            "mutation($o: ID!) { createSsoConnection(input: { organizationId: $o, protocol: OIDC, issuerUrl: \"https://id.acme.test\", clientId: \"c\", clientSecret: \"s\", idpEntityId: \"e\" }) { connection { id } } }",
            json!({ "o": saml.org.id }),
            Some(&saml.owner.token),
        )
        .await;
    assert_eq!(field_of(&oidc), "idpEntityId");
    let created = entity_audit(&saml.app, "sso_connection.created").await;
    assert_eq!(created[0].metadata["protocol"], "SAML");
    assert!(created[0].metadata["idpCertificateSha256"].is_string());
}

#[tokio::test]
async fn a_saml_sso_url_must_be_https_unless_the_server_allows_http() {
    let app = spawn_app_with(|config| {
        configure(config);
        config.sso_allow_http_issuers = false;
    })
    .await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    app.set_tier(&org, Tier::Enterprise).await;
    let cert = KeyPair::generate("idp").cert;
    let input = |url: &str| json!({ "idpEntityId": IDP_ENTITY_ID, "idpSsoUrl": url, "idpCertificate": cert });
    let refused = create_connection(&app, &owner, &org, input("http://idp.acme.test/sso")).await;
    assert_error(&refused, "BAD_USER_INPUT");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "idpSsoUrl");
    assert_ok(&create_connection(&app, &owner, &org, input("https://idp.acme.test/sso")).await);
}

#[tokio::test]
async fn a_new_person_in_a_verified_domain_signs_in_through_the_saml_idp_and_is_provisioned() {
    let saml = setup().await;
    // Nobody signs in through a DRAFT connection, nor activates it untested.
    assert_eq!(
        Browser::default()
            .redirect_of(&saml.start_url(APP_RETURN))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_error(
        &saml
            .connection_call("activateSsoConnection", &saml.owner)
            .await,
        "CONFLICT",
    );
    saml.activate().await;
    // The test sign-in signed nobody in.
    assert!(
        entity_audit(&saml.app, "user.sso_signed_in")
            .await
            .is_empty()
    );
    let session = saml.session_of("alice").await;
    assert_eq!(session["amr"], json!(["sso"]));
    assert_eq!(session["user"]["email"], "alice@acme.test");
    let token = session["accessToken"].as_str().unwrap();
    let me = saml
        .app
        .graphql(
            "query($o: ID!) { organization(id: $o) { viewerMembership { role } } viewer { user { emailVerified } } }",
            json!({ "o": saml.org.id }),
            Some(token),
        )
        .await;
    assert_eq!(
        me["data"]["organization"]["viewerMembership"]["role"],
        "MEMBER"
    );
    assert_eq!(me["data"]["viewer"]["user"]["emailVerified"], true);
    let signed_in = entity_audit(&saml.app, "user.sso_signed_in").await;
    assert_eq!(signed_in.len(), 1);
    assert_eq!(signed_in[0].metadata["createdAccount"], true);
    assert_eq!(signed_in[0].metadata["subject"], "alice@acme.test");
    assert!(signed_in[0].metadata["connectionId"].is_string());

    // Again: the same account, through its NameID.
    let again = saml.session_of("alice").await;
    assert_eq!(again["user"]["id"], session["user"]["id"]);
    // A persistent NameID with the address in the `email` attribute.
    let pat = saml.session_of("pat").await;
    assert_eq!(pat["user"]["email"], "pat@acme.test");
    assert_eq!(pat["user"]["name"], "Pat");
}

#[tokio::test]
async fn an_address_outside_the_verified_domains_is_not_proven_by_a_saml_idp() {
    let saml = setup().await;
    saml.activate().await;
    // No account yet, and an existing one: both refused outside the
    // organization's verified domains.
    assert_eq!(
        saml.sign_in("bob").await,
        format!("{APP_RETURN}?error=email_not_verified")
    );
    let bob = saml.app.sign_up_as("bob@elsewhere.test", "Bob Local").await;
    assert_eq!(
        saml.sign_in("bob").await,
        format!("{APP_RETURN}?error=email_not_verified")
    );
    // Once the organization proves it controls elsewhere.test, it links.
    verify_domain(
        &saml.app,
        &saml.dns,
        &saml.owner,
        &saml.org,
        "elsewhere.test",
    )
    .await;
    let session = saml.session_of("bob").await;
    assert_eq!(session["user"]["id"], bob.id.as_str());
    let linked = entity_audit(&saml.app, "user.sso_signed_in").await;
    assert_eq!(linked[0].metadata["linkedAccount"], true);
}

#[tokio::test]
async fn spoiled_saml_responses_are_refused() {
    let saml = setup().await;
    saml.activate().await;
    for mode in [
        "unsigned",
        "other_key",
        "tampered",
        "wrong_audience",
        "wrong_recipient",
        "wrong_destination",
        "wrong_issuer",
        "expired",
        "wrong_in_response_to",
        // The whole response signed as well as the assertion.
        "wrong_destination+signed_response",
        "tampered+signed_response",
    ] {
        saml.idp.tamper(mode).await;
        assert_eq!(
            saml.sign_in("alice").await,
            format!("{APP_RETURN}?error=invalid_response"),
            "{mode}"
        );
    }
    assert!(
        entity_audit(&saml.app, "user.sso_signed_in")
            .await
            .is_empty()
    );
    // A spoiled test sign-in does not mark the connection tested either.
    saml.idp.tamper("other_key").await;
    assert_eq!(
        saml.test_sign_in("alice").await,
        format!("{APP_RETURN}?error=invalid_response")
    );
    // The same flow, unspoiled, goes through, with the assertion signed
    // and with the whole response signed too.
    assert!(saml.sign_in("alice").await.contains("code="));
    saml.idp.tamper("signed_response").await;
    assert!(saml.sign_in("alice").await.contains("code="));
}

#[tokio::test]
async fn a_replayed_saml_response_is_refused() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, PaginatorTrait};
    let saml = setup().await;
    saml.activate().await;
    let browser = Browser::default();
    let post = saml.idp_answer(&browser, "alice").await;
    assert!(saml.post(&browser, &post).await.contains("code="));
    // The test sign-in's assertion and this one.
    assert_eq!(
        entity::sso_saml_assertion::Entity::find()
            .count(&saml.app.db)
            .await
            .unwrap(),
        2
    );
    // The same post again: its sign-in in flight is gone.
    let (status, _) = browser.post_to_acs(&saml.acs(), &post).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Under a fresh sign-in in flight: its InResponseTo does not match.
    let fresh = saml.idp_answer(&browser, "alice").await;
    let replayed = SamlPost {
        relay_state: fresh.relay_state.clone(),
        ..post
    };
    assert_eq!(
        saml.post(&browser, &replayed).await,
        format!("{APP_RETURN}?error=invalid_response")
    );
    // Even a sign-in in flight that expects the very request id it answered
    // (as if the id had been reused) does not take it twice: the replay
    // cache knows the assertion.
    let request_id = {
        let xml = String::from_utf8(
            base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                &replayed.saml_response,
            )
            .unwrap(),
        )
        .unwrap();
        let start = xml.find("InResponseTo=\"").unwrap() + "InResponseTo=\"".len();
        xml[start..start + xml[start..].find('"').unwrap()].to_owned()
    };
    let connection_id = entity::sso_connection::Entity::find()
        .one(&saml.app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let relay_state = "a-relay-state-the-test-made";
    // Bound to this browser, as a start would: the refusal below is the
    // replay cache's, not the binding's.
    let binding = "a-browser-binding-the-test-made";
    browser.set_sso_binding(Some(binding.to_owned()));
    let now = chrono::Utc::now();
    entity::sso_login_state::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        state_hash: Set(orgql::auth::secrets::digest(relay_state)),
        connection_id: Set(connection_id),
        nonce: Set(String::new()),
        pkce_verifier: Set(String::new()),
        saml_request_id: Set(Some(request_id)),
        redirect_uri: Set(APP_RETURN.to_owned()),
        test: Set(false),
        browser_binding_hash: Set(Some(orgql::auth::secrets::digest(binding))),
        test_ticket_hash: Set(None),
        idp_url: Set(None),
        created_at: Set(now),
        expires_at: Set(now + chrono::Duration::minutes(10)),
    }
    .insert(&saml.app.db)
    .await
    .unwrap();
    let again = SamlPost {
        relay_state: relay_state.to_owned(),
        ..replayed
    };
    assert_eq!(
        saml.post(&browser, &again).await,
        format!("{APP_RETURN}?error=invalid_response")
    );
    assert_eq!(entity_audit(&saml.app, "user.sso_signed_in").await.len(), 1);
}

#[tokio::test]
async fn a_saml_sign_in_needs_an_allowed_redirect_uri_and_a_relay_state() {
    let saml = setup().await;
    saml.activate().await;
    for bad in ["http://evil.test/sso/done", ""] {
        let response = reqwest::get(&saml.start_url(bad)).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let test = saml
        .app
        .graphql(
            "mutation($c: ID!) { testSsoConnection(input: { connectionId: $c, redirectUri: \"http://evil.test/\" }) { authorizationUrl } }",
            json!({ "c": saml.connection_id }),
            Some(&saml.owner.token),
        )
        .await;
    assert_error(&test, "BAD_USER_INPUT");
    // A large response (IdPs that send every group) is read, not refused
    // by the GraphQL body limit: here it names no sign-in in flight.
    let large = Browser::default()
        .client
        .post(saml.acs())
        .form(&[
            ("SAMLResponse", "A".repeat(200 * 1024).as_str()),
            ("RelayState", "unknown"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(large.status(), StatusCode::BAD_REQUEST);
    let too_large = Browser::default()
        .client
        .post(saml.acs())
        .form(&[("SAMLResponse", "A".repeat(600 * 1024).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // IdP-initiated (no RelayState) is not accepted.
    let browser = Browser::default();
    let post = saml.idp_answer(&browser, "alice").await;
    let response = browser
        .client
        .post(saml.acs())
        .form(&[("SAMLResponse", post.saml_response.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn saml_sso_is_refused_below_the_enterprise_tier() {
    let saml = setup().await;
    saml.activate().await;
    let other = saml.app.create_org(&saml.owner, "Small").await;
    saml.app.set_tier(&other, Tier::Team).await;
    assert_error(
        &create_connection(&saml.app, &saml.owner, &other, saml_input(&saml.idp)).await,
        "TIER_LIMIT_EXCEEDED",
    );
    saml.app.set_tier(&saml.org, Tier::Team).await;
    let response = reqwest::get(&saml.start_url(APP_RETURN)).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn only_those_with_sso_manage_manage_saml_connections() {
    let saml = setup().await;
    let (max, _) = saml.app.member_of(&saml.org, Role::Member, "Max").await;
    let stranger = saml.app.sign_up("Sam").await;
    assert_error(
        &create_connection(&saml.app, &max, &saml.org, saml_input(&saml.idp)).await,
        "FORBIDDEN",
    );
    assert_error(
        &create_connection(&saml.app, &stranger, &saml.org, saml_input(&saml.idp)).await,
        "NOT_FOUND",
    );
    assert_error(
        &saml.connection_call("deactivateSsoConnection", &max).await,
        "FORBIDDEN",
    );
    let listed = saml
        .app
        .graphql(
            "query($o: ID!) { organization(id: $o) { ssoConnections { id } } }",
            json!({ "o": saml.org.id }),
            Some(&max.token),
        )
        .await;
    assert_error(&listed, "FORBIDDEN");
    // ADMIN holds sso:manage (the roles query says so too).
    let (adam, _) = saml.app.member_of(&saml.org, Role::Admin, "Adam").await;
    let updated = saml
        .app
        .graphql(
            "mutation($c: ID!) { updateSsoConnection(input: { connectionId: $c, defaultRole: VIEWER }) { connection { defaultRole } } }",
            json!({ "c": saml.connection_id }),
            Some(&adam.token),
        )
        .await;
    assert_eq!(
        updated["data"]["updateSsoConnection"]["connection"]["defaultRole"],
        "VIEWER"
    );
    let roles = saml
        .app
        .graphql(
            "{ roles { role permissions } }",
            json!({}),
            Some(&adam.token),
        )
        .await;
    assert_ok(&roles);
    let holders: Vec<&str> = roles["data"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["permissions"]
                .as_array()
                .unwrap()
                .contains(&json!("SSO_MANAGE"))
        })
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(holders, vec!["OWNER", "ADMIN"]);
}

const ORG_DATA: &str =
    "query($o: ID!) { organization(id: $o) { members(first: 5) { totalCount } } }";

#[tokio::test]
async fn sso_required_admits_saml_sessions_and_refuses_password_sessions() {
    let saml = setup().await;
    saml.activate().await;
    let (max, _) = saml.app.member_of(&saml.org, Role::Member, "Max").await;
    let on = saml
        .app
        .graphql(
            "mutation($o: ID!) { updatePolicy(input: { organizationId: $o, ssoRequired: true }) { policy { ssoRequired } } }",
            json!({ "o": saml.org.id }),
            Some(&saml.owner.token),
        )
        .await;
    assert_eq!(on["data"]["updatePolicy"]["policy"]["ssoRequired"], true);
    assert_error(
        &saml
            .app
            .graphql(ORG_DATA, json!({ "o": saml.org.id }), Some(&max.token))
            .await,
        "SSO_REQUIRED",
    );
    let session = saml.session_of("alice").await;
    assert_ok(
        &saml
            .app
            .graphql(
                ORG_DATA,
                json!({ "o": saml.org.id }),
                session["accessToken"].as_str(),
            )
            .await,
    );
}

/// What the IdP posted, its XML changed by `edit`.
fn edited(post: &SamlPost, edit: impl Fn(String) -> String) -> SamlPost {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let xml = String::from_utf8(engine.decode(&post.saml_response).unwrap()).unwrap();
    SamlPost {
        action: post.action.clone(),
        saml_response: engine.encode(edit(xml)),
        relay_state: post.relay_state.clone(),
    }
}

/// A listener that counts the connections made to it.
pub(crate) async fn canary() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/canary", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    (url, seen)
}

#[tokio::test]
async fn a_signature_reference_to_a_url_is_refused_and_never_fetched() {
    let saml = setup().await;
    saml.activate().await;
    let (url, seen) = canary().await;
    for signed_response in [false, true] {
        if signed_response {
            saml.idp.tamper("signed_response").await;
        }
        let browser = Browser::default();
        let post = saml.idp_answer(&browser, "alice").await;
        let pointed = edited(&post, |xml| {
            let start = xml.find("URI=\"#").unwrap() + "URI=\"".len();
            let end = start + xml[start..].find('"').unwrap();
            format!("{}{url}{}", &xml[..start], &xml[end..])
        });
        assert_eq!(
            saml.post(&browser, &pointed).await,
            format!("{APP_RETURN}?error=invalid_response")
        );
    }
    // A moment for a fetch that would have been on its way.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(
        entity_audit(&saml.app, "user.sso_signed_in")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_saml_response_with_a_doctype_is_refused() {
    let saml = setup().await;
    saml.activate().await;
    let browser = Browser::default();
    let post = saml.idp_answer(&browser, "alice").await;
    let with_doctype = edited(&post, |xml| {
        let doctype = r#"<!DOCTYPE r [<!ENTITY who "mallory@acme.test">]>"#;
        match xml.find("?>") {
            Some(end) if xml.starts_with("<?xml") => {
                format!("{}{doctype}{}", &xml[..end + 2], &xml[end + 2..])
            }
            _ => format!("{doctype}{xml}"),
        }
    });
    assert_eq!(
        saml.post(&browser, &with_doctype).await,
        format!("{APP_RETURN}?error=invalid_response")
    );
    // The same answer, undoctored, would have gone through: the DOCTYPE
    // alone refused it (its sign-in in flight is used up, so a new one).
    assert!(saml.sign_in("alice").await.contains("code="));
}

#[tokio::test]
async fn an_assertion_for_another_connections_service_provider_is_refused() {
    // Organization A's connection is the one the IdP knows (its SP
    // metadata); an admin of organization B copies A's public IdP settings.
    let saml = setup().await;
    saml.activate().await;
    let admin_b = saml.app.sign_up("Bea").await;
    let org_b = saml.app.create_org(&admin_b, "Beta").await;
    saml.app.set_tier(&org_b, Tier::Enterprise).await;
    let created = create_connection(&saml.app, &admin_b, &org_b, saml_input(&saml.idp)).await;
    assert_ok(&created);
    let connection_b = &created["data"]["createSsoConnection"]["connection"];
    assert_ne!(
        connection_b["spEntityId"],
        format!("{PUBLIC}/sso/saml/{}", saml.connection_id)
    );
    let started = saml
        .app
        .graphql(
            "mutation($c: ID!, $r: String!) { testSsoConnection(input: { connectionId: $c, redirectUri: $r }) { authorizationUrl } }",
            json!({ "c": connection_b["id"], "r": APP_RETURN }),
            Some(&admin_b.token),
        )
        .await;
    assert_ok(&started);
    let browser = Browser::default();
    let to_idp = crate::sso::open_test_link(
        &saml.app,
        &browser,
        started["data"]["testSsoConnection"]["authorizationUrl"]
            .as_str()
            .unwrap(),
    )
    .await;
    let post = browser.through_saml_idp(&to_idp, "alice").await;
    // The IdP addressed its assertion to A's SP entity id: B refuses it.
    assert_eq!(
        saml.post(&browser, &post).await,
        format!("{APP_RETURN}?error=invalid_response")
    );
    let b = saml
        .app
        .graphql(
            "query($o: ID!) { organization(id: $o) { ssoConnections { testedAt } } }",
            json!({ "o": org_b.id }),
            Some(&admin_b.token),
        )
        .await;
    assert_eq!(
        b["data"]["organization"]["ssoConnections"][0]["testedAt"],
        Value::Null
    );
    // Only A's own test sign-in is in the audit.
    assert_eq!(
        entity_audit(&saml.app, "sso_connection.tested").await.len(),
        1
    );
}

#[tokio::test]
async fn a_new_signing_certificate_needs_a_new_test_and_is_refused_while_active() {
    let saml = setup().await;
    saml.activate().await;
    let change = |cert: String| {
        let (app, token, id) = (
            &saml.app,
            saml.owner.token.clone(),
            saml.connection_id.clone(),
        );
        async move {
            app.graphql(
                "mutation($c: ID!, $v: String!) { updateSsoConnection(input: { connectionId: $c, idpCertificate: $v }) { connection { testedAt } } }",
                json!({ "c": id, "v": cert }),
                Some(&token),
            )
            .await
        }
    };
    let other = KeyPair::generate("other").cert;
    assert_error(&change(other.clone()).await, "CONFLICT");
    // The same certificate again changes nothing.
    assert_ok(&change(saml.idp.cert.clone()).await);
    assert_ok(
        &saml
            .connection_call("deactivateSsoConnection", &saml.owner)
            .await,
    );
    let changed = change(other).await;
    assert_eq!(
        changed["data"]["updateSsoConnection"]["connection"]["testedAt"],
        Value::Null
    );
    assert_error(
        &saml
            .connection_call("activateSsoConnection", &saml.owner)
            .await,
        "CONFLICT",
    );
}

#[tokio::test]
async fn an_idp_failure_status_is_access_denied() {
    let saml = setup().await;
    saml.activate().await;
    saml.idp.tamper("failed").await;
    assert_eq!(
        saml.sign_in("alice").await,
        format!("{APP_RETURN}?error=access_denied")
    );
}

#[tokio::test]
async fn an_assertion_id_longer_than_256_characters_is_refused() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let saml = setup().await;
    saml.activate().await;
    saml.idp.tamper("long_id").await;
    assert_eq!(
        saml.sign_in("alice").await,
        format!("{APP_RETURN}?error=invalid_response")
    );
    // Only the test sign-in's assertion is remembered.
    assert_eq!(
        entity::sso_saml_assertion::Entity::find()
            .count(&saml.app.db)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_transient_name_id_is_not_linked_and_the_address_finds_the_account() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let saml = setup().await;
    saml.activate().await;
    let first = saml.session_of("tara").await;
    let second = saml.session_of("tara").await;
    assert_eq!(first["user"]["email"], "tara@acme.test");
    assert_eq!(first["user"]["id"], second["user"]["id"]);
    assert_eq!(
        entity::sso_identity::Entity::find()
            .count(&saml.app.db)
            .await
            .unwrap(),
        0
    );
    // A persistent NameID is linked.
    saml.session_of("pat").await;
    assert_eq!(
        entity::sso_identity::Entity::find()
            .count(&saml.app.db)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn the_email_attribute_is_taken_by_name_in_the_listed_order() {
    let saml = setup().await;
    saml.activate().await;
    let quinn = saml.session_of("quinn").await;
    assert_eq!(quinn["user"]["email"], "quinn@acme.test");
}

#[tokio::test]
async fn an_incomplete_saml_connection_sends_the_browser_back_instead_of_failing() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};
    let saml = setup().await;
    saml.activate().await;
    let browser = Browser::default();
    let post = saml.idp_answer(&browser, "alice").await;
    // Only the database can do this (the API requires every field).
    let connection = entity::sso_connection::Entity::find()
        .one(&saml.app.db)
        .await
        .unwrap()
        .unwrap();
    let mut row = connection.into_active_model();
    row.idp_certificate = Set(None);
    row.update(&saml.app.db).await.unwrap();
    assert_eq!(
        saml.post(&browser, &post).await,
        format!("{APP_RETURN}?error=sso_unavailable")
    );
}
