//! The session cache serves nothing while its LISTEN connection is down or
//! reconnecting (issue #22, L1): notices sent meanwhile are lost, so a
//! session revoked then must be refused at once, not once the listener is
//! back. PostgreSQL only: on SQLite there is no cache.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;

use crate::helpers::*;

const VIEWER: &str = "{ viewer { user { id } } }";
/// A read that costs no statement when the session is served from memory.
const TYPENAME: &str = "{ __typename }";

fn on_postgres() -> bool {
    std::env::var("ORGQL_TEST_DATABASE_URL").is_ok_and(|url| url.starts_with("postgres"))
}

/// Reads with `token` until the read costs no statement: the session is
/// served from the cache.
async fn until_served_from_memory(app: &TestApp, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (response, statements) = app.graphql_counted(TYPENAME, json!({}), Some(token)).await;
        assert_ok(&response);
        if statements == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the session cache never served the session"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Ends the backend of the instance's LISTEN connection and waits until
/// it is gone (polling: `pg_terminate_backend`'s own wait sleeps in steps
/// long enough for the instance to listen again meanwhile).
async fn terminate_listener(app: &TestApp) {
    let listener = app
        .db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pid, pg_terminate_backend(pid) AS signalled FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND query LIKE 'LISTEN %'",
        ))
        .await
        .unwrap()
        .expect("the instance has a LISTEN connection");
    assert!(listener.try_get::<bool>("", "signalled").unwrap());
    let pid: i32 = listener.try_get("", "pid").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while app
        .db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT 1 FROM pg_stat_activity WHERE pid = {pid}"),
        ))
        .await
        .unwrap()
        .is_some()
    {
        assert!(Instant::now() < deadline, "the listener's backend lives on");
    }
}

#[tokio::test]
async fn a_session_revoked_while_the_listener_reconnects_is_never_served() {
    if !on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    until_served_from_memory(&app, &ann.token).await;

    terminate_listener(&app).await;
    // Revoked behind the instance's back, right away: its notice goes
    // nowhere, as the instance is not listening.
    app.db
        .execute_unprepared(&format!(
            "UPDATE sessions SET revoked_at = now() WHERE user_id = '{}'",
            ann.uuid
        ))
        .await
        .unwrap();
    let started = Instant::now();
    let mut reads = 0;

    while started.elapsed() < Duration::from_millis(500) {
        let response = app.graphql(VIEWER, json!({}), Some(&ann.token)).await;
        reads += 1;
        assert_eq!(
            error_code(&response),
            Some("UNAUTHENTICATED"),
            "read {reads}, {:?} after the revocation: a revoked session was served: {response}",
            started.elapsed()
        );
    }

    // Once it listens again, the cache serves again.
    let bob = app.sign_up("Bob").await;
    until_served_from_memory(&app, &bob.token).await;
}
