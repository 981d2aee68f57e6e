//! Unique values a client chooses: taking one that is taken is CONFLICT
//! naming the field, on every statement that can take it, on both
//! databases (PostgreSQL reports the constraint's name, SQLite its columns).
//! Signing up twice, inviting twice, a second pending transfer or upgrade
//! request, adding a team member twice and a slug taken at creation are
//! covered with their features; a domain is a claim, not unique
//! (`hardening.rs`).

use serde_json::{Value, json};

use crate::helpers::{assert_error, assert_ok, spawn_app};

#[track_caller]
fn assert_taken(response: &Value, field: &str, message: &str) {
    assert_error(response, "CONFLICT");
    let error = &response["errors"][0];
    assert_eq!(error["extensions"]["field"], field, "{response}");
    assert_eq!(error["message"], message, "{response}");
}

const UPDATE_ORG: &str = "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }";

#[tokio::test]
async fn an_organization_cannot_take_another_ones_slug() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let acme = app.create_org(&ann, "Acme").await;
    let other = app.create_org(&ann, "Other").await;
    let before = app.audit_count().await;
    let updated = app
        .graphql(
            UPDATE_ORG,
            json!({ "input": { "organizationId": other.id, "slug": acme.slug } }),
            Some(&ann.token),
        )
        .await;
    assert_taken(&updated, "slug", "this slug is taken");
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn a_team_cannot_take_a_slug_taken_in_its_organization() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.create_team(&ann, &org, "Core", None).await;
    let web = app.create_team(&ann, &org, "Web", None).await;
    let message = "this organization already has a team with this slug";

    let created = app
        .graphql(
            "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }",
            json!({ "input": { "organizationId": org.id, "name": "Another", "slug": "core" } }),
            Some(&ann.token),
        )
        .await;
    assert_taken(&created, "slug", message);
    let updated = app
        .graphql(
            "mutation($input: UpdateTeamInput!) { updateTeam(input: $input) { team { id } } }",
            json!({ "input": { "teamId": web, "slug": "core" } }),
            Some(&ann.token),
        )
        .await;
    assert_taken(&updated, "slug", message);

    // Slugs are unique per organization, not across them.
    let other = app.create_org(&ann, "Other").await;
    app.create_team(&ann, &other, "Core", None).await;
}

#[tokio::test]
async fn a_network_is_on_the_allowlist_once() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let add = "mutation($o: ID!, $c: String!) { addIpAllowlistEntry(input: { organizationId: $o, cidr: $c }) { entry { id } } }";
    assert_ok(
        &app.graphql(
            add,
            json!({ "o": org.id, "c": "10.0.0.0/8" }),
            Some(&ann.token),
        )
        .await,
    );
    // The same network written another way is canonicalised to the same CIDR.
    let again = app
        .graphql(
            add,
            json!({ "o": org.id, "c": "10.1.2.3/8" }),
            Some(&ann.token),
        )
        .await;
    assert_taken(&again, "cidr", "this CIDR is on the allowlist already");
}
