//! Sign-up, log-in, refresh rotation, log-out and the active organization.

use serde_json::json;

use crate::helpers::*;

const LOG_IN: &str = "mutation($input: LogInInput!) { logIn(input: $input) { accessToken refreshToken activeOrganization { slug } } }";
const REFRESH: &str = "mutation($token: String!) { refreshSession(input: { refreshToken: $token }) { accessToken refreshToken } }";
const VIEWER: &str = "{ viewer { user { email } activeOrganization { slug } } }";

const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken refreshToken sessionId amr activeOrganization { id } mfaChallenge { challenge } user { id email name emailVerified createdAt } } }";

#[tokio::test]
async fn a_new_user_signs_up_verifies_the_address_signs_in_and_is_the_viewer() {
    let app = spawn_app().await;
    let email = "ann@example.com";
    let signed_up = app
        .graphql(
            SIGN_UP,
            json!({ "input": { "email": email, "password": PASSWORD, "name": "Ann" } }),
            None,
        )
        .await;
    assert_ok(&signed_up);
    let payload = &signed_up["data"]["signUp"];
    assert!(
        payload["accessToken"].is_null(),
        "signs no one in: {signed_up}"
    );
    assert!(payload["refreshToken"].is_null(), "{signed_up}");
    assert_eq!(payload["user"]["email"], email);
    assert_eq!(app.last_audit().await.action, "user.signed_up");

    // Until the mailed link is used, the right password answers as a
    // wrong one.
    let log_in = json!({ "input": { "email": email, "password": PASSWORD } });
    let refused = app.graphql(LOG_IN, log_in.clone(), None).await;
    assert_error(&refused, "UNAUTHENTICATED");
    let wrong = json!({ "input": { "email": email, "password": "not the password at all" } });
    assert_eq!(refused, app.graphql(LOG_IN, wrong, None).await);

    let link = app.link_token(email, "Confirm your email address", 1).await;
    assert_ok(
        &app.graphql(
            "mutation($t: String!) { verifyEmail(input: { token: $t }) { user { id } } }",
            json!({ "t": link }),
            None,
        )
        .await,
    );
    let signed_in = app.graphql(LOG_IN, log_in, None).await;
    assert_ok(&signed_in);
    let token = signed_in["data"]["logIn"]["accessToken"].as_str().unwrap();
    let response = app.graphql(VIEWER, json!({}), Some(token)).await;
    assert_ok(&response);
    assert_eq!(response["data"]["viewer"]["user"]["email"], email);
    assert_eq!(
        response["data"]["viewer"]["user"]["email"],
        payload["user"]["email"]
    );
}

#[tokio::test]
async fn an_anonymous_viewer_is_null_and_guarded_fields_are_unauthenticated() {
    let app = spawn_app().await;
    let response = app
        .graphql("{ viewer { user { id } } }", json!({}), None)
        .await;
    assert_ok(&response);
    assert!(response["data"]["viewer"].is_null());
    let response = app
        .graphql("{ organizations { totalCount } }", json!({}), None)
        .await;
    assert_error(&response, "UNAUTHENTICATED");
}

/// `signUp`'s answer with what differs between any two answers (the id,
/// the time) blanked.
fn sign_up_shape(response: &serde_json::Value) -> serde_json::Value {
    let mut shape = response.clone();
    let user = &mut shape["data"]["signUp"]["user"];
    assert!(
        user["id"].as_str().is_some_and(|id| id.starts_with("usr_")),
        "{response}"
    );
    let created = user["createdAt"].as_str().unwrap_or_default();
    // The same precision either way, the database's microsecond: an answer
    // made up with a finer clock would tell itself apart. How many digits
    // a time is written with depends on its trailing zeros (RFC 3339 as
    // chrono writes it: .683 for .683000), so the text is not compared.
    let at: chrono::DateTime<chrono::Utc> = created
        .parse()
        .unwrap_or_else(|e| panic!("createdAt {created}: {e}"));
    assert_eq!(
        chrono::Timelike::nanosecond(&at) % 1_000,
        0,
        "createdAt finer than a microsecond: {response}"
    );
    user["createdAt"] = json!("");
    user["id"] = json!("usr_");
    shape
}

#[tokio::test]
async fn signing_up_with_a_taken_address_answers_as_a_new_one_and_mails_its_owner() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let before = app.audit_count().await;
    let sign_up = |email: &str| json!({ "input": { "email": email, "password": "another fresh phrase 77 zebra", "name": "Ann 2" } });
    let taken = app
        .graphql(SIGN_UP, sign_up(&ann.email.to_uppercase()), None)
        .await;
    assert_ok(&taken);
    assert_eq!(app.audit_count().await, before, "nothing changed");
    let new = app
        .graphql(
            SIGN_UP,
            sign_up(&ann.email.to_uppercase().replace("ANN", "NOT-ANN")),
            None,
        )
        .await;
    assert_ok(&new);
    let mut new_shape = sign_up_shape(&new);
    new_shape["data"]["signUp"]["user"]["email"] = json!(ann.email);
    assert_eq!(sign_up_shape(&taken), new_shape, "{taken} vs {new}");

    // The owner hears of it, and keeps the account and its password; the
    // stranger's password signs nothing in, as after signing up anew.
    let notice = app
        .emails(&ann.email, "Someone tried to sign up with your address", 1)
        .await;
    assert!(notice[0].contains("Nothing changed"), "{}", notice[0]);
    let theirs =
        json!({ "input": { "email": ann.email, "password": "another fresh phrase 77 zebra" } });
    assert_error(&app.graphql(LOG_IN, theirs, None).await, "UNAUTHENTICATED");
    let own = json!({ "input": { "email": ann.email, "password": PASSWORD } });
    assert_ok(&app.graphql(LOG_IN, own, None).await);
}

#[tokio::test]
async fn malformed_sign_up_input_names_the_field() {
    let app = spawn_app().await;
    for (input, field) in [
        (
            json!({ "email": "not-an-email", "password": "long enough", "name": "A" }),
            "email",
        ),
        (
            json!({ "email": "a@example.com", "password": "short", "name": "A" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": "long enough", "name": "A\u{0}B" }),
            "name",
        ),
        (
            json!({ "email": "a@example.com", "password": "long enough", "name": "x".repeat(201) }),
            "name",
        ),
    ] {
        let response = app
            .graphql(
                "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
                json!({ "input": input }),
                None,
            )
            .await;
        assert_error(&response, "BAD_USER_INPUT");
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{response}"
        );
    }
}

#[tokio::test]
async fn log_in_succeeds_with_the_password_and_fails_alike_without_it() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let ok = app
        .graphql(
            LOG_IN,
            json!({ "input": { "email": ann.email, "password": "violet tractor umbrella 42" } }),
            None,
        )
        .await;
    assert_ok(&ok);
    let wrong_password = app
        .graphql(
            LOG_IN,
            json!({ "input": { "email": ann.email, "password": "wrong horse" } }),
            None,
        )
        .await;
    let unknown_email = app
        .graphql(
            LOG_IN,
            json!({ "input": { "email": "nobody@example.com", "password": "wrong horse" } }),
            None,
        )
        .await;
    assert_error(&wrong_password, "UNAUTHENTICATED");
    assert_error(&unknown_email, "UNAUTHENTICATED");
    assert_eq!(
        wrong_password["errors"][0]["message"],
        unknown_email["errors"][0]["message"]
    );
}

#[tokio::test]
async fn a_refresh_token_rotates_and_its_reuse_revokes_the_session() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let first = app
        .graphql(REFRESH, json!({ "token": ann.refresh_token }), None)
        .await;
    assert_ok(&first);
    let next_refresh = first["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap();
    let new_access = first["data"]["refreshSession"]["accessToken"]
        .as_str()
        .unwrap();
    assert_ne!(next_refresh, ann.refresh_token);
    assert_ok(&app.graphql(VIEWER, json!({}), Some(new_access)).await);

    // The old token again: refused, and the whole session ends.
    let replay = app
        .graphql(REFRESH, json!({ "token": ann.refresh_token }), None)
        .await;
    assert_error(&replay, "UNAUTHENTICATED");
    assert_error(
        &app.graphql(VIEWER, json!({}), Some(new_access)).await,
        "UNAUTHENTICATED",
    );
    assert_error(
        &app.graphql(REFRESH, json!({ "token": next_refresh }), None)
            .await,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn logging_out_voids_the_access_token_at_once() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    assert_ok(
        &app.graphql(
            "mutation { logOut { sessionId } }",
            json!({}),
            Some(&ann.token),
        )
        .await,
    );
    assert_error(
        &app.graphql(VIEWER, json!({}), Some(&ann.token)).await,
        "UNAUTHENTICATED",
    );
    assert_error(
        &app.graphql(REFRESH, json!({ "token": ann.refresh_token }), None)
            .await,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn tampered_and_foreign_tokens_are_unauthenticated() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let mut tampered = ann.token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let foreign = orgql::auth::TokenIssuer::new(
        b"some other secret of at least 32 bytes",
        "http://127.0.0.1:8000",
        900,
    )
    .issue(ann.uuid, uuid::Uuid::now_v7(), None, &["pwd"], 900)
    .unwrap()
    .0;
    for token in [tampered.as_str(), foreign.as_str(), "garbage"] {
        assert_error(
            &app.graphql(VIEWER, json!({}), Some(token)).await,
            "UNAUTHENTICATED",
        );
    }
}

#[tokio::test]
async fn an_expired_access_token_is_unauthenticated() {
    let app = spawn_app_with(|c| c.access_token_ttl_secs = -60).await;
    let ann = app.sign_up("Ann").await;
    assert_error(
        &app.graphql(VIEWER, json!({}), Some(&ann.token)).await,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn switching_organization_names_it_in_the_token_and_is_remembered() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let response = app
        .graphql(
            "mutation($id: ID!) { switchOrganization(input: { organizationId: $id }) { accessToken organization { slug } } }",
            json!({ "id": org.id }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&response);
    let token = response["data"]["switchOrganization"]["accessToken"]
        .as_str()
        .unwrap();
    let viewer = app.graphql(VIEWER, json!({}), Some(token)).await;
    assert_eq!(
        viewer["data"]["viewer"]["activeOrganization"]["slug"],
        org.slug
    );

    let again = app
        .graphql(
            LOG_IN,
            json!({ "input": { "email": ann.email, "password": "violet tractor umbrella 42" } }),
            None,
        )
        .await;
    assert_eq!(
        again["data"]["logIn"]["activeOrganization"]["slug"],
        org.slug
    );
}

#[tokio::test]
async fn nobody_switches_to_an_organization_they_do_not_belong_to() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let bob = app.sign_up("Bob").await;
    let org = app.create_org(&ann, "Acme").await;
    let response = app
        .graphql(
            "mutation($id: ID!) { switchOrganization(input: { organizationId: $id }) { accessToken } }",
            json!({ "id": org.id }),
            Some(&bob.token),
        )
        .await;
    assert_error(&response, "NOT_FOUND");
}
