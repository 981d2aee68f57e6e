//! The HTTP edge and the query limits.

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn a_browser_gets_the_playground() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(app.url())
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("graphiql"));
}

/// The console (issue #27) is served at /console: its page for any of its
/// routes, with a policy that lets it load only its own files; its built
/// scripts, cached for good; nothing for a file it does not have.
#[tokio::test]
async fn the_console_is_served_at_console() {
    let app = spawn_app().await;
    for path in ["/console", "/console/", "/console/o/org_x/members"] {
        let page = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{path}");
        let policy = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        let html = page.text().await.unwrap();
        assert!(html.contains(r#"<div id="root">"#), "{path}: {html}");
        let script = html
            .split(r#"src="/console/"#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the page loads its script from /console/")
            .to_owned();
        let asset = app
            .client
            .get(format!("{}/console/{script}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), 200);
        assert_eq!(
            asset.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        assert!(
            asset.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
    }
    let missing = app
        .client
        .get(format!("{}/console/assets/nothing.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// The links orgql mails point at its public URL: with the console on,
/// they lead to the console's pages for them, token kept; with it off,
/// nothing is there (the app that sets ORGQL_PUBLIC_URL serves them).
#[tokio::test]
async fn mailed_links_lead_to_the_consoles_pages_unless_it_is_off() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/verify-email", "/reset-password", "/invitations/accept"] {
        let link = client
            .get(format!("{}{path}?token=abc_123", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(link.status(), 303, "{path}");
        assert_eq!(
            link.headers()["location"],
            format!("/console{path}?token=abc_123").as_str()
        );
        assert_eq!(link.headers()["referrer-policy"], "no-referrer");
    }

    let off = spawn_app_with(|c| c.console = false).await;
    for path in ["/console/", "/verify-email?token=abc"] {
        let answer = client
            .get(format!("{}{path}", off.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "{path}");
    }
}

/// Runs operation `name` of an example document of the playground's.
async fn run_example(
    app: &TestApp,
    document: &str,
    name: &str,
    variables: Value,
    token: Option<&str>,
) -> Value {
    let mut request = app
        .client
        .post(app.url())
        .json(&json!({ "query": document, "operationName": name, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer: Value = request.send().await.unwrap().json().await.unwrap();
    assert_ok(&answer);
    answer
}

/// The playground opens on example operations (issue #27): they run, in
/// order, against a fresh server, with the token that LogIn returns, and
/// reach the organization's members.
#[tokio::test]
async fn the_playgrounds_example_operations_sign_in_and_reach_the_members() {
    let app = spawn_app().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/graphiql/src");
    let sign_in = std::fs::read_to_string(root.join("sign-in.graphql")).unwrap();
    let members = std::fs::read_to_string(root.join("members.graphql")).unwrap();

    run_example(&app, &sign_in, "SignUp", json!({}), None).await;
    let token = app
        .link_token("ann@example.com", "Confirm your email address", 1)
        .await;
    let verify = sign_in.replace("paste the token from the mailed link", &token);
    run_example(&app, &verify, "VerifyEmail", json!({}), None).await;
    let logged_in = run_example(&app, &sign_in, "LogIn", json!({}), None).await;
    let access = logged_in["data"]["logIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let created = run_example(
        &app,
        &members,
        "CreateOrganization",
        json!({}),
        Some(&access),
    )
    .await;
    assert_eq!(
        created["data"]["createOrganization"]["organization"]["slug"],
        "acme-inc"
    );
    let viewer = run_example(&app, &members, "Viewer", json!({}), Some(&access)).await;
    assert_eq!(viewer["data"]["viewer"]["memberships"][0]["role"], "OWNER");
    // The variables the tab opens with.
    let read = run_example(
        &app,
        &members,
        "Members",
        json!({ "slug": "acme-inc" }),
        Some(&access),
    )
    .await;
    assert_eq!(
        read["data"]["organization"]["members"]["edges"][0]["node"]["user"]["email"],
        "ann@example.com"
    );
    run_example(&app, &sign_in, "LogOut", json!({}), Some(&access)).await;
    let after = app
        .graphql("{ viewer { user { email } } }", json!({}), Some(&access))
        .await;
    assert_error(&after, "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_query_over_get_runs_and_a_mutation_over_get_is_refused() {
    let app = spawn_app().await;
    let query = app
        .client
        .get(app.url())
        .query(&[("query", "{ roles { role } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 200);
    let body: Value = query.json().await.unwrap();
    assert_eq!(body["data"]["roles"][0]["role"], "OWNER");
    let mutation = app
        .client
        .get(app.url())
        .query(&[("query", "mutation { logOut { sessionId } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 405);
}

#[tokio::test]
async fn form_encoded_and_plain_text_posts_are_refused() {
    let app = spawn_app().await;
    for content_type in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let response = app
            .client
            .post(app.url())
            .header("content-type", content_type)
            .body(r#"{"query":"{ roles { role } }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
    }
}

#[tokio::test]
async fn batches_are_refused_by_default() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url())
        .json(&json!([{ "query": "{ roles { role } }" }, { "query": "{ roles { role } }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("batch")
    );
}

#[tokio::test]
async fn batches_run_up_to_the_configured_cap() {
    let app = spawn_app_with(|c| c.max_batch = 2).await;
    let two = app
        .client
        .post(app.url())
        .json(&json!([{ "query": "{ roles { role } }" }, { "query": "{ roles { role } }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(two.status(), 200);
    let body: Value = two.json().await.unwrap();
    assert_eq!(body.as_array().unwrap().len(), 2);
    let three = app
        .client
        .post(app.url())
        .json(&json!([{ "query": "{ roles { role } }" }, { "query": "{ roles { role } }" }, { "query": "{ roles { role } }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(three.status(), 400);
}

#[tokio::test]
async fn the_deepest_legitimate_query_runs_and_one_level_more_is_refused() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    app.create_org(&ann, "Acme").await;
    // Ten levels: viewer → memberships → organization → members → edges →
    // node → organization → members → edges → cursor.
    let deepest = "{ viewer { memberships { organization { members { edges { node { organization { members { edges { cursor } } } } } } } } } }";
    assert_ok(&app.graphql(deepest, json!({}), Some(&ann.token)).await);
    let deeper = "{ viewer { memberships { organization { members { edges { node { organization { members { edges { node { id } } } } } } } } } } }";
    assert_error(
        &app.graphql(deeper, json!({}), Some(&ann.token)).await,
        "QUERY_TOO_COMPLEX",
    );
}

#[tokio::test]
async fn too_many_aliases_are_refused() {
    let app = spawn_app().await;
    let fifteen: String = (0..15)
        .map(|i| format!("a{i}: roles {{ role }} "))
        .collect();
    assert_ok(
        &app.graphql(&format!("{{ {fifteen} }}"), json!({}), None)
            .await,
    );
    let sixteen: String = (0..16)
        .map(|i| format!("a{i}: roles {{ role }} "))
        .collect();
    assert_error(
        &app.graphql(&format!("{{ {sixteen} }}"), json!({}), None)
            .await,
        "QUERY_TOO_COMPLEX",
    );
}

#[tokio::test]
async fn an_overly_complex_query_is_refused() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let query = "{ organizations(first: 100) { edges { node { members(first: 100) { edges { node { id role joinedAt user { id name email } } } } } } } }";
    assert_error(
        &app.graphql(query, json!({}), Some(&ann.token)).await,
        "QUERY_TOO_COMPLEX",
    );
}

#[tokio::test]
async fn piled_up_directives_are_one_error() {
    let app = spawn_app().await;
    let directives = "@include(if: true) ".repeat(50);
    let response = app
        .graphql(
            &format!("{{ roles {directives} {{ role }} }}"),
            json!({}),
            None,
        )
        .await;
    assert_eq!(
        response["errors"].as_array().map(Vec::len),
        Some(1),
        "{response}"
    );
    assert_error(&response, "QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn an_oversize_body_is_refused() {
    let app = spawn_app().await;
    let padding = " ".repeat(200 * 1024);
    let response = app
        .client
        .post(app.url())
        .header("content-type", "application/json")
        .body(format!(r#"{{"query":"{{ roles {{ role }} }}{padding}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn field_suggestions_are_off_and_introspection_can_be_turned_off() {
    let app = spawn_app_with(|c| c.introspection = false).await;
    let response = app.graphql("{ rolez { role } }", json!({}), None).await;
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    let introspection = app
        .graphql("{ __schema { types { name } } }", json!({}), None)
        .await;
    assert!(
        introspection["data"]["__schema"].is_null(),
        "{introspection}"
    );

    let open = spawn_app().await;
    assert_ok(
        &open
            .graphql("{ __schema { types { name } } }", json!({}), None)
            .await,
    );
}

/// Log lines written to a file or a pipe carry no terminal colour codes.
#[tokio::test]
async fn logs_to_a_pipe_have_no_colour_codes() {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_orgql"))
        .arg("serve")
        .env(
            "ORGQL_DATABASE_URL",
            format!("sqlite://{}/orgql.db?mode=rwc", dir.path().display()),
        )
        .env("ORGQL_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the orgql binary starts");
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let mut logs = String::new();
    let address = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("the server logs within 30 s")
            .unwrap()
            .unwrap_or_else(|| panic!("the server stopped: {logs}"));
        logs.push_str(&line);
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    reqwest::get(format!("http://{address}/healthz"))
        .await
        .unwrap();
    // The request's own log line.
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("a log line for the request")
        .unwrap()
        .unwrap_or_default();
    logs.push_str(&line);
    assert!(line.contains("/healthz"), "{line}");
    assert!(!logs.contains('\u{1b}'), "colour codes in: {logs:?}");
}

/// What `/metrics` at `base` says.
async fn metrics_text(client: &reqwest::Client, base: &str) -> (u16, String) {
    let response = client.get(format!("{base}/metrics")).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_client_chosen_operation_name_never_becomes_a_metrics_label() {
    let app = spawn_app().await;
    for n in 0..210 {
        let junk = format!("query LeakyOperationName_acme_ceo_fired_{n} {{ roles {{ role }} }}");
        assert_ok(&app.graphql(&junk, serde_json::json!({}), None).await);
    }
    let real = "query RealClientOperation { __typename }";
    assert_ok(&app.graphql(real, serde_json::json!({}), None).await);
    let (status, text) = metrics_text(&app.client, &app.base).await;
    assert_eq!(status, 200);
    assert!(!text.contains("Leaky"), "{text}");
    assert!(!text.contains("RealClientOperation"), "{text}");
    assert!(
        text.contains(
            r#"orgql_graphql_operations_total{operation="query:roles",outcome="ok"} 210"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"orgql_graphql_operations_total{operation="query:__typename",outcome="ok"} 1"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn with_a_metrics_listen_address_metrics_are_served_there_and_not_on_the_api() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(|c| {
        c.metrics_listen = Some(format!("127.0.0.1:{port}").parse().unwrap());
    })
    .await;
    assert_ok(
        &app.graphql("{ __typename }", serde_json::json!({}), None)
            .await,
    );
    let (status, _) = metrics_text(&app.client, &app.base).await;
    assert_eq!(status, 404, "not on the API's listener");
    let (status, text) = metrics_text(&app.client, &format!("http://127.0.0.1:{port}")).await;
    assert_eq!(status, 200);
    assert!(text.contains("orgql_graphql_operations_total"), "{text}");
    let (status, _) = app
        .client
        .get(format!("http://127.0.0.1:{port}/graphql"))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 404, "only /metrics there");
}

#[tokio::test]
async fn with_trusted_documents_an_operation_is_labelled_by_its_documents_name() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.json");
    let listed = "query ListRoles { roles { role } }";
    let hash = hex::encode(Sha256::digest(listed.as_bytes()));
    std::fs::write(&manifest, json!({ hash.clone(): listed }).to_string()).unwrap();
    let app = spawn_app_with(|c| c.trusted_documents = Some(manifest.clone())).await;
    let by_hash = json!({
        "operationName": "Junk_from_a_stranger",
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } },
    });
    let response: Value = app
        .client
        .post(app.url())
        .json(&by_hash)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        response.get("errors").is_some(),
        "an unknown operationName is refused: {response}"
    );
    let by_hash = json!({
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } },
    });
    let response: Value = app
        .client
        .post(app.url())
        .json(&by_hash)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ok(&response);
    let (_, text) = metrics_text(&app.client, &app.base).await;
    assert!(
        text.contains(r#"orgql_graphql_operations_total{operation="ListRoles",outcome="ok"} 1"#),
        "{text}"
    );
    assert!(!text.contains("Junk"), "{text}");
}
