//! Single sign-on through a real OpenID Connect provider (`tests/idp`):
//! the browser flow over HTTP, JIT provisioning, linking only within
//! verified domains, activation after a test sign-in, the refusals of
//! spoiled ID tokens, state and redirect checks, the tier, and the
//! `ssoRequired` enforcement with the owner's bypass.

use entity::values::{Role, Tier};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dns_server::DnsServer;
use crate::helpers::*;
use crate::idp::{Browser, Idp};

pub const PUBLIC: &str = "http://orgql.test";
pub const APP_RETURN: &str = "http://app.test/sso/done";
pub const CLIENT_ID: &str = "orgql-test";
pub const CLIENT_SECRET: &str = "a client secret nobody may read back";

pub(crate) struct Sso {
    pub(crate) app: TestApp,
    idp: Idp,
    dns: DnsServer,
    owner: TestUser,
    pub(crate) org: TestOrg,
    connection_id: String,
}

fn accounts() -> Value {
    json!({
        "alice": { "email": "alice@acme.test", "email_verified": true, "name": "Alice Idp" },
        "eve": { "email": "eve@acme.test", "email_verified": false, "name": "Eve" },
        "bob": { "email": "bob@elsewhere.test", "email_verified": true, "name": "Bob" },
        "max": { "email": "max@acme.test", "email_verified": true, "name": "Max" },
    })
}

/// Settings for an app that trusts the test IdP.
pub fn configure(config: &mut orgql::Config) {
    config.public_url = PUBLIC.to_owned();
    config.sso_redirect_uris = vec![APP_RETURN.to_owned()];
    config.sso_allow_http_issuers = true;
}

/// The test IdP's clients and accounts.
pub fn idp_config() -> Value {
    json!({
        "clients": [{
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [format!("{PUBLIC}/sso/oidc/callback")],
        }],
        "accounts": accounts(),
    })
}

/// Opens a test sign-in's link (`testSsoConnection`'s
/// `authorizationUrl`) in `browser`, which it binds to the sign-in;
/// answers the IdP URL it sends the browser on to.
pub async fn open_test_link(app: &TestApp, browser: &Browser, link: &str) -> String {
    assert!(
        link.starts_with(&format!("{PUBLIC}/sso/test?ticket=")),
        "{link}"
    );
    let (status, to) = browser
        .redirect_of(&link.replacen(PUBLIC, &app.base, 1))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the test link was refused");
    to.unwrap()
}

/// Walks the browser from an IdP URL through orgql's callback; answers
/// where orgql sent it.
pub async fn through_callback(
    app: &TestApp,
    browser: &Browser,
    idp_url: &str,
    login: &str,
) -> String {
    let callback = browser
        .through_idp(idp_url, login, &format!("{PUBLIC}/sso/oidc/callback"))
        .await;
    let (status, to) = browser
        .redirect_of(&callback.replacen(PUBLIC, &app.base, 1))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    to.unwrap()
}

/// An app and an IdP that trust each other, and an ENTERPRISE organization
/// that verified `acme.test` (its IdP speaks for that domain only) with a
/// DRAFT connection.
pub(crate) async fn setup() -> Sso {
    setup_with(|_| {}).await
}

/// [`setup`] with `more` settings on top.
pub(crate) async fn setup_with(more: impl FnOnce(&mut orgql::Config)) -> Sso {
    let dns = DnsServer::start().await;
    let dns_addr = dns.addr;
    let app = spawn_app_with(|config| {
        configure(config);
        config.dns_resolver = Some(dns_addr);
        more(config);
    })
    .await;
    let idp = Idp::start(idp_config()).await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    app.set_tier(&org, Tier::Enterprise).await;
    verify_domain(&app, &dns, &owner, &org, "acme.test").await;
    let created = create_connection(&app, &owner, &org, &idp.issuer).await;
    assert_ok(&created);
    let connection_id = created["data"]["createSsoConnection"]["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Sso {
        app,
        idp,
        dns,
        owner,
        org,
        connection_id,
    }
}

async fn create_connection(app: &TestApp, user: &TestUser, org: &TestOrg, issuer: &str) -> Value {
    app.graphql(
        "mutation($i: CreateSsoConnectionInput!) { createSsoConnection(input: $i) { connection {
            id protocol status issuerUrl clientId jitProvisioning defaultRole redirectUri testedAt } } }",
        json!({ "i": { "organizationId": org.id, "protocol": "OIDC", "issuerUrl": issuer,
                       "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "defaultRole": "MEMBER" } }),
        Some(&user.token),
    )
    .await
}

impl Sso {
    async fn connection_call(&self, mutation: &str, user: &TestUser) -> Value {
        self.app
            .graphql(
                &format!("mutation($c: ID!) {{ {mutation}(input: {{ connectionId: $c }}) {{ connection {{ status testedAt }} }} }}"),
                json!({ "c": self.connection_id }),
                Some(&user.token),
            )
            .await
    }

    /// The app's URL for a URL the IdP sent the browser to on orgql's
    /// public address.
    pub(crate) fn on_app(&self, public: &str) -> String {
        public.replacen(PUBLIC, &self.app.base, 1)
    }

    /// Starts a test sign-in: the link `testSsoConnection` answers.
    pub(crate) async fn test_link(&self) -> String {
        let started = self
            .app
            .graphql(
                "mutation($c: ID!, $r: String!) { testSsoConnection(input: { connectionId: $c, redirectUri: $r }) { authorizationUrl } }",
                json!({ "c": self.connection_id, "r": APP_RETURN }),
                Some(&self.owner.token),
            )
            .await;
        assert_ok(&started);
        started["data"]["testSsoConnection"]["authorizationUrl"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// When the connection passed a test sign-in (null: never).
    pub(crate) async fn tested_at(&self) -> Value {
        let read = self
            .app
            .graphql(
                "query($o: ID!) { organization(id: $o) { ssoConnections { testedAt } } }",
                json!({ "o": self.org.id }),
                Some(&self.owner.token),
            )
            .await;
        assert_ok(&read);
        read["data"]["organization"]["ssoConnections"][0]["testedAt"].clone()
    }

    /// Runs a test sign-in as `login`; answers where the app was sent.
    async fn test_sign_in(&self, login: &str) -> String {
        let link = self.test_link().await;
        let browser = Browser::default();
        let to_idp = open_test_link(&self.app, &browser, &link).await;
        through_callback(&self.app, &browser, &to_idp, login).await
    }

    /// Tests and activates the connection.
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

    /// The IdP's callback to orgql for a sign-in as `login` started at
    /// `/sso/{slug}/start`.
    pub(crate) async fn callback_for(&self, browser: &Browser, login: &str) -> String {
        let start = format!(
            "{}/sso/{}/start?redirect_uri={}",
            self.app.base,
            self.org.slug,
            urlencode(APP_RETURN)
        );
        let (status, to) = browser.redirect_of(&start).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "start refused");
        let to = to.unwrap();
        assert!(to.starts_with(&self.idp.issuer), "{to}");
        assert!(to.contains("code_challenge_method=S256"), "{to}");
        assert!(to.contains("nonce="), "{to}");
        browser
            .through_idp(&to, login, &format!("{PUBLIC}/sso/oidc/callback"))
            .await
    }

    /// A whole sign-in as `login`: the app's return URL.
    pub(crate) async fn sign_in(&self, login: &str) -> String {
        let browser = Browser::default();
        let callback = self.callback_for(&browser, login).await;
        let (status, to) = browser.redirect_of(&self.on_app(&callback)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        to.unwrap()
    }

    /// Signs in as `login` and trades the code: the session payload.
    async fn session_of(&self, login: &str) -> Value {
        let back = self.sign_in(login).await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
        let exchanged = exchange(&self.app, &code).await;
        assert_ok(&exchanged);
        exchanged["data"]["exchangeSsoCode"].clone()
    }
}

/// Proves the organization controls `domain` over DNS, as its owner would.
pub async fn verify_domain(
    app: &TestApp,
    dns: &DnsServer,
    owner: &TestUser,
    org: &TestOrg,
    domain: &str,
) {
    let added = app
        .graphql(
            "mutation($o: ID!, $d: String!) { addDomain(input: { organizationId: $o, domain: $d }) { challenge { recordName recordValue } } }",
            json!({ "o": org.id, "d": domain }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&added);
    let challenge = &added["data"]["addDomain"]["challenge"];
    dns.publish_txt(
        challenge["recordName"].as_str().unwrap(),
        challenge["recordValue"].as_str().unwrap(),
    );
    assert_ok(
        &app.graphql(
            "mutation($o: ID!, $d: String!) { verifyDomain(input: { organizationId: $o, domain: $d }) { domain { verified } } }",
            json!({ "o": org.id, "d": domain }),
            Some(&owner.token),
        )
        .await,
    );
}

pub fn urlencode(value: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[("v", value)])
        .unwrap()
        .query()
        .unwrap()
        .trim_start_matches("v=")
        .to_owned()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub async fn exchange(app: &TestApp, code: &str) -> Value {
    app.graphql(
        "mutation($c: String!) { exchangeSsoCode(input: { code: $c }) { accessToken refreshToken amr user { id email name emailVerified } } }",
        json!({ "c": code }),
        None,
    )
    .await
}

#[tokio::test]
async fn a_new_person_signs_in_through_the_idp_and_is_provisioned_with_the_default_role() {
    let sso = setup().await;
    sso.activate().await;
    let session = sso.session_of("alice").await;
    assert_eq!(session["amr"], json!(["sso"]));
    assert_eq!(session["user"]["email"], "alice@acme.test");
    assert_eq!(session["user"]["name"], "Alice Idp");
    let token = session["accessToken"].as_str().unwrap();
    let me = sso
        .app
        .graphql(
            "query($o: ID!) { organization(id: $o) { viewerMembership { role } } viewer { user { emailVerified } sessions { amr } } }",
            json!({ "o": sso.org.id }),
            Some(token),
        )
        .await;
    assert_ok(&me);
    assert_eq!(
        me["data"]["organization"]["viewerMembership"]["role"],
        "MEMBER"
    );
    // The IdP proved the address; the session says how it began.
    assert_eq!(me["data"]["viewer"]["user"]["emailVerified"], true);
    assert_eq!(me["data"]["viewer"]["sessions"][0]["amr"], json!(["sso"]));
    let signed_in = entity_audit(&sso.app, "user.sso_signed_in").await;
    assert_eq!(signed_in.len(), 1);
    assert_eq!(signed_in[0].metadata["createdAccount"], true);
    assert_eq!(signed_in[0].metadata["joinedAs"], "MEMBER");
    assert!(signed_in[0].metadata["connectionId"].is_string());

    // A second sign-in finds the same account through its IdP subject.
    let again = sso.session_of("alice").await;
    assert_eq!(again["user"]["id"], session["user"]["id"]);
}

pub async fn entity_audit(app: &TestApp, action: &str) -> Vec<entity::audit_entry::Model> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::audit_entry::Entity::find()
        .filter(entity::audit_entry::Column::Action.eq(action))
        .all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_code_works_once_and_the_browser_never_carries_a_token() {
    let sso = setup().await;
    sso.activate().await;
    let back = sso.sign_in("alice").await;
    assert!(back.starts_with(&format!("{APP_RETURN}?code=")), "{back}");
    assert!(!back.contains("token"), "{back}");
    let code = query_param(&back, "code").unwrap();
    assert_ok(&exchange(&sso.app, &code).await);
    assert_error(&exchange(&sso.app, &code).await, "BAD_USER_INPUT");
    assert_error(&exchange(&sso.app, "made-up").await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    use sea_orm::{EntityTrait, sea_query::Expr};
    let sso = setup().await;
    sso.activate().await;
    let back = sso.sign_in("alice").await;
    let code = query_param(&back, "code").unwrap();
    entity::sso_code::Entity::update_many()
        .col_expr(
            entity::sso_code::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&sso.app.db)
        .await
        .unwrap();
    assert_error(&exchange(&sso.app, &code).await, "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_connection_is_activated_only_after_a_test_sign_in_and_never_shows_its_secret() {
    let sso = setup().await;
    let listed = sso
        .app
        .graphql(
            "query($o: ID!) { organization(id: $o) { ssoConnections { id status issuerUrl clientId redirectUri testedAt } } }",
            json!({ "o": sso.org.id }),
            Some(&sso.owner.token),
        )
        .await;
    assert_ok(&listed);
    let connection = &listed["data"]["organization"]["ssoConnections"][0];
    assert_eq!(connection["status"], "DRAFT");
    assert_eq!(
        connection["redirectUri"],
        format!("{PUBLIC}/sso/oidc/callback")
    );
    assert!(!listed.to_string().contains(CLIENT_SECRET));
    {
        use sea_orm::EntityTrait;
        let stored = entity::sso_connection::Entity::find()
            .one(&sso.app.db)
            .await
            .unwrap()
            .unwrap();
        assert!(!stored.client_secret_sealed.contains(CLIENT_SECRET));
        let entries = entity::audit_entry::Entity::find()
            .all(&sso.app.db)
            .await
            .unwrap();
        assert!(
            entries
                .iter()
                .all(|e| !e.metadata.to_string().contains(CLIENT_SECRET))
        );
    }
    // Nobody signs in through a DRAFT connection, nor activates it untested.
    let start = format!(
        "{}/sso/{}/start?redirect_uri={}",
        sso.app.base,
        sso.org.slug,
        urlencode(APP_RETURN)
    );
    assert_eq!(
        Browser::default().redirect_of(&start).await.0,
        StatusCode::NOT_FOUND
    );
    assert_error(
        &sso.connection_call("activateSsoConnection", &sso.owner)
            .await,
        "CONFLICT",
    );
    assert_eq!(
        sso.test_sign_in("alice").await,
        format!("{APP_RETURN}?sso_test=passed")
    );
    // A test sign-in signs nobody in.
    assert!(
        entity_audit(&sso.app, "user.sso_signed_in")
            .await
            .is_empty()
    );
    let activated = sso
        .connection_call("activateSsoConnection", &sso.owner)
        .await;
    assert_eq!(
        activated["data"]["activateSsoConnection"]["connection"]["status"],
        "ACTIVE"
    );
    assert_eq!(
        Browser::default().redirect_of(&start).await.0,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn only_owners_and_admins_manage_connections() {
    let sso = setup().await;
    let (max, _) = sso.app.member_of(&sso.org, Role::Member, "Max").await;
    let stranger = sso.app.sign_up("Sam").await;
    assert_error(
        &create_connection(&sso.app, &max, &sso.org, &sso.idp.issuer).await,
        "FORBIDDEN",
    );
    assert_error(
        &create_connection(&sso.app, &stranger, &sso.org, &sso.idp.issuer).await,
        "NOT_FOUND",
    );
    assert_error(
        &sso.connection_call("deactivateSsoConnection", &max).await,
        "FORBIDDEN",
    );
    assert_error(
        &sso.connection_call("deactivateSsoConnection", &stranger)
            .await,
        "NOT_FOUND",
    );
    let (adam, _) = sso.app.member_of(&sso.org, Role::Admin, "Adam").await;
    let updated = sso
        .app
        .graphql(
            "mutation($c: ID!) { updateSsoConnection(input: { connectionId: $c, defaultRole: VIEWER, clientSecret: \"rotated\" }) { connection { defaultRole } } }",
            json!({ "c": sso.connection_id }),
            Some(&adam.token),
        )
        .await;
    assert_eq!(
        updated["data"]["updateSsoConnection"]["connection"]["defaultRole"],
        "VIEWER"
    );
    let owner_role = sso
        .app
        .graphql(
            "mutation($c: ID!) { updateSsoConnection(input: { connectionId: $c, defaultRole: OWNER }) { connection { id } } }",
            json!({ "c": sso.connection_id }),
            Some(&adam.token),
        )
        .await;
    assert_error(&owner_role, "BAD_USER_INPUT");
    let deleted = sso
        .app
        .graphql(
            "mutation($c: ID!) { deleteSsoConnection(input: { connectionId: $c }) { deletedConnectionId } }",
            json!({ "c": sso.connection_id }),
            Some(&adam.token),
        )
        .await;
    assert_eq!(
        deleted["data"]["deleteSsoConnection"]["deletedConnectionId"],
        sso.connection_id.as_str()
    );
}

#[tokio::test]
async fn a_connection_is_a_node_for_those_who_manage_it_only() {
    let sso = setup().await;
    let (max, _) = sso.app.member_of(&sso.org, Role::Member, "Max").await;
    let query = "query($id: ID!) { node(id: $id) { id ... on SsoConnection { status } } }";
    let by_owner = sso
        .app
        .graphql(
            query,
            json!({ "id": sso.connection_id }),
            Some(&sso.owner.token),
        )
        .await;
    assert_eq!(by_owner["data"]["node"]["status"], "DRAFT");
    let by_member = sso
        .app
        .graphql(query, json!({ "id": sso.connection_id }), Some(&max.token))
        .await;
    assert_ok(&by_member);
    assert!(by_member["data"]["node"].is_null());
}

#[tokio::test]
async fn sso_is_refused_below_the_enterprise_tier() {
    let sso = setup().await;
    sso.activate().await;
    let other = sso.app.create_org(&sso.owner, "Small").await;
    sso.app.set_tier(&other, Tier::Team).await;
    let refused = create_connection(&sso.app, &sso.owner, &other, &sso.idp.issuer).await;
    assert_error(&refused, "TIER_LIMIT_EXCEEDED");
    // Downgraded after activation: no more sign-ins through it.
    sso.app.set_tier(&sso.org, Tier::Team).await;
    let start = format!(
        "{}/sso/{}/start?redirect_uri={}",
        sso.app.base,
        sso.org.slug,
        urlencode(APP_RETURN)
    );
    let response = reqwest::get(&start).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "TIER_LIMIT_EXCEEDED"
    );
    assert_error(
        &sso.connection_call("activateSsoConnection", &sso.owner)
            .await,
        "TIER_LIMIT_EXCEEDED",
    );
}

#[tokio::test]
async fn spoiled_id_tokens_are_refused() {
    let sso = setup().await;
    sso.activate().await;
    for mode in [
        "forged",
        "unsigned",
        "wrong_audience",
        "expired",
        "wrong_nonce",
        "wrong_issuer",
    ] {
        sso.idp.tamper(mode).await;
        let back = sso.sign_in("alice").await;
        assert_eq!(
            back,
            format!("{APP_RETURN}?error=invalid_response"),
            "{mode}"
        );
    }
    assert!(
        entity_audit(&sso.app, "user.sso_signed_in")
            .await
            .is_empty()
    );
    // The same flow, unspoiled, goes through.
    assert!(sso.sign_in("alice").await.contains("code="));
}

#[tokio::test]
async fn a_callback_whose_state_does_not_match_or_was_used_is_refused() {
    let sso = setup().await;
    sso.activate().await;
    let browser = Browser::default();
    let callback = sso.callback_for(&browser, "alice").await;
    let state = query_param(&callback, "state").unwrap();
    let altered = callback.replace(&format!("state={state}"), "state=not-the-state");
    let (status, _) = browser.redirect_of(&sso.on_app(&altered)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, to) = browser.redirect_of(&sso.on_app(&callback)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.unwrap().contains("code="));
    // Replayed: the sign-in in flight is gone.
    let (status, _) = browser.redirect_of(&sso.on_app(&callback)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_redirect_uri_off_the_allowlist_is_refused() {
    let sso = setup().await;
    sso.activate().await;
    for bad in [
        "http://evil.test/sso/done",
        "http://app.test/sso/done/x",
        "",
    ] {
        let start = format!(
            "{}/sso/{}/start?redirect_uri={}",
            sso.app.base,
            sso.org.slug,
            urlencode(bad)
        );
        let response = reqwest::get(&start).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let test = sso
        .app
        .graphql(
            "mutation($c: ID!) { testSsoConnection(input: { connectionId: $c, redirectUri: \"http://evil.test/\" }) { authorizationUrl } }",
            json!({ "c": sso.connection_id }),
            Some(&sso.owner.token),
        )
        .await;
    assert_error(&test, "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_unverified_email_at_the_idp_is_refused() {
    let sso = setup().await;
    sso.activate().await;
    assert_eq!(
        sso.sign_in("eve").await,
        format!("{APP_RETURN}?error=email_not_verified")
    );
}

#[tokio::test]
async fn an_existing_account_is_linked_only_within_a_verified_domain() {
    let sso = setup().await;
    sso.activate().await;
    let bob = sso.app.sign_up_as("bob@elsewhere.test", "Bob Local").await;
    assert_eq!(
        sso.sign_in("bob").await,
        format!("{APP_RETURN}?error=account_not_linkable")
    );
    // The organization proves it controls elsewhere.test: now it links.
    verify_domain(&sso.app, &sso.dns, &sso.owner, &sso.org, "elsewhere.test").await;
    let session = sso.session_of("bob").await;
    assert_eq!(session["user"]["id"], bob.id.as_str());
    let linked = entity_audit(&sso.app, "user.sso_signed_in").await;
    assert_eq!(linked[0].metadata["linkedAccount"], true);
}

#[tokio::test]
async fn without_jit_provisioning_only_members_sign_in() {
    let sso = setup().await;
    assert_ok(
        &sso.app
            .graphql(
                "mutation($c: ID!) { updateSsoConnection(input: { connectionId: $c, jitProvisioning: false }) { connection { id } } }",
                json!({ "c": sso.connection_id }),
                Some(&sso.owner.token),
            )
            .await,
    );
    sso.activate().await;
    assert_eq!(
        sso.sign_in("alice").await,
        format!("{APP_RETURN}?error=not_provisioned")
    );
}

const ORG_DATA: &str =
    "query($o: ID!) { organization(id: $o) { members(first: 5) { totalCount } } }";
const SET_SSO_REQUIRED: &str = "mutation($o: ID!, $on: Boolean!) { updatePolicy(input: { organizationId: $o, ssoRequired: $on }) { policy { ssoRequired } } }";

#[tokio::test]
async fn sso_required_refuses_other_sessions_except_owners_until_the_connection_goes() {
    let sso = setup().await;
    let set = |user: &TestUser, on: bool| {
        let (app, org, token) = (&sso.app, &sso.org, user.token.clone());
        async move {
            app.graphql(
                SET_SSO_REQUIRED,
                json!({ "o": org.id, "on": on }),
                Some(&token),
            )
            .await
        }
    };
    // Not without an active connection.
    assert_error(&set(&sso.owner, true).await, "CONFLICT");
    sso.activate().await;
    // Max is a member with a password session.
    let (max, _) = sso.app.member_of(&sso.org, Role::Member, "Max").await;
    sso.app.mark_verified(&max).await;
    let on = set(&sso.owner, true).await;
    assert_eq!(on["data"]["updatePolicy"]["policy"]["ssoRequired"], true);

    assert_error(
        &sso.app
            .graphql(ORG_DATA, json!({ "o": sso.org.id }), Some(&max.token))
            .await,
        "SSO_REQUIRED",
    );
    assert_error(
        &sso.app
            .graphql(
                "mutation($o: ID!) { createTeam(input: { organizationId: $o, name: \"Ops\" }) { team { id } } }",
                json!({ "o": sso.org.id }),
                Some(&max.token),
            )
            .await,
        "SSO_REQUIRED",
    );
    // The owner keeps the emergency bypass.
    assert_ok(
        &sso.app
            .graphql(ORG_DATA, json!({ "o": sso.org.id }), Some(&sso.owner.token))
            .await,
    );
    // Through the connection, a member is admitted.
    let session = sso.session_of("alice").await;
    assert_ok(
        &sso.app
            .graphql(
                ORG_DATA,
                json!({ "o": sso.org.id }),
                session["accessToken"].as_str(),
            )
            .await,
    );

    // Deactivating the connection turns enforcement off, audited.
    let off = sso
        .connection_call("deactivateSsoConnection", &sso.owner)
        .await;
    assert_eq!(
        off["data"]["deactivateSsoConnection"]["connection"]["status"],
        "INACTIVE"
    );
    let entry = sso.app.last_audit().await;
    assert_eq!(entry.action, "sso_connection.deactivated");
    assert_eq!(entry.metadata["ssoRequiredTurnedOff"], true);
    assert_ok(
        &sso.app
            .graphql(ORG_DATA, json!({ "o": sso.org.id }), Some(&max.token))
            .await,
    );
    let policy = sso
        .app
        .graphql(
            "query($o: ID!) { organization(id: $o) { policy { ssoRequired } } }",
            json!({ "o": sso.org.id }),
            Some(&sso.owner.token),
        )
        .await;
    assert_eq!(
        policy["data"]["organization"]["policy"]["ssoRequired"],
        false
    );
}

#[tokio::test]
async fn an_admin_cannot_require_sso_from_a_session_that_would_be_shut_out() {
    let sso = setup().await;
    sso.activate().await;
    let (adam, _) = sso.app.member_of(&sso.org, Role::Admin, "Adam").await;
    let refused = sso
        .app
        .graphql(
            SET_SSO_REQUIRED,
            json!({ "o": sso.org.id, "on": true }),
            Some(&adam.token),
        )
        .await;
    assert_error(&refused, "SSO_REQUIRED");
}

#[tokio::test]
async fn home_realm_discovery_finds_the_organization_of_a_verified_domain() {
    let sso = setup().await;
    sso.activate().await;
    let lookup = |email: &'static str| {
        let app = &sso.app;
        async move {
            app.graphql(
                "query($e: String!, $r: String!) { ssoLoginUrl(email: $e, redirectUri: $r) }",
                json!({ "e": email, "r": APP_RETURN }),
                None,
            )
            .await
        }
    };
    // A domain nobody verified routes nowhere; `acme.test` (verified in
    // `setup`) routes to its organization.
    assert_eq!(
        lookup("bob@elsewhere.test").await["data"]["ssoLoginUrl"],
        Value::Null
    );
    let url = lookup("alice@acme.test").await["data"]["ssoLoginUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with(&format!(
            "{PUBLIC}/sso/{}/start?redirect_uri=",
            sso.org.slug
        )),
        "{url}"
    );
}

#[tokio::test]
async fn an_idp_that_answers_with_an_error_sends_the_app_access_denied() {
    let sso = setup().await;
    sso.activate().await;
    let browser = Browser::default();
    let start = format!(
        "{}/sso/{}/start?redirect_uri={}",
        sso.app.base,
        sso.org.slug,
        urlencode(APP_RETURN)
    );
    let (_, to_idp) = browser.redirect_of(&start).await;
    let state = query_param(&to_idp.unwrap(), "state").unwrap();
    let callback = format!(
        "{}/sso/oidc/callback?error=access_denied&state={}",
        sso.app.base,
        urlencode(&state)
    );
    let (status, to) = browser.redirect_of(&callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to.unwrap(), format!("{APP_RETURN}?error=access_denied"));
}

#[tokio::test]
async fn a_refreshed_sso_session_stays_an_sso_session() {
    let sso = setup().await;
    sso.activate().await;
    let session = sso.session_of("alice").await;
    let refreshed = sso
        .app
        .graphql(
            "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken amr } }",
            json!({ "t": session["refreshToken"] }),
            None,
        )
        .await;
    assert_eq!(refreshed["data"]["refreshSession"]["amr"], json!(["sso"]));
}

/// The OIDC client secret through a rotation of the sealing key (the TOTP
/// side is in `key_rotation.rs`): sealed under the old key, it keeps
/// working while the old key is the fallback; the new key alone does not
/// open it until `rotate-keys` has run, and then does.
#[tokio::test]
async fn a_client_secret_sealed_under_the_old_key_works_through_a_rotation_and_after_rotate_keys() {
    const OLD: &str = "the old sealing key, of at least thirty-two bytes";
    const NEW: &str = "the new sealing key, of at least thirty-two bytes";
    fn keys(
        current: &'static str,
        fallback: Option<&'static str>,
    ) -> impl FnOnce(&mut orgql::Config) {
        move |config| {
            configure(config);
            config.mfa_encryption_key = Some(current.to_owned());
            config.mfa_encryption_key_fallback = fallback.map(str::to_owned);
        }
    }
    let mut sso = setup_with(keys(OLD, None)).await;
    sso.activate().await;

    // Restarted with the new key and the old one as the fallback.
    let rotated = sso.app.another_instance_with(keys(NEW, Some(OLD))).await;
    let first = std::mem::replace(&mut sso.app, rotated);
    assert!(sso.session_of("alice").await["accessToken"].is_string());

    // The new key alone cannot open the client secret yet: no sign-in
    // leaves for the IdP.
    let only_new = first.another_instance_with(keys(NEW, None)).await;
    let start = format!(
        "{}/sso/{}/start?redirect_uri={}",
        only_new.base,
        sso.org.slug,
        urlencode(APP_RETURN)
    );
    let (status, _) = Browser::default().redirect_of(&start).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    let done = orgql::domain::key_rotation::reseal_all(
        &first.db,
        &orgql::auth::Sealer::with_fallbacks(NEW.as_bytes(), [OLD.as_bytes()]),
        500,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(done.oidc_client_secrets.resealed, 1);
    assert!(done.complete());

    // Now the new key alone signs people in through the IdP.
    let rotated = std::mem::replace(&mut sso.app, only_new);
    assert!(sso.session_of("alice").await["accessToken"].is_string());
    drop((rotated, first));
}
