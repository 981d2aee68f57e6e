//! The database out of reach (its pool closed, as a restart or a failover
//! leaves it for a while): clients get UNAVAILABLE with `retryAfter`, and
//! HTTP 503 with `Retry-After` where nothing ran, never INTERNAL. The same
//! under a real PostgreSQL restart: `reliability::postgres_restarted_under_load_loses_no_acknowledged_write`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const CREATE_ORG: &str =
    "mutation { createOrganization(input: { name: \"Acme\" }) { organization { id } } }";

/// Closes the server's database pool (the test's handle shares it).
async fn cut_the_database(app: &TestApp) {
    app.db.close_by_ref().await.unwrap();
}

#[tokio::test]
async fn a_request_whose_credential_cannot_be_checked_gets_503_unavailable_with_retry_after() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    cut_the_database(&app).await;

    for accept in ["application/json", "application/graphql-response+json"] {
        let response = app
            .client
            .post(app.url())
            .header("accept", accept)
            .bearer_auth(&ann.token)
            .json(&json!({ "query": CREATE_ORG }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{accept}"
        );
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap()),
            Some("2"),
            "{accept}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), Some("UNAVAILABLE"), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 2, "{body}");
        assert!(body.get("data").is_none(), "nothing ran: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            !message.contains("pool"),
            "the cause is not told: {message}"
        );
    }
}

#[tokio::test]
async fn an_operation_that_cannot_reach_the_database_is_unavailable_not_internal() {
    let app = spawn_app().await;
    cut_the_database(&app).await;

    // Anonymous: the operation runs, and its field fails.
    let response = app
        .client
        .post(app.url())
        .json(&json!({
            "query": "mutation($e: String!) { signUp(input: { email: $e, password: \"violet tractor umbrella 42\", name: \"Bo\" }) { user { id } } }",
            "variables": { "e": "bo@example.com" },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("UNAVAILABLE"), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 2, "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["signUp"]), "{body}");
}

#[tokio::test]
async fn readiness_is_503_unavailable_with_retry_after_while_the_database_is_out_of_reach() {
    let app = spawn_app().await;
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    cut_the_database(&app).await;
    let response = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("2")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("UNAVAILABLE"), "{body}");
}

/// PostgreSQL ends the server's connections (as a restart, a failover or
/// `pg_terminate_backend` does): the requests that meet them are
/// UNAVAILABLE, and the pool reconnects.
#[tokio::test]
async fn connections_postgresql_terminated_give_unavailable_then_work_again() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    if app.db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let read = "query($id: ID!) { organization(id: $id) { name } }";
    // Eight reads at once open the pool's connections.
    let warm = futures_util::future::join_all(
        (0..8).map(|_| app.graphql(read, json!({ "id": org.id }), Some(&ann.token))),
    )
    .await;
    warm.iter().for_each(assert_ok);
    app.db
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await
        .unwrap();
    let during = futures_util::future::join_all(
        (0..8).map(|_| app.graphql(read, json!({ "id": org.id }), Some(&ann.token))),
    )
    .await;
    for response in &during {
        if let Some(code) = error_code(response) {
            assert_eq!(code, "UNAVAILABLE", "{response}");
            assert_eq!(response["errors"][0]["extensions"]["retryAfter"], 2);
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let after = app
        .graphql(read, json!({ "id": org.id }), Some(&ann.token))
        .await;
    assert_ok(&after);
}
