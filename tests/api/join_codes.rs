//! Join codes: creation rules, joining, limits and races.

use entity::values::{Role, Tier};
use sea_orm::{EntityTrait, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::*;

const CREATE: &str = "mutation($input: CreateJoinCodeInput!) { createJoinCode(input: $input) { code joinCode { id lastFour role uses maxUses active } } }";
const JOIN: &str = "mutation($code: String!) { joinOrganization(input: { code: $code }) { organization { slug } role alreadyMember } }";

async fn create(app: &TestApp, actor: &TestUser, org: &TestOrg, input: Value) -> Value {
    let mut input = input;
    input["organizationId"] = json!(org.id);
    app.graphql(CREATE, json!({ "input": input }), Some(&actor.token))
        .await
}

fn code(response: &Value) -> String {
    response["data"]["createJoinCode"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code: {response}"))
        .to_owned()
}

#[tokio::test]
async fn a_code_lets_people_join_with_its_role_and_shows_only_its_last_four() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let created = create(&app, &ann, &org, json!({ "role": "VIEWER", "maxUses": 5 })).await;
    assert_ok(&created);
    let secret = code(&created);
    assert_eq!(
        created["data"]["createJoinCode"]["joinCode"]["lastFour"],
        &secret[secret.len() - 4..]
    );
    let bob = app.sign_up("Bob").await;
    let joined = app
        .graphql(JOIN, json!({ "code": secret }), Some(&bob.token))
        .await;
    assert_ok(&joined);
    assert_eq!(joined["data"]["joinOrganization"]["role"], "VIEWER");
    assert_eq!(joined["data"]["joinOrganization"]["alreadyMember"], false);
    let again = app
        .graphql(JOIN, json!({ "code": secret }), Some(&bob.token))
        .await;
    assert_eq!(again["data"]["joinOrganization"]["alreadyMember"], true);
    let listed = app
        .graphql("query($id: ID!) { organization(id: $id) { joinCodes { edges { node { uses lastFour createdBy { name } } } } } }", json!({ "id": org.id }), Some(&ann.token))
        .await;
    let node = &listed["data"]["organization"]["joinCodes"]["edges"][0]["node"];
    assert_eq!(node["uses"], 1, "an existing member uses nothing up");
    assert!(
        !listed.to_string().contains(&secret),
        "lists never show the code"
    );
    assert_eq!(app.last_audit().await.action, "join_code.used");
}

#[tokio::test]
async fn codes_never_make_owners_or_roles_above_the_creator() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let owner = create(&app, &ann, &org, json!({ "role": "OWNER" })).await;
    assert_error(&owner, "BAD_USER_INPUT");
    assert_eq!(owner["errors"][0]["extensions"]["field"], "role");
    assert_ok(&create(&app, &ada, &org, json!({ "role": "ADMIN" })).await);
    assert_error(&create(&app, &max, &org, json!({})).await, "FORBIDDEN");
    assert_error(
        &create(&app, &ann, &org, json!({ "maxUses": 0 })).await,
        "BAD_USER_INPUT",
    );
}

#[tokio::test]
async fn unknown_revoked_expired_and_used_up_codes_are_invalid() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let bob = app.sign_up("Bob").await;
    let cy = app.sign_up("Cy").await;
    assert_error(
        &app.graphql(JOIN, json!({ "code": "nope" }), Some(&bob.token))
            .await,
        "JOIN_CODE_INVALID",
    );

    let once = code(&create(&app, &ann, &org, json!({ "maxUses": 1 })).await);
    assert_ok(
        &app.graphql(JOIN, json!({ "code": once }), Some(&bob.token))
            .await,
    );
    assert_error(
        &app.graphql(JOIN, json!({ "code": once }), Some(&cy.token))
            .await,
        "JOIN_CODE_INVALID",
    );

    let revoked = create(&app, &ann, &org, json!({})).await;
    let revoke = "mutation($id: ID!) { revokeJoinCode(input: { joinCodeId: $id }) { joinCode { active revokedAt } } }";
    let id = revoked["data"]["createJoinCode"]["joinCode"]["id"].clone();
    let done = app
        .graphql(revoke, json!({ "id": id }), Some(&ann.token))
        .await;
    assert_eq!(done["data"]["revokeJoinCode"]["joinCode"]["active"], false);
    assert_error(
        &app.graphql(JOIN, json!({ "code": code(&revoked) }), Some(&cy.token))
            .await,
        "JOIN_CODE_INVALID",
    );

    let expiring = code(&create(&app, &ann, &org, json!({ "expiresInHours": 1 })).await);
    entity::join_code::Entity::update_many()
        .col_expr(
            entity::join_code::Column::ExpiresAt,
            Expr::value(Some(chrono::Utc::now() - chrono::Duration::minutes(1))),
        )
        .exec(&app.db)
        .await
        .unwrap();
    assert_error(
        &app.graphql(JOIN, json!({ "code": expiring }), Some(&cy.token))
            .await,
        "JOIN_CODE_INVALID",
    );
}

#[tokio::test]
async fn joins_stop_at_the_member_limit_and_active_codes_at_theirs() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let free_code = code(&create(&app, &ann, &org, json!({})).await);
    assert_error(
        &create(&app, &ann, &org, json!({})).await,
        "TIER_LIMIT_EXCEEDED",
    );
    let bob = app.sign_up("Bob").await;
    let cy = app.sign_up("Cy").await;
    assert_ok(
        &app.graphql(JOIN, json!({ "code": free_code }), Some(&bob.token))
            .await,
    );
    let full = app
        .graphql(JOIN, json!({ "code": free_code }), Some(&cy.token))
        .await;
    assert_error(&full, "TIER_LIMIT_EXCEEDED");
    assert_eq!(full["errors"][0]["extensions"]["limit"], 2);
}

#[tokio::test]
async fn concurrent_joins_never_pass_max_uses() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let secret = code(&create(&app, &ann, &org, json!({ "maxUses": 2 })).await);
    let mut joiners = Vec::new();
    for i in 0..6 {
        joiners.push(app.sign_up(&format!("Joiner{i}")).await);
    }
    let responses = futures_util::future::join_all(
        joiners
            .iter()
            .map(|u| app.graphql(JOIN, json!({ "code": secret }), Some(&u.token))),
    )
    .await;
    let ok = responses.iter().filter(|r| error_code(r).is_none()).count();
    assert_eq!(ok, 2, "{responses:?}");
    assert!(
        responses
            .iter()
            .all(|r| matches!(error_code(r), None | Some("JOIN_CODE_INVALID")))
    );
}

#[tokio::test]
async fn concurrent_joins_never_pass_the_member_limit() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let secret = code(&create(&app, &ann, &org, json!({})).await);
    let mut joiners = Vec::new();
    for i in 0..5 {
        joiners.push(app.sign_up(&format!("Joiner{i}")).await);
    }
    let responses = futures_util::future::join_all(
        joiners
            .iter()
            .map(|u| app.graphql(JOIN, json!({ "code": secret }), Some(&u.token))),
    )
    .await;
    assert_eq!(
        responses.iter().filter(|r| error_code(r).is_none()).count(),
        1,
        "{responses:?}"
    );
}
