//! Tenant isolation: another organization's ids are NOT_FOUND (or null),
//! never FORBIDDEN, and never data.

use entity::values::Role;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn another_tenants_organization_is_null_by_id_slug_and_node() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let eve = app.sign_up("Eve").await;
    let org = app.create_org(&ann, "Acme").await;
    let by_id = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { name } }",
            json!({ "id": org.id }),
            Some(&eve.token),
        )
        .await;
    let by_slug = app
        .graphql(
            "query($s: String!) { organization(slug: $s) { name } }",
            json!({ "s": org.slug }),
            Some(&eve.token),
        )
        .await;
    let node = app
        .graphql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": org.id }),
            Some(&eve.token),
        )
        .await;
    for response in [by_id, by_slug, node] {
        assert_ok(&response);
        assert!(
            response["data"]
                .as_object()
                .unwrap()
                .values()
                .all(|v| v.is_null()),
            "{response}"
        );
    }
}

#[tokio::test]
async fn another_tenants_member_cannot_be_read_or_changed() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let eve = app.sign_up("Eve").await;
    let org = app.create_org(&ann, "Acme").await;
    app.create_org(&eve, "Evil").await;
    let (_, max_id) = app.member_of(&org, Role::Member, "Max").await;
    let node = app
        .graphql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": max_id }),
            Some(&eve.token),
        )
        .await;
    assert!(node["data"]["node"].is_null());
    let change = app
        .graphql("mutation($id: ID!) { updateMemberRole(input: { memberId: $id, role: VIEWER }) { member { id } } }", json!({ "id": max_id }), Some(&eve.token))
        .await;
    assert_error(&change, "NOT_FOUND");
    let remove = app
        .graphql(
            "mutation($id: ID!) { removeMember(input: { memberId: $id }) { removedMemberId } }",
            json!({ "id": max_id }),
            Some(&eve.token),
        )
        .await;
    assert_error(&remove, "NOT_FOUND");
    let update = app
        .graphql("mutation($id: ID!) { updateOrganization(input: { organizationId: $id, name: \"Pwned\" }) { organization { id } } }", json!({ "id": org.id }), Some(&eve.token))
        .await;
    assert_error(&update, "NOT_FOUND");
}

#[tokio::test]
async fn users_are_visible_only_to_people_who_share_an_organization() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let eve = app.sign_up("Eve").await;
    let org = app.create_org(&ann, "Acme").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let query = "query($id: ID!) { node(id: $id) { ... on User { email } } }";
    assert_eq!(
        app.graphql(query, json!({ "id": max.id }), Some(&ann.token))
            .await["data"]["node"]["email"],
        max.email
    );
    assert!(
        app.graphql(query, json!({ "id": max.id }), Some(&eve.token))
            .await["data"]["node"]
            .is_null()
    );
}

#[tokio::test]
async fn malformed_and_mistyped_ids_are_bad_input() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    for id in ["nonsense", "org_123", "mem_zzzzzzzzzzzzzzzzzzzzzzzzzz"] {
        let response = app
            .graphql(
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": id }),
                Some(&ann.token),
            )
            .await;
        assert_error(&response, "BAD_USER_INPUT");
    }
    let mistyped = app
        .graphql(
            "mutation($id: ID!) { removeMember(input: { memberId: $id }) { removedMemberId } }",
            json!({ "id": org.id }),
            Some(&ann.token),
        )
        .await;
    assert_error(&mistyped, "BAD_USER_INPUT");
    assert_eq!(mistyped["errors"][0]["extensions"]["field"], "memberId");
}

#[tokio::test]
async fn nodes_resolves_several_ids_in_order() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let eve = app.sign_up("Eve").await;
    let org = app.create_org(&ann, "Acme").await;
    let hidden = app.create_org(&eve, "Hidden").await;
    let response = app
        .graphql(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": [ann.id, hidden.id, org.id] }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&response);
    assert_eq!(
        response["data"]["nodes"],
        json!([{ "id": ann.id }, null, { "id": org.id }])
    );
}
