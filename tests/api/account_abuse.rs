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

// ---- M2: TOTP guessing across challenges ----

const VERIFY_MFA: &str = "mutation($c: String!, $code: String!) { verifyMfa(input: { challenge: $c, code: $code }) { accessToken } }";
const DISABLE_TOTP: &str =
    "mutation($input: DisableTotpInput!) { disableTotp(input: $input) { mfaEnabled } }";
const CODES_LOCKED_SUBJECT: &str = "Wrong sign-in codes";

/// Turns MFA on for `user`; returns their authenticator and recovery codes.
async fn turn_on_mfa(app: &TestApp, user: &TestUser) -> (totp::Authenticator, Vec<String>) {
    let enrolled = app
        .graphql(
            "mutation { enrollTotp { secret } }",
            json!({}),
            Some(&user.token),
        )
        .await;
    assert_ok(&enrolled);
    let mut authenticator =
        totp::Authenticator::new(enrolled["data"]["enrollTotp"]["secret"].as_str().unwrap());
    let confirmed = app
        .graphql(
            "mutation($code: String!) { confirmTotp(input: { code: $code }) { recoveryCodes } }",
            json!({ "code": authenticator.fresh_code() }),
            Some(&user.token),
        )
        .await;
    assert_ok(&confirmed);
    let codes = confirmed["data"]["confirmTotp"]["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (authenticator, codes)
}

/// A fresh challenge from the right password.
async fn challenge(app: &TestApp, user: &TestUser) -> String {
    let response = app
        .graphql(
            "mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { mfaChallenge { challenge } } }",
            json!({ "e": user.email, "p": PASSWORD }),
            None,
        )
        .await;
    response["data"]["logIn"]["mfaChallenge"]["challenge"]
        .as_str()
        .unwrap_or_else(|| panic!("an MFA challenge: {response}"))
        .to_owned()
}

/// A six-digit code that no step near now gives: certainly wrong.
fn wrong_code(authenticator: &totp::Authenticator) -> String {
    let now = totp::current_step();
    let valid: Vec<String> = (now - 2..=now + 2)
        .map(|step| totp::hotp(&authenticator.key, step as u64, 6))
        .collect();
    (0..)
        .map(|n| format!("{:06}", (n * 7919) % 1_000_000))
        .find(|code| !valid.contains(code))
        .unwrap()
}

async fn verify(app: &TestApp, challenge: &str, code: &str) -> Value {
    app.graphql(VERIFY_MFA, json!({ "c": challenge, "code": code }), None)
        .await
}

#[tokio::test]
async fn a_hundred_wrong_codes_across_challenges_never_sign_in_and_lock_the_codes_and_the_owner_is_told()
 {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let (mut authenticator, recovery_codes) = turn_on_mfa(&app, &ann).await;
    let mut current = String::new();
    for guess in 0..100 {
        // A challenge takes five wrong codes; the attacker, who knows the
        // password, keeps asking for new ones.
        if guess % 5 == 0 {
            current = challenge(&app, &ann).await;
        }
        assert_error(
            &verify(&app, &current, &wrong_code(&authenticator)).await,
            "UNAUTHENTICATED",
        );
    }
    let locks = audit_actions(&app, "user.locked_out").await;
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(locks[0].metadata["scope"], "mfa");
    let notice = app.emails(&ann.email, CODES_LOCKED_SUBJECT, 1).await;
    assert!(notice[0].contains("change it now"), "{}", notice[0]);

    // Locked: the right code, and a recovery code, are refused too.
    let fresh = challenge(&app, &ann).await;
    assert_error(
        &verify(&app, &fresh, &authenticator.fresh_code()).await,
        "UNAUTHENTICATED",
    );
    assert_error(
        &verify(&app, &fresh, &recovery_codes[0]).await,
        "UNAUTHENTICATED",
    );
    // Once the lock ends, the person signs in with a code.
    entity::mfa_lockout::Entity::update_many()
        .col_expr(
            entity::mfa_lockout::Column::LockedUntil,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let after = challenge(&app, &ann).await;
    assert_ok(&verify(&app, &after, &recovery_codes[1]).await);
}

#[tokio::test]
async fn a_few_wrong_codes_across_challenges_then_the_right_one_still_sign_in() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let (mut authenticator, recovery_codes) = turn_on_mfa(&app, &ann).await;
    for _ in 0..2 {
        let first = challenge(&app, &ann).await;
        for _ in 0..4 {
            assert_error(
                &verify(&app, &first, &wrong_code(&authenticator)).await,
                "UNAUTHENTICATED",
            );
        }
    }
    // Nine wrong codes, one short of the lock: the right one works …
    let third = challenge(&app, &ann).await;
    assert_error(
        &verify(&app, &third, &wrong_code(&authenticator)).await,
        "UNAUTHENTICATED",
    );
    assert_ok(&verify(&app, &third, &authenticator.fresh_code()).await);
    // … and the count starts over.
    for _ in 0..2 {
        let next = challenge(&app, &ann).await;
        for _ in 0..4 {
            assert_error(
                &verify(&app, &next, &wrong_code(&authenticator)).await,
                "UNAUTHENTICATED",
            );
        }
    }
    // (The authenticator has no unused code left in this window; a
    // recovery code is a right answer too.)
    let last = challenge(&app, &ann).await;
    assert_ok(&verify(&app, &last, &recovery_codes[0]).await);
    assert!(audit_actions(&app, "user.locked_out").await.is_empty());
}

#[tokio::test]
async fn wrong_codes_given_to_turn_mfa_off_count_too() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let (mut authenticator, _) = turn_on_mfa(&app, &ann).await;
    for _ in 0..10 {
        let wrong = app
            .graphql(
                DISABLE_TOTP,
                json!({ "input": { "code": wrong_code(&authenticator) } }),
                Some(&ann.token),
            )
            .await;
        assert_error(&wrong, "BAD_USER_INPUT");
    }
    let refused = app
        .graphql(
            DISABLE_TOTP,
            json!({ "input": { "code": authenticator.fresh_code() } }),
            Some(&ann.token),
        )
        .await;
    assert_error(&refused, "BAD_USER_INPUT");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "code");
    app.emails(&ann.email, CODES_LOCKED_SUBJECT, 1).await;
    // The password still works for the person who holds the session.
    assert_ok(
        &app.graphql(
            DISABLE_TOTP,
            json!({ "input": { "password": PASSWORD } }),
            Some(&ann.token),
        )
        .await,
    );
}

// ---- L3: an email change retires the old address's links ----

#[tokio::test]
async fn a_reset_link_mailed_to_the_old_address_dies_with_the_email_change() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let old = ann.email.clone();
    let new = format!("{}@example.com", unique("ann-new"));
    assert_ok(&app.graphql(REQUEST_RESET, json!({ "e": old }), None).await);
    let old_link = app.link_token(&old, RESET_SUBJECT, 1).await;
    let changed = app
        .graphql(
            "mutation($p: String!, $n: String!) { changeEmail(input: { password: $p, newEmail: $n }) { pendingEmail } }",
            json!({ "p": PASSWORD, "n": new }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&changed);
    let confirm = app
        .link_token(&new, "Confirm your new email address", 1)
        .await;
    assert_ok(
        &app.graphql(
            "mutation($t: String!) { verifyEmail(input: { token: $t }) { user { email } } }",
            json!({ "t": confirm }),
            None,
        )
        .await,
    );
    let refused = app
        .graphql(RESET, json!({ "t": old_link, "p": NEW_PASSWORD }), None)
        .await;
    assert_error(&refused, "BAD_USER_INPUT");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "token");
    assert_error(
        &app.graphql(LOG_IN, json!({ "e": new, "p": NEW_PASSWORD }), None)
            .await,
        "UNAUTHENTICATED",
    );
    // A link asked for the new address works.
    assert_ok(&app.graphql(REQUEST_RESET, json!({ "e": new }), None).await);
    let new_link = app.link_token(&new, RESET_SUBJECT, 1).await;
    assert_ok(
        &app.graphql(RESET, json!({ "t": new_link, "p": NEW_PASSWORD }), None)
            .await,
    );
    assert_ok(
        &app.graphql(LOG_IN, json!({ "e": new, "p": NEW_PASSWORD }), None)
            .await,
    );
}

// ---- L4: answers that do not tell which addresses have accounts ----

const CHANGE_EMAIL: &str = "mutation($p: String!, $n: String!) { changeEmail(input: { password: $p, newEmail: $n }) { pendingEmail } }";

#[tokio::test]
async fn an_email_change_to_a_taken_address_answers_as_for_a_free_one_and_the_mail_says_so() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let bob = app.sign_up("Bob").await;
    let free = format!("{}@example.com", unique("free"));
    let to_taken = app
        .graphql(
            CHANGE_EMAIL,
            json!({ "p": PASSWORD, "n": bob.email }),
            Some(&ann.token),
        )
        .await;
    let to_free = app
        .graphql(
            CHANGE_EMAIL,
            json!({ "p": PASSWORD, "n": free }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(
        to_taken.to_string().replace(&bob.email, "ADDRESS"),
        to_free.to_string().replace(&free, "ADDRESS"),
    );
    assert_eq!(to_taken["data"]["changeEmail"]["pendingEmail"], bob.email);
    // Bob is told, with no link; the free address gets its link.
    let told = app
        .emails(&bob.email, "Someone tried to use your address on orgql", 1)
        .await;
    assert!(told[0].contains("reset its password"), "{}", told[0]);
    assert!(!told[0].contains("token="), "{}", told[0]);
    assert!(
        app.emails(&bob.email, "Confirm your new email address", 0)
            .await
            .is_empty()
    );
    app.link_token(&free, "Confirm your new email address", 1)
        .await;
    // Nothing moved: Ann keeps her address, Bob his account.
    let viewer = app
        .graphql("{ viewer { user { email } } }", json!({}), Some(&ann.token))
        .await;
    assert_eq!(viewer["data"]["viewer"]["user"]["email"], ann.email);
    assert_ok(
        &app.graphql(LOG_IN, json!({ "e": bob.email, "p": PASSWORD }), None)
            .await,
    );
}

#[tokio::test]
async fn asking_for_a_reset_answers_the_same_for_an_unknown_address_and_the_mail_says_why_no_link_came()
 {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let nobody = format!("{}@example.com", unique("nobody"));
    let known = app
        .graphql(REQUEST_RESET, json!({ "e": ann.email }), None)
        .await;
    let unknown = app
        .graphql(REQUEST_RESET, json!({ "e": nobody }), None)
        .await;
    assert_ok(&known);
    assert_eq!(known, unknown);
    let link = app.emails(&ann.email, RESET_SUBJECT, 1).await;
    assert!(link[0].contains("token="), "{}", link[0]);
    let no_link = app.emails(&nobody, RESET_SUBJECT, 1).await;
    assert!(no_link[0].contains("no account"), "{}", no_link[0]);
    assert!(!no_link[0].contains("token="), "{}", no_link[0]);
    // Log-in answers alike too: an unknown address, a wrong password.
    let wrong = app
        .graphql(
            LOG_IN,
            json!({ "e": ann.email, "p": "a wrong guess" }),
            None,
        )
        .await;
    let stranger = app
        .graphql(LOG_IN, json!({ "e": nobody, "p": "a wrong guess" }), None)
        .await;
    assert_error(&wrong, "UNAUTHENTICATED");
    assert_eq!(wrong, stranger);
}
