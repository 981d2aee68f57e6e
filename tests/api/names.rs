//! Names reach invitation emails and logs, so they are one line of visible
//! text: line breaks, bidi overrides and zero-width characters are refused
//! (issue #11, item 10). Descriptions are prose and keep their line breaks.

use serde_json::{Value, json};

use crate::helpers::{assert_error, assert_ok, spawn_app};

const CREATE_ORG: &str = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { name } } }";
const UPDATE_ORG: &str = "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { name description } } }";
const CREATE_TEAM: &str = "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { name description } } }";

/// A name that would put a fake notice into an invitation email, and one
/// that a right-to-left override makes read "Acme moc.live" backwards.
const DECEPTIVE_NAMES: [&str; 2] = [
    "Acme\n\nURGENT: verify at https://evil.example",
    "Acme \u{202E}evil.com",
];

#[track_caller]
fn assert_name_refused(response: &Value) {
    assert_error(response, "BAD_USER_INPUT");
    assert_eq!(
        response["errors"][0]["extensions"]["field"], "name",
        "{response}"
    );
}

#[tokio::test]
async fn an_organization_name_with_line_breaks_or_a_bidi_override_is_refused() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let before = app.audit_count().await;
    for name in DECEPTIVE_NAMES {
        let created = app
            .graphql(
                CREATE_ORG,
                json!({ "input": { "name": name } }),
                Some(&ann.token),
            )
            .await;
        assert_name_refused(&created);
        let updated = app
            .graphql(
                UPDATE_ORG,
                json!({ "input": { "organizationId": org.id, "name": name } }),
                Some(&ann.token),
            )
            .await;
        assert_name_refused(&updated);
    }
    assert_eq!(app.audit_count().await, before);

    let description = "We build anvils.\n\nAnd rockets.";
    let updated = app
        .graphql(
            UPDATE_ORG,
            json!({ "input": { "organizationId": org.id, "name": "Acme, Inc.", "description": description } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&updated);
    let organization = &updated["data"]["updateOrganization"]["organization"];
    assert_eq!(organization["name"], "Acme, Inc.");
    assert_eq!(organization["description"], description);
}

#[tokio::test]
async fn a_team_name_with_a_zero_width_space_is_refused() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let refused = app
        .graphql(
            CREATE_TEAM,
            json!({ "input": { "organizationId": org.id, "name": "Core\u{200B}" } }),
            Some(&ann.token),
        )
        .await;
    assert_name_refused(&refused);

    let created = app
        .graphql(
            CREATE_TEAM,
            json!({ "input": { "organizationId": org.id, "name": "Core", "description": "Line one\nLine two" } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&created);
    assert_eq!(
        created["data"]["createTeam"]["team"]["description"],
        "Line one\nLine two"
    );
}

#[tokio::test]
async fn a_person_cannot_sign_up_under_a_deceptive_name() {
    let app = spawn_app().await;
    for name in DECEPTIVE_NAMES {
        let response = app
            .graphql(
                "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
                json!({ "input": { "email": "eve@example.com", "password": "correct horse", "name": name } }),
                None,
            )
            .await;
        assert_name_refused(&response);
    }
}
