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

/// The two statements of who sees an organization agree (issue #23): the
/// list's SQL condition (`authz::visibility::listable`) and the single
/// lookup's decision (`may_see`, then the allowlist). For people, a
/// platform administrator and an API token, from inside and outside an
/// allowlist, an organization is listed exactly when looking it up by id
/// finds it.
#[tokio::test]
async fn an_organization_is_listed_exactly_when_looking_it_up_finds_it() {
    let app = spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let ann = app.sign_up("Ann").await;
    let bob = app.sign_up("Bob").await;
    let open = app.create_org(&ann, "Open").await;
    let walled = app.create_org(&ann, "Walled").await;
    let other = app.create_org(&bob, "Other").await;
    for cidr in ["203.0.113.0/24", "127.0.0.1"] {
        assert_ok(
            &app.graphql(
                "mutation($o: ID!, $c: String!) { addIpAllowlistEntry(input: { organizationId: $o, cidr: $c }) { entry { id } } }",
                json!({ "o": walled.id, "c": cidr }),
                Some(&ann.token),
            )
            .await,
        );
    }
    assert_ok(
        &app.graphql(
            "mutation($o: ID!) { updatePolicy(input: { organizationId: $o, ipAllowlistEnabled: true }) { policy { ipAllowlistEnabled } } }",
            json!({ "o": walled.id }),
            Some(&ann.token),
        )
        .await,
    );
    let token_in = |org: &TestOrg| {
        let (app, ann, id) = (&app, &ann, org.id.clone());
        async move {
            let created = app
                .graphql(
                    "mutation($o: ID!) { createApiToken(input: { organizationId: $o, name: \"CI\", scopes: [ORG_VIEW] }) { token } }",
                    json!({ "o": id }),
                    Some(&ann.token),
                )
                .await;
            created["data"]["createApiToken"]["token"]
                .as_str()
                .unwrap_or_else(|| panic!("no token: {created}"))
                .to_owned()
        }
    };
    let open_token = token_in(&open).await;
    let walled_token = token_in(&walled).await;
    let root = app.sign_up("Root").await;
    orgql::domain::accounts::grant_platform_admin(&app.db, &root.email)
        .await
        .unwrap();

    let callers = [
        ("Ann", ann.token.clone()),
        ("Bob", bob.token.clone()),
        ("a platform administrator", root.token.clone()),
        ("Open's token", open_token),
        ("Walled's token", walled_token),
    ];
    let mut seen = 0;
    for address in ["203.0.113.50", "198.51.100.9"] {
        let from = [("x-forwarded-for", address)];
        for (who, token) in &callers {
            let listed = app
                .graphql_with(
                    "{ organizations(first: 100) { edges { node { id } } } }",
                    json!({}),
                    Some(token),
                    &from,
                )
                .await;
            let listed: Vec<&str> = listed["data"]["organizations"]["edges"]
                .as_array()
                .unwrap_or_else(|| panic!("no list for {who}: {listed}"))
                .iter()
                .map(|edge| edge["node"]["id"].as_str().unwrap())
                .collect();
            for org in [&open, &walled, &other] {
                let found = app
                    .graphql_with(
                        "query($id: ID!) { organization(id: $id) { id } }",
                        json!({ "id": org.id }),
                        Some(token),
                        &from,
                    )
                    .await;
                let found = found["data"]["organization"]["id"].as_str() == Some(&org.id);
                assert_eq!(
                    listed.contains(&org.id.as_str()),
                    found,
                    "{who} from {address}: listed and looked up disagree on {}",
                    org.slug
                );
                seen += usize::from(found);
            }
        }
    }
    // Not a vacuous agreement: from inside, Ann sees both of hers, Bob his,
    // the administrator all three, each token its own (8); from outside the
    // walled one drops out for all but the administrator (6).
    assert_eq!(seen, 14);
}
