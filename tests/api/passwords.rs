//! Passwords (issue #10): changing ends every other session, a mailed
//! one-time link resets and ends every session, asking for a reset tells
//! nobody whether an account exists, the policy follows NIST SP 800-63B,
//! and a session has an absolute lifetime however often it is refreshed.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::*;

const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(input: { currentPassword: $c, newPassword: $n }) { sessionsEnded } }";
const REQUEST: &str =
    "mutation($e: String!) { requestPasswordReset(input: { email: $e }) { accepted } }";
const RESET: &str = "mutation($t: String!, $p: String!) { resetPassword(input: { token: $t, newPassword: $p }) { passwordReset } }";
const LOG_IN: &str = "mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { accessToken refreshToken } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken } }";
const ME: &str = "{ viewer { user { id } } }";
const NEW_PASSWORD: &str = "harbor quilt meadow 1987 sprocket";
const RESET_SUBJECT: &str = "Reset your orgql password";

async fn log_in(app: &TestApp, email: &str, password: &str) -> Value {
    app.graphql(LOG_IN, json!({ "e": email, "p": password }), None)
        .await
}

/// A second session of `user`: its access token.
async fn second_session(app: &TestApp, user: &TestUser) -> String {
    let response = log_in(app, &user.email, PASSWORD).await;
    assert_ok(&response);
    response["data"]["logIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_but_this_one() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let other = second_session(&app, &ann).await;
    let bob = app.sign_up("Bob").await;

    let changed = app
        .graphql(
            CHANGE,
            json!({ "c": PASSWORD, "n": NEW_PASSWORD }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&changed);
    assert_eq!(changed["data"]["changePassword"]["sessionsEnded"], 1);
    assert_ok(&app.graphql(ME, json!({}), Some(&ann.token)).await);
    assert_error(
        &app.graphql(ME, json!({}), Some(&other)).await,
        "UNAUTHENTICATED",
    );
    assert_ok(&app.graphql(ME, json!({}), Some(&bob.token)).await);
    assert_error(&log_in(&app, &ann.email, PASSWORD).await, "UNAUTHENTICATED");
    assert_ok(&log_in(&app, &ann.email, NEW_PASSWORD).await);
    assert_eq!(app.last_audit().await.action, "user.logged_in");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let other = second_session(&app, &ann).await;
    let refused = app
        .graphql(
            CHANGE,
            json!({ "c": "a wrong guess entirely", "n": NEW_PASSWORD }),
            Some(&ann.token),
        )
        .await;
    assert_error(&refused, "BAD_USER_INPUT");
    assert_eq!(
        refused["errors"][0]["extensions"]["field"],
        "currentPassword"
    );
    assert_ok(&app.graphql(ME, json!({}), Some(&other)).await);
    assert_ok(&log_in(&app, &ann.email, PASSWORD).await);
    assert_error(
        &app.graphql(CHANGE, json!({ "c": PASSWORD, "n": NEW_PASSWORD }), None)
            .await,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn a_new_password_must_not_be_short_common_or_the_persons_own_name() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let local = ann.email.split('@').next().unwrap().to_owned();
    for weak in [
        "short1!".to_owned(),
        "password123".to_owned(),
        "qwertyuiop".to_owned(),
        ann.email.clone(),
        format!("{local}1"),
        "x".repeat(257),
    ] {
        let refused = app
            .graphql(
                CHANGE,
                json!({ "c": PASSWORD, "n": weak }),
                Some(&ann.token),
            )
            .await;
        assert_error(&refused, "BAD_USER_INPUT");
        assert_eq!(
            refused["errors"][0]["extensions"]["field"], "newPassword",
            "{weak}"
        );
    }
    // No composition rules, and the whole of a long passphrase counts: it
    // is not truncated, so a prefix does not sign in.
    let long = format!("{} end", "lantern orbit glacier pumpkin ".repeat(8));
    assert_ok(
        &app.graphql(
            CHANGE,
            json!({ "c": PASSWORD, "n": long }),
            Some(&ann.token),
        )
        .await,
    );
    assert_error(
        &log_in(&app, &ann.email, &long[..long.len() - 4]).await,
        "UNAUTHENTICATED",
    );
    assert_ok(&log_in(&app, &ann.email, &long).await);
}

#[tokio::test]
async fn sign_up_refuses_a_guessable_password() {
    let app = spawn_app().await;
    let refused = app
        .graphql(
            "mutation { signUp(input: { email: \"ann@example.com\", password: \"password1\", name: \"Ann\" }) { accessToken } }",
            json!({}),
            None,
        )
        .await;
    assert_error(&refused, "BAD_USER_INPUT");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "password");
}

#[tokio::test]
async fn a_reset_request_answers_the_same_whether_or_not_the_account_exists() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let known = app
        .graphql(REQUEST, json!({ "e": ann.email.to_uppercase() }), None)
        .await;
    let unknown = app
        .graphql(REQUEST, json!({ "e": "nobody@example.com" }), None)
        .await;
    assert_ok(&known);
    assert_eq!(known, unknown);
    app.emails(&ann.email, RESET_SUBJECT, 1).await;
    // Issue #22 (L4): the unknown address is mailed too, so that both
    // cases do the same work, but its mail holds no link.
    let no_link = app.emails("nobody@example.com", RESET_SUBJECT, 1).await;
    assert!(!no_link[0].contains("token="), "{}", no_link[0]);
}

#[tokio::test]
async fn a_reset_link_sets_the_password_once_and_ends_every_session() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let other = second_session(&app, &ann).await;
    let bob = app.sign_up("Bob").await;
    assert_ok(&app.graphql(REQUEST, json!({ "e": ann.email }), None).await);
    let token = app.link_token(&ann.email, RESET_SUBJECT, 1).await;

    // A refused password leaves the link usable.
    assert_error(
        &app.graphql(RESET, json!({ "t": token, "p": "password1" }), None)
            .await,
        "BAD_USER_INPUT",
    );
    assert_ok(
        &app.graphql(RESET, json!({ "t": token, "p": NEW_PASSWORD }), None)
            .await,
    );
    assert_eq!(app.last_audit().await.action, "user.password_reset");
    for token in [&ann.token, &other] {
        assert_error(
            &app.graphql(ME, json!({}), Some(token)).await,
            "UNAUTHENTICATED",
        );
    }
    assert_error(
        &app.graphql(REFRESH, json!({ "t": ann.refresh_token }), None)
            .await,
        "UNAUTHENTICATED",
    );
    assert_ok(&app.graphql(ME, json!({}), Some(&bob.token)).await);
    assert_error(&log_in(&app, &ann.email, PASSWORD).await, "UNAUTHENTICATED");
    assert_ok(&log_in(&app, &ann.email, NEW_PASSWORD).await);

    let again = app
        .graphql(
            RESET,
            json!({ "t": token, "p": "another fresh phrase 77 zebra" }),
            None,
        )
        .await;
    assert_error(&again, "BAD_USER_INPUT");
    assert_eq!(again["errors"][0]["extensions"]["field"], "token");
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    assert_ok(&app.graphql(REQUEST, json!({ "e": ann.email }), None).await);
    let token = app.link_token(&ann.email, RESET_SUBJECT, 1).await;
    let row = entity::account_token::Entity::find()
        .filter(entity::account_token::Column::Purpose.eq("reset_password"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let lifetime = row.expires_at - row.created_at;
    assert_eq!(lifetime, chrono::Duration::hours(1));
    assert_ne!(row.token_hash, token, "stored as its hash");
    entity::account_token::Entity::update_many()
        .col_expr(
            entity::account_token::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(entity::account_token::Column::Id.eq(row.id))
        .exec(&app.db)
        .await
        .unwrap();
    assert_error(
        &app.graphql(RESET, json!({ "t": token, "p": NEW_PASSWORD }), None)
            .await,
        "BAD_USER_INPUT",
    );
    assert_ok(&log_in(&app, &ann.email, PASSWORD).await);
}

#[tokio::test]
async fn a_newer_reset_link_or_a_password_change_retires_older_links() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    assert_ok(&app.graphql(REQUEST, json!({ "e": ann.email }), None).await);
    let first = app.link_token(&ann.email, RESET_SUBJECT, 1).await;
    assert_ok(&app.graphql(REQUEST, json!({ "e": ann.email }), None).await);
    let second = app.link_token(&ann.email, RESET_SUBJECT, 2).await;
    assert_error(
        &app.graphql(RESET, json!({ "t": first, "p": NEW_PASSWORD }), None)
            .await,
        "BAD_USER_INPUT",
    );
    assert_ok(
        &app.graphql(
            CHANGE,
            json!({ "c": PASSWORD, "n": NEW_PASSWORD }),
            Some(&ann.token),
        )
        .await,
    );
    assert_error(
        &app.graphql(
            RESET,
            json!({ "t": second, "p": "another fresh phrase 77 zebra" }),
            None,
        )
        .await,
        "BAD_USER_INPUT",
    );
}

#[tokio::test]
async fn refreshing_does_not_extend_a_session_past_its_absolute_lifetime() {
    // The test ages the session in the database behind the server's back;
    // a session cache (PostgreSQL) would learn of that only by notice,
    // which `session_cache.rs` tests. The lifetime is checked on every
    // request, cached or not.
    let app = spawn_app_with(|c| {
        c.session_max_age_days = 2;
        c.session_cache = false;
    })
    .await;
    let ann = app.sign_up("Ann").await;
    let db = app.db.clone();
    let age = |days: i64| {
        let db = db.clone();
        async move {
            entity::session::Entity::update_many()
                .col_expr(
                    entity::session::Column::CreatedAt,
                    Expr::value(chrono::Utc::now() - chrono::Duration::days(days)),
                )
                .exec(&db)
                .await
                .unwrap();
        }
    };
    // Within the lifetime, refreshing works.
    age(1).await;
    let refreshed = app
        .graphql(REFRESH, json!({ "t": ann.refresh_token }), None)
        .await;
    assert_ok(&refreshed);
    let access = refreshed["data"]["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = refreshed["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ok(&app.graphql(ME, json!({}), Some(&access)).await);

    // Past it, neither the fresh refresh token nor the access token works.
    age(3).await;
    assert_error(
        &app.graphql(ME, json!({}), Some(&access)).await,
        "UNAUTHENTICATED",
    );
    assert_error(
        &app.graphql(REFRESH, json!({ "t": refresh }), None).await,
        "UNAUTHENTICATED",
    );
    assert_ok(&log_in(&app, &ann.email, PASSWORD).await);
}
