//! Findings of the attack on the release build (issue 11) at the HTTP
//! edge, each reproduced over HTTP and refused: a spoofed X-Forwarded-For
//! behind a trusted proxy, NUL characters in text, API tokens of another
//! environment.

use serde_json::json;

use crate::helpers::*;

const ADD: &str = "mutation($o: ID!, $c: String!) { addIpAllowlistEntry(input: { organizationId: $o, cidr: $c }) { entry { id } } }";
const ENABLE: &str = "mutation($o: ID!) { updatePolicy(input: { organizationId: $o, ipAllowlistEnabled: true }) { policy { ipAllowlistEnabled } } }";
const READ: &str = "query($id: ID!) { organization(id: $id) { name } }";

#[tokio::test]
async fn the_left_most_forwarded_entry_an_attacker_writes_never_becomes_the_client() {
    // The test client is the trusted proxy (127.0.0.1); the office network
    // 198.51.100.0/24 is allowed, the attacker sits at 203.0.113.66.
    let app = spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    for cidr in ["127.0.0.1/32", "198.51.100.0/24"] {
        assert_ok(
            &app.graphql(ADD, json!({ "o": org.id, "c": cidr }), Some(&ann.token))
                .await,
        );
    }
    assert_ok(
        &app.graphql(ENABLE, json!({ "o": org.id }), Some(&ann.token))
            .await,
    );
    let (app, token, id) = (&app, ann.token.as_str(), org.id.as_str());
    let read_via = move |forwarded: &'static str| async move {
        app.graphql_with(
            READ,
            json!({ "id": id }),
            Some(token),
            &[("x-forwarded-for", forwarded)],
        )
        .await
    };

    // The forms proxies append, for a client in the office: allowed.
    for forwarded in [
        "198.51.100.7:50312",
        "6.6.6.6, 198.51.100.7",
        "\"198.51.100.7:50312\"",
    ] {
        assert_ok(&read_via(forwarded).await);
    }
    // The attacker's own entry on the left, the proxy's record of the real
    // address on the right, in every form: refused.
    for forwarded in [
        "198.51.100.7, 203.0.113.66",
        "198.51.100.7, 203.0.113.66:50312",
        "198.51.100.7, [2001:db8::66]:50312",
        "198.51.100.7, [2001:db8::66]",
        "198.51.100.7, unknown",
        "198.51.100.7, not-an-address",
    ] {
        assert_error(&read_via(forwarded).await, "IP_NOT_ALLOWED");
    }
}

const LOG_IN: &str = "mutation($input: LogInInput!) { logIn(input: $input) { accessToken } }";

fn assert_nul_refused(response: &serde_json::Value, field: &str) {
    assert_error(response, "BAD_USER_INPUT");
    assert_eq!(
        response["errors"][0]["extensions"]["field"], field,
        "{response}"
    );
    assert!(response["data"].is_null(), "nothing ran: {response}");
}

#[tokio::test]
async fn a_nul_character_in_a_variable_is_bad_user_input() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let log_in = app
        .graphql(
            LOG_IN,
            json!({ "input": { "email": format!("{}\u{0}", ann.email), "password": "violet tractor umbrella 42" } }),
            None,
        )
        .await;
    assert_nul_refused(&log_in, "email");

    let org = app.create_org(&ann, "Acme").await;
    let audit = app
        .graphql(
            "query($id: ID!, $f: AuditLogFilter) { organization(id: $id) { auditLog(filter: $f) { totalCount } } }",
            json!({ "id": org.id, "f": { "resourceType": "member\u{0}" } }),
            Some(&ann.token),
        )
        .await;
    assert_nul_refused(&audit, "resourceType");
    // The allowed case: the same filter without the NUL.
    let clean = app
        .graphql(
            "query($id: ID!, $f: AuditLogFilter) { organization(id: $id) { auditLog(filter: $f) { totalCount } } }",
            json!({ "id": org.id, "f": { "resourceType": "organization" } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&clean);
}

#[tokio::test]
async fn a_nul_character_in_a_literal_of_the_query_is_bad_user_input() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let literal = format!(
        r#"{{ organization(id: "{}") {{ auditLog(filter: {{ resourceType: "member\u0000" }}) {{ totalCount }} }} }}"#,
        org.id
    );
    let audit = app.graphql(&literal, json!({}), Some(&ann.token)).await;
    assert_nul_refused(&audit, "resourceType");
    let log_in = app
        .graphql(
            r#"mutation { logIn(input: { email: "ann\u0000@example.com", password: "x" }) { accessToken } }"#,
            json!({}),
            None,
        )
        .await;
    assert_nul_refused(&log_in, "email");
}

#[tokio::test]
async fn an_api_token_works_only_in_the_environment_it_was_made_for() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let created = app
        .graphql(
            "mutation($o: ID!) { createApiToken(input: { organizationId: $o, name: \"CI\", scopes: [ORG_VIEW] }) { token } }",
            json!({ "o": org.id }),
            Some(&ann.token),
        )
        .await;
    let token = created["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {created}"));
    assert!(token.starts_with("orgql_live_"), "{token}");
    assert_ok(
        &app.graphql(READ, json!({ "id": org.id }), Some(token))
            .await,
    );
    for other in ["test", "dev", ""] {
        let relabelled = token.replacen("_live_", &format!("_{other}_"), 1);
        assert_error(
            &app.graphql(READ, json!({ "id": org.id }), Some(&relabelled))
                .await,
            "UNAUTHENTICATED",
        );
    }
}
