//! Organization API tokens: scopes, isolation, revocation, expiry, audit,
//! limits, and secrets that never show again.

use entity::values::{ActorKind, Role};
use sea_orm::{EntityTrait, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::*;

const CREATE: &str = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id name scopes lastFour active createdBy { name } } } }";

async fn create(app: &TestApp, actor: &TestUser, org: &TestOrg, scopes: Value) -> Value {
    app.graphql(
        CREATE,
        json!({ "input": { "organizationId": org.id, "name": "CI", "scopes": scopes } }),
        Some(&actor.token),
    )
    .await
}

fn secret(response: &Value) -> String {
    response["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {response}"))
        .to_owned()
}

const MEMBERS: &str = "query($id: ID!) { organization(id: $id) { name members { totalCount } } }";

#[tokio::test]
async fn a_token_does_what_its_scopes_allow_in_its_organization() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let created = create(&app, &ann, &org, json!(["ORG_VIEW", "MEMBERS_VIEW"])).await;
    assert_ok(&created);
    let token = secret(&created);
    assert!(token.starts_with("orgql_live_"), "{token}");
    assert_eq!(
        created["data"]["createApiToken"]["apiToken"]["lastFour"],
        &token[token.len() - 4..]
    );

    let read = app
        .graphql(MEMBERS, json!({ "id": org.id }), Some(&token))
        .await;
    assert_ok(&read);
    assert_eq!(read["data"]["organization"]["members"]["totalCount"], 1);
    let listed = app
        .graphql("{ organizations { totalCount } }", json!({}), Some(&token))
        .await;
    assert_eq!(listed["data"]["organizations"]["totalCount"], 1);
    // Outside its scopes: no settings change, no tokens.
    let write = app
        .graphql("mutation($id: ID!) { updateOrganization(input: { organizationId: $id, name: \"X\" }) { organization { id } } }", json!({ "id": org.id }), Some(&token))
        .await;
    assert_error(&write, "FORBIDDEN");
    assert!(app.graphql(VIEWER_Q, json!({}), Some(&token)).await["data"]["viewer"].is_null());
}

const VIEWER_Q: &str = "{ viewer { user { id } } }";

#[tokio::test]
async fn a_token_sees_nothing_of_other_organizations() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let other = app.create_org(&ann, "Other").await;
    let token = secret(
        &create(
            &app,
            &ann,
            &org,
            json!(["ORG_VIEW", "MEMBERS_VIEW", "MEMBERS_MANAGE"]),
        )
        .await,
    );
    let read = app
        .graphql(MEMBERS, json!({ "id": other.id }), Some(&token))
        .await;
    assert!(read["data"]["organization"].is_null(), "{read}");
    let node = app
        .graphql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": ann.id }),
            Some(&token),
        )
        .await;
    assert!(node["data"]["node"].is_null());
    let join = app
        .graphql(
            "mutation { createOrganization(input: { name: \"Mine\" }) { organization { id } } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_error(&join, "FORBIDDEN");
}

#[tokio::test]
async fn a_token_with_members_manage_acts_below_admins_and_is_audited_as_itself() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, entity::values::Tier::Team).await;
    let (_, max_id) = app.member_of(&org, Role::Member, "Max").await;
    let (_, ada_id) = app.member_of(&org, Role::Admin, "Ada").await;
    let created = create(&app, &ann, &org, json!(["MEMBERS_VIEW", "MEMBERS_MANAGE"])).await;
    let token = secret(&created);
    let change = "mutation($id: ID!, $r: Role!) { updateMemberRole(input: { memberId: $id, role: $r }) { member { role } } }";
    assert_ok(
        &app.graphql(change, json!({ "id": max_id, "r": "VIEWER" }), Some(&token))
            .await,
    );
    let entry = app.last_audit().await;
    assert_eq!(entry.actor_kind, ActorKind::ApiToken);
    let token_id = created["data"]["createApiToken"]["apiToken"]["id"]
        .as_str()
        .unwrap();
    assert_eq!(
        entry.actor_id,
        Some(
            orgql::domain::ids::parse_uuid::<orgql::domain::ids::ApiTokenId>(token_id, "id")
                .unwrap()
        )
    );
    assert_error(
        &app.graphql(change, json!({ "id": ada_id, "r": "MEMBER" }), Some(&token))
            .await,
        "FORBIDDEN",
    );
    assert_error(
        &app.graphql(change, json!({ "id": max_id, "r": "OWNER" }), Some(&token))
            .await,
        "FORBIDDEN",
    );
}

#[tokio::test]
async fn nobody_grants_a_scope_they_lack_or_that_does_not_exist() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    assert_error(
        &create(&app, &ada, &org, json!(["ORG_DELETE"])).await,
        "FORBIDDEN",
    );
    assert_ok(&create(&app, &ada, &org, json!(["MEMBERS_MANAGE"])).await);
    assert_error(
        &create(&app, &max, &org, json!(["MEMBERS_VIEW"])).await,
        "FORBIDDEN",
    );
    // Scopes are `Permission` values: anything else fails the schema.
    let unknown = create(&app, &ann, &org, json!(["everything"])).await;
    assert_error(&unknown, "BAD_USER_INPUT");
}

#[tokio::test]
async fn revoked_expired_and_tampered_tokens_are_unauthenticated() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let revoked = create(&app, &ann, &org, json!(["ORG_VIEW"])).await;
    let revoked_token = secret(&revoked);
    assert_ok(
        &app.graphql(
            MEMBERS.replace(" members { totalCount }", "").as_str(),
            json!({ "id": org.id }),
            Some(&revoked_token),
        )
        .await,
    );
    let id = revoked["data"]["createApiToken"]["apiToken"]["id"].clone();
    assert_ok(&app.graphql("mutation($id: ID!) { revokeApiToken(input: { apiTokenId: $id }) { apiToken { active } } }", json!({ "id": id }), Some(&ann.token)).await);
    let name_only = "query($id: ID!) { organization(id: $id) { name } }";
    assert_error(
        &app.graphql(name_only, json!({ "id": org.id }), Some(&revoked_token))
            .await,
        "UNAUTHENTICATED",
    );

    let expiring = secret(&create(&app, &ann, &org, json!(["ORG_VIEW"])).await);
    entity::api_token::Entity::update_many()
        .col_expr(
            entity::api_token::Column::ExpiresAt,
            Expr::value(Some(chrono::Utc::now() - chrono::Duration::minutes(1))),
        )
        .exec(&app.db)
        .await
        .unwrap();
    assert_error(
        &app.graphql(name_only, json!({ "id": org.id }), Some(&expiring))
            .await,
        "UNAUTHENTICATED",
    );
    let mut tampered = revoked_token.clone();
    tampered.pop();
    tampered.push('0');
    assert_error(
        &app.graphql(name_only, json!({ "id": org.id }), Some(&tampered))
            .await,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn tokens_count_toward_the_tier_and_their_secret_never_shows_again() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let mut secrets = Vec::new();
    for _ in 0..3 {
        secrets.push(secret(&create(&app, &ann, &org, json!(["ORG_VIEW"])).await));
    }
    let fourth = create(&app, &ann, &org, json!(["ORG_VIEW"])).await;
    assert_error(&fourth, "TIER_LIMIT_EXCEEDED");
    assert_eq!(fourth["errors"][0]["extensions"]["resource"], "apiTokens");
    let listed = app
        .graphql("query($id: ID!) { organization(id: $id) { apiTokens { name scopes lastFour lastUsedAt createdBy { name } } } }", json!({ "id": org.id }), Some(&ann.token))
        .await;
    assert_eq!(
        listed["data"]["organization"]["apiTokens"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let audit = entity::audit_entry::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    let stored = entity::api_token::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    for secret in &secrets {
        let raw = secret.rsplit('_').next().unwrap();
        assert!(!listed.to_string().contains(raw));
        assert!(!format!("{audit:?}").contains(raw));
        assert!(!format!("{stored:?}").contains(raw));
    }
}

#[tokio::test]
async fn a_token_with_members_manage_invites_and_creates_join_codes() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, entity::values::Tier::Team).await;
    let token = secret(&create(&app, &ann, &org, json!(["MEMBERS_VIEW", "MEMBERS_MANAGE"])).await);
    let invited = app
        .graphql("mutation($o: ID!) { createInvitation(input: { organizationId: $o, email: \"new@example.com\" }) { invitation { invitedBy { name } } } }", json!({ "o": org.id }), Some(&token))
        .await;
    assert_ok(&invited);
    assert!(invited["data"]["createInvitation"]["invitation"]["invitedBy"].is_null());
    let code = app
        .graphql("mutation($o: ID!) { createJoinCode(input: { organizationId: $o }) { joinCode { createdBy { name } } } }", json!({ "o": org.id }), Some(&token))
        .await;
    assert_ok(&code);
    assert_eq!(app.last_audit().await.actor_kind, ActorKind::ApiToken);
}
