//! Guest limits (issue #22, security review M3 and L2): a guest link
//! admits only guests; a guest that converts keeps no membership the
//! organization gave a guest; turning guest access off leaves no member
//! who came in as a guest; and nobody gets a guest account for an address
//! without proving the mailbox.

use entity::values::{Role, Tier};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::*;

const POLICY: &str = "mutation($o: ID!, $on: Boolean!) { updatePolicy(input: { organizationId: $o, guestAccessEnabled: $on }) { policy { guestAccessEnabled } } }";
const CREATE_CODE: &str = "mutation($o: ID!, $g: Boolean!) { createJoinCode(input: { organizationId: $o, guest: $g }) { code joinCode { role guest } } }";
const JOIN: &str = "mutation($c: String!) { joinOrganization(input: { code: $c }) { role } }";
const INVITE: &str = "mutation($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { role guest } } }";
const ACCEPT_GUEST: &str =
    "mutation($t: String!) { acceptGuestInvitation(input: { token: $t }) { accessToken } }";
const ACCEPT: &str =
    "mutation($t: String!) { acceptInvitation(input: { token: $t }) { member { role isGuest } } }";
const REQUEST: &str = "mutation($e: String!, $c: String) { requestGuestSignIn(input: { email: $e, code: $c }) { email } }";
const SIGN_IN: &str =
    "mutation($t: String!) { signInWithLink(input: { token: $t }) { accessToken user { email } } }";
const CONVERT: &str = "mutation { convertGuestAccount(input: { password: \"violet tractor umbrella 42\" }) { user { email } } }";
const LOG_IN: &str = "mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { accessToken } }";
const VIEW: &str = "query($id: ID!) { organization(id: $id) { viewerMembership { role isGuest } members(first: 50) { totalCount edges { node { isGuest user { email } } } } } }";

/// Ann's organization (TEAM tier) with Bob, a full member, and guest
/// access on.
async fn acme() -> (TestApp, TestUser, TestOrg, TestUser) {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (bob, _) = app.member_of(&org, Role::Member, "Bob").await;
    guest_access(&app, &ann, &org, true).await;
    (app, ann, org, bob)
}

async fn guest_access(app: &TestApp, owner: &TestUser, org: &TestOrg, on: bool) {
    let changed = app
        .graphql(POLICY, json!({ "o": org.id, "on": on }), Some(&owner.token))
        .await;
    assert_ok(&changed);
}

/// A new join code of `org`: a guest link when `guest`.
async fn join_code(app: &TestApp, ann: &TestUser, org: &TestOrg, guest: bool) -> String {
    let created = app
        .graphql(
            CREATE_CODE,
            json!({ "o": org.id, "g": guest }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&created);
    created["data"]["createJoinCode"]["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Comes in through a guest link as `email`, with the mailed link; returns
/// the guest's access token.
async fn guest_by_link(app: &TestApp, code: &str, email: &str) -> String {
    let asked = app
        .graphql(REQUEST, json!({ "e": email, "c": code }), None)
        .await;
    assert_ok(&asked);
    let token = app.link_token(email, "Your orgql sign-in link", 1).await;
    let signed_in = app.graphql(SIGN_IN, json!({ "t": token }), None).await;
    assert_ok(&signed_in);
    signed_in["data"]["signInWithLink"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Comes in through a guest invitation as `email`; returns the guest's
/// access token.
async fn guest_by_invitation(app: &TestApp, ann: &TestUser, org: &TestOrg, email: &str) -> String {
    let invited = app
        .graphql(
            INVITE,
            json!({ "input": { "organizationId": org.id, "email": email, "guest": true } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&invited);
    let token = app
        .link_token(email, "You are invited to join Acme", 1)
        .await;
    let accepted = app.graphql(ACCEPT_GUEST, json!({ "t": token }), None).await;
    assert_ok(&accepted);
    accepted["data"]["acceptGuestInvitation"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The organization as `token` sees it (null when not a member).
async fn view(app: &TestApp, org: &TestOrg, token: &str) -> Value {
    let seen = app
        .graphql(VIEW, json!({ "id": org.id }), Some(token))
        .await;
    seen["data"]["organization"].clone()
}

async fn log_in(app: &TestApp, email: &str, password: &str) -> Value {
    app.graphql(LOG_IN, json!({ "e": email, "p": password }), None)
        .await
}

#[tokio::test]
async fn a_guest_link_admits_a_guest_and_refuses_a_full_account() {
    let (app, ann, org, _bob) = acme().await;
    let guest_link = join_code(&app, &ann, &org, true).await;

    // A full account, verified or not, is refused the guest link.
    for carl in [
        app.sign_up_unverified("Carl").await,
        app.sign_up("Dora").await,
    ] {
        let joined = app
            .graphql(JOIN, json!({ "c": guest_link }), Some(&carl.token))
            .await;
        assert_error(&joined, "FORBIDDEN");
        assert_eq!(view(&app, &org, &carl.token).await, Value::Null);
    }
    // A full account with a member's join code joins as a full member.
    let carl = app.sign_up("Carl").await;
    let member_code = join_code(&app, &ann, &org, false).await;
    let joined = app
        .graphql(JOIN, json!({ "c": member_code }), Some(&carl.token))
        .await;
    assert_ok(&joined);
    assert_eq!(joined["data"]["joinOrganization"]["role"], "MEMBER");

    // A guest is let in by the guest link, as a guest.
    let gil = guest_by_link(&app, &guest_link, "gil@partner.example").await;
    let seen = view(&app, &org, &gil).await;
    assert_eq!(seen["viewerMembership"]["isGuest"], true);
    assert_eq!(seen["viewerMembership"]["role"], "VIEWER");
    // Ann, Bob, Carl and Gil: neither refused account got in.
    assert_eq!(seen["members"]["totalCount"], 4);
}

#[tokio::test]
async fn a_converted_guest_keeps_no_guest_membership_until_the_organization_invites_it() {
    let (app, ann, org, bob) = acme().await;
    let gus = guest_by_invitation(&app, &ann, &org, "gus@partner.example").await;
    assert_eq!(
        view(&app, &org, &gus).await["viewerMembership"]["isGuest"],
        true
    );

    let audit_before = app.audit_count().await;
    let converted = app.graphql(CONVERT, json!({}), Some(&gus)).await;
    assert_ok(&converted);
    // The conversion and the membership it ended.
    assert_eq!(app.audit_count().await, audit_before + 2);
    // The account is a full one now: it signs in with its password...
    let signed_in = log_in(&app, "gus@partner.example", PASSWORD).await;
    assert_ok(&signed_in);
    let gus = signed_in["data"]["logIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // ...but the organization gave a guest's view, not a full member's:
    // the guest membership ended, audited in the organization.
    assert_eq!(view(&app, &org, &gus).await, Value::Null);
    assert_eq!(
        view(&app, &org, &ann.token).await["members"]["totalCount"],
        2
    );
    let left = entity::audit_entry::Entity::find()
        .filter(entity::audit_entry::Column::OrganizationId.eq(org.uuid))
        .filter(entity::audit_entry::Column::Action.eq("member.left"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].metadata["reason"], "guestConverted");

    // The organization's consent, an invitation, makes them a full member,
    // who reads every address.
    let invited = app
        .graphql(
            INVITE,
            json!({ "input": { "organizationId": org.id, "email": "gus@partner.example", "role": "MEMBER" } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&invited);
    let token = app
        .link_token("gus@partner.example", "You are invited to join Acme", 2)
        .await;
    let accepted = app.graphql(ACCEPT, json!({ "t": token }), Some(&gus)).await;
    assert_ok(&accepted);
    assert_eq!(
        accepted["data"]["acceptInvitation"]["member"]["isGuest"],
        false
    );
    let seen = view(&app, &org, &gus).await;
    assert_eq!(seen["viewerMembership"]["role"], "MEMBER");
    let addresses: Vec<&Value> = seen["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["user"]["email"])
        .collect();
    assert!(addresses.contains(&&json!(bob.email)), "{addresses:?}");
}

#[tokio::test]
async fn turning_guest_access_off_leaves_no_member_who_came_in_as_a_guest() {
    let (app, ann, org, bob) = acme().await;
    let guest_link = join_code(&app, &ann, &org, true).await;
    let gil = guest_by_link(&app, &guest_link, "gil@partner.example").await;
    let gus = guest_by_invitation(&app, &ann, &org, "gus@partner.example").await;
    // The two ways out of the guest's view the review found: a full
    // account through the guest link, and a guest converting itself.
    let carl = app.sign_up("Carl").await;
    let _ = app
        .graphql(JOIN, json!({ "c": guest_link }), Some(&carl.token))
        .await;
    assert_ok(&app.graphql(CONVERT, json!({}), Some(&gus)).await);
    let gus = log_in(&app, "gus@partner.example", PASSWORD).await["data"]["logIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    guest_access(&app, &ann, &org, false).await;

    for came_in_as_guest in [&gil, &gus, &carl.token] {
        assert_eq!(view(&app, &org, came_in_as_guest).await, Value::Null);
    }
    // Full members stay: Ann and Bob.
    let kept = view(&app, &org, &bob.token).await;
    assert_eq!(kept["members"]["totalCount"], 2, "{kept}");
    let memberships = entity::member::Entity::find()
        .filter(entity::member::Column::OrganizationId.eq(org.uuid))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(memberships, 2);
}

const ASK_RESET: &str =
    "mutation($e: String!) { requestPasswordReset(input: { email: $e }) { accepted } }";
const RESET: &str = "mutation($t: String!, $p: String!) { resetPassword(input: { token: $t, newPassword: $p }) { passwordReset } }";
const NEW_PASSWORD: &str = "another fresh phrase 77 zebra";

/// How many accounts have `email`.
async fn accounts_with(app: &TestApp, email: &str) -> u64 {
    entity::user::Entity::find()
        .filter(entity::user::Column::Email.eq(email))
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn asking_for_a_guest_link_with_someone_elses_address_makes_no_account() {
    let (app, mallory, org, _bob) = acme().await;
    let guest_link = join_code(&app, &mallory, &org, true).await;
    let victim = "vic@victim.example";

    let asked = app
        .graphql(REQUEST, json!({ "e": victim, "c": guest_link }), None)
        .await;
    assert_ok(&asked);
    // The link went to the victim's mailbox, and no account was made.
    let unused_link = app.link_token(victim, "Your orgql sign-in link", 1).await;
    assert_eq!(accounts_with(&app, victim).await, 0);

    // The victim signs up, resets and logs in as if nothing happened.
    let vic = app.sign_up_as(victim, "Vic").await;
    assert!(!vic.token.is_empty());
    assert_ok(&app.graphql(ASK_RESET, json!({ "e": victim }), None).await);
    let reset = app.link_token(victim, "Reset your orgql password", 1).await;
    assert_ok(
        &app.graphql(RESET, json!({ "t": reset, "p": NEW_PASSWORD }), None)
            .await,
    );
    assert_ok(&log_in(&app, victim, NEW_PASSWORD).await);
    // The link mailed before the sign-up signs no full account in by email.
    let used = app
        .graphql(SIGN_IN, json!({ "t": unused_link }), None)
        .await;
    assert_error(&used, "BAD_USER_INPUT");
    assert_eq!(
        view(&app, &org, &mallory.token).await["members"]["totalCount"],
        2
    );
}

#[tokio::test]
async fn a_guest_links_mailed_link_makes_the_guest_account_when_it_is_used() {
    let (app, ann, org, _bob) = acme().await;
    let guest_link = join_code(&app, &ann, &org, true).await;
    let email = "gil@partner.example";
    assert_ok(
        &app.graphql(REQUEST, json!({ "e": email, "c": guest_link }), None)
            .await,
    );
    assert_eq!(accounts_with(&app, email).await, 0);
    let token = app.link_token(email, "Your orgql sign-in link", 1).await;
    let signed_in = app.graphql(SIGN_IN, json!({ "t": token }), None).await;
    assert_ok(&signed_in);
    assert_eq!(signed_in["data"]["signInWithLink"]["user"]["email"], email);
    assert_eq!(accounts_with(&app, email).await, 1);
    let gil = signed_in["data"]["signInWithLink"]["accessToken"]
        .as_str()
        .unwrap();
    assert_eq!(
        view(&app, &org, gil).await["viewerMembership"]["isGuest"],
        true
    );
    // The link works once.
    let again = app.graphql(SIGN_IN, json!({ "t": token }), None).await;
    assert_error(&again, "BAD_USER_INPUT");
    // The returning guest signs in with a fresh link, still a guest.
    assert_ok(&app.graphql(REQUEST, json!({ "e": email }), None).await);
    let token = app.link_token(email, "Your orgql sign-in link", 2).await;
    assert_ok(&app.graphql(SIGN_IN, json!({ "t": token }), None).await);
    assert_eq!(accounts_with(&app, email).await, 1);
}

#[tokio::test]
async fn a_guest_claims_a_full_account_by_resetting_its_password() {
    let (app, ann, org, _bob) = acme().await;
    let email = "gus@partner.example";
    let gus = guest_by_invitation(&app, &ann, &org, email).await;
    // A guest cannot log in with a password it does not have.
    assert_error(&log_in(&app, email, NEW_PASSWORD).await, "UNAUTHENTICATED");

    assert_ok(&app.graphql(ASK_RESET, json!({ "e": email }), None).await);
    let reset = app.link_token(email, "Reset your orgql password", 1).await;
    assert_ok(
        &app.graphql(RESET, json!({ "t": reset, "p": NEW_PASSWORD }), None)
            .await,
    );
    // A full account now, which logs in; the guest's view ended with the
    // guest account, and its old session with the reset.
    let signed_in = log_in(&app, email, NEW_PASSWORD).await;
    assert_ok(&signed_in);
    let token = signed_in["data"]["logIn"]["accessToken"].as_str().unwrap();
    assert_eq!(view(&app, &org, token).await, Value::Null);
    assert_error(
        &app.graphql(VIEW, json!({ "id": org.id }), Some(&gus)).await,
        "UNAUTHENTICATED",
    );
    assert_eq!(accounts_with(&app, email).await, 1);
}

#[tokio::test]
async fn signing_up_with_a_guest_accounts_address_mails_the_link_that_claims_it() {
    let (app, ann, org, _bob) = acme().await;
    let email = "gus@partner.example";
    guest_by_invitation(&app, &ann, &org, email).await;

    // Signing up proves no mailbox, so it does not take the account over...
    let signed_up = app
        .graphql(
            "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
            json!({ "input": { "email": email, "password": PASSWORD, "name": "Gus" } }),
            None,
        )
        .await;
    assert!(
        signed_up["data"]["signUp"]["accessToken"].is_null(),
        "{signed_up}"
    );
    assert_error(&log_in(&app, email, PASSWORD).await, "UNAUTHENTICATED");
    // ...but the mailbox gets the link that does.
    let claim = app.link_token(email, "Claim your orgql account", 1).await;
    assert_ok(
        &app.graphql(RESET, json!({ "t": claim, "p": NEW_PASSWORD }), None)
            .await,
    );
    assert_ok(&log_in(&app, email, NEW_PASSWORD).await);
}
