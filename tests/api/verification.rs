//! Verified email (issue #10): sign-up mails a one-time link, an
//! unverified address counts for nothing that trusts an address
//! (invitations by id, allowed email domains), an invitation's own link
//! proves the mailbox, and changing the address needs the password and the
//! new address's proof.

use sea_orm::{EntityTrait, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::*;

const VERIFY: &str =
    "mutation($t: String!) { verifyEmail(input: { token: $t }) { user { email emailVerified } } }";
const VIEWER: &str = "{ viewer { user { email emailVerified } pendingInvitations { id role organization { name } } } }";
const INVITE: &str = "mutation($o: ID!, $e: String!, $r: Role) { createInvitation(input: { organizationId: $o, email: $e, role: $r }) { invitation { id } token } }";
const ACCEPT: &str = "mutation($input: InvitationResponseInput!) { acceptInvitation(input: $input) { member { role } } }";
const DECLINE: &str = "mutation($input: InvitationResponseInput!) { declineInvitation(input: $input) { invitation { status } } }";
const CONFIRM: &str = "Confirm your email address";

async fn viewer(app: &TestApp, user: &TestUser) -> Value {
    let response = app.graphql(VIEWER, json!({}), Some(&user.token)).await;
    assert_ok(&response);
    response["data"]["viewer"].clone()
}

#[tokio::test]
async fn sign_up_mails_a_link_that_verifies_the_address_once() {
    let app = spawn_app().await;
    let ann = app.sign_up_unverified("Ann").await;
    assert_eq!(viewer(&app, &ann).await["user"]["emailVerified"], false);

    let token = app.link_token(&ann.email, CONFIRM, 1).await;
    let verified = app
        .graphql(VERIFY, json!({ "t": token }), Some(&ann.token))
        .await;
    assert_ok(&verified);
    assert_eq!(
        verified["data"]["verifyEmail"]["user"]["emailVerified"],
        true
    );
    assert_eq!(viewer(&app, &ann).await["user"]["emailVerified"], true);
    assert_eq!(
        app.last_audit().await.action,
        "user.email_verified",
        "the verification is audited"
    );

    let again = app.graphql(VERIFY, json!({ "t": token }), None).await;
    assert_error(&again, "BAD_USER_INPUT");
    assert_eq!(again["errors"][0]["extensions"]["field"], "token");
}

#[tokio::test]
async fn a_verification_link_is_refused_once_expired_or_unknown() {
    let app = spawn_app().await;
    let ann = app.sign_up_unverified("Ann").await;
    let token = app.link_token(&ann.email, CONFIRM, 1).await;
    assert_error(
        &app.graphql(VERIFY, json!({ "t": "not-a-token" }), None)
            .await,
        "BAD_USER_INPUT",
    );
    entity::account_token::Entity::update_many()
        .col_expr(
            entity::account_token::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    assert_error(
        &app.graphql(VERIFY, json!({ "t": token }), None).await,
        "BAD_USER_INPUT",
    );
    assert_eq!(viewer(&app, &ann).await["user"]["emailVerified"], false);
}

#[tokio::test]
async fn verification_links_are_stored_only_as_their_hash() {
    let app = spawn_app().await;
    let ann = app.sign_up_unverified("Ann").await;
    let token = app.link_token(&ann.email, CONFIRM, 1).await;
    let rows = entity::account_token::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].token_hash, token);
    assert_eq!(rows[0].token_hash.len(), 64, "a hex SHA-256");
}

#[tokio::test]
async fn a_resent_link_replaces_the_old_one_and_a_verified_address_gets_none() {
    let app = spawn_app().await;
    let ann = app.sign_up_unverified("Ann").await;
    let first = app.link_token(&ann.email, CONFIRM, 1).await;
    let resend = "mutation { resendVerificationEmail { email } }";
    let resent = app.graphql(resend, json!({}), Some(&ann.token)).await;
    assert_ok(&resent);
    assert_eq!(
        resent["data"]["resendVerificationEmail"]["email"],
        ann.email
    );
    let second = app.link_token(&ann.email, CONFIRM, 2).await;
    assert_ne!(first, second);

    assert_error(
        &app.graphql(VERIFY, json!({ "t": first }), None).await,
        "BAD_USER_INPUT",
    );
    assert_ok(&app.graphql(VERIFY, json!({ "t": second }), None).await);
    assert_error(
        &app.graphql(resend, json!({}), Some(&ann.token)).await,
        "CONFLICT",
    );
    assert_error(
        &app.graphql(resend, json!({}), None).await,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn email_verified_is_told_only_to_the_user_and_platform_admins() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (bob, _) = app
        .member_of(&org, entity::values::Role::Member, "Bob")
        .await;
    let query = "query($id: ID!) { node(id: $id) { ... on User { email emailVerified } } }";
    let by_colleague = app
        .graphql(query, json!({ "id": ann.id }), Some(&bob.token))
        .await;
    assert_eq!(by_colleague["data"]["node"]["email"], ann.email);
    assert!(
        by_colleague["data"]["node"]["emailVerified"].is_null(),
        "{by_colleague}"
    );
    let by_self = app
        .graphql(query, json!({ "id": ann.id }), Some(&ann.token))
        .await;
    assert_eq!(by_self["data"]["node"]["emailVerified"], true);

    let root = app.sign_up("Root").await;
    orgql::domain::accounts::grant_platform_admin(&app.db, &root.email)
        .await
        .unwrap();
    let by_admin = app
        .graphql(query, json!({ "id": bob.id }), Some(&root.token))
        .await;
    assert_eq!(
        by_admin["data"]["node"]["emailVerified"], true,
        "{by_admin}"
    );
}

#[tokio::test]
async fn an_unverified_address_does_not_sign_in_until_its_link_is_used() {
    let app = spawn_app().await;
    // A session from before the rule still works, and may create
    // organizations.
    let ann = app.sign_up_unverified("Ann").await;
    app.create_org(&ann, "Ann's own").await;
    let log_in = |password: &'static str| {
        app.graphql(
            "mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { accessToken } }",
            json!({ "e": ann.email, "p": password }),
            None,
        )
    };
    // The right password answers as a wrong one (security review L4).
    let refused = log_in(PASSWORD).await;
    assert_error(&refused, "UNAUTHENTICATED");
    assert_eq!(refused, log_in("not the password at all").await);
    let resent = app
        .graphql(
            "mutation { resendVerificationEmail { email } }",
            json!({}),
            Some(&ann.token),
        )
        .await;
    assert_ok(&resent);
    let link = app
        .link_token(&ann.email, "Confirm your email address", 2)
        .await;
    assert_ok(&app.graphql(VERIFY, json!({ "t": link }), None).await);
    assert_ok(&log_in(PASSWORD).await);
}

/// The take-over of issue #10: someone signs up with the address an owner
/// invited as ADMIN before its owner does.
#[tokio::test]
async fn an_impostor_with_the_invited_address_cannot_see_accept_or_decline_the_invitation() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Victim Corp").await;
    app.set_tier(&org, entity::values::Tier::Team).await;
    let victim = "newhire@victimcorp.com";
    let invited = app
        .graphql(
            INVITE,
            json!({ "o": org.id, "e": victim, "r": "ADMIN" }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&invited);
    let invitation_id = invited["data"]["createInvitation"]["invitation"]["id"].clone();

    let impostor = app.sign_up_as(victim, "Mallory").await;
    assert_eq!(
        viewer(&app, &impostor).await["pendingInvitations"],
        json!([])
    );
    let node = app
        .graphql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": invitation_id }),
            Some(&impostor.token),
        )
        .await;
    assert!(node["data"]["node"].is_null(), "{node}");
    for mutation in [ACCEPT, DECLINE] {
        let refused = app
            .graphql(
                mutation,
                json!({ "input": { "invitationId": invitation_id } }),
                Some(&impostor.token),
            )
            .await;
        assert_error(&refused, "NOT_FOUND");
    }
    let status = app
        .graphql(
            "query($id: ID!) { node(id: $id) { ... on Invitation { status } } }",
            json!({ "id": invitation_id }),
            Some(&owner.token),
        )
        .await;
    assert_eq!(status["data"]["node"]["status"], "PENDING", "{status}");

    // The mailbox's owner takes the account back with a reset link (which
    // ends the impostor's session) and accepts with the emailed invitation.
    assert_ok(
        &app.graphql(
            "mutation($e: String!) { requestPasswordReset(input: { email: $e }) { accepted } }",
            json!({ "e": victim }),
            None,
        )
        .await,
    );
    let reset = app.link_token(victim, "Reset your orgql password", 1).await;
    let new_password = "harbor quilt meadow 1987 sprocket";
    assert_ok(
        &app.graphql(
            "mutation($t: String!, $p: String!) { resetPassword(input: { token: $t, newPassword: $p }) { passwordReset } }",
            json!({ "t": reset, "p": new_password }),
            None,
        )
        .await,
    );
    assert_error(
        &app.graphql(VIEWER, json!({}), Some(&impostor.token)).await,
        "UNAUTHENTICATED",
    );
    let signed_in = app
        .graphql(
            "mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { accessToken } }",
            json!({ "e": victim, "p": new_password }),
            None,
        )
        .await;
    assert_ok(&signed_in);
    let real = signed_in["data"]["logIn"]["accessToken"].as_str().unwrap();
    let invitation_token = app.link_token(victim, "You are invited", 1).await;
    let accepted = app
        .graphql(
            ACCEPT,
            json!({ "input": { "token": invitation_token } }),
            Some(real),
        )
        .await;
    assert_ok(&accepted);
    assert_eq!(
        accepted["data"]["acceptInvitation"]["member"]["role"],
        "ADMIN"
    );
}

#[tokio::test]
async fn accepting_with_the_emailed_token_works_unverified_and_verifies_the_address() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    let bob = app.sign_up_unverified("Bob").await;
    let invited = app
        .graphql(
            INVITE,
            json!({ "o": org.id, "e": bob.email, "r": "MEMBER" }),
            Some(&owner.token),
        )
        .await;
    assert_ok(&invited);
    let token = app.link_token(&bob.email, "You are invited", 1).await;
    let accepted = app
        .graphql(
            ACCEPT,
            json!({ "input": { "token": token } }),
            Some(&bob.token),
        )
        .await;
    assert_ok(&accepted);
    assert_eq!(viewer(&app, &bob).await["user"]["emailVerified"], true);
    // The token worked once.
    assert_error(
        &app.graphql(
            ACCEPT,
            json!({ "input": { "token": token } }),
            Some(&bob.token),
        )
        .await,
        "INVITATION_INVALID",
    );
}

#[tokio::test]
async fn once_verified_the_invitee_sees_the_invitation_and_accepts_it_by_id() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Acme").await;
    let bob = app.sign_up_unverified("Bob").await;
    let invited = app
        .graphql(
            INVITE,
            json!({ "o": org.id, "e": bob.email, "r": "MEMBER" }),
            Some(&owner.token),
        )
        .await;
    let invitation_id = invited["data"]["createInvitation"]["invitation"]["id"].clone();
    assert_eq!(viewer(&app, &bob).await["pendingInvitations"], json!([]));

    let token = app.link_token(&bob.email, CONFIRM, 1).await;
    assert_ok(&app.graphql(VERIFY, json!({ "t": token }), None).await);
    let pending = viewer(&app, &bob).await["pendingInvitations"].clone();
    assert_eq!(pending[0]["id"], invitation_id, "{pending}");
    let accepted = app
        .graphql(
            ACCEPT,
            json!({ "input": { "invitationId": invitation_id } }),
            Some(&bob.token),
        )
        .await;
    assert_ok(&accepted);
}

#[tokio::test]
async fn an_unverified_address_does_not_satisfy_allowed_email_domains() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olga").await;
    let org = app.create_org(&owner, "Corp").await;
    app.set_tier(&org, entity::values::Tier::Team).await;
    let code = app
        .graphql(
            "mutation($o: ID!) { createJoinCode(input: { organizationId: $o }) { code } }",
            json!({ "o": org.id }),
            Some(&owner.token),
        )
        .await["data"]["createJoinCode"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ok(
        &app.graphql(
            "mutation($o: ID!) { updatePolicy(input: { organizationId: $o, allowedEmailDomains: [\"corp.example\"] }) { policy { allowedEmailDomains } } }",
            json!({ "o": org.id }),
            Some(&owner.token),
        )
        .await,
    );
    let join = "mutation($c: String!) { joinOrganization(input: { code: $c }) { role } }";
    let anyone = app
        .sign_up_as(&format!("{}@corp.example", unique("anyone")), "Anyone")
        .await;
    assert_error(
        &app.graphql(join, json!({ "c": code }), Some(&anyone.token))
            .await,
        "FORBIDDEN",
    );

    let token = app.link_token(&anyone.email, CONFIRM, 1).await;
    assert_ok(&app.graphql(VERIFY, json!({ "t": token }), None).await);
    let joined = app
        .graphql(join, json!({ "c": code }), Some(&anyone.token))
        .await;
    assert_ok(&joined);
    assert_eq!(joined["data"]["joinOrganization"]["role"], "MEMBER");
}

const CHANGE: &str = "mutation($p: String!, $e: String!) { changeEmail(input: { password: $p, newEmail: $e }) { pendingEmail } }";

#[tokio::test]
async fn changing_the_email_needs_the_password_and_takes_effect_once_the_new_address_is_verified() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let new_email = format!("{}@example.com", unique("ann-new"));

    let wrong = app
        .graphql(
            CHANGE,
            json!({ "p": "not the password at all", "e": new_email }),
            Some(&ann.token),
        )
        .await;
    assert_error(&wrong, "BAD_USER_INPUT");
    assert_eq!(wrong["errors"][0]["extensions"]["field"], "password");

    let asked = app
        .graphql(
            CHANGE,
            json!({ "p": PASSWORD, "e": new_email }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&asked);
    assert_eq!(asked["data"]["changeEmail"]["pendingEmail"], new_email);
    // The old address is told, and stays the account's until the new one
    // is proven.
    let notice = app
        .emails(&ann.email, "Your email address is being changed", 1)
        .await;
    assert!(notice[0].contains(&new_email), "{}", notice[0]);
    let before = viewer(&app, &ann).await;
    assert_eq!(before["user"]["email"], ann.email);
    assert_eq!(before["user"]["emailVerified"], true);

    let token = app
        .link_token(&new_email, "Confirm your new email address", 1)
        .await;
    let verified = app.graphql(VERIFY, json!({ "t": token }), None).await;
    assert_ok(&verified);
    let after = viewer(&app, &ann).await;
    assert_eq!(after["user"]["email"], new_email);
    assert_eq!(after["user"]["emailVerified"], true);
    assert_eq!(app.last_audit().await.action, "user.email_changed");
    assert_error(
        &app.graphql(VERIFY, json!({ "t": token }), None).await,
        "BAD_USER_INPUT",
    );
    let logged_in = app
        .graphql(
            "mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { accessToken } }",
            json!({ "e": new_email, "p": PASSWORD }),
            None,
        )
        .await;
    assert_ok(&logged_in);
}
