//! Rotating keys without downtime: the sealing key (TOTP secrets here; OIDC
//! client secrets in `sso.rs`) and the access tokens' signing secret.
//! Instances with other settings on one database stand for restarts and
//! for the instances of a rolling restart; `orgql admin rotate-keys` runs
//! as its function and as the binary.

use std::process::Output;

use base64::Engine;
use entity::{server_setting, totp_authenticator};
use orgql::Config;
use orgql::auth::Sealer;
use orgql::domain::key_rotation;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::totp::Authenticator;
use crate::helpers::*;
use crate::mfa::{log_in_with, turn_on_mfa};

const KEY_A: &str = "the first sealing key, of at least thirty-two bytes";
const KEY_B: &str = "the second sealing key, of at least thirty-two bytes";
const KEY_C: &str = "a sealing key nobody configured, of thirty-two bytes";
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
async fn an_authenticator_enrolled_under_the_old_key_works_after_the_key_rotates_and_after_rotate_keys()
 {
    let app = spawn_app_with(sealing(KEY_A, None)).await;
    let (ann, mut anns) = enrolled(&app, "Ann").await;
    let (bob, mut bobs) = enrolled(&app, "Bob").await;
    let (cat, _) = enrolled(&app, "Cat").await;

    // Restarted with B current and A a fallback: codes still work.
    let rotated = app.another_instance_with(sealing(KEY_B, Some(KEY_A))).await;
    assert_ok(&log_in_with(&rotated, &ann, &anns.fresh_code()).await);

    // With B alone, a secret sealed under A does not open (whatever the
    // code): the fallback is needed until rotate-keys has run.
    let only_b = app.another_instance_with(sealing(KEY_B, None)).await;
    assert_error(&log_in_with(&only_b, &bob, "000000").await, "INTERNAL");

    // rotate-keys, two rows to a transaction.
    let mut batches = Vec::new();
    let done = key_rotation::reseal_all(
        &app.db,
        &Sealer::with_fallbacks(KEY_B.as_bytes(), [KEY_A.as_bytes()]),
        2,
        |rows| batches.push(rows),
    )
    .await
    .unwrap();
    assert_eq!(batches, vec![2, 1]);
    assert_eq!(done.totp_secrets.resealed, 3);
    assert!(done.complete());
    let b_prefix = Sealer::new(KEY_B.as_bytes()).current_prefix();
    for user in [&ann, &bob, &cat] {
        assert!(stored_secret(&app, user).await.starts_with(&b_prefix));
    }

    // Now B alone opens them, and A alone no longer does.
    assert_ok(&log_in_with(&only_b, &bob, &bobs.fresh_code()).await);
    let only_a = app.another_instance_with(sealing(KEY_A, None)).await;
    assert_error(&log_in_with(&only_a, &cat, "000000").await, "INTERNAL");

    // A second run finds nothing to do.
    let again = key_rotation::reseal_all(
        &app.db,
        &Sealer::with_fallbacks(KEY_B.as_bytes(), [KEY_A.as_bytes()]),
        2,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(again, key_rotation::Resealed::default());
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

/// A generated sealing key keeps opening what it sealed once a key is
/// set (it opens only what lies beside it in the database), so setting
/// the key in production strands no authenticator.
#[tokio::test]
async fn once_a_sealing_key_is_set_what_the_generated_key_sealed_still_opens_until_rotate_keys_moves_it()
 {
    let app = spawn_app().await;
    let (ann, mut anns) = enrolled(&app, "Ann").await;
    let configured = app.another_instance_with(sealing(KEY_B, None)).await;
    assert_ok(&log_in_with(&configured, &ann, &anns.fresh_code()).await);

    // rotate-keys with the key set moves it under that key.
    let mut config = Config::defaults(&app.database_url);
    sealing(KEY_B, None)(&mut config);
    let sealer = orgql::app::sealer(&config, &app.db).await.unwrap();
    assert_eq!(sealer.fallbacks(), 1, "the generated key is a fallback");
    let done = key_rotation::reseal_all(&app.db, &sealer, 500, |_| {})
        .await
        .unwrap();
    assert_eq!(done.totp_secrets.resealed, 1);
    assert!(
        stored_secret(&app, &ann)
            .await
            .starts_with(&Sealer::new(KEY_B.as_bytes()).current_prefix())
    );
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

/// Runs `orgql admin rotate-keys` on the app's database with these keys.
async fn rotate_keys(app: &TestApp, current: &str, fallback: &str) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_orgql"))
        .args(["admin", "rotate-keys", "--batch-size", "2"])
        .env("ORGQL_DATABASE_URL", &app.database_url)
        .env("ORGQL_MFA_ENCRYPTION_KEY", current)
        .env("ORGQL_MFA_ENCRYPTION_KEY_FALLBACK", fallback)
        .env_remove("ORGQL_JWT_SECRET")
        .env_remove("ORGQL_JWT_SECRET_FALLBACK")
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("the orgql binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_rotate_keys_command_reseals_says_what_it_did_and_a_second_run_finds_nothing() {
    let app = spawn_app_with(sealing(KEY_A, None)).await;
    let mut people = Vec::new();
    for name in ["Ann", "Bob", "Cat"] {
        people.push(enrolled(&app, name).await.0);
    }

    let first = rotate_keys(&app, KEY_B, KEY_A).await;
    let (out, err) = (text(&first.stdout), text(&first.stderr));
    assert!(first.status.success(), "{out}{err}");
    let kid = Sealer::new(KEY_B.as_bytes()).current_key_id().to_owned();
    assert!(
        out.contains(&format!("current sealing key: id {kid}")),
        "{out}"
    );
    assert!(out.contains("secrets sealed under other keys: 3"), "{out}");
    assert!(out.contains("TOTP secrets: 3 re-sealed"), "{out}");
    // The keys themselves appear nowhere.
    for key in [KEY_A, KEY_B] {
        assert!(
            !out.contains(key) && !err.contains(key),
            "a key was printed"
        );
    }
    for person in &people {
        assert!(
            stored_secret(&app, person)
                .await
                .starts_with(&format!("v2.{kid}."))
        );
    }

    let second = rotate_keys(&app, KEY_B, KEY_A).await;
    let out = text(&second.stdout);
    assert!(second.status.success(), "{out}");
    assert!(out.contains("secrets sealed under other keys: 0"), "{out}");
    assert!(out.contains("TOTP secrets: 0 re-sealed"), "{out}");
}

#[tokio::test]
async fn the_rotate_keys_command_fails_naming_whose_secret_no_configured_key_opens() {
    let app = spawn_app_with(sealing(KEY_A, None)).await;
    let (ann, _) = enrolled(&app, "Ann").await;
    let elsewhere = app.another_instance_with(sealing(KEY_C, None)).await;
    let (bob, _) = enrolled(&elsewhere, "Bob").await;

    let without_c = rotate_keys(&app, KEY_B, KEY_A).await;
    let (out, err) = (text(&without_c.stdout), text(&without_c.stderr));
    assert!(!without_c.status.success(), "{out}");
    assert!(out.contains("TOTP secrets: 1 re-sealed"), "{out}");
    assert!(out.contains("1 that no key opens"), "{out}");
    assert!(err.contains(&bob.id) && !err.contains(&ann.id), "{err}");
    assert!(err.contains("ORGQL_MFA_ENCRYPTION_KEY_FALLBACK"), "{err}");

    // With the missing key as the fallback, the run completes (A is no
    // longer needed: nothing is sealed under it any more).
    let with_c = rotate_keys(&app, KEY_B, KEY_C).await;
    let out = text(&with_c.stdout);
    assert!(with_c.status.success(), "{out}{}", text(&with_c.stderr));
    assert!(out.contains("TOTP secrets: 1 re-sealed"), "{out}");
}

/// A webhook endpoint's signing secret (issue #24) is sealed like the
/// others, and rotate-keys moves it under the current key: the same secret.
#[tokio::test]
async fn rotate_keys_moves_webhook_secrets_under_the_current_key() {
    let app = spawn_app_with(sealing(KEY_A, None)).await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    let created = app
        .graphql(
            "mutation($o: ID!) { createWebhookEndpoint(input: { organizationId: $o, url: \"https://hooks.example.com/orgql\" }) { secret } }",
            json!({ "o": org.id }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&created);
    let secret = created["data"]["createWebhookEndpoint"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = key_rotation::reseal_all(
        &app.db,
        &Sealer::with_fallbacks(KEY_B.as_bytes(), [KEY_A.as_bytes()]),
        500,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(done.webhook_secrets.resealed, 1);
    assert!(done.complete());
    let endpoint = entity::webhook_endpoint::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let opened = Sealer::new(KEY_B.as_bytes())
        .open(&endpoint.secret_sealed, endpoint.id.as_bytes())
        .expect("the current key opens the re-sealed secret");
    assert_eq!(String::from_utf8(opened).unwrap(), secret);
}
