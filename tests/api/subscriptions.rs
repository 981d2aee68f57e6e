//! Subscriptions (issue #24) over WebSocket, with the graphql-ws library
//! as the client (`subscriber`), on SQLite and PostgreSQL: a change on one
//! instance reaches a subscriber on another, once; streams end with the
//! documented code when their follower may no longer see them; the
//! protocol's refusals and the server's bounds.

use std::time::{Duration, Instant};

use entity::values::{Role, Tier};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::subscriber::Subscriber;

const ORGANIZATION_EVENTS: &str = "subscription($o: ID!, $after: String) {
    organizationEvents(organizationId: $o, after: $after) { id type organizationId data actor { id kind } } }";

/// A server that checks quiet streams every second (the default is ten).
async fn app() -> TestApp {
    spawn_app_with(|config| config.subscription_recheck_secs = 1).await
}

/// The cursor after an organization's last event so far.
async fn end_cursor(app: &TestApp, org: &TestOrg, owner: &TestUser) -> Option<String> {
    let events = app
        .graphql(
            "query($o: ID!) { organization(id: $o) { events(first: 100) { pageInfo { endCursor } } } }",
            json!({ "o": org.id }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&events);
    events["data"]["organization"]["events"]["pageInfo"]["endCursor"]
        .as_str()
        .map(str::to_owned)
}

/// A cursor to subscribe after: a first event ("Seed") is made and the
/// stream starts behind it, so nothing made after this is missed however
/// late the server starts the subscription (a stream without `after`
/// starts at whatever is last when it starts).
async fn seeded_cursor(app: &TestApp, org: &TestOrg, owner: &TestUser) -> String {
    app.create_team(owner, org, "Seed", None).await;
    end_cursor(app, org, owner)
        .await
        .expect("the seed team made an event")
}

fn event_of(line: &Value) -> &Value {
    &line["next"]["data"]["organizationEvents"]
}

/// The code of the error a stream ended with, from the line that carries it.
fn ended_with(line: &Value) -> Option<&str> {
    line["next"]["errors"][0]["extensions"]["code"].as_str()
}

#[tokio::test]
async fn a_change_on_one_instance_reaches_a_subscriber_on_another_once() {
    let a = app().await;
    let b = a.another_instance().await;
    let owner = a.sign_up("Olga").await;
    let org = a.create_org(&owner, "Acme").await;
    let after = seeded_cursor(&a, &org, &owner).await;
    let mut subscriber = Subscriber::start(
        &a,
        &owner.token,
        ORGANIZATION_EVENTS,
        json!({ "o": org.id, "after": after }),
    )
    .await;
    subscriber.connected().await;
    // Let the subscription start before the change is made, so that the
    // time measured is the delivery's (a late start would not lose it).
    tokio::time::sleep(Duration::from_millis(200)).await;

    let made = Instant::now();
    let team = b.create_team(&owner, &org, "Platform", None).await;
    let line = subscriber.expect().await;
    let seen_after = made.elapsed();
    let event = event_of(&line);
    assert_eq!(event["type"], "TEAM_CREATED", "{line}");
    assert_eq!(event["data"]["id"], team);
    assert_eq!(event["organizationId"], org.id);
    assert_eq!(event["actor"]["id"], owner.id);
    assert!(
        seen_after < Duration::from_secs(1),
        "seen after {seen_after:?}"
    );
    // Once.
    assert_eq!(subscriber.next(Duration::from_millis(800)).await, None);

    // A second change, on the subscriber's own instance, comes next.
    a.create_team(&owner, &org, "Data", None).await;
    let line = subscriber.expect().await;
    assert_eq!(event_of(&line)["data"]["after"]["name"], "Data");
}

#[tokio::test]
async fn a_stream_resumed_from_a_cursor_catches_up_then_stays_live() {
    let app = app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    app.create_team(&owner, &org, "Seen before", None).await;
    let after = end_cursor(&app, &org, &owner).await;
    assert!(after.is_some());
    app.create_team(&owner, &org, "Missed while away", None)
        .await;
    let mut subscriber = Subscriber::start(
        &app,
        &owner.token,
        ORGANIZATION_EVENTS,
        json!({ "o": org.id, "after": after }),
    )
    .await;
    subscriber.connected().await;
    let caught_up = subscriber.expect().await;
    assert_eq!(
        event_of(&caught_up)["data"]["after"]["name"],
        "Missed while away"
    );
    app.create_team(&owner, &org, "Live", None).await;
    let live = subscriber.expect().await;
    assert_eq!(event_of(&live)["data"]["after"]["name"], "Live");
}

#[tokio::test]
async fn a_removed_members_stream_ends_with_not_found() {
    let app = app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (member, member_id) = app.member_of(&org, Role::Member, "Mo").await;
    let after = seeded_cursor(&app, &org, &owner).await;
    let mut subscriber = Subscriber::start(
        &app,
        &member.token,
        ORGANIZATION_EVENTS,
        json!({ "o": org.id, "after": after }),
    )
    .await;
    subscriber.connected().await;
    // What a member may see comes; what needs audit:view does not.
    let invited = app
        .graphql(
            "mutation($o: ID!) { createInvitation(input: { organizationId: $o, email: \"ivy@example.com\" }) { invitation { id } } }",
            json!({ "o": org.id }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&invited);
    app.create_team(&owner, &org, "Platform", None).await;
    let line = subscriber.expect().await;
    assert_eq!(event_of(&line)["type"], "TEAM_CREATED", "{line}");

    let removed = app
        .graphql(
            "mutation($m: ID!) { removeMember(input: { memberId: $m }) { removedMemberId } }",
            json!({ "m": member_id }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&removed);
    let line = subscriber.expect().await;
    assert_eq!(ended_with(&line), Some("NOT_FOUND"), "{line}");
    assert_eq!(subscriber.expect().await, json!({ "complete": true }));
}

#[tokio::test]
async fn a_revoked_session_ends_the_stream_with_unauthenticated() {
    let app = app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    let mut subscriber = Subscriber::start(
        &app,
        &owner.token,
        ORGANIZATION_EVENTS,
        json!({ "o": org.id }),
    )
    .await;
    subscriber.connected().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = app
        .graphql(
            "mutation { logOut { sessionId } }",
            json!({}),
            Some(&owner.token),
        )
        .await;
    assert_ok(&out);
    let line = subscriber.expect().await;
    assert_eq!(ended_with(&line), Some("UNAUTHENTICATED"), "{line}");
}

#[tokio::test]
async fn a_suspended_organization_ends_its_streams_with_forbidden() {
    let app = app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    let mut subscriber = Subscriber::start(
        &app,
        &owner.token,
        ORGANIZATION_EVENTS,
        json!({ "o": org.id }),
    )
    .await;
    subscriber.connected().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    use sea_orm::{EntityTrait, sea_query::Expr};
    entity::organization::Entity::update_many()
        .col_expr(
            entity::organization::Column::Status,
            Expr::value(entity::values::OrganizationStatus::Suspended),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let line = subscriber.expect().await;
    assert_eq!(ended_with(&line), Some("FORBIDDEN"), "{line}");
}

#[tokio::test]
async fn a_viewer_hears_of_their_own_membership_and_invitations() {
    let app = app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    let (member, member_id) = app.member_of(&org, Role::Member, "Mo").await;
    let invitee = app.sign_up("Ivy").await;
    let mut mo = Subscriber::start(
        &app,
        &member.token,
        "subscription { viewerEvents { type data } }",
        json!({}),
    )
    .await;
    mo.connected().await;
    let mut ivy = Subscriber::start(
        &app,
        &invitee.token,
        "subscription { viewerEvents { type data } }",
        json!({}),
    )
    .await;
    ivy.connected().await;

    // The protocol does not say when a subscription is running: change
    // Mo's role until a change reaches the stream (a stream that started
    // after a change does not send it).
    let mut roles = ["ADMIN", "MEMBER"].iter().cycle();
    let mut toggle = || {
        let role = *roles.next().unwrap();
        let (app, owner, member_id) = (&app, &owner, &member_id);
        async move {
            let changed = app
                .graphql(
                    "mutation($m: ID!, $r: Role!) { updateMemberRole(input: { memberId: $m, role: $r }) { member { id } } }",
                    json!({ "m": member_id, "r": role }),
                    Some(&owner.token),
                )
                .await;
            assert_ok(&changed);
        }
    };
    let mut first = None;
    for _ in 0..20 {
        toggle().await;
        first = mo.next(Duration::from_millis(700)).await;
        if first.is_some() {
            break;
        }
    }
    let line = first.expect("a role change reached Mo's stream");
    assert_eq!(
        line["next"]["data"]["viewerEvents"]["type"], "MEMBER_ROLE_CHANGED",
        "{line}"
    );
    assert_eq!(
        line["next"]["data"]["viewerEvents"]["data"]["id"],
        member_id
    );
    // Someone else's change is not theirs: the next line is the next
    // change of Mo's role.
    app.create_team(&owner, &org, "Platform", None).await;
    toggle().await;
    let line = mo.expect().await;
    assert_eq!(
        line["next"]["data"]["viewerEvents"]["type"], "MEMBER_ROLE_CHANGED",
        "{line}"
    );

    // An invitation from an organization Ivy is not in yet (a new one each
    // time, until the stream is running).
    let mut invited = None;
    for i in 0..10 {
        let other = app.create_org(&owner, &format!("Elsewhere {i}")).await;
        let made = app
            .graphql(
                "mutation($o: ID!, $e: String!) { createInvitation(input: { organizationId: $o, email: $e }) { invitation { id } } }",
                json!({ "o": other.id, "e": invitee.email }),
                Some(&owner.token),
            )
            .await;
        assert_ok(&made);
        invited = ivy.next(Duration::from_millis(700)).await;
        if invited.is_some() {
            break;
        }
    }
    let line = invited.expect("an invitation reached Ivy's stream");
    assert_eq!(
        line["next"]["data"]["viewerEvents"]["type"], "INVITATION_CREATED",
        "{line}"
    );
    // Ivy's invitation is not Mo's (what Mo still gets are role changes).
    while let Some(line) = mo.next(Duration::from_millis(500)).await {
        assert_eq!(
            line["next"]["data"]["viewerEvents"]["type"], "MEMBER_ROLE_CHANGED",
            "{line}"
        );
    }
}

#[tokio::test]
async fn a_socket_without_a_valid_token_is_closed_with_4403() {
    let app = app().await;
    let mut subscriber = Subscriber::start(
        &app,
        "not-a-token",
        "subscription { viewerEvents { type } }",
        json!({}),
    )
    .await;
    let line = subscriber.expect().await;
    assert_eq!(line["closed"]["code"], 4403, "{line}");
}

#[tokio::test]
async fn sockets_per_user_and_subscriptions_per_socket_are_bounded() {
    let app = spawn_app_with(|config| config.sockets_per_user = 1).await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    let after = seeded_cursor(&app, &org, &owner).await;
    let mut first = Subscriber::start(
        &app,
        &owner.token,
        ORGANIZATION_EVENTS,
        json!({ "o": org.id, "after": after }),
    )
    .await;
    first.connected().await;
    let mut second = Subscriber::start(
        &app,
        &owner.token,
        ORGANIZATION_EVENTS,
        json!({ "o": org.id }),
    )
    .await;
    let line = second.expect().await;
    assert_eq!(line["closed"]["code"], 4429, "{line}");
    // The first still works.
    app.create_team(&owner, &org, "Platform", None).await;
    assert_eq!(event_of(&first.expect().await)["type"], "TEAM_CREATED");
    drop(first);

    let app = spawn_app_with(|config| config.subscriptions_per_socket = 2).await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    let after = seeded_cursor(&app, &org, &owner).await;
    let mut three = Subscriber::start_many(
        &app,
        &owner.token,
        ORGANIZATION_EVENTS,
        json!({ "o": org.id, "after": after }),
        3,
    )
    .await;
    three.connected().await;
    // One of the three (whichever the server took last) is refused.
    let refused = three.expect().await;
    assert_eq!(
        refused["next"]["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );
    let n = refused["n"].clone();
    assert_eq!(three.expect().await, json!({ "complete": true, "n": n }));
    app.create_team(&owner, &org, "Platform", None).await;
    let mut heard = vec![
        three.expect().await["n"].clone(),
        three.expect().await["n"].clone(),
    ];
    heard.sort_by_key(|n| n.as_i64());
    let mut expected: Vec<Value> = (0..3).map(|i| json!(i)).filter(|i| *i != n).collect();
    expected.sort_by_key(|n| n.as_i64());
    assert_eq!(heard, expected);
}

#[tokio::test]
async fn subscriptions_are_not_run_over_http_nor_queries_over_websocket() {
    let app = app().await;
    let owner = app.sign_up("Olga").await;
    let over_http = app
        .graphql(
            "subscription { viewerEvents { type } }",
            json!({}),
            Some(&owner.token),
        )
        .await;
    assert_error(&over_http, "BAD_USER_INPUT");
    let mut subscriber =
        Subscriber::start(&app, &owner.token, "{ viewer { user { id } } }", json!({})).await;
    subscriber.connected().await;
    let line = subscriber.expect().await;
    assert_eq!(
        line["next"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{line}"
    );
}

#[tokio::test]
async fn an_allowlist_that_no_longer_admits_the_address_ends_the_stream() {
    let app = spawn_app_with(|config| {
        config.subscription_recheck_secs = 1;
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let add = "mutation($o: ID!, $c: String!) { addIpAllowlistEntry(input: { organizationId: $o, cidr: $c, description: \"net\" }) { entry { id } } }";
    for cidr in ["127.0.0.1/32"] {
        assert_ok(
            &app.graphql(add, json!({ "o": org.id, "c": cidr }), Some(&owner.token))
                .await,
        );
    }
    let branch = app
        .graphql(
            add,
            json!({ "o": org.id, "c": "203.0.113.0/24" }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&branch);
    let branch = branch["data"]["addIpAllowlistEntry"]["entry"]["id"].clone();
    let on = app
        .graphql(
            "mutation($o: ID!) { updatePolicy(input: { organizationId: $o, ipAllowlistEnabled: true }) { policy { ipAllowlistEnabled } } }",
            json!({ "o": org.id }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&on);
    // The subscriber is at the branch office, through the trusted proxy.
    let after = seeded_cursor(&app, &org, &owner).await;
    let mut subscriber = Subscriber::start_with_headers(
        &app,
        &owner.token,
        ORGANIZATION_EVENTS,
        json!({ "o": org.id, "after": after }),
        json!({ "X-Forwarded-For": "203.0.113.7" }),
    )
    .await;
    subscriber.connected().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.create_team(&owner, &org, "Platform", None).await;
    assert_eq!(event_of(&subscriber.expect().await)["type"], "TEAM_CREATED");
    let removed = app
        .graphql(
            "mutation($e: ID!) { removeIpAllowlistEntry(input: { entryId: $e }) { removedEntryId } }",
            json!({ "e": branch }),
            Some(&owner.token),
        )
        .await;
    assert!(removed.get("errors").is_none(), "{removed}");
    let line = subscriber.expect().await;
    assert_eq!(ended_with(&line), Some("IP_NOT_ALLOWED"), "{line}");
}

#[tokio::test]
async fn an_access_token_that_expires_closes_its_socket_with_4401() {
    let app = spawn_app_with(|config| config.access_token_ttl_secs = 2).await;
    let owner = app.sign_up("Olga").await;
    let mut subscriber = Subscriber::start(
        &app,
        &owner.token,
        "subscription { viewerEvents { type } }",
        json!({}),
    )
    .await;
    subscriber.connected().await;
    let line = subscriber.expect().await;
    assert_eq!(line["closed"]["code"], 4401, "{line}");
}

/// PostgreSQL only: the instance's listener loses its connection, and a
/// change committed before it listens again still reaches the stream.
#[tokio::test]
async fn events_committed_while_the_listener_reconnects_are_not_lost() {
    use sea_orm::ConnectionTrait;
    if !std::env::var("ORGQL_TEST_DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        return;
    }
    // No recheck within the test: only the listener can wake the stream.
    let app = spawn_app_with(|config| config.subscription_recheck_secs = 3600).await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let after = seeded_cursor(&app, &org, &owner).await;
    let mut subscriber = Subscriber::start(
        &app,
        &owner.token,
        ORGANIZATION_EVENTS,
        json!({ "o": org.id, "after": after }),
    )
    .await;
    subscriber.connected().await;
    // The stream must be waiting (its catch-up read done) before the
    // listener is cut, or that read would find the change itself.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Cut every LISTEN connection of the test's database, then change.
    app.db
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND query LIKE 'LISTEN%'",
        )
        .await
        .unwrap();
    app.create_team(&owner, &org, "While away", None).await;
    let line = subscriber.expect().await;
    assert_eq!(
        event_of(&line)["data"]["after"]["name"],
        "While away",
        "{line}"
    );
}
