//! Rotating keys without downtime: the sealing key (TOTP secrets here; OIDC
//! client secrets in `sso.rs`) and the access tokens' signing secret.
//! Instances with other settings on one database stand for restarts and
//! for the instances of a rolling restart.

use base64::Engine;
use entity::{server_setting, totp_authenticator};
use orgql::Config;
use orgql::auth::Sealer;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::totp::Authenticator;
use crate::helpers::*;
use crate::mfa::{log_in_with, turn_on_mfa};

const KEY_A: &str = "the first sealing key, of at least thirty-two bytes";
const KEY_B: &str = "the second sealing key, of at least thirty-two bytes";
const SECRET_A: &str = "the first signing secret, of at least thirty-two bytes";
const SECRET_B: &str = "the second signing secret, of at least thirty-two bytes";
const VIEWER: &str = "{ viewer { user { id } } }";

/// Settings whose sealing key is `current`, with `fallback`.
fn sealing(current: &str, fallback: Option<&str>) -> impl FnOnce(&mut Config) + use<> {
    let (current, fallback) = (current.to_owned(), fallback.map(str::to_owned));
    move |config| {
        config.mfa_encryption_key = Some(current);
        config.mfa_encryption_key_fallback = fallback;
    }
}

/// Settings whose signing secret is `current`, with `fallback`.
fn signing(current: &str, fallback: Option<&str>) -> impl FnOnce(&mut Config) + use<> {
    let (current, fallback) = (current.to_owned(), fallback.map(str::to_owned));
    move |config| {
        config.jwt_secret = Some(current);
        config.jwt_secret_fallback = fallback;
    }
}

/// Settings whose sealing key and signing secret are `current`, each with
/// the one fallback.
fn both(current: (&str, &str), fallback: (&str, &str)) -> impl FnOnce(&mut Config) + use<> {
    let seal = sealing(current.0, Some(fallback.0));
    let sign = signing(current.1, Some(fallback.1));
    move |config| {
        seal(config);
        sign(config);
    }
}

/// The `kid` in an access token's header.
fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().expect("a kid").to_owned()
}

/// A person with MFA on, enrolled through `app`; their authenticator has
/// used this step's code (confirming), so one code is left this window.
async fn enrolled(app: &TestApp, name: &str) -> (TestUser, Authenticator) {
    let user = app.sign_up(name).await;
    let (authenticator, _) = turn_on_mfa(app, &user).await;
    (user, authenticator)
}

async fn stored_secret(app: &TestApp, user: &TestUser) -> String {
    totp_authenticator::Entity::find_by_id(user.uuid)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .secret_encrypted
}

#[tokio::test]
async fn an_access_token_signed_with_the_old_secret_is_accepted_while_it_is_a_fallback_and_refused_after()
 {
    let app = spawn_app_with(signing(SECRET_A, None)).await;
    let ann = app.sign_up("Ann").await;
    let rotated = app
        .another_instance_with(signing(SECRET_B, Some(SECRET_A)))
        .await;
    assert_ok(&rotated.graphql(VIEWER, json!({}), Some(&ann.token)).await);

    // The rotated instance signs with B, under another key id.
    let bob = rotated.sign_up("Bob").await;
    assert_ne!(kid_of(&bob.token), kid_of(&ann.token));
    assert_ok(&rotated.graphql(VIEWER, json!({}), Some(&bob.token)).await);

    // Once A is no longer listed, its tokens are refused; B's are not.
    let only_b = app.another_instance_with(signing(SECRET_B, None)).await;
    assert_error(
        &only_b.graphql(VIEWER, json!({}), Some(&ann.token)).await,
        "UNAUTHENTICATED",
    );
    assert_ok(&only_b.graphql(VIEWER, json!({}), Some(&bob.token)).await);
}

/// The book's rolling rotation: first every instance learns the new key
/// as a fallback, then each makes it current. Instances at either step
/// accept each other's tokens and open each other's seals; an instance
/// that skipped the first step refuses both.
#[tokio::test]
async fn during_a_rolling_rotation_instances_at_either_step_accept_each_others_tokens_and_seals() {
    let first_step = spawn_app_with(both((KEY_A, SECRET_A), (KEY_B, SECRET_B))).await;
    let second_step = first_step
        .another_instance_with(both((KEY_B, SECRET_B), (KEY_A, SECRET_A)))
        .await;

    // Enrolled and signed in where B is current, used where A still is.
    let (ann, mut anns) = enrolled(&second_step, "Ann").await;
    assert!(
        stored_secret(&second_step, &ann)
            .await
            .starts_with(&Sealer::new(KEY_B.as_bytes()).current_prefix())
    );
    assert_ok(
        &first_step
            .graphql(VIEWER, json!({}), Some(&ann.token))
            .await,
    );
    assert_ok(&log_in_with(&first_step, &ann, &anns.fresh_code()).await);
    // And the other way round.
    let bob = first_step.sign_up("Bob").await;
    assert_ok(
        &second_step
            .graphql(VIEWER, json!({}), Some(&bob.token))
            .await,
    );

    // An instance still on A alone refuses what B signed and sealed.
    let unprepared = first_step
        .another_instance_with(|config| {
            sealing(KEY_A, None)(config);
            signing(SECRET_A, None)(config);
        })
        .await;
    assert_error(
        &unprepared
            .graphql(VIEWER, json!({}), Some(&ann.token))
            .await,
        "UNAUTHENTICATED",
    );
    assert_error(&log_in_with(&unprepared, &ann, "000000").await, "INTERNAL");
}

/// A generated signing secret does not keep working once a secret is set:
/// whoever reads the database could sign tokens with it. Made the
/// fallback, it does.
#[tokio::test]
async fn once_a_jwt_secret_is_set_tokens_signed_with_the_generated_one_are_refused_unless_it_is_the_fallback()
 {
    let app = spawn_app_with(|config| config.jwt_secret = None).await;
    let ann = app.sign_up("Ann").await;
    let configured = app.another_instance_with(signing(SECRET_B, None)).await;
    assert_error(
        &configured
            .graphql(VIEWER, json!({}), Some(&ann.token))
            .await,
        "UNAUTHENTICATED",
    );
    assert_ok(&app.graphql(VIEWER, json!({}), Some(&ann.token)).await);

    let generated = server_setting::Entity::find_by_id("jwt_secret".to_owned())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .value;
    let listed = app
        .another_instance_with(signing(SECRET_B, Some(&generated)))
        .await;
    assert_ok(&listed.graphql(VIEWER, json!({}), Some(&ann.token)).await);
}
