//! Events and webhooks (issue #24) over HTTP, on SQLite and PostgreSQL:
//! the events API, endpoints and their rules, and deliveries checked by a
//! receiver that verifies Standard Webhooks signatures with the reference
//! library (`webhook_receiver`). Retries and the day after which a failing
//! endpoint is disabled are reached by moving the server's clock.

use std::collections::HashSet;
use std::time::Duration;

use entity::values::{Role, Tier};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::webhook_receiver::{Received, Receiver};

const CREATE: &str = "mutation($o: ID!, $url: String!, $types: [EventType!]) {
    createWebhookEndpoint(input: { organizationId: $o, url: $url, types: $types, description: \"CRM\" }) {
        endpoint { id url types enabled } secret } }";

const DELIVERIES: &str = "query($o: ID!) { organization(id: $o) { webhookEndpoints {
    id enabled disabledReason failingSince
    deliveries { edges { node { id status attempts lastResponseStatus lastResponseBody lastError
        event { id type data } } } } } } }";

const EVENTS: &str = "query($o: ID!, $after: String, $types: [EventType!]) {
    organization(id: $o) { events(after: $after, types: $types) {
        pageInfo { hasNextPage endCursor }
        edges { cursor node { id type organizationId occurredAt actor { id kind email } data } } } } }";

/// A server that may post to the loopback receiver.
async fn app_for_receiver() -> TestApp {
    spawn_app_with(|config| {
        config.webhook_allow_http = true;
        config.webhook_allow_private_targets = true;
        config.webhook_timeout_secs = 1;
    })
    .await
}

/// An organization with an endpoint at the receiver for `types` (all when
/// empty); returns the organization, its owner and the endpoint's id.
async fn organization_with_endpoint(
    app: &TestApp,
    receiver: &Receiver,
    types: Value,
) -> (TestOrg, TestUser, String) {
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Hooked").await;
    let created = app
        .graphql(
            CREATE,
            json!({ "o": org.id, "url": receiver.url, "types": types }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&created);
    let secret = created["data"]["createWebhookEndpoint"]["secret"]
        .as_str()
        .unwrap();
    assert!(secret.starts_with("whsec_"));
    receiver.set_secret(secret).await;
    let id = created["data"]["createWebhookEndpoint"]["endpoint"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (org, owner, id)
}

fn with_status(received: &[Received], status: u16) -> usize {
    received.iter().filter(|r| r.status == status).count()
}

async fn deliveries(app: &TestApp, org: &TestOrg, owner: &TestUser) -> Value {
    let response = app
        .graphql(DELIVERIES, json!({ "o": org.id }), Some(&owner.token))
        .await;
    assert_ok(&response);
    response["data"]["organization"]["webhookEndpoints"][0].clone()
}

/// Moves the server's clock and lets its sender look again.
fn advance(app: &TestApp, by: chrono::Duration) {
    app.clock.advance(by);
    orgql::domain::webhooks::wake_senders();
}

#[tokio::test]
async fn a_change_is_delivered_signed_and_read_back_from_the_events_api() {
    let app = app_for_receiver().await;
    let receiver = Receiver::start().await;
    let (org, owner, _) = organization_with_endpoint(&app, &receiver, json!([])).await;
    let team = app.create_team(&owner, &org, "Platform", None).await;

    let received = receiver
        .wait_until(Duration::from_secs(10), |r| !r.is_empty())
        .await;
    assert_eq!(received.len(), 1, "{received:?}");
    let delivery = &received[0];
    assert!(delivery.verified, "{:?}", delivery.error);
    let payload = delivery.payload.as_ref().unwrap();
    assert_eq!(payload["type"], "team.created");
    assert_eq!(payload["organizationId"], org.id);
    assert_eq!(payload["data"]["object"], "Team");
    assert_eq!(payload["data"]["id"], team);
    assert_eq!(payload["data"]["after"]["name"], "Platform");
    assert_eq!(payload["actor"]["id"], owner.id);
    assert_eq!(delivery.webhook_id.as_deref(), payload["id"].as_str());
    assert_eq!(delivery.path, "/hook");
    // Signed at the attempt, in Unix seconds.
    let signed_at: i64 = delivery.timestamp.as_deref().unwrap().parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - signed_at).abs() < 60);

    // The events API shows the same event, with the same id.
    let events = app
        .graphql(EVENTS, json!({ "o": org.id }), Some(&owner.token))
        .await;
    assert_ok(&events);
    let page = &events["data"]["organization"]["events"];
    let edges = page["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1, "{page}");
    assert_eq!(edges[0]["node"]["id"], payload["id"]);
    assert_eq!(edges[0]["node"]["type"], "TEAM_CREATED");
    assert_eq!(edges[0]["node"]["data"], payload["data"]);
    assert_eq!(edges[0]["node"]["actor"]["kind"], "USER");

    // A consumer catches up from its cursor: only what came after.
    let cursor = page["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    app.create_team(&owner, &org, "Data", None).await;
    let (member, _) = app.member_of(&org, Role::Member, "Mo").await;
    let member_id = app.member_id(&org, &member).await;
    let changed = app
        .graphql(
            "mutation($m: ID!) { updateMemberRole(input: { memberId: $m, role: ADMIN }) { member { id } } }",
            json!({ "m": member_id }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&changed);
    let next = app
        .graphql(
            EVENTS,
            json!({ "o": org.id, "after": cursor }),
            Some(&owner.token),
        )
        .await;
    let types: Vec<&str> = next["data"]["organization"]["events"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["TEAM_CREATED", "MEMBER_ROLE_CHANGED"]);
    let role_change = &next["data"]["organization"]["events"]["edges"][1]["node"]["data"];
    assert_eq!(role_change["id"], member_id);
    assert_eq!(role_change["before"]["role"], "MEMBER");
    assert_eq!(role_change["after"]["role"], "ADMIN");
    assert_eq!(role_change["userId"], member.id);

    // Filtered by type.
    let only = app
        .graphql(
            EVENTS,
            json!({ "o": org.id, "types": ["MEMBER_ROLE_CHANGED"] }),
            Some(&owner.token),
        )
        .await;
    assert_eq!(
        only["data"]["organization"]["events"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Every delivery verifies, each event once.
    let received = receiver
        .wait_until(Duration::from_secs(10), |r| r.len() >= 3)
        .await;
    assert_eq!(received.len(), 3, "{received:?}");
    assert!(received.iter().all(|r| r.verified));
    let ids: HashSet<_> = received.iter().map(|r| r.webhook_id.clone()).collect();
    assert_eq!(ids.len(), 3);

    let endpoint = deliveries(&app, &org, &owner).await;
    let first = &endpoint["deliveries"]["edges"][0]["node"];
    assert_eq!(first["status"], "DELIVERED");
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["lastResponseStatus"], 200);
    assert_eq!(first["event"]["type"], "TEAM_CREATED");

    // Counted by outcome.
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("orgql_webhook_deliveries_total{outcome=\"delivered\"} 3"),
        "{metrics}"
    );

    // Redelivery is for webhooks:manage: a viewer is refused, a stranger
    // finds nothing, the owner gets the same event sent again.
    let redeliver = "mutation($d: ID!) { redeliverWebhook(input: { deliveryId: $d }) { delivery { status attempts } } }";
    let delivery = json!({ "d": first["id"] });
    let (viewer, _) = app.member_of(&org, Role::Viewer, "Vi").await;
    let stranger = app.sign_up("Stan").await;
    assert_error(
        &app.graphql(redeliver, delivery.clone(), Some(&viewer.token))
            .await,
        "FORBIDDEN",
    );
    assert_error(
        &app.graphql(redeliver, delivery.clone(), Some(&stranger.token))
            .await,
        "NOT_FOUND",
    );
    let again = app.graphql(redeliver, delivery, Some(&owner.token)).await;
    assert_ok(&again);
    let received = receiver
        .wait_until(Duration::from_secs(10), |r| r.len() >= 4)
        .await;
    assert_eq!(received.len(), 4, "{received:?}");
    assert!(received[3].verified);
    assert_eq!(received[3].webhook_id, received[0].webhook_id);
}

#[tokio::test]
async fn failures_and_timeouts_are_retried_and_a_success_is_never_repeated() {
    let app = app_for_receiver().await;
    let receiver = Receiver::start().await;
    let (org, owner, _) =
        organization_with_endpoint(&app, &receiver, json!(["TEAM_CREATED"])).await;
    receiver.fail_next(1).await;
    receiver.hang_next(1, 3_000).await;
    app.create_team(&owner, &org, "Platform", None).await;

    // The first attempt gets a 500.
    receiver
        .wait_until(Duration::from_secs(10), |r| r.len() == 1)
        .await;
    let endpoint = deliveries(&app, &org, &owner).await;
    let delivery = &endpoint["deliveries"]["edges"][0]["node"];
    assert_eq!(delivery["status"], "PENDING");
    assert_eq!(delivery["lastResponseStatus"], 500);
    assert_eq!(delivery["lastResponseBody"], "boom");
    assert!(endpoint["failingSince"].is_string());

    // The second, due a few seconds later, outlasts the 1 s timeout.
    advance(&app, chrono::Duration::minutes(1));
    receiver
        .wait_until(Duration::from_secs(10), |r| r.len() == 2)
        .await;
    let mut timed_out = Value::Null;
    for _ in 0..100 {
        timed_out = deliveries(&app, &org, &owner).await["deliveries"]["edges"][0]["node"].clone();
        if timed_out["attempts"] == 2 && timed_out["lastError"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        timed_out["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("timed out")),
        "{timed_out}"
    );
    assert_eq!(timed_out["status"], "PENDING");

    // The third succeeds (the hung second was recorded with the 200 it
    // answered too late).
    advance(&app, chrono::Duration::minutes(2));
    let received = receiver
        .wait_until(Duration::from_secs(10), |r| r.len() == 3)
        .await;
    assert_eq!(with_status(&received, 200), 2);
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|r| r.verified));
    let ids: HashSet<_> = received.iter().map(|r| r.webhook_id.clone()).collect();
    assert_eq!(
        ids.len(),
        1,
        "one event, the same webhook-id on every attempt"
    );

    // Nothing more, however late it gets.
    advance(&app, chrono::Duration::days(4));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().await.len(), 3);
    let endpoint = deliveries(&app, &org, &owner).await;
    let delivery = &endpoint["deliveries"]["edges"][0]["node"];
    assert_eq!(delivery["status"], "DELIVERED");
    assert_eq!(delivery["attempts"], 3);
    assert!(endpoint["failingSince"].is_null());
}

#[tokio::test]
async fn an_endpoint_failing_for_a_day_is_disabled_and_its_owners_are_mailed() {
    let app = app_for_receiver().await;
    let receiver = Receiver::start().await;
    let (org, owner, _) = organization_with_endpoint(&app, &receiver, json!([])).await;
    receiver.set_status(503).await;
    app.create_team(&owner, &org, "Platform", None).await;
    receiver
        .wait_until(Duration::from_secs(10), |r| r.len() == 1)
        .await;
    // Within the day it stays enabled.
    advance(&app, chrono::Duration::hours(2));
    receiver
        .wait_until(Duration::from_secs(10), |r| r.len() == 2)
        .await;
    assert_eq!(deliveries(&app, &org, &owner).await["enabled"], true);

    advance(&app, chrono::Duration::hours(23));
    receiver
        .wait_until(Duration::from_secs(10), |r| r.len() == 3)
        .await;
    let mut endpoint = Value::Null;
    for _ in 0..100 {
        endpoint = deliveries(&app, &org, &owner).await;
        if endpoint["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(endpoint["enabled"], false, "{endpoint}");
    assert_eq!(endpoint["disabledReason"], "FAILING");
    let mail = app
        .emails(&owner.email, "A webhook endpoint was disabled", 1)
        .await;
    assert!(mail[0].contains("have failed for a day"), "{}", mail[0]);
    let entry = app.last_audit().await;
    assert_eq!(entry.action, "webhook_endpoint.disabled");
    assert_eq!(entry.actor_kind, entity::values::ActorKind::System);

    // A disabled endpoint gets nothing, even when its attempts fall due.
    receiver.set_status(200).await;
    app.create_team(&owner, &org, "Data", None).await;
    advance(&app, chrono::Duration::days(1));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().await.len(), 3);
}

#[tokio::test]
async fn a_refused_change_emits_no_event_and_no_delivery() {
    let app = app_for_receiver().await;
    let receiver = Receiver::start().await;
    let (org, owner, _) = organization_with_endpoint(&app, &receiver, json!([])).await;
    let member_id = app.member_id(&org, &owner).await;
    // Demoting the last owner is refused after the write began.
    let refused = app
        .graphql(
            "mutation($m: ID!) { updateMemberRole(input: { memberId: $m, role: ADMIN }) { member { id } } }",
            json!({ "m": member_id }),
            Some(&owner.token),
        )
        .await;
    assert!(error_code(&refused).is_some(), "{refused}");
    let events = app
        .graphql(EVENTS, json!({ "o": org.id }), Some(&owner.token))
        .await;
    assert_eq!(
        events["data"]["organization"]["events"]["edges"],
        json!([]),
        "{events}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().await.is_empty());
}

#[tokio::test]
async fn concurrent_changes_take_consecutive_numbers_and_two_instances_deliver_each_once() {
    let app = app_for_receiver().await;
    let other = app
        .another_instance_with(|config| {
            config.webhook_allow_http = true;
            config.webhook_allow_private_targets = true;
        })
        .await;
    let receiver = Receiver::start().await;
    let (org, owner, _) = organization_with_endpoint(&app, &receiver, json!([])).await;
    app.set_tier(&org, Tier::Enterprise).await;
    let creates = (0..12).map(|i| {
        let (server, owner, org) = (if i % 2 == 0 { &app } else { &other }, &owner, &org);
        async move {
            server
                .create_team(owner, org, &format!("Team {i}"), None)
                .await
        }
    });
    futures_util::future::join_all(creates).await;

    let received = receiver
        .wait_until(Duration::from_secs(15), |r| r.len() >= 12)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = if received.len() == 12 {
        receiver.received().await
    } else {
        received
    };
    assert_eq!(received.len(), 12, "each event once: {received:?}");
    assert!(received.iter().all(|r| r.verified));
    let ids: HashSet<_> = received.iter().map(|r| r.webhook_id.clone()).collect();
    assert_eq!(ids.len(), 12);

    // The events API lists them in commit order, numbered without a gap.
    let events = app
        .graphql(
            "query($o: ID!) { organization(id: $o) { events(first: 100) { edges { cursor } } } }",
            json!({ "o": org.id }),
            Some(&owner.token),
        )
        .await;
    let edges = events["data"]["organization"]["events"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edges.len(), 12);
    use base64::Engine as _;
    let numbers: Vec<i64> = edges
        .iter()
        .map(|e| {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(e["cursor"].as_str().unwrap())
                .unwrap();
            String::from_utf8(bytes).unwrap()[4..].parse().unwrap()
        })
        .collect();
    assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
}

#[tokio::test]
async fn endpoints_are_managed_by_owners_and_admins_within_the_tier() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    let (admin, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let (member, _) = app.member_of(&org, Role::Member, "Mo").await;
    let stranger = app.sign_up("Stan").await;
    let create = |url: &str| json!({ "o": org.id, "url": url, "types": [] });

    let refused = app
        .graphql(
            CREATE,
            create("https://hooks.example.com/a"),
            Some(&member.token),
        )
        .await;
    assert_error(&refused, "FORBIDDEN");
    let hidden = app
        .graphql(
            CREATE,
            create("https://hooks.example.com/a"),
            Some(&stranger.token),
        )
        .await;
    assert_error(&hidden, "NOT_FOUND");
    for reader in [&member] {
        for field in ["webhookEndpoints { id }", "events { edges { cursor } }"] {
            let response = app
                .graphql(
                    &format!("query($o: ID!) {{ organization(id: $o) {{ {field} }} }}"),
                    json!({ "o": org.id }),
                    Some(&reader.token),
                )
                .await;
            assert_error(&response, "FORBIDDEN");
        }
    }

    // FREE holds three.
    let mut secrets = Vec::new();
    for (i, user) in [&owner, &admin, &owner].into_iter().enumerate() {
        let created = app
            .graphql(
                CREATE,
                create(&format!("https://hooks.example.com/{i}")),
                Some(&user.token),
            )
            .await;
        assert_ok(&created);
        secrets.push(
            created["data"]["createWebhookEndpoint"]["secret"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let over = app
        .graphql(
            CREATE,
            create("https://hooks.example.com/3"),
            Some(&owner.token),
        )
        .await;
    assert_error(&over, "TIER_LIMIT_EXCEEDED");
    let usage = app
        .graphql(
            "query($o: ID!) { organization(id: $o) { usage { webhookEndpoints { used limit } } } }",
            json!({ "o": org.id }),
            Some(&owner.token),
        )
        .await;
    assert_eq!(
        usage["data"]["organization"]["usage"]["webhookEndpoints"],
        json!({ "used": 3, "limit": 3 })
    );

    // The secret is shown once: never again, in no entry.
    let listed = app
        .graphql(
            "query($o: ID!) { organization(id: $o) { webhookEndpoints { id url enabled } auditLog { edges { node { metadata } } } } }",
            json!({ "o": org.id }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&listed);
    assert_eq!(
        listed["data"]["organization"]["webhookEndpoints"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    for secret in &secrets {
        assert!(!listed.to_string().contains(secret.as_str()));
    }

    // Rotation gives a new secret; disabling and deleting work.
    let endpoint = listed["data"]["organization"]["webhookEndpoints"][0]["id"].clone();
    let rotated = app
        .graphql(
            "mutation($e: ID!) { rotateWebhookEndpointSecret(input: { endpointId: $e }) { secret } }",
            json!({ "e": endpoint }),
            Some(&admin.token),
        )
        .await;
    let new_secret = rotated["data"]["rotateWebhookEndpointSecret"]["secret"]
        .as_str()
        .unwrap();
    assert!(new_secret.starts_with("whsec_") && !secrets.contains(&new_secret.to_owned()));
    let by_member = app
        .graphql(
            "mutation($e: ID!) { disableWebhookEndpoint(input: { endpointId: $e }) { endpoint { enabled } } }",
            json!({ "e": endpoint }),
            Some(&member.token),
        )
        .await;
    assert_error(&by_member, "FORBIDDEN");
    let disabled = app
        .graphql(
            "mutation($e: ID!) { disableWebhookEndpoint(input: { endpointId: $e }) { endpoint { enabled disabledReason } } }",
            json!({ "e": endpoint }),
            Some(&admin.token),
        )
        .await;
    assert_eq!(
        disabled["data"]["disableWebhookEndpoint"]["endpoint"],
        json!({ "enabled": false, "disabledReason": "MANUAL" })
    );
    let enabled = app
        .graphql(
            "mutation($e: ID!) { updateWebhookEndpoint(input: { endpointId: $e, enabled: true, types: [MEMBER_ADDED] }) { endpoint { enabled types } } }",
            json!({ "e": endpoint }),
            Some(&admin.token),
        )
        .await;
    assert_eq!(
        enabled["data"]["updateWebhookEndpoint"]["endpoint"],
        json!({ "enabled": true, "types": ["MEMBER_ADDED"] })
    );
    let node = app
        .graphql(
            "query($e: ID!) { node(id: $e) { ... on WebhookEndpoint { url } } }",
            json!({ "e": endpoint }),
            Some(&member.token),
        )
        .await;
    assert_eq!(node["data"]["node"], Value::Null, "{node}");
    let deleted = app
        .graphql(
            "mutation($e: ID!) { deleteWebhookEndpoint(input: { endpointId: $e }) { deletedEndpointId } }",
            json!({ "e": endpoint }),
            Some(&owner.token),
        )
        .await;
    assert_eq!(
        deleted["data"]["deleteWebhookEndpoint"]["deletedEndpointId"],
        endpoint
    );
    // Room for one again.
    let again = app
        .graphql(
            CREATE,
            create("https://hooks.example.com/4"),
            Some(&owner.token),
        )
        .await;
    assert_ok(&again);
}

#[tokio::test]
async fn private_and_plain_http_targets_are_refused() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    for url in [
        "http://hooks.example.com/plain",
        "https://localhost/hook",
        "https://api.localhost/hook",
        "https://127.0.0.1/hook",
        "https://2130706433/hook",
        "https://[::1]/hook",
        "https://[::ffff:7f00:1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/hook",
        "https://192.168.1.10/hook",
        "https://user:pass@hooks.example.com/hook",
        "ftp://hooks.example.com/hook",
        "not a url",
    ] {
        let refused = app
            .graphql(
                CREATE,
                json!({ "o": org.id, "url": url, "types": [] }),
                Some(&owner.token),
            )
            .await;
        assert_error(&refused, "BAD_USER_INPUT");
        assert_eq!(
            refused["errors"][0]["extensions"]["field"], "url",
            "{url}: {refused}"
        );
    }
}

/// A name that resolves only to this machine (as a name rebound to a
/// private address after it was checked would): checked again at connect
/// time, it is refused and nothing is sent.
#[tokio::test]
async fn a_name_that_resolves_to_a_private_address_is_refused_at_connect_time() {
    let mut candidates = vec!["ip6-localhost".to_owned(), "ip6-loopback".to_owned()];
    if let Ok(name) = std::fs::read_to_string("/etc/hostname") {
        candidates.push(name.trim().to_owned());
    }
    let mut loopback_name = None;
    for name in candidates {
        let resolved: Option<Vec<_>> = tokio::net::lookup_host(format!("{name}:80"))
            .await
            .ok()
            .map(|found| found.collect());
        if let Some(addresses) = resolved
            && !addresses.is_empty()
            && addresses
                .iter()
                .all(|a| !orgql::domain::outbound::is_public(a.ip()))
        {
            loopback_name = Some(name);
            break;
        }
    }
    let Some(name) = loopback_name else {
        eprintln!("no name on this machine resolves only to private addresses; skipped");
        return;
    };
    let app = spawn_app_with(|config| config.webhook_allow_http = true).await;
    let receiver = Receiver::start().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    let port = receiver.url.rsplit(':').next().unwrap().to_owned();
    let url = format!("http://{name}:{port}");
    let created = app
        .graphql(
            CREATE,
            json!({ "o": org.id, "url": url, "types": [] }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&created);
    app.create_team(&owner, &org, "Platform", None).await;
    let mut delivery = Value::Null;
    for _ in 0..200 {
        delivery = deliveries(&app, &org, &owner).await["deliveries"]["edges"][0]["node"].clone();
        if delivery["lastError"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        delivery["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("no public address")),
        "{delivery}"
    );
    assert!(receiver.received().await.is_empty());
}

#[tokio::test]
async fn events_past_retention_are_neither_returned_nor_kept() {
    use sea_orm::{EntityTrait, sea_query::Expr};
    let app = spawn_app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    app.create_team(&owner, &org, "Platform", None).await;
    entity::event::Entity::update_many()
        .col_expr(
            entity::event::Column::OccurredAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::days(8)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let events = app
        .graphql(EVENTS, json!({ "o": org.id }), Some(&owner.token))
        .await;
    assert_eq!(
        events["data"]["organization"]["events"]["edges"],
        json!([]),
        "FREE keeps 7 days: {events}"
    );
    orgql::domain::audit::purge(&app.db).await.unwrap();
    assert!(
        entity::event::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .is_empty()
    );
}
