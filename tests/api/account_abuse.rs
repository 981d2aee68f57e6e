//! Abuse of the account mechanisms themselves (issue #22): a stranger
//! cannot lock a person out with wrong passwords (M1), TOTP codes cannot be
//! guessed across challenges (M2), an email change retires the old
//! address's links (L3), and sign-up, email change, reset and log-in do
//! not tell which addresses have accounts (L4).
//!
//! Client addresses are set with X-Forwarded-For from the test client,
//! which the test apps trust as a proxy.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::*;

const LOG_IN: &str = "mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { accessToken } }";
const REQUEST_RESET: &str =
    "mutation($e: String!) { requestPasswordReset(input: { email: $e }) { accepted } }";
const RESET: &str = "mutation($t: String!, $p: String!) { resetPassword(input: { token: $t, newPassword: $p }) { passwordReset } }";
const RESET_SUBJECT: &str = "Reset your orgql password";
const NEW_PASSWORD: &str = "harbor quilt meadow 1987 sprocket";

/// An app that takes the test client (127.0.0.1) for a trusted proxy, so
/// that each request can say which client address it comes from.
async fn app_behind_proxy(configure: impl FnOnce(&mut orgql::Config)) -> TestApp {
    spawn_app_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        configure(c);
    })
    .await
}

async fn log_in_from(app: &TestApp, address: &str, email: &str, password: &str) -> Value {
    app.graphql_with(
        LOG_IN,
        json!({ "e": email, "p": password }),
        None,
        &[("x-forwarded-for", address)],
    )
    .await
}

/// Lets every address lock of the account run out, as if the lock window
/// had passed.
async fn let_address_locks_expire(app: &TestApp) {
    entity::sign_in_address::Entity::update_many()
        .col_expr(
            entity::sign_in_address::Column::LockedUntil,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(entity::sign_in_address::Column::LockedUntil.is_not_null())
        .exec(&app.db)
        .await
        .unwrap();
}

async fn audit_actions(app: &TestApp, action: &str) -> Vec<entity::audit_entry::Model> {
    entity::audit_entry::Entity::find()
        .filter(entity::audit_entry::Column::Action.eq(action))
        .all(&app.db)
        .await
        .unwrap()
}

// ---- M1: lock-out as a denial of service ----

#[tokio::test]
async fn a_stranger_guessing_ten_passwords_every_fifteen_minutes_does_not_keep_the_owner_out() {
    // The defaults: 10 wrong passwords lock for 15 minutes.
    let app = app_behind_proxy(|_| {}).await;
    let ann = app.sign_up("Ann").await;
    let attacker = "203.0.113.66";
    // Twelve lock windows of guessing, 120 wrong passwords in all: more
    // than any account-wide count would tolerate.
    for window in 0..12 {
        for _ in 0..10 {
            assert_error(
                &log_in_from(&app, attacker, &ann.email, "a wrong guess").await,
                "UNAUTHENTICATED",
            );
        }
        // The attacker's own address is throttled: even the right password
        // gets the answer of a wrong one …
        assert_error(
            &log_in_from(&app, attacker, &ann.email, PASSWORD).await,
            "UNAUTHENTICATED",
        );
        // … while Ann, from an address she never used, signs in.
        let owner = format!("198.51.100.{}", window + 1);
        assert_ok(&log_in_from(&app, &owner, &ann.email, PASSWORD).await);
        let_address_locks_expire(&app).await;
    }
    let locks = audit_actions(&app, "user.locked_out").await;
    assert_eq!(locks.len(), 12);
    assert!(locks.iter().all(|e| e.metadata["scope"] == "address"));
    // One notice (at the first address lock of a window), never a flood.
    let notices = app
        .emails(&ann.email, "Sign-in to your orgql account is locked", 1)
        .await;
    assert!(notices[0].contains("203.0.113.66"), "{}", notices[0]);
}

#[tokio::test]
async fn wrong_passwords_from_many_addresses_lock_the_account_except_where_its_owner_signed_in_before()
 {
    let app = app_behind_proxy(|c| c.lockout_threshold = 2).await;
    let ann = app.sign_up("Ann").await;
    let home = "198.51.100.7";
    assert_ok(&log_in_from(&app, home, &ann.email, PASSWORD).await);
    // An IPv6 attacker counts by its /64: hopping inside it changes nothing.
    for host in ["2001:db8:66:1::1", "2001:db8:66:1::2"] {
        assert_error(
            &log_in_from(&app, host, &ann.email, "a wrong guess").await,
            "UNAUTHENTICATED",
        );
    }
    assert_error(
        &log_in_from(&app, "2001:db8:66:1::3", &ann.email, PASSWORD).await,
        "UNAUTHENTICATED",
    );
    // Nine more addresses: ten locked at once lock the account.
    for n in 1..=9 {
        let address = format!("203.0.113.{n}");
        for _ in 0..2 {
            assert_error(
                &log_in_from(&app, &address, &ann.email, "a wrong guess").await,
                "UNAUTHENTICATED",
            );
        }
    }
    let locks = audit_actions(&app, "user.locked_out").await;
    assert_eq!(locks.len(), 10);
    let account_locks = locks.iter().filter(|e| e.metadata["scope"] == "account");
    assert_eq!(account_locks.count(), 1);
    // Refused from an address the account never signed in from …
    assert_error(
        &log_in_from(&app, "198.51.100.8", &ann.email, PASSWORD).await,
        "UNAUTHENTICATED",
    );
    // … but where Ann signed in before, she still can.
    assert_ok(&log_in_from(&app, home, &ann.email, PASSWORD).await);
    let notice = app
        .emails(&ann.email, "Your orgql account is locked for a while", 1)
        .await;
    assert!(notice[0].contains("10 different places"), "{}", notice[0]);
}

#[tokio::test]
async fn a_password_reset_lifts_the_lock() {
    let app = app_behind_proxy(|c| c.lockout_threshold = 3).await;
    let ann = app.sign_up("Ann").await;
    let here = "203.0.113.5";
    for _ in 0..3 {
        assert_error(
            &log_in_from(&app, here, &ann.email, "a wrong guess").await,
            "UNAUTHENTICATED",
        );
    }
    assert_error(
        &log_in_from(&app, here, &ann.email, PASSWORD).await,
        "UNAUTHENTICATED",
    );
    assert_ok(
        &app.graphql(REQUEST_RESET, json!({ "e": ann.email }), None)
            .await,
    );
    let token = app.link_token(&ann.email, RESET_SUBJECT, 1).await;
    assert_ok(
        &app.graphql(RESET, json!({ "t": token, "p": NEW_PASSWORD }), None)
            .await,
    );
    assert_ok(&log_in_from(&app, here, &ann.email, NEW_PASSWORD).await);
}
