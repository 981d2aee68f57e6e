//! Password hashing runs apart from the threads that serve requests, a
//! bounded number at a time (`ORGQL_PASSWORD_HASHING_CONCURRENCY`, issue
//! #26): log-ins waiting for their turn hold no request worker, so a flood
//! of them leaves every other request answered. Shown by order of events,
//! never by timing: with every hashing permit held, no log-in can finish,
//! and another request must finish all the same.

use std::time::Duration;

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::helpers::*;

const LOG_IN: &str = "mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { accessToken } }";
const VIEWER: &str = "{ viewer { user { id } } }";

/// Starts a log-in on a task of its own, so that it goes on while the
/// test does something else.
fn start_log_in(app: &TestApp, email: &str, password: &str) -> JoinHandle<Value> {
    let request = app
        .client
        .post(app.url())
        .json(&json!({ "query": LOG_IN, "variables": { "e": email, "p": password } }));
    tokio::spawn(async move {
        request
            .send()
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("a JSON body")
    })
}

/// Waits (without a deadline of its own) until `n` hashes wait for a permit.
async fn until_waiting(app: &TestApp, n: usize) {
    while app.passwords.waiting() < n {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Right, right, wrong, and an address nobody has (its dummy hash waits
/// in the same queue): at least as many log-ins as the server has request
/// workers, so that hashing on them would take every one.
fn log_ins(app: &TestApp, who: &TestUser) -> Vec<(&'static str, JoinHandle<Value>)> {
    vec![
        ("right", start_log_in(app, &who.email, PASSWORD)),
        ("right", start_log_in(app, &who.email, PASSWORD)),
        (
            "wrong",
            start_log_in(app, &who.email, "not the password at all"),
        ),
        ("unknown", start_log_in(app, "nobody@example.com", PASSWORD)),
    ]
}

/// The right password gets a token; a wrong one and an unknown address the
/// same UNAUTHENTICATED.
async fn assert_answered(log_ins: Vec<(&'static str, JoinHandle<Value>)>) {
    for (kind, log_in) in log_ins {
        let response = log_in.await.expect("the log-in task ends");
        if kind == "right" {
            assert!(
                response["data"]["logIn"]["accessToken"].is_string(),
                "{kind}: {response}"
            );
        } else {
            assert_error(&response, "UNAUTHENTICATED");
        }
    }
}

// Two request workers, as a 2-core server has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_ins_waiting_for_their_turn_to_hash_stall_no_other_request() {
    let app = spawn_app_with(|c| c.password_hashing_concurrency = Some(1)).await;
    let ann = app.sign_up("Ann").await;
    let held = app.passwords.hold_every_permit().await.unwrap();
    let log_ins = log_ins(&app, &ann);
    // A deadline only against a hang: the log-ins reach the queue in any
    // time, and none can leave it while the permits are held.
    tokio::time::timeout(Duration::from_secs(60), until_waiting(&app, log_ins.len()))
        .await
        .expect("every log-in waits for a permit");

    let viewer = app.graphql(VIEWER, json!({}), Some(&ann.token)).await;
    assert_eq!(viewer["data"]["viewer"]["user"]["id"], ann.id, "{viewer}");
    // Answered while every log-in was still waiting.
    assert_eq!(app.passwords.waiting(), log_ins.len());
    assert!(log_ins.iter().all(|(_, log_in)| !log_in.is_finished()));

    drop(held);
    assert_answered(log_ins).await;
    assert_eq!(app.passwords.waiting(), 0);
}

/// The real parameters (19 MiB, two passes) one at a time: every log-in is
/// answered, rightly, through the queue, and the dummy hash an unknown
/// address spends is one of those too.
#[tokio::test]
async fn log_ins_with_the_production_parameters_take_turns_and_are_answered_rightly() {
    let app = spawn_app_with(|c| {
        c.insecure_fast_password_hashing = false;
        c.password_hashing_concurrency = Some(1);
    })
    .await;
    let ann = app.sign_up("Ann").await;
    let stored: String = entity::user::Entity::find_by_id(ann.uuid)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    assert_answered(log_ins(&app, &ann)).await;
}
