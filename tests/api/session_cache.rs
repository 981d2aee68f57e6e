//! Sessions kept in memory: a write always reads its session from the
//! database, so a session revoked through one instance (or straight in the
//! database) writes nothing more through any other, at once. A read may be
//! served from memory until the database's notice reaches the instance
//! (PostgreSQL only; on SQLite there is no cache and reads are refused at
//! once too). Memberships are never cached: a removed member is refused at
//! once everywhere. On PostgreSQL a cached session costs no statement.

use std::time::{Duration, Instant};

use entity::values::Role;
use serde_json::json;

use crate::helpers::*;

const VIEWER: &str = "{ viewer { user { id } } }";
const TYPENAME: &str = "{ __typename }";
/// A write any signed-in person may attempt.
const WRITE: &str = "mutation { logOut { sessionId } }";

/// Reads `VIEWER` with `token` on `app` until it is refused; fails if that
/// takes longer than a notice could (reads served from memory see a
/// revocation once PostgreSQL's notice arrives). Returns how long it took.
async fn refused_once_notified(app: &TestApp, token: &str) -> Duration {
    let started = Instant::now();
    loop {
        let response = app.graphql(VIEWER, json!({}), Some(token)).await;
        if error_code(&response) == Some("UNAUTHENTICATED") {
            return started.elapsed();
        }
        assert!(
            on_postgres(),
            "without a cache the read must be refused at once: {response}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a revoked session still reads after 5 s: {response}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn on_postgres() -> bool {
    std::env::var("ORGQL_TEST_DATABASE_URL").is_ok_and(|url| url.starts_with("postgres"))
}

/// Uses `token` on `app` until its session is served from memory (a
/// request that costs no statement); on SQLite, just once.
async fn warm(app: &TestApp, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (response, statements) = app.graphql_counted(TYPENAME, json!({}), Some(token)).await;
        assert_ok(&response);
        if !on_postgres() || statements == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the session cache never served the session"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_cached_session_costs_no_statement_on_postgres() {
    if !on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    warm(&app, &ann.token).await;
    let (response, statements) = app
        .graphql_counted(TYPENAME, json!({}), Some(&ann.token))
        .await;
    assert_ok(&response);
    assert_eq!(statements, 0);
}

#[tokio::test]
async fn without_the_cache_every_request_reads_its_session() {
    let app = spawn_app_with(|c| c.session_cache = false).await;
    let ann = app.sign_up("Ann").await;
    for _ in 0..3 {
        let (response, statements) = app
            .graphql_counted(TYPENAME, json!({}), Some(&ann.token))
            .await;
        assert_ok(&response);
        assert!(statements >= 1, "authentication read nothing");
    }
}

#[tokio::test]
async fn a_session_revoked_through_one_instance_writes_nothing_more_through_another() {
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let ann = first.sign_up("Ann").await;
    let other_session = first
        .graphql(
            "mutation($e: String!) { logIn(input: { email: $e, password: \"violet tractor umbrella 42\" }) { accessToken } }",
            json!({ "e": ann.email }),
            None,
        )
        .await["data"]["logIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    warm(&second, &ann.token).await;
    assert_ok(&first.graphql(WRITE, json!({}), Some(&ann.token)).await);
    // The very next write through the other instance is refused, and reads
    // as soon as the notice arrives; the person's other session goes on.
    assert_error(
        &second.graphql(WRITE, json!({}), Some(&ann.token)).await,
        "UNAUTHENTICATED",
    );
    refused_once_notified(&second, &ann.token).await;
    assert_ok(
        &second
            .graphql(VIEWER, json!({}), Some(&other_session))
            .await,
    );
}

#[tokio::test]
async fn logging_out_everywhere_through_one_instance_ends_every_session_on_another() {
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let ann = first.sign_up("Ann").await;
    let laptop = second
        .graphql(
            "mutation($e: String!) { logIn(input: { email: $e, password: \"violet tractor umbrella 42\" }) { accessToken } }",
            json!({ "e": ann.email }),
            None,
        )
        .await["data"]["logIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    warm(&second, &laptop).await;
    warm(&second, &ann.token).await;
    assert_ok(
        &first
            .graphql(
                "mutation { logOutEverywhere { revokedSessions } }",
                json!({}),
                Some(&ann.token),
            )
            .await,
    );
    for token in [&laptop, &ann.token] {
        assert_error(
            &second.graphql(WRITE, json!({}), Some(token)).await,
            "UNAUTHENTICATED",
        );
        refused_once_notified(&second, token).await;
    }
}

#[tokio::test]
async fn a_session_revoked_in_the_database_by_hand_is_refused() {
    use entity::session;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    warm(&app, &ann.token).await;
    let revoked = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(chrono::Utc::now()))
        .filter(session::Column::UserId.eq(ann.uuid))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(revoked.rows_affected, 1);
    assert_error(
        &app.graphql(WRITE, json!({}), Some(&ann.token)).await,
        "UNAUTHENTICATED",
    );
    refused_once_notified(&app, &ann.token).await;
}

#[tokio::test]
async fn a_user_made_platform_admin_acts_as_one_at_once() {
    use entity::user;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let ann = first.sign_up("Ann").await;
    let bob = first.sign_up("Bob").await;
    let org = first.create_org(&bob, "Acme").await;
    let suspend = "mutation($id: ID!) { suspendOrganization(input: { organizationId: $id }) { organization { id } } }";
    warm(&second, &ann.token).await;
    assert_error(
        &second
            .graphql(suspend, json!({ "id": org.id }), Some(&ann.token))
            .await,
        "NOT_FOUND",
    );
    user::Entity::update_many()
        .col_expr(user::Column::IsPlatformAdmin, Expr::value(true))
        .filter(user::Column::Id.eq(ann.uuid))
        .exec(&first.db)
        .await
        .unwrap();
    assert_ok(
        &second
            .graphql(suspend, json!({ "id": org.id }), Some(&ann.token))
            .await,
    );
}

#[tokio::test]
async fn a_member_removed_through_one_instance_is_refused_at_once_by_another() {
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let ann = first.sign_up("Ann").await;
    let org = first.create_org(&ann, "Acme").await;
    let (bob, bob_member) = first.member_of(&org, Role::Member, "Bob").await;
    let read = "query($id: ID!) { organization(id: $id) { name } }";
    warm(&second, &bob.token).await;
    assert_ok(
        &second
            .graphql(read, json!({ "id": org.id }), Some(&bob.token))
            .await,
    );
    assert_ok(
        &first
            .graphql(
                "mutation($id: ID!) { removeMember(input: { memberId: $id }) { removedMemberId } }",
                json!({ "id": bob_member }),
                Some(&ann.token),
            )
            .await,
    );
    let after = second
        .graphql(read, json!({ "id": org.id }), Some(&bob.token))
        .await;
    assert!(
        after["data"]["organization"].is_null(),
        "a removed member still reads the organization: {after}"
    );
}

#[tokio::test]
async fn without_its_triggers_the_cache_stays_off() {
    use sea_orm::ConnectionTrait;
    if !on_postgres() {
        return;
    }
    let first = spawn_app().await;
    first
        .db
        .execute_unprepared("DROP TRIGGER sessions_changed ON sessions")
        .await
        .unwrap();
    // Migrations are recorded as applied: the second instance finds the
    // trigger missing and keeps no cache rather than a stale one.
    let second = first.another_instance().await;
    let ann = first.sign_up("Ann").await;
    for _ in 0..20 {
        let (response, statements) = second
            .graphql_counted(TYPENAME, json!({}), Some(&ann.token))
            .await;
        assert_ok(&response);
        assert!(statements >= 1, "a session was served from memory");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
