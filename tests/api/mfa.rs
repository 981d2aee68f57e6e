//! Multi-factor authentication with TOTP: enrolling, the second step of
//! signing in, single-use codes, recovery codes, turning it off, and an
//! organization's `requireMfa`. Codes come from the tests' own RFC 6238
//! implementation (`helpers::totp`), computed from the secret the server
//! handed out.

use base64::Engine;
use entity::values::Role;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::totp::{Authenticator, hotp};
use crate::helpers::*;

const LOG_IN: &str =
    "mutation($e: String!) { logIn(input: { email: $e, password: \"violet tractor umbrella 42\" }) {
    accessToken refreshToken sessionId amr user { email } mfaChallenge { challenge expiresAt } } }";
const VERIFY: &str =
    "mutation($c: String!, $code: String!) { verifyMfa(input: { challenge: $c, code: $code }) {
    accessToken refreshToken sessionId amr mfaChallenge { challenge } } }";
const ENROLL: &str = "mutation { enrollTotp { secret otpauthUri qrCodeSvg } }";
const CONFIRM: &str =
    "mutation($code: String!) { confirmTotp(input: { code: $code }) { recoveryCodes } }";
const LEAVE: &str =
    "mutation($o: ID!) { leaveOrganization(input: { organizationId: $o }) { organizationId } }";
const STAFF_READ: &str =
    "query($id: ID!) { organization(id: $id) { name members(first: 5) { totalCount } } }";
const SUSPEND: &str = "mutation($o: ID!) { suspendOrganization(input: { organizationId: $o }) { organization { status } } }";
const REQUIRE_MFA: &str = "mutation($o: ID!, $on: Boolean!) { updatePolicy(input: { organizationId: $o, requireMfa: $on }) { policy { requireMfa } } }";
const MEMBERS: &str = "query($id: ID!) { organization(id: $id) { name members { totalCount edges { node { mfaEnabled user { email } } } } } }";
const CREATE_TEAM: &str = "mutation($o: ID!, $n: String!) { createTeam(input: { organizationId: $o, name: $n }) { team { id } } }";

/// The test's TOTP implementation agrees with RFC 6238 Appendix B (SHA-1,
/// 8 digits), so the codes the other tests compute are the RFC's.
#[test]
fn the_tests_own_totp_matches_the_rfc_6238_vectors() {
    let key = b"12345678901234567890";
    for (time, code) in [
        (59u64, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ] {
        assert_eq!(hotp(key, time / 30, 8), code, "T = {time}");
    }
}

/// Enrolls and confirms MFA for `user`; returns their authenticator and
/// recovery codes.
pub(crate) async fn turn_on_mfa(app: &TestApp, user: &TestUser) -> (Authenticator, Vec<String>) {
    let enrolled = app.graphql(ENROLL, json!({}), Some(&user.token)).await;
    assert_ok(&enrolled);
    let mut authenticator =
        Authenticator::new(enrolled["data"]["enrollTotp"]["secret"].as_str().unwrap());
    let confirmed = app
        .graphql(
            CONFIRM,
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

/// `owner` (signed in with MFA) makes `org` require MFA.
async fn require_mfa(app: &TestApp, owner: &TestUser, org: &TestOrg) {
    assert_ok(
        &app.graphql(
            REQUIRE_MFA,
            json!({ "o": org.id, "on": true }),
            Some(&owner.token),
        )
        .await,
    );
}

async fn log_in(app: &TestApp, user: &TestUser) -> Value {
    let response = app.graphql(LOG_IN, json!({ "e": user.email }), None).await;
    assert_ok(&response);
    response["data"]["logIn"].clone()
}

/// Logs in and answers the challenge with `code`.
pub(crate) async fn log_in_with(app: &TestApp, user: &TestUser, code: &str) -> Value {
    let challenge = log_in(app, user).await["mfaChallenge"]["challenge"]
        .as_str()
        .expect("an MFA challenge")
        .to_owned();
    app.graphql(VERIFY, json!({ "c": challenge, "code": code }), None)
        .await
}

/// A session that passed MFA: the user with its access token.
async fn with_mfa_session(app: &TestApp, user: &TestUser, code: &str) -> TestUser {
    let verified = log_in_with(app, user, code).await;
    assert_ok(&verified);
    TestUser {
        token: verified["data"]["verifyMfa"]["accessToken"]
            .as_str()
            .unwrap()
            .to_owned(),
        refresh_token: verified["data"]["verifyMfa"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_owned(),
        ..user.clone()
    }
}

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn enrolling_gives_a_secret_uri_and_qr_code_and_a_first_code_turns_mfa_on() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let enrolled = app.graphql(ENROLL, json!({}), Some(&ann.token)).await;
    assert_ok(&enrolled);
    let payload = &enrolled["data"]["enrollTotp"];
    let secret = payload["secret"].as_str().unwrap();
    assert_eq!(crate::helpers::totp::decode(secret).len(), 20);
    let uri = payload["otpauthUri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/orgql:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(payload["qrCodeSvg"].as_str().unwrap().contains("<svg"));

    // The secret is not stored in the clear.
    let stored = entity::totp_authenticator::Entity::find_by_id(ann.uuid)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let key = crate::helpers::totp::decode(secret);
    assert!(!stored.secret_encrypted.contains(secret));
    assert!(!stored.secret_encrypted.contains(&hex::encode(&key)));

    // Not on until confirmed: logIn still returns tokens.
    assert!(log_in(&app, &ann).await["accessToken"].is_string());
    let mut authenticator = Authenticator::new(secret);
    let wrong = app
        .graphql(CONFIRM, json!({ "code": "000000" }), Some(&ann.token))
        .await;
    assert_error(&wrong, "BAD_USER_INPUT");
    let confirmed = app
        .graphql(
            CONFIRM,
            json!({ "code": authenticator.fresh_code() }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&confirmed);
    let codes = confirmed["data"]["confirmTotp"]["recoveryCodes"]
        .as_array()
        .unwrap();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::BTreeSet<_> = codes.iter().map(|c| c.to_string()).collect();
    assert_eq!(distinct.len(), 10);
    let me = app
        .graphql(
            "{ viewer { user { mfaEnabled } } }",
            json!({}),
            Some(&ann.token),
        )
        .await;
    assert_eq!(me["data"]["viewer"]["user"]["mfaEnabled"], true);
    assert_eq!(app.last_audit().await.action, "user.mfa_enabled");

    // The authenticator cannot be swapped while MFA is on.
    assert_error(
        &app.graphql(ENROLL, json!({}), Some(&ann.token)).await,
        "CONFLICT",
    );
}

#[tokio::test]
async fn without_mfa_log_in_returns_tokens_with_amr_pwd() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let payload = log_in(&app, &ann).await;
    assert!(payload["accessToken"].is_string());
    assert!(payload["mfaChallenge"].is_null());
    assert_eq!(payload["amr"], json!(["pwd"]));
    assert_eq!(
        jwt_claims(payload["accessToken"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
}

#[tokio::test]
async fn with_mfa_on_log_in_returns_a_challenge_that_a_code_turns_into_a_session() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let (mut authenticator, recovery_codes) = turn_on_mfa(&app, &ann).await;

    let payload = log_in(&app, &ann).await;
    assert!(payload["accessToken"].is_null());
    assert!(payload["refreshToken"].is_null());
    assert!(payload["sessionId"].is_null());
    assert_eq!(payload["user"]["email"], json!(ann.email));
    let challenge = payload["mfaChallenge"]["challenge"].as_str().unwrap();

    let wrong = app
        .graphql(VERIFY, json!({ "c": challenge, "code": "123456" }), None)
        .await;
    assert_error(&wrong, "UNAUTHENTICATED");
    assert_eq!(app.last_audit().await.action, "user.mfa_failed");
    let bogus = app
        .graphql(
            VERIFY,
            json!({ "c": "not-a-challenge", "code": "123456" }),
            None,
        )
        .await;
    assert_error(&bogus, "UNAUTHENTICATED");

    let verified = app
        .graphql(
            VERIFY,
            json!({ "c": challenge, "code": authenticator.fresh_code() }),
            None,
        )
        .await;
    assert_ok(&verified);
    let session = &verified["data"]["verifyMfa"];
    assert_eq!(session["amr"], json!(["pwd", "otp"]));
    let token = session["accessToken"].as_str().unwrap();
    assert_eq!(jwt_claims(token)["amr"], json!(["pwd", "otp"]));
    let viewer = app
        .graphql(
            "{ viewer { amr sessions { current amr } } }",
            json!({}),
            Some(token),
        )
        .await;
    assert_eq!(viewer["data"]["viewer"]["amr"], json!(["pwd", "otp"]));
    let sessions = viewer["data"]["viewer"]["sessions"].as_array().unwrap();
    let current = sessions.iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(current["amr"], json!(["pwd", "otp"]));
    assert!(sessions.iter().any(|s| s["amr"] == json!(["pwd"])));

    // The session keeps its amr when refreshed.
    let refreshed = app
        .graphql(
            "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken amr } }",
            json!({ "t": session["refreshToken"] }),
            None,
        )
        .await;
    assert_eq!(
        refreshed["data"]["refreshSession"]["amr"],
        json!(["pwd", "otp"])
    );

    // A challenge works once, even with a good code.
    let again = app
        .graphql(
            VERIFY,
            json!({ "c": challenge, "code": recovery_codes[0] }),
            None,
        )
        .await;
    assert_error(&again, "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_totp_code_is_accepted_once() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let (mut authenticator, _) = turn_on_mfa(&app, &ann).await;
    // The code that confirmed enrollment is spent already.
    assert_error(
        &log_in_with(&app, &ann, &authenticator.last_code()).await,
        "UNAUTHENTICATED",
    );
    let code = authenticator.fresh_code();
    assert_ok(&log_in_with(&app, &ann, &code).await);
    assert_error(&log_in_with(&app, &ann, &code).await, "UNAUTHENTICATED");
}

#[tokio::test]
async fn one_code_raced_into_two_challenges_signs_in_once() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let (mut authenticator, _) = turn_on_mfa(&app, &ann).await;
    let first = log_in(&app, &ann).await["mfaChallenge"]["challenge"].clone();
    let second = log_in(&app, &ann).await["mfaChallenge"]["challenge"].clone();
    let code = authenticator.fresh_code();
    let (a, b) = tokio::join!(
        app.graphql(VERIFY, json!({ "c": first, "code": code }), None),
        app.graphql(VERIFY, json!({ "c": second, "code": code }), None),
    );
    let signed_in = [&a, &b]
        .iter()
        .filter(|r| r["data"]["verifyMfa"]["accessToken"].is_string())
        .count();
    assert_eq!(signed_in, 1, "{a}\n{b}");
    let refused = if error_code(&a).is_some() { &a } else { &b };
    assert_error(refused, "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let (_, codes) = turn_on_mfa(&app, &ann).await;
    // Typed in upper case, as people copy them: still the same code.
    let verified = log_in_with(&app, &ann, &codes[0].to_uppercase()).await;
    assert_ok(&verified);
    assert_eq!(verified["data"]["verifyMfa"]["amr"], json!(["pwd", "otp"]));
    assert_eq!(app.last_audit().await.metadata["method"], "recovery_code");
    assert_error(&log_in_with(&app, &ann, &codes[0]).await, "UNAUTHENTICATED");
    assert_ok(&log_in_with(&app, &ann, &codes[1]).await);
}

#[tokio::test]
async fn a_challenge_dies_after_five_wrong_codes() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let (mut authenticator, _) = turn_on_mfa(&app, &ann).await;
    let challenge = log_in(&app, &ann).await["mfaChallenge"]["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..5 {
        let wrong = app
            .graphql(
                VERIFY,
                json!({ "c": challenge, "code": "not-a-code" }),
                None,
            )
            .await;
        assert_error(&wrong, "UNAUTHENTICATED");
    }
    let right = app
        .graphql(
            VERIFY,
            json!({ "c": challenge, "code": authenticator.fresh_code() }),
            None,
        )
        .await;
    assert_error(&right, "UNAUTHENTICATED");
}

#[tokio::test]
async fn turning_mfa_off_needs_the_password_or_a_code() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    turn_on_mfa(&app, &ann).await;
    let disable =
        "mutation($input: DisableTotpInput!) { disableTotp(input: $input) { mfaEnabled } }";
    let refused = app
        .graphql(disable, json!({ "input": {} }), Some(&ann.token))
        .await;
    assert_error(&refused, "BAD_USER_INPUT");
    let wrong = app
        .graphql(
            disable,
            json!({ "input": { "password": "wrong horse" } }),
            Some(&ann.token),
        )
        .await;
    assert_error(&wrong, "BAD_USER_INPUT");
    assert_eq!(wrong["errors"][0]["extensions"]["field"], "password");
    let wrong_code = app
        .graphql(
            disable,
            json!({ "input": { "code": "000000" } }),
            Some(&ann.token),
        )
        .await;
    assert_error(&wrong_code, "BAD_USER_INPUT");
    assert!(log_in(&app, &ann).await["mfaChallenge"].is_object());

    let off = app
        .graphql(
            disable,
            json!({ "input": { "password": PASSWORD } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&off);
    assert_eq!(app.last_audit().await.action, "user.mfa_disabled");
    assert!(log_in(&app, &ann).await["accessToken"].is_string());
    // The old recovery codes went with it.
    let remaining = entity::mfa_recovery_code::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(remaining.is_empty());

    // On again, and off with a code from the new authenticator.
    let (mut second, _) = turn_on_mfa(&app, &ann).await;
    let off = app
        .graphql(
            disable,
            json!({ "input": { "code": second.fresh_code() } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&off);
    assert_eq!(app.last_audit().await.metadata["proof"], "totp");
}

#[tokio::test]
async fn an_owner_cannot_require_mfa_without_mfa_of_their_own() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let refused = app
        .graphql(
            REQUIRE_MFA,
            json!({ "o": org.id, "on": true }),
            Some(&ann.token),
        )
        .await;
    assert_error(&refused, "MFA_REQUIRED");

    // Enrolled, but this session signed in with the password alone.
    let (mut authenticator, _) = turn_on_mfa(&app, &ann).await;
    let still_refused = app
        .graphql(
            REQUIRE_MFA,
            json!({ "o": org.id, "on": true }),
            Some(&ann.token),
        )
        .await;
    assert_error(&still_refused, "MFA_REQUIRED");
    let policy = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { policy { requireMfa } } }",
            json!({ "id": org.id }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(
        policy["data"]["organization"]["policy"]["requireMfa"],
        false
    );

    let ann = with_mfa_session(&app, &ann, &authenticator.fresh_code()).await;
    let allowed = app
        .graphql(
            REQUIRE_MFA,
            json!({ "o": org.id, "on": true }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&allowed);
    assert_eq!(
        allowed["data"]["updatePolicy"]["policy"]["requireMfa"],
        true
    );
}

#[tokio::test]
async fn require_mfa_refuses_sessions_without_mfa_then_admits_them_after_enrolling() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (mut ann_app, _) = turn_on_mfa(&app, &ann).await;
    let ann = with_mfa_session(&app, &ann, &ann_app.fresh_code()).await;
    let (max, _) = app.member_of(&org, Role::Admin, "Max").await;

    // Before: Max's password session reads and writes.
    assert_ok(
        &app.graphql(MEMBERS, json!({ "id": org.id }), Some(&max.token))
            .await,
    );
    require_mfa(&app, &ann, &org).await;

    // After: refused for the organization's data and changes.
    let read = app
        .graphql(MEMBERS, json!({ "id": org.id }), Some(&max.token))
        .await;
    assert_error(&read, "MFA_REQUIRED");
    let write = app
        .graphql(
            CREATE_TEAM,
            json!({ "o": org.id, "n": "Core" }),
            Some(&max.token),
        )
        .await;
    assert_error(&write, "MFA_REQUIRED");

    // Ann's MFA session is admitted, and sees who has to enroll.
    let members = app
        .graphql(MEMBERS, json!({ "id": org.id }), Some(&ann.token))
        .await;
    assert_ok(&members);
    let mut seen: Vec<(String, bool)> = members["data"]["organization"]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["user"]["email"].as_str().unwrap().to_owned(),
                e["node"]["mfaEnabled"].as_bool().unwrap(),
            )
        })
        .collect();
    seen.sort();
    let mut expected = vec![(ann.email.clone(), true), (max.email.clone(), false)];
    expected.sort();
    assert_eq!(seen, expected);

    // Enrolling is open to Max; once he signs in with a code he is back.
    let (mut max_app, _) = turn_on_mfa(&app, &max).await;
    let max = with_mfa_session(&app, &max, &max_app.fresh_code()).await;
    assert_ok(
        &app.graphql(MEMBERS, json!({ "id": org.id }), Some(&max.token))
            .await,
    );
    assert_ok(
        &app.graphql(
            CREATE_TEAM,
            json!({ "o": org.id, "n": "Core" }),
            Some(&max.token),
        )
        .await,
    );
}

/// Leaving only reduces access: it needs no more proof than staying
/// (issue #28). The last owner still cannot leave.
#[tokio::test]
async fn leaving_an_organization_that_requires_mfa_needs_no_mfa_except_for_the_last_owner() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (mut ann_app, _) = turn_on_mfa(&app, &ann).await;
    let ann = with_mfa_session(&app, &ann, &ann_app.fresh_code()).await;
    let (max, _) = app.member_of(&org, Role::Admin, "Max").await;
    let stranger = app.sign_up("Sue").await;
    require_mfa(&app, &ann, &org).await;
    assert_error(
        &app.graphql(MEMBERS, json!({ "id": org.id }), Some(&max.token))
            .await,
        "MFA_REQUIRED",
    );

    // Max, without MFA, may not stay and read, but may leave.
    assert_ok(
        &app.graphql(LEAVE, json!({ "o": org.id }), Some(&max.token))
            .await,
    );
    let gone = app
        .graphql(MEMBERS, json!({ "id": org.id }), Some(&max.token))
        .await;
    assert!(gone["data"]["organization"].is_null(), "{gone}");
    // Someone who is not a member learns nothing, and leaves nothing.
    assert_error(
        &app.graphql(LEAVE, json!({ "o": org.id }), Some(&stranger.token))
            .await,
        "NOT_FOUND",
    );
    // The last owner stays, MFA or not.
    assert_error(
        &app.graphql(LEAVE, json!({ "o": org.id }), Some(&ann.token))
            .await,
        "LAST_OWNER",
    );
    // A session revoked in the organization acts for nobody, not even to
    // leave.
    let (eve, _) = app.member_of(&org, Role::Member, "Eve").await;
    assert_ok(
        &app.graphql(
            "mutation($o: ID!) { revokeOrganizationSessions(input: { organizationId: $o }) { revokedSessions } }",
            json!({ "o": org.id }),
            Some(&ann.token),
        )
        .await,
    );
    assert_error(
        &app.graphql(LEAVE, json!({ "o": org.id }), Some(&eve.token))
            .await,
        "UNAUTHENTICATED",
    );
}

/// Staff accounts are the most valuable ones: inside an organization that
/// requires MFA, a platform administrator (not a member) must have signed
/// in with it too, to read or to administer (issue #28).
#[tokio::test]
async fn a_platform_admin_acting_where_mfa_is_required_must_have_signed_in_with_it() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let strict = app.create_org(&ann, "Strict").await;
    let relaxed = app.create_org(&ann, "Relaxed").await;
    let (mut ann_app, _) = turn_on_mfa(&app, &ann).await;
    let ann = with_mfa_session(&app, &ann, &ann_app.fresh_code()).await;
    require_mfa(&app, &ann, &strict).await;
    let root = app.sign_up("Root").await;
    orgql::domain::accounts::grant_platform_admin(&app.db, &root.email)
        .await
        .unwrap();

    // A password session: admitted where MFA is not required, refused
    // where it is, for reads and for platform administration alike.
    assert_ok(
        &app.graphql(STAFF_READ, json!({ "id": relaxed.id }), Some(&root.token))
            .await,
    );
    assert_error(
        &app.graphql(STAFF_READ, json!({ "id": strict.id }), Some(&root.token))
            .await,
        "MFA_REQUIRED",
    );
    assert_error(
        &app.graphql(SUSPEND, json!({ "o": strict.id }), Some(&root.token))
            .await,
        "MFA_REQUIRED",
    );

    // Signed in with a code, the administrator is admitted there.
    let (mut root_app, _) = turn_on_mfa(&app, &root).await;
    let root = with_mfa_session(&app, &root, &root_app.fresh_code()).await;
    assert_ok(
        &app.graphql(STAFF_READ, json!({ "id": strict.id }), Some(&root.token))
            .await,
    );
    let suspended = app
        .graphql(SUSPEND, json!({ "o": strict.id }), Some(&root.token))
        .await;
    assert_eq!(
        suspended["data"]["suspendOrganization"]["organization"]["status"],
        "SUSPENDED"
    );
}

#[tokio::test]
async fn api_tokens_are_not_subject_to_require_mfa() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (mut authenticator, _) = turn_on_mfa(&app, &ann).await;
    let ann = with_mfa_session(&app, &ann, &authenticator.fresh_code()).await;
    require_mfa(&app, &ann, &org).await;
    let created = app
        .graphql(
            "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }",
            json!({ "input": { "organizationId": org.id, "name": "CI", "scopes": ["MEMBERS_VIEW"] } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&created);
    let token = created["data"]["createApiToken"]["token"].as_str().unwrap();
    let read = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { members { totalCount } } }",
            json!({ "id": org.id }),
            Some(token),
        )
        .await;
    assert_ok(&read);
}

#[tokio::test]
async fn only_member_managers_see_who_has_mfa_and_it_costs_no_statement_per_member() {
    // No session cache: both counts include authentication.
    let app = spawn_app_with(|c| c.session_cache = false).await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (viewer, _) = app.member_of(&org, Role::Viewer, "Vic").await;
    app.bulk_members(&org, 30).await;
    let refused = app
        .graphql(MEMBERS, json!({ "id": org.id }), Some(&viewer.token))
        .await;
    assert_error(&refused, "FORBIDDEN");

    let without = "query($id: ID!) { organization(id: $id) { members(first: 50) { edges { node { role user { email } } } } } }";
    let with = "query($id: ID!) { organization(id: $id) { members(first: 50) { edges { node { role mfaEnabled user { email } } } } } }";
    let (plain, plain_count) = app
        .graphql_counted(without, json!({ "id": org.id }), Some(&ann.token))
        .await;
    assert_ok(&plain);
    let (flagged, flagged_count) = app
        .graphql_counted(with, json!({ "id": org.id }), Some(&ann.token))
        .await;
    assert_ok(&flagged);
    assert_eq!(
        flagged["data"]["organization"]["members"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        32
    );
    assert_eq!(flagged_count, plain_count);
}
