//! GraphQL over HTTP as the spec's draft says it, persisted queries, CORS,
//! the playground and `/metrics`.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::*;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(app: &TestApp, accept: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = app.client.post(app.url()).json(&body);
    if let Some(accept) = accept {
        request = request.header(ACCEPT, accept);
    }
    request.send().await.unwrap()
}

fn content_type(response: &reqwest::Response) -> String {
    response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_response_media_type_follows_accept() {
    let app = spawn_app().await;
    let query = json!({ "query": "{ __typename }" });
    for (accept, expected) in [
        (None, "application/json"),
        (Some("*/*"), "application/json"),
        (Some("application/json"), "application/json"),
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            GRAPHQL_RESPONSE,
        ),
    ] {
        let response = post(&app, accept, query.clone()).await;
        assert_eq!(response.status(), 200, "{accept:?}");
        assert!(content_type(&response).starts_with(expected), "{accept:?}");
    }
    let refused = post(&app, Some("text/html"), query).await;
    assert_eq!(refused.status(), 406);
}

#[tokio::test]
async fn request_errors_answer_400_with_graphql_response_json_and_200_with_json() {
    let app = spawn_app().await;
    let failures = [
        json!({ "query": "{" }),
        json!({ "query": "{ noSuchField }" }),
        json!({ "query": "query ($id: ID!) { node(id: $id) { id } }", "variables": { "id": null } }),
    ];
    for body in failures {
        let strict = post(&app, Some(GRAPHQL_RESPONSE), body.clone()).await;
        assert_eq!(strict.status(), 400, "{body}");
        let strict: Value = strict.json().await.unwrap();
        assert!(strict.get("data").is_none(), "{strict}");
        assert_error(&strict, "BAD_USER_INPUT");
        let lenient = post(&app, Some("application/json"), body.clone()).await;
        assert_eq!(lenient.status(), 200, "{body}");
        let lenient: Value = lenient.json().await.unwrap();
        assert!(lenient.get("data").is_none(), "{lenient}");
    }
    // Bad credentials: 401 under the strict media type.
    let unauthenticated = app
        .client
        .post(app.url())
        .header(ACCEPT, GRAPHQL_RESPONSE)
        .bearer_auth("not-a-token")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let unauthenticated: Value = unauthenticated.json().await.unwrap();
    assert_error(&unauthenticated, "UNAUTHENTICATED");
    // A field error is not a request error: it has data and answers 200.
    let executed = post(
        &app,
        Some(GRAPHQL_RESPONSE),
        json!({ "query": "{ node(id: \"org_nonsense\") { id } }" }),
    )
    .await;
    assert_eq!(executed.status(), 200);
    let executed: Value = executed.json().await.unwrap();
    assert!(executed.get("data").is_some(), "{executed}");
}

#[tokio::test]
async fn malformed_parameters_are_400_in_json() {
    let app = spawn_app().await;
    for body in [
        json!({ "notquery": "{ __typename }" }),
        json!({ "query": 0 }),
        json!({ "query": "{ __typename }", "variables": "string" }),
        json!({ "query": "{ __typename }", "operationName": false }),
        json!({ "query": "{ __typename }", "extensions": ["array"] }),
    ] {
        let response = post(&app, None, body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        let body: Value = response.json().await.unwrap();
        assert_error(&body, "BAD_USER_INPUT");
    }
    let nulls = json!({ "query": "{ __typename }", "variables": null, "operationName": null, "extensions": null });
    let response = post(&app, None, nulls).await;
    assert_eq!(response.status(), 200);
    assert_ok(&response.json().await.unwrap());
}

#[tokio::test]
async fn refusals_outside_graphql_have_json_bodies() {
    let app = spawn_app().await;
    let too_large = app
        .client
        .post(app.url())
        .header(CONTENT_TYPE, "application/json")
        .body(format!(
            r#"{{"query":"{{ __typename }}{}"}}"#,
            " ".repeat(200 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status(), 413);
    let body: Value = too_large.json().await.unwrap();
    assert_error(&body, "QUERY_TOO_COMPLEX");

    let mutation = app
        .client
        .get(app.url())
        .query(&[("query", "mutation { logOut { sessionId } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 405);
    assert_eq!(mutation.headers()["allow"], "POST");
    let body: Value = mutation.json().await.unwrap();
    assert_error(&body, "BAD_USER_INPUT");

    let put = app.client.put(app.url()).send().await.unwrap();
    assert_eq!(put.status(), 405);
    assert!(put.headers().contains_key("allow"));
    let body: Value = put.json().await.unwrap();
    assert!(body["errors"][0]["message"].is_string());
}

#[tokio::test]
async fn get_queries_can_be_turned_off() {
    let app = spawn_app_with(|c| c.get_queries = false).await;
    let response = app
        .client
        .get(app.url())
        .query(&[("query", "{ __typename }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let open = spawn_app().await;
    let response = open
        .client
        .get(open.url())
        .query(&[(
            "query",
            "query T($n: String!) { __type(name: $n) { name } }",
        )])
        .query(&[("variables", r#"{"n":"Query"}"#)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["__type"]["name"], "Query");
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn automatic_persisted_queries_register_on_a_miss() {
    let app = spawn_app().await;
    let query = "query Roles { roles { role } }";
    let by_hash = json!({
        "operationName": "Roles",
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(query) } }
    });
    let miss: Value = post(&app, None, by_hash.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(miss["errors"][0]["message"], "PersistedQueryNotFound");
    assert_error(&miss, "PERSISTED_QUERY_NOT_FOUND");

    let mut register = by_hash.clone();
    register["query"] = json!(query);
    let registered: Value = post(&app, None, register).await.json().await.unwrap();
    assert_eq!(registered["data"]["roles"][0]["role"], "OWNER");

    let hit: Value = post(&app, None, by_hash.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hit["data"]["roles"][0]["role"], "OWNER");
    // Apollo sends hashed queries over GET too.
    let over_get: Value = app
        .client
        .get(app.url())
        .query(&[("extensions", by_hash["extensions"].to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_get["data"]["roles"][0]["role"], "OWNER");

    let lie = json!({
        "query": "{ __typename }",
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(query) } }
    });
    let lie: Value = post(&app, None, lie).await.json().await.unwrap();
    assert_error(&lie, "BAD_USER_INPUT");
}

/// The APQ eviction counter's line in `/metrics`.
async fn persisted_query_evictions(app: &TestApp) -> String {
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|line| line.starts_with("orgql_persisted_query_evictions_total "))
        .unwrap_or_else(|| panic!("no eviction counter in:\n{text}"))
        .to_owned()
}

#[tokio::test]
async fn a_full_persisted_query_cache_forgets_the_least_recently_used_query() {
    // Four queries of the same length, and room for three.
    let queries: Vec<String> = (0..4)
        .map(|n| format!("query Roles{n} {{ roles {{ role }} }}"))
        .collect();
    let room = 3 * u64::try_from(queries[0].len()).unwrap();
    let app = spawn_app_with(|c| c.persisted_queries_cache_bytes = room).await;
    let by_hash = |query: &str| json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(query) } } });
    let register = async |query: &str| {
        let mut body = by_hash(query);
        body["query"] = json!(query);
        let registered: Value = post(&app, None, body).await.json().await.unwrap();
        assert_ok(&registered);
    };
    let by_hash_only = async |query: &str| -> Value {
        post(&app, None, by_hash(query)).await.json().await.unwrap()
    };
    for query in &queries[..3] {
        register(query).await;
    }
    assert_eq!(
        persisted_query_evictions(&app).await,
        "orgql_persisted_query_evictions_total 0"
    );
    // The first query is used again: the second is now the one used
    // longest ago.
    assert_ok(&by_hash_only(&queries[0]).await);
    register(&queries[3]).await;

    assert_ok(&by_hash_only(&queries[0]).await);
    assert_error(
        &by_hash_only(&queries[1]).await,
        "PERSISTED_QUERY_NOT_FOUND",
    );
    assert_ok(&by_hash_only(&queries[2]).await);
    assert_ok(&by_hash_only(&queries[3]).await);
    assert_eq!(
        persisted_query_evictions(&app).await,
        "orgql_persisted_query_evictions_total 1"
    );
}

#[tokio::test]
async fn trusted_documents_mode_runs_only_listed_operations() {
    let listed = "query Roles { roles { role } }";
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("documents.json");
    std::fs::write(&manifest, json!({ sha256(listed): listed }).to_string()).unwrap();
    let app = spawn_app_with(|c| c.trusted_documents = Some(manifest.clone())).await;

    let by_hash = json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(listed) } } });
    let ran: Value = post(&app, None, by_hash).await.json().await.unwrap();
    assert_eq!(ran["data"]["roles"][0]["role"], "OWNER");
    let by_text: Value = post(&app, None, json!({ "query": listed }))
        .await
        .json()
        .await
        .unwrap();
    assert_ok(&by_text);

    let free: Value = post(&app, None, json!({ "query": "{ roles { role } }" }))
        .await
        .json()
        .await
        .unwrap();
    assert_error(&free, "FORBIDDEN");
    let unknown = json!({ "query": "{ __typename }", "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256("{ __typename }") } } });
    let unknown: Value = post(&app, None, unknown).await.json().await.unwrap();
    assert!(unknown.get("data").is_none(), "{unknown}");
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url())
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, x-request-id, traceparent",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_admits_the_configured_origins_only() {
    let app = spawn_app_with(|c| c.cors_origins = vec!["https://app.example.com".into()]).await;
    let allowed = preflight(&app, "https://app.example.com").await;
    assert!(allowed.status().is_success());
    let headers = allowed.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(headers["access-control-max-age"], "7200");
    let allowed_headers = headers["access-control-allow-headers"].to_str().unwrap();
    for name in [
        "authorization",
        "content-type",
        "x-request-id",
        "traceparent",
    ] {
        assert!(allowed_headers.contains(name), "{allowed_headers}");
    }
    let simple = app
        .client
        .post(app.url())
        .header("origin", "https://app.example.com")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        simple.headers()["access-control-expose-headers"],
        "x-request-id"
    );

    let refused = preflight(&app, "https://evil.example.net").await;
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
    // The default is same-origin: no origin is admitted.
    let default = spawn_app().await;
    let refused = preflight(&default, "https://app.example.com").await;
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn the_playground_is_served_from_the_binary_and_can_be_turned_off() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(app.url())
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    let assets: Vec<&str> = html
        .split('"')
        .filter(|part| part.starts_with("/graphql/playground/"))
        .collect();
    assert_eq!(assets.len(), 2, "a script and a stylesheet: {html}");
    for asset in assets {
        let response = app
            .client
            .get(format!("{}{asset}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert!(response.bytes().await.unwrap().len() > 1000, "{asset}");
    }

    let off = spawn_app_with(|c| c.playground = false).await;
    let page = off
        .client
        .get(off.url())
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_ne!(page.status(), 200);
    assert!(content_type(&page).starts_with("application/json"));
    let asset = off
        .client
        .get(format!("{}/graphql/playground/index.html", off.base))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 404);
}

#[tokio::test]
async fn metrics_count_operations_by_name_and_outcome() {
    let app = spawn_app().await;
    let ok = app
        .graphql("query Roles { roles { role } }", json!({}), None)
        .await;
    assert_ok(&ok);
    app.graphql("{ nope }", json!({}), None).await;
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        r#"orgql_graphql_operations_total{operation="query:roles",outcome="ok"} 1"#,
        r#"orgql_graphql_operations_total{operation="anonymous",outcome="rejected"} 1"#,
        r#"orgql_graphql_errors_total{code="RATE_LIMITED"} 0"#,
        r#"orgql_graphql_errors_total{code="BAD_USER_INPUT"} 1"#,
        "orgql_graphql_operation_duration_seconds_bucket",
        "orgql_db_pool_connections",
        "orgql_outbox_backlog 0",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    let off = spawn_app_with(|c| c.metrics = false).await;
    let response = off
        .client
        .get(format!("{}/metrics", off.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
