//! A members page answers from the rows it read (`graphql::plain`, issue
//! #26) exactly as the resolvers answer each member: the same values in
//! the same order, whatever the selection's aliases, fragments, repeats
//! and skipped fields, to each caller as that caller may see them.

use entity::values::{Role, Tier};
use orgql::domain::ids::{self, TeamId};
use serde_json::{Value, json};

use crate::helpers::*;

/// Selections of a member: the plain ones the page answers itself, and
/// ones it hands to the resolvers (a field beyond the page's brief, a name
/// given twice, a fragment on an interface).
const SELECTIONS: &[&str] = &[
    "id role user { id email name } teams { id name slug }",
    "__typename who: user { mail: email __typename } role id",
    "...Listed",
    "... on Member { id user { ... on User { email } } } ... { role }",
    "id teams @include(if: false) { name } role @skip(if: false) user @skip(if: true) { id }",
    "id id role",
    "user { email } user { name }",
    "id joinedAt user { createdAt }",
    "id ... on Node { id }",
];

/// The fragments `...Listed` spreads (sent only with that selection: an
/// unused fragment fails validation).
const FRAGMENTS: &str =
    "fragment Listed on Member { id teams { ...TeamName } } fragment TeamName on Team { name }";

fn with_fragments(selection: &str, query: String) -> String {
    if selection.contains("...Listed") {
        format!("{query} {FRAGMENTS}")
    } else {
        query
    }
}

/// An organization with four more members than its owner, and two teams
/// (the owner in both) with members in none, one and both of them.
async fn organization(app: &TestApp, owner: &TestUser) -> TestOrg {
    let org = app.create_org(owner, &unique("Plain")).await;
    app.set_tier(&org, Tier::Enterprise).await;
    let members = app.bulk_members(&org, 4).await;
    let mut teams = Vec::new();
    for name in ["First", "Second"] {
        let id = app.create_team(owner, &org, name, None).await;
        teams.push(ids::parse_uuid::<TeamId>(&id, "id").unwrap());
    }
    app.bulk_team_members(teams[1], &members[1..3]).await;
    app.bulk_team_members(teams[0], &members[0..2]).await;
    org
}

/// Each node of the members page, as the page answered `selection`, and
/// the same member as `node(id:)` answers it through the resolvers.
async fn page_and_each_alone(
    app: &TestApp,
    token: &str,
    org: &TestOrg,
    selection: &str,
) -> Vec<(Value, Value)> {
    let page = app
        .graphql(
            &with_fragments(
                selection,
                format!(
                    "query($slug: String!) {{ organization(slug: $slug) {{
                        members(first: 50) {{ nodes {{ key: id {selection} }} }} }} }}"
                ),
            ),
            json!({ "slug": org.slug }),
            Some(token),
        )
        .await;
    assert_ok(&page);
    let nodes = page["data"]["organization"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let mut pairs = Vec::new();
    for listed in nodes {
        let alone = app
            .graphql(
                &with_fragments(
                    selection,
                    format!(
                        "query($id: ID!) {{ node(id: $id) {{ ... on Member {{ key: id {selection} }} }} }}"
                    ),
                ),
                json!({ "id": listed["key"] }),
                Some(token),
            )
            .await;
        assert_ok(&alone);
        pairs.push((listed, alone["data"]["node"].clone()));
    }
    pairs
}

#[tokio::test]
async fn a_members_page_answers_each_member_as_the_resolvers_do() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = organization(&app, &ann).await;
    let (vic, _) = app.member_of(&org, Role::Viewer, "Vic").await;
    for (who, token) in [("owner", &ann.token), ("viewer", &vic.token)] {
        for selection in SELECTIONS {
            for (listed, alone) in page_and_each_alone(&app, token, &org, selection).await {
                assert_eq!(listed, alone, "{who} selecting {selection}");
            }
        }
    }
    // The answers are the members' own (both paths did not go wrong
    // alike): Ann (in the teams she made), four members in none, one or
    // both teams, and Vic in none.
    let both = page_and_each_alone(&app, &ann.token, &org, SELECTIONS[0]).await;
    let mut teams_listed: Vec<String> = both
        .iter()
        .map(|(listed, _)| {
            assert!(listed["user"]["email"].as_str().unwrap().contains('@'));
            let names: Vec<&str> = listed["teams"]
                .as_array()
                .unwrap()
                .iter()
                .map(|team| team["name"].as_str().unwrap())
                .collect();
            names.join(",")
        })
        .collect();
    teams_listed.sort();
    assert_eq!(
        teams_listed,
        ["", "", "First", "First,Second", "First,Second", "Second"]
    );
}

#[tokio::test]
async fn a_members_page_refuses_teams_to_a_caller_without_teams_view_on_every_member() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = organization(&app, &ann).await;
    let created = app
        .graphql(
            "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }",
            json!({ "input": { "organizationId": org.id, "name": "CI", "scopes": ["ORG_VIEW", "MEMBERS_VIEW"] } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&created);
    let token = created["data"]["createApiToken"]["token"].as_str().unwrap();
    let query = "query($slug: String!) { organization(slug: $slug) {
        members(first: 50) { nodes { id user { name } teams { name } } } } }";
    let page = app
        .graphql(query, json!({ "slug": org.slug }), Some(token))
        .await;
    assert_error(&page, "FORBIDDEN");
    let mut refused: Vec<String> = page["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["path"].to_string())
        .collect();
    refused.sort();
    let each_member: Vec<String> = (0..5)
        .map(|index| json!(["organization", "members", "nodes", index, "teams"]).to_string())
        .collect();
    assert_eq!(refused, each_member, "one refusal per member: {page}");
    // Without `teams`, the same caller reads the page.
    let plain = app
        .graphql(
            "query($slug: String!) { organization(slug: $slug) { members(first: 50) { nodes { id user { name } } } } }",
            json!({ "slug": org.slug }),
            Some(token),
        )
        .await;
    assert_ok(&plain);
    assert_eq!(
        plain["data"]["organization"]["members"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}
