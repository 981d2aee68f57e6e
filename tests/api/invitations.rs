//! Invitations: the whole lifecycle and every refusal.

use entity::values::{Role, Tier};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::*;

const INVITE: &str = "mutation($input: CreateInvitationInput!) { createInvitation(input: $input) { token acceptUrl invitation { id email role status } } }";
const ACCEPT: &str = "mutation($input: InvitationResponseInput!) { acceptInvitation(input: $input) { member { role } organization { slug } } }";

async fn invite(app: &TestApp, actor: &TestUser, org: &TestOrg, email: &str, role: &str) -> Value {
    app.graphql(
        INVITE,
        json!({ "input": { "organizationId": org.id, "email": email, "role": role } }),
        Some(&actor.token),
    )
    .await
}

fn token(response: &Value) -> String {
    response["data"]["createInvitation"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {response}"))
        .to_owned()
}

async fn expire_all(app: &TestApp) {
    entity::invitation::Entity::update_many()
        .col_expr(
            entity::invitation::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::hours(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_invitee_accepts_once_with_the_token() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let bob = app.sign_up("Bob").await;
    let sent = invite(&app, &ann, &org, &bob.email.to_uppercase(), "ADMIN").await;
    assert_ok(&sent);
    assert_eq!(
        sent["data"]["createInvitation"]["invitation"]["status"],
        "PENDING"
    );
    assert!(
        sent["data"]["createInvitation"]["acceptUrl"]
            .as_str()
            .unwrap()
            .contains(&token(&sent))
    );
    assert_eq!(app.last_audit().await.action, "invitation.created");
    assert!(
        !app.last_audit()
            .await
            .metadata
            .to_string()
            .contains(&token(&sent)),
        "no secret in the audit log"
    );

    let accepted = app
        .graphql(
            ACCEPT,
            json!({ "input": { "token": token(&sent) } }),
            Some(&bob.token),
        )
        .await;
    assert_ok(&accepted);
    assert_eq!(
        accepted["data"]["acceptInvitation"]["member"]["role"],
        "ADMIN"
    );
    assert_eq!(app.last_audit().await.action, "invitation.accepted");
    let again = app
        .graphql(
            ACCEPT,
            json!({ "input": { "token": token(&sent) } }),
            Some(&bob.token),
        )
        .await;
    assert_error(&again, "INVITATION_INVALID");
}

#[tokio::test]
async fn the_wrong_account_is_refused_and_the_token_stays_valid() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let bob = app.sign_up("Bob").await;
    let eve = app.sign_up("Eve").await;
    let sent = invite(&app, &ann, &org, &bob.email, "MEMBER").await;
    assert_error(
        &app.graphql(
            ACCEPT,
            json!({ "input": { "token": token(&sent) } }),
            Some(&eve.token),
        )
        .await,
        "INVITATION_INVALID",
    );
    assert_ok(
        &app.graphql(
            ACCEPT,
            json!({ "input": { "token": token(&sent) } }),
            Some(&bob.token),
        )
        .await,
    );
}

#[tokio::test]
async fn nobody_invites_above_their_role_and_members_do_not_invite() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    assert_error(
        &invite(&app, &ada, &org, "x@example.com", "OWNER").await,
        "FORBIDDEN",
    );
    assert_ok(&invite(&app, &ada, &org, "y@example.com", "ADMIN").await);
    assert_error(
        &invite(&app, &max, &org, "z@example.com", "MEMBER").await,
        "FORBIDDEN",
    );
    assert_ok(&invite(&app, &ann, &org, "o@example.com", "OWNER").await);
}

#[tokio::test]
async fn members_and_duplicate_invitations_are_refused() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    assert_error(
        &invite(&app, &ann, &org, &max.email, "MEMBER").await,
        "ALREADY_MEMBER",
    );
    assert_ok(&invite(&app, &ann, &org, "new@example.com", "MEMBER").await);
    let twice = invite(&app, &ann, &org, "NEW@example.com", "MEMBER").await;
    assert_error(&twice, "CONFLICT");
    assert_eq!(twice["errors"][0]["extensions"]["field"], "email");
}

#[tokio::test]
async fn pending_invitations_take_seats_of_the_tier() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    assert_ok(&invite(&app, &ann, &org, "one@example.com", "MEMBER").await);
    let over = invite(&app, &ann, &org, "two@example.com", "MEMBER").await;
    assert_error(&over, "TIER_LIMIT_EXCEEDED");
    assert_eq!(over["errors"][0]["extensions"]["resource"], "members");
    assert_eq!(over["errors"][0]["extensions"]["used"], 2);
    // An expired invitation frees its seat.
    expire_all(&app).await;
    assert_ok(&invite(&app, &ann, &org, "two@example.com", "MEMBER").await);
}

#[tokio::test]
async fn lifetimes_outside_one_hour_to_a_week_are_refused() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    for hours in [0, 169] {
        let response = app
            .graphql(INVITE, json!({ "input": { "organizationId": org.id, "email": "a@example.com", "expiresInHours": hours } }), Some(&ann.token))
            .await;
        assert_error(&response, "BAD_USER_INPUT");
        assert_eq!(
            response["errors"][0]["extensions"]["field"],
            "expiresInHours"
        );
    }
}

#[tokio::test]
async fn an_expired_invitation_reads_expired_and_a_resent_one_works_with_its_new_token_only() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let bob = app.sign_up("Bob").await;
    let sent = invite(&app, &ann, &org, &bob.email, "MEMBER").await;
    let id = sent["data"]["createInvitation"]["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expire_all(&app).await;
    let listed = app
        .graphql("query($id: ID!) { organization(id: $id) { invitations(status: EXPIRED) { totalCount edges { node { status } } } } }", json!({ "id": org.id }), Some(&ann.token))
        .await;
    assert_eq!(
        listed["data"]["organization"]["invitations"]["totalCount"],
        1
    );
    assert_eq!(
        listed["data"]["organization"]["invitations"]["edges"][0]["node"]["status"],
        "EXPIRED"
    );
    assert_error(
        &app.graphql(
            ACCEPT,
            json!({ "input": { "token": token(&sent) } }),
            Some(&bob.token),
        )
        .await,
        "INVITATION_EXPIRED",
    );

    let resent = app
        .graphql("mutation($id: ID!) { resendInvitation(input: { invitationId: $id }) { token invitation { status } } }", json!({ "id": id }), Some(&ann.token))
        .await;
    assert_ok(&resent);
    let new_token = resent["data"]["resendInvitation"]["token"]
        .as_str()
        .unwrap();
    assert_error(
        &app.graphql(
            ACCEPT,
            json!({ "input": { "token": token(&sent) } }),
            Some(&bob.token),
        )
        .await,
        "INVITATION_INVALID",
    );
    assert_ok(
        &app.graphql(
            ACCEPT,
            json!({ "input": { "token": new_token } }),
            Some(&bob.token),
        )
        .await,
    );
}

#[tokio::test]
async fn a_revoked_or_declined_invitation_cannot_be_accepted() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let bob = app.sign_up("Bob").await;
    let cy = app.sign_up("Cy").await;
    let for_bob = invite(&app, &ann, &org, &bob.email, "MEMBER").await;
    let bob_id = for_bob["data"]["createInvitation"]["invitation"]["id"].clone();
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let revoke = "mutation($id: ID!) { revokeInvitation(input: { invitationId: $id }) { invitation { status } } }";
    assert_error(
        &app.graphql(revoke, json!({ "id": bob_id }), Some(&max.token))
            .await,
        "FORBIDDEN",
    );
    let revoked = app
        .graphql(revoke, json!({ "id": bob_id }), Some(&ann.token))
        .await;
    assert_eq!(
        revoked["data"]["revokeInvitation"]["invitation"]["status"],
        "REVOKED"
    );
    assert_error(
        &app.graphql(
            ACCEPT,
            json!({ "input": { "token": token(&for_bob) } }),
            Some(&bob.token),
        )
        .await,
        "INVITATION_INVALID",
    );

    let for_cy = invite(&app, &ann, &org, &cy.email, "MEMBER").await;
    let declined = app
        .graphql("mutation($t: String!) { declineInvitation(input: { token: $t }) { invitation { status } } }", json!({ "t": token(&for_cy) }), Some(&cy.token))
        .await;
    assert_eq!(
        declined["data"]["declineInvitation"]["invitation"]["status"],
        "DECLINED"
    );
    assert_error(
        &app.graphql(
            ACCEPT,
            json!({ "input": { "token": token(&for_cy) } }),
            Some(&cy.token),
        )
        .await,
        "INVITATION_INVALID",
    );
}

#[tokio::test]
async fn the_viewer_sees_pending_invitations_and_accepts_by_id_with_its_teams() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let team = app.create_team(&ann, &org, "Core", None).await;
    let bob = app.sign_up("Bob").await;
    let sent = app
        .graphql(
            INVITE,
            json!({ "input": { "organizationId": org.id, "email": bob.email, "teamIds": [team] } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&sent);
    let pending = app
        .graphql("{ viewer { pendingInvitations { id role organization { name } invitedBy { name } } } }", json!({}), Some(&bob.token))
        .await;
    let listed = &pending["data"]["viewer"]["pendingInvitations"][0];
    assert_eq!(listed["organization"]["name"], "Acme");
    assert_eq!(listed["invitedBy"]["name"], "Ann");
    // Not addressed to Eve: she cannot accept it by id.
    let eve = app.sign_up("Eve").await;
    assert_error(
        &app.graphql(
            ACCEPT,
            json!({ "input": { "invitationId": listed["id"] } }),
            Some(&eve.token),
        )
        .await,
        "NOT_FOUND",
    );
    assert_ok(
        &app.graphql(
            ACCEPT,
            json!({ "input": { "invitationId": listed["id"] } }),
            Some(&bob.token),
        )
        .await,
    );
    let teams = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { viewerMembership { teams { slug } } } }",
            json!({ "id": org.id }),
            Some(&bob.token),
        )
        .await;
    assert_eq!(
        teams["data"]["organization"]["viewerMembership"]["teams"][0]["slug"],
        "core"
    );
}

#[tokio::test]
async fn the_preview_shows_what_an_accept_page_needs_and_nothing_more() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let sent = invite(&app, &ann, &org, "someone@example.com", "VIEWER").await;
    let preview = app
        .graphql("query($t: String!) { invitationPreview(token: $t) { organizationName inviterName role status expiresAt } }", json!({ "t": token(&sent) }), None)
        .await;
    assert_ok(&preview);
    let p = &preview["data"]["invitationPreview"];
    assert_eq!(
        (
            p["organizationName"].as_str(),
            p["inviterName"].as_str(),
            p["role"].as_str(),
            p["status"].as_str()
        ),
        (Some("Acme"), Some("Ann"), Some("VIEWER"), Some("PENDING"))
    );
    let unknown = app
        .graphql(
            "{ invitationPreview(token: \"nope\") { role } }",
            json!({}),
            None,
        )
        .await;
    assert!(unknown["data"]["invitationPreview"].is_null());
}

#[tokio::test]
async fn two_concurrent_accepts_make_one_membership() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let bob = app.sign_up("Bob").await;
    let sent = invite(&app, &ann, &org, &bob.email, "MEMBER").await;
    let t = token(&sent);
    let (a, b) = tokio::join!(
        app.graphql(ACCEPT, json!({ "input": { "token": t } }), Some(&bob.token)),
        app.graphql(ACCEPT, json!({ "input": { "token": t } }), Some(&bob.token)),
    );
    let successes = [&a, &b].iter().filter(|r| error_code(r).is_none()).count();
    assert_eq!(successes, 1, "{a} {b}");
    let members = entity::member::Entity::find()
        .filter(entity::member::Column::OrganizationId.eq(org.uuid))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(members.len(), 2);
}

#[tokio::test]
async fn concurrent_invitations_never_pass_the_member_limit() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let emails: Vec<String> = (0..5).map(|i| format!("racer{i}@example.com")).collect();
    let responses = futures_util::future::join_all(
        emails.iter().map(|e| invite(&app, &ann, &org, e, "MEMBER")),
    )
    .await;
    let ok = responses.iter().filter(|r| error_code(r).is_none()).count();
    assert_eq!(ok, 1, "FREE has one free seat: {responses:?}");
    assert!(
        responses
            .iter()
            .all(|r| matches!(error_code(r), None | Some("TIER_LIMIT_EXCEEDED")))
    );
}
