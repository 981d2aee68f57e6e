//! What a tenant's identity provider may assert (DESIGN §3, review H2): an
//! address counts only inside the connection organization's verified
//! domains, for a new account as for a link, and a link is checked again
//! at every sign-in. Driven end to end through a real OpenID Connect
//! provider (`tests/idp`) that the attacking tenant controls.

use entity::values::Tier;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::dns_server::DnsServer;
use crate::helpers::*;
use crate::idp::{Browser, Idp};
use crate::sso::{
    APP_RETURN, CLIENT_ID, CLIENT_SECRET, PUBLIC, configure, entity_audit, exchange, query_param,
    through_callback, urlencode, verify_domain,
};

/// One server, its DNS stub, and the IdP a tenant runs: it asserts
/// whatever its administrator types in.
struct World {
    app: TestApp,
    dns: DnsServer,
    idp: Idp,
}

/// An ENTERPRISE organization signing in through the IdP.
struct Tenant {
    owner: TestUser,
    org: TestOrg,
    connection_id: String,
}

async fn world(accounts: Value) -> World {
    let dns = DnsServer::start().await;
    let dns_addr = dns.addr;
    let app = spawn_app_with(|config| {
        configure(config);
        config.dns_resolver = Some(dns_addr);
    })
    .await;
    let idp = Idp::start(json!({
        "clients": [{
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [format!("{PUBLIC}/sso/oidc/callback")],
        }],
        "accounts": accounts,
    }))
    .await;
    World { app, dns, idp }
}

impl World {
    /// An ENTERPRISE organization whose OIDC connection (JIT on) to the
    /// IdP is tested (as `tester`) and ACTIVE; it verified `domains`.
    async fn tenant(&self, name: &str, domains: &[&str], tester: &str) -> Tenant {
        let owner = self.app.sign_up("Owner").await;
        let org = self.app.create_org(&owner, name).await;
        self.app.set_tier(&org, Tier::Enterprise).await;
        for domain in domains {
            verify_domain(&self.app, &self.dns, &owner, &org, domain).await;
        }
        let created = self
            .app
            .graphql(
                "mutation($i: CreateSsoConnectionInput!) { createSsoConnection(input: $i) { connection { id } } }",
                json!({ "i": { "organizationId": org.id, "protocol": "OIDC", "issuerUrl": self.idp.issuer,
                               "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
                               "jitProvisioning": true, "defaultRole": "MEMBER" } }),
                Some(&owner.token),
            )
            .await;
        assert_ok(&created);
        let connection_id = created["data"]["createSsoConnection"]["connection"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let tenant = Tenant {
            owner,
            org,
            connection_id,
        };
        // A test sign-in signs nobody in: any account of the IdP will do.
        let started = self
            .app
            .graphql(
                "mutation($c: ID!, $r: String!) { testSsoConnection(input: { connectionId: $c, redirectUri: $r }) { authorizationUrl } }",
                json!({ "c": tenant.connection_id, "r": APP_RETURN }),
                Some(&tenant.owner.token),
            )
            .await;
        assert_ok(&started);
        let url = started["data"]["testSsoConnection"]["authorizationUrl"]
            .as_str()
            .unwrap();
        let browser = Browser::default();
        let to_idp = crate::sso::open_test_link(&self.app, &browser, url).await;
        assert_eq!(
            through_callback(&self.app, &browser, &to_idp, tester).await,
            format!("{APP_RETURN}?sso_test=passed")
        );
        assert_ok(&self.connection_call(&tenant, "activateSsoConnection").await);
        tenant
    }

    async fn connection_call(&self, tenant: &Tenant, mutation: &str) -> Value {
        self.app
            .graphql(
                &format!("mutation($c: ID!) {{ {mutation}(input: {{ connectionId: $c }}) {{ connection {{ status }} }} }}"),
                json!({ "c": tenant.connection_id }),
                Some(&tenant.owner.token),
            )
            .await
    }

    /// The IdP URL a browser is sent to from `tenant`'s start.
    async fn start(&self, browser: &Browser, tenant: &Tenant) -> String {
        let start = format!(
            "{}/sso/{}/start?redirect_uri={}",
            self.app.base,
            tenant.org.slug,
            urlencode(APP_RETURN)
        );
        let (status, to) = browser.redirect_of(&start).await;
        assert_eq!(status, reqwest::StatusCode::SEE_OTHER, "start refused");
        to.unwrap()
    }

    /// A whole sign-in through `tenant` as `login`: where the app is sent.
    async fn sign_in(&self, tenant: &Tenant, login: &str) -> String {
        let browser = Browser::default();
        let to_idp = self.start(&browser, tenant).await;
        through_callback(&self.app, &browser, &to_idp, login).await
    }

    /// A sign-in that must succeed: the session payload.
    async fn session_of(&self, tenant: &Tenant, login: &str) -> Value {
        let back = self.sign_in(tenant, login).await;
        let code = query_param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
        let exchanged = exchange(&self.app, &code).await;
        assert_ok(&exchanged);
        exchanged["data"]["exchangeSsoCode"].clone()
    }

    async fn accounts_with(&self, email: &str) -> u64 {
        entity::user::Entity::find()
            .filter(entity::user::Column::Email.eq(email))
            .count(&self.app.db)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn another_tenants_idp_cannot_mint_an_account_for_a_verified_domain_it_does_not_own() {
    let world = world(json!({
        "tester": { "email": "tester@attacker.test", "email_verified": true },
        "forged": { "email": "newhire@victimcorp.test", "email_verified": true, "name": "New Hire" },
        "forged-it": { "email": "it@victimcorp.test", "email_verified": true },
        "insider": { "email": "insider@attacker.test", "email_verified": true },
    }))
    .await;
    let app = &world.app;

    // The victim organization owns victimcorp.test, lets its people join by
    // domain, and invites the new hire as an ADMIN (no account yet).
    let victim_owner = app.sign_up("Vera").await;
    let victim = app.create_org(&victim_owner, "Victim Corp").await;
    verify_domain(app, &world.dns, &victim_owner, &victim, "victimcorp.test").await;
    assert_ok(
        &app.graphql(
            "mutation($o: ID!) { updatePolicy(input: { organizationId: $o, autoJoinDomains: [\"victimcorp.test\"], defaultRole: MEMBER }) { policy { autoJoinDomains } } }",
            json!({ "o": victim.id }),
            Some(&victim_owner.token),
        )
        .await,
    );
    assert_ok(
        &app.graphql(
            "mutation($o: ID!) { createInvitation(input: { organizationId: $o, email: \"newhire@victimcorp.test\", role: ADMIN }) { invitation { id } } }",
            json!({ "o": victim.id }),
            Some(&victim_owner.token),
        )
        .await,
    );

    // The attacker: an ENTERPRISE organization with no verified domain,
    // whose own IdP asserts the victim's addresses as verified.
    let attacker = world.tenant("Attacker", &[], "tester").await;
    for forged in ["forged", "forged-it"] {
        assert_eq!(
            world.sign_in(&attacker, forged).await,
            format!("{APP_RETURN}?error=email_not_verified"),
            "{forged}"
        );
    }
    // No account exists to accept the invitation or join by domain.
    assert_eq!(world.accounts_with("newhire@victimcorp.test").await, 0);
    assert_eq!(world.accounts_with("it@victimcorp.test").await, 0);
    assert!(entity_audit(app, "user.sso_signed_in").await.is_empty());
    let invitations = entity::invitation::Entity::find()
        .filter(entity::invitation::Column::Email.eq("newhire@victimcorp.test"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(invitations.len(), 1);
    assert_eq!(
        invitations[0].status,
        entity::values::InvitationStatus::Pending
    );
    assert!(invitations[0].accepted_by_user_id.is_none());

    // The IdP still speaks for the attacker's own domain, once verified.
    let own = world
        .tenant("Attacker Two", &["attacker.test"], "tester")
        .await;
    let session = world.session_of(&own, "insider").await;
    assert_eq!(session["user"]["email"], "insider@attacker.test");
    assert_eq!(session["amr"], json!(["sso"]));
}

#[tokio::test]
async fn a_linked_identity_is_refused_once_its_domain_is_removed() {
    let world = world(json!({
        "alice": { "email": "alice@acme.test", "email_verified": true },
    }))
    .await;
    let acme = world.tenant("Acme", &["acme.test"], "alice").await;
    let first = world.session_of(&acme, "alice").await;
    assert_eq!(first["user"]["email"], "alice@acme.test");
    assert_ok(
        &world
            .app
            .graphql(
                "mutation($o: ID!) { removeDomain(input: { organizationId: $o, domain: \"acme.test\" }) { removedDomain } }",
                json!({ "o": acme.org.id }),
                Some(&acme.owner.token),
            )
            .await,
    );
    // The link (sso_identities) is still there, but the IdP no longer
    // speaks for acme.test.
    assert_eq!(
        world.sign_in(&acme, "alice").await,
        format!("{APP_RETURN}?error=email_not_verified")
    );
    // Verified again, the same link signs the same account in.
    verify_domain(&world.app, &world.dns, &acme.owner, &acme.org, "acme.test").await;
    let again = world.session_of(&acme, "alice").await;
    assert_eq!(again["user"]["id"], first["user"]["id"]);
}

#[tokio::test]
async fn a_sign_in_whose_connection_was_deactivated_meanwhile_is_refused() {
    let world = world(json!({
        "alice": { "email": "alice@acme.test", "email_verified": true },
    }))
    .await;
    let acme = world.tenant("Acme", &["acme.test"], "alice").await;
    world.session_of(&acme, "alice").await;
    let browser = Browser::default();
    let to_idp = world.start(&browser, &acme).await;
    let callback = browser
        .through_idp(&to_idp, "alice", &format!("{PUBLIC}/sso/oidc/callback"))
        .await;
    assert_ok(
        &world
            .connection_call(&acme, "deactivateSsoConnection")
            .await,
    );
    let (_, to) = browser
        .redirect_of(&callback.replacen(PUBLIC, &world.app.base, 1))
        .await;
    assert_eq!(to.unwrap(), format!("{APP_RETURN}?error=sso_unavailable"));
    assert_eq!(
        entity_audit(&world.app, "user.sso_signed_in").await.len(),
        1
    );
}

#[tokio::test]
async fn an_sso_session_is_asked_for_mfa_wherever_mfa_is_required() {
    let world = world(json!({
        "alice": { "email": "alice@acme.test", "email_verified": true },
    }))
    .await;
    let app = &world.app;
    let acme = world.tenant("Acme", &["acme.test"], "alice").await;
    let session = world.session_of(&acme, "alice").await;
    assert_eq!(session["amr"], json!(["sso"]));
    let token = session["accessToken"].as_str().unwrap();
    let alice = uuid_of(&session["user"]["id"]);

    // Alice is also a member of another organization, which requires MFA.
    let other_owner = app.sign_up("Otto").await;
    let other = app.create_org(&other_owner, "Other").await;
    add_member(app, &other, alice).await;
    for org in [&other, &acme.org] {
        require_mfa(app, org).await;
        assert_error(
            &app.graphql(
                "query($o: ID!) { organization(id: $o) { members(first: 5) { totalCount } } }",
                json!({ "o": org.id }),
                Some(token),
            )
            .await,
            "MFA_REQUIRED",
        );
    }
}

fn uuid_of(id: &Value) -> uuid::Uuid {
    orgql::domain::ids::parse_uuid::<orgql::domain::ids::UserId>(id.as_str().unwrap(), "id")
        .unwrap()
}

async fn add_member(app: &TestApp, org: &TestOrg, user: uuid::Uuid) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    entity::member::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        organization_id: Set(org.uuid),
        user_id: Set(user),
        role: Set(entity::values::Role::Member),
        joined_at: Set(chrono::Utc::now()),
        sessions_revoked_before: Set(None),
    }
    .insert(&app.db)
    .await
    .unwrap();
}

/// Turns `requireMfa` on in the database (through the API the owner would
/// first need an MFA session of their own).
async fn require_mfa(app: &TestApp, org: &TestOrg) {
    use sea_orm::sea_query::Expr;
    let row = entity::organization::Entity::find_by_id(org.uuid)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut policy = row.policy.clone().unwrap_or_else(|| json!({}));
    policy["requireMfa"] = json!(true);
    entity::organization::Entity::update_many()
        .col_expr(entity::organization::Column::Policy, Expr::value(policy))
        .filter(entity::organization::Column::Id.eq(org.uuid))
        .exec(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_nul_or_bytes_that_are_not_utf8_anywhere_in_an_sso_url_are_a_400() {
    let app = spawn_app_with(configure).await;
    let back = urlencode(APP_RETURN);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        format!("/sso/a%00b/start?redirect_uri={back}"),
        format!("/sso/a%FFb/start?redirect_uri={back}"),
        format!("/sso/acme/start?redirect_uri={back}%00"),
        format!("/sso/acme/start?redirect_uri={back}&other=%C3"),
        format!("/sso/saml/start?redirect_uri={back}%00"),
        "/sso/oidc/callback?state=a%00b&code=c".to_owned(),
        "/sso/oidc/callback?state=s&code=%00".to_owned(),
        "/sso/oidc/callback?state=%FF&code=c".to_owned(),
        "/sso/oidc/callback?state=s&error=%00".to_owned(),
        "/sso/saml/sso_%00".to_owned(),
        "/sso/saml/%FF".to_owned(),
    ] {
        let response = client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            reqwest::StatusCode::BAD_REQUEST,
            "{path}"
        );
    }
    for (query, form) in [
        ("?x=%00", vec![("SAMLResponse", "x"), ("RelayState", "r")]),
        ("", vec![("SAMLResponse", "x"), ("RelayState", "a\0b")]),
        ("", vec![("SAMLResponse", "x\0"), ("RelayState", "r")]),
    ] {
        let response = client
            .post(format!("{}/sso/saml/acs{query}", app.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            reqwest::StatusCode::BAD_REQUEST,
            "{query} {form:?}"
        );
    }
    // The refusal names the mistake, in GraphQL's error shape.
    let refused: Value = client
        .get(format!("{}/sso/a%00b/start?redirect_uri={back}", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}
