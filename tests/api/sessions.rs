//! Sessions: listing, revoking one, all, or an organization's, and the
//! organization's access-token lifetime.

use entity::values::Role;
use serde_json::json;

use crate::helpers::*;

const VIEWER: &str = "{ viewer { user { id } } }";

async fn log_in(app: &TestApp, user: &TestUser) -> String {
    let response = app
        .graphql("mutation($e: String!) { logIn(input: { email: $e, password: \"violet tractor umbrella 42\" }) { accessToken } }", json!({ "e": user.email }), None)
        .await;
    response["data"]["logIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_viewer_lists_sessions_and_revokes_another_at_once() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let laptop = log_in(&app, &ann).await;
    let listed = app
        .graphql(
            "{ viewer { sessions { id current ipAddress userAgent createdAt lastUsedAt } } }",
            json!({}),
            Some(&ann.token),
        )
        .await;
    let sessions = listed["data"]["viewer"]["sessions"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        sessions[0]["ipAddress"]
            .as_str()
            .unwrap()
            .starts_with("127.")
    );
    let other = sessions.iter().find(|s| s["current"] == false).unwrap()["id"].clone();
    let revoke = "mutation($id: ID!) { revokeSession(input: { sessionId: $id }) { sessionId } }";
    assert_ok(
        &app.graphql(revoke, json!({ "id": other }), Some(&ann.token))
            .await,
    );
    assert_error(
        &app.graphql(VIEWER, json!({}), Some(&laptop)).await,
        "UNAUTHENTICATED",
    );
    assert_ok(&app.graphql(VIEWER, json!({}), Some(&ann.token)).await);
    assert_eq!(app.last_audit().await.action, "session.revoked");
}

#[tokio::test]
async fn nobody_revokes_someone_elses_session() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let eve = app.sign_up("Eve").await;
    let listed = app
        .graphql(
            "{ viewer { sessions { id } } }",
            json!({}),
            Some(&ann.token),
        )
        .await;
    let id = listed["data"]["viewer"]["sessions"][0]["id"].clone();
    let attempt = app
        .graphql(
            "mutation($id: ID!) { revokeSession(input: { sessionId: $id }) { sessionId } }",
            json!({ "id": id }),
            Some(&eve.token),
        )
        .await;
    assert_error(&attempt, "NOT_FOUND");
    assert_ok(&app.graphql(VIEWER, json!({}), Some(&ann.token)).await);
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_session() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let laptop = log_in(&app, &ann).await;
    let done = app
        .graphql(
            "mutation { logOutEverywhere { revokedSessions } }",
            json!({}),
            Some(&ann.token),
        )
        .await;
    assert_eq!(done["data"]["logOutEverywhere"]["revokedSessions"], 2);
    for token in [&ann.token, &laptop] {
        assert_error(
            &app.graphql(VIEWER, json!({}), Some(token)).await,
            "UNAUTHENTICATED",
        );
    }
}

#[tokio::test]
async fn revoking_an_organizations_sessions_ends_access_to_it_until_people_sign_in_again() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let revoke = "mutation($id: ID!) { revokeOrganizationSessions(input: { organizationId: $id }) { revokedSessions } }";
    assert_error(
        &app.graphql(revoke, json!({ "id": org.id }), Some(&max.token))
            .await,
        "FORBIDDEN",
    );
    assert_ok(
        &app.graphql(revoke, json!({ "id": org.id }), Some(&ada.token))
            .await,
    );
    let read = "query($id: ID!) { organization(id: $id) { members { totalCount } } }";
    assert_error(
        &app.graphql(read, json!({ "id": org.id }), Some(&max.token))
            .await,
        "UNAUTHENTICATED",
    );
    // A fresh sign-in works again.
    let fresh = log_in(&app, &max).await;
    assert_ok(
        &app.graphql(read, json!({ "id": org.id }), Some(&fresh))
            .await,
    );
}

/// Migration 9 moved the cutoff to the memberships; migration 31 dropped
/// the organization's column that nothing read since.
#[tokio::test]
async fn the_cutoff_is_kept_per_membership_and_the_organizations_column_is_gone() {
    use sea_orm::{ConnectionTrait, Statement};
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let revoke = "mutation($id: ID!) { revokeOrganizationSessions(input: { organizationId: $id }) { revokedSessions } }";
    assert_ok(
        &app.graphql(revoke, json!({ "id": org.id }), Some(&ann.token))
            .await,
    );
    let backend = app.db.get_database_backend();
    let cutoffs = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM members WHERE sessions_revoked_before IS NOT NULL",
        ))
        .await
        .unwrap()
        .expect("a count");
    assert_eq!(cutoffs.try_get::<i64>("", "n").unwrap(), 1);
    let dropped = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT sessions_revoked_before FROM organizations",
        ))
        .await
        .expect_err("the column is gone");
    assert!(
        dropped.to_string().contains("sessions_revoked_before"),
        "{dropped}"
    );
}

#[tokio::test]
async fn an_organizations_token_lifetime_applies_to_tokens_issued_for_it() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let update = "mutation($id: ID!, $s: Int) { updateOrganization(input: { organizationId: $id, jwtExpirySecs: $s }) { organization { jwtExpirySecs } } }";
    for bad in [59, 86_401] {
        let refused = app
            .graphql(update, json!({ "id": org.id, "s": bad }), Some(&ann.token))
            .await;
        assert_error(&refused, "BAD_USER_INPUT");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "jwtExpirySecs");
    }
    assert_ok(
        &app.graphql(update, json!({ "id": org.id, "s": 120 }), Some(&ann.token))
            .await,
    );
    let switched = app
        .graphql("mutation($id: ID!) { switchOrganization(input: { organizationId: $id }) { accessTokenExpiresAt } }", json!({ "id": org.id }), Some(&ann.token))
        .await;
    let expires: chrono::DateTime<chrono::Utc> =
        switched["data"]["switchOrganization"]["accessTokenExpiresAt"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    let lifetime = expires - chrono::Utc::now();
    assert!(
        lifetime <= chrono::Duration::seconds(120) && lifetime > chrono::Duration::seconds(100),
        "{lifetime}"
    );

    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let read = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { jwtExpirySecs } }",
            json!({ "id": org.id }),
            Some(&max.token),
        )
        .await;
    assert_error(&read, "FORBIDDEN");
}
