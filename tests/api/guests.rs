//! Guests (issue #13): in by a mailed link as VIEWER, refused every write
//! and every email address but their own, out the moment guest access is
//! turned off; guest links; converting to a full account.

use entity::values::{Role, Tier};
use serde_json::{Value, json};

use crate::helpers::*;

const POLICY: &str = "mutation($o: ID!, $on: Boolean!) { updatePolicy(input: { organizationId: $o, guestAccessEnabled: $on }) { policy { guestAccessEnabled } } }";
const INVITE: &str = "mutation($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { role guest } } }";
const ACCEPT: &str = "mutation($t: String!) { acceptGuestInvitation(input: { token: $t }) { accessToken amr user { id email } activeOrganization { id } } }";
const REQUEST: &str = "mutation($e: String!, $c: String) { requestGuestSignIn(input: { email: $e, code: $c }) { email } }";
const SIGN_IN: &str = "mutation($t: String!) { signInWithLink(input: { token: $t }) { accessToken amr user { email } } }";
const VIEW: &str = "query($id: ID!) { organization(id: $id) { viewerMembership { role isGuest } members(first: 50) { totalCount edges { node { isGuest user { name email } } } } } }";

async fn guest_access(app: &TestApp, owner: &TestUser, org: &TestOrg, on: bool) {
    let changed = app
        .graphql(POLICY, json!({ "o": org.id, "on": on }), Some(&owner.token))
        .await;
    assert_ok(&changed);
}

/// Ann's organization (TEAM tier) with Bob, a full member, and guest access
/// on.
async fn setting() -> (TestApp, TestUser, TestOrg, TestUser) {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (bob, _) = app.member_of(&org, Role::Member, "Bob").await;
    guest_access(&app, &ann, &org, true).await;
    (app, ann, org, bob)
}

/// Invites `email` as a guest and accepts with the emailed link; returns
/// the guest's access token.
async fn guest_in(app: &TestApp, ann: &TestUser, org: &TestOrg, email: &str) -> String {
    let invited = app
        .graphql(
            INVITE,
            json!({ "input": { "organizationId": org.id, "email": email, "guest": true } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&invited);
    assert_eq!(
        invited["data"]["createInvitation"]["invitation"]["role"],
        "VIEWER"
    );
    let mail = app.emails(email, "You are invited to join Acme", 1).await;
    assert!(mail[0].contains("/guest/accept?token="), "{}", mail[0]);
    let token = token_in(&mail[0]);
    let accepted = app.graphql(ACCEPT, json!({ "t": token }), None).await;
    assert_ok(&accepted);
    let payload = &accepted["data"]["acceptGuestInvitation"];
    assert_eq!(payload["amr"], json!(["email"]));
    assert_eq!(payload["activeOrganization"]["id"], org.id.as_str());
    // The link works once.
    let again = app.graphql(ACCEPT, json!({ "t": token }), None).await;
    assert_error(&again, "INVITATION_INVALID");
    payload["accessToken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_guest_gets_in_by_link_as_viewer_and_sees_no_one_elses_address() {
    let (app, ann, org, bob) = setting().await;
    let guest = guest_in(&app, &ann, &org, "gus@partner.example").await;

    let seen = app
        .graphql(VIEW, json!({ "id": org.id }), Some(&guest))
        .await;
    assert_ok(&seen);
    let organization = &seen["data"]["organization"];
    assert_eq!(organization["viewerMembership"]["role"], "VIEWER");
    assert_eq!(organization["viewerMembership"]["isGuest"], true);
    let edges = organization["members"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 3);
    for edge in edges {
        let user = &edge["node"]["user"];
        if edge["node"]["isGuest"] == true {
            assert_eq!(user["email"], "gus@partner.example");
        } else {
            assert_eq!(
                user["email"],
                Value::Null,
                "a guest sees no address: {user}"
            );
            assert!(user["name"].is_string());
        }
    }
    // Nor through a selection the page answers from its rows alone.
    let plain = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { members(first: 50) { nodes { user { email } } } } }",
            json!({ "id": org.id }),
            Some(&guest),
        )
        .await;
    assert_ok(&plain);
    let shown: Vec<&Value> = plain["data"]["organization"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| &node["user"]["email"])
        .filter(|email| !email.is_null())
        .collect();
    assert_eq!(shown, [&json!("gus@partner.example")]);
    // Nor finds one by searching for it; a member does.
    let search = "query($id: ID!, $s: String!) { organization(id: $id) { members(filter: { search: $s }) { totalCount } } }";
    let probe = json!({ "id": org.id, "s": bob.email });
    let by_guest = app.graphql(search, probe.clone(), Some(&guest)).await;
    assert_eq!(by_guest["data"]["organization"]["members"]["totalCount"], 0);
    let by_ann = app.graphql(search, probe, Some(&ann.token)).await;
    assert_eq!(by_ann["data"]["organization"]["members"]["totalCount"], 1);
    // A member still sees everyone's address, guests' included.
    let by_bob = app
        .graphql(VIEW, json!({ "id": org.id }), Some(&bob.token))
        .await;
    let addresses: Vec<&Value> = by_bob["data"]["organization"]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"]["user"]["email"])
        .collect();
    assert!(addresses.iter().all(|a| a.is_string()), "{addresses:?}");
}

#[tokio::test]
async fn a_guest_is_refused_every_write() {
    let (app, ann, org, _) = setting().await;
    let guest = guest_in(&app, &ann, &org, "gus@partner.example").await;
    // Even a policy that grants VIEWERs more gives a guest nothing to write.
    let granted = app
        .graphql(
            "mutation($o: ID!) { updatePolicy(input: { organizationId: $o, rolePermissions: [{ role: VIEWER, grant: [TEAMS_CREATE], withdraw: [] }] }) { policy { guestAccessEnabled } } }",
            json!({ "o": org.id }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&granted);
    let writes = [
        (
            "mutation($o: ID!) { createTeam(input: { organizationId: $o, name: \"Ops\" }) { team { id } } }",
            "FORBIDDEN",
        ),
        (
            "mutation($o: ID!) { updateOrganization(input: { organizationId: $o, name: \"Mine\" }) { organization { id } } }",
            "FORBIDDEN",
        ),
        (
            "mutation($o: ID!) { createInvitation(input: { organizationId: $o, email: \"x@y.example\", role: VIEWER }) { token } }",
            "FORBIDDEN",
        ),
        (
            "mutation($o: ID!) { createJoinCode(input: { organizationId: $o, role: VIEWER }) { code } }",
            "FORBIDDEN",
        ),
        (
            "mutation($o: ID!) { createApiToken(input: { organizationId: $o, name: \"t\", scopes: [ORG_VIEW] }) { token } }",
            "FORBIDDEN",
        ),
        (
            "mutation($o: ID!) { updatePolicy(input: { organizationId: $o, guestAccessEnabled: false }) { policy { guestAccessEnabled } } }",
            "FORBIDDEN",
        ),
        (
            "mutation { createOrganization(input: { name: \"Guest Inc\" }) { organization { id } } }",
            "FORBIDDEN",
        ),
    ];
    for (mutation, code) in writes {
        let refused = app
            .graphql(mutation, json!({ "o": org.id }), Some(&guest))
            .await;
        assert_error(&refused, code);
    }
    // No password: logging in with one fails, and no reset link is sent.
    let log_in = app
        .graphql(
            "mutation { logIn(input: { email: \"gus@partner.example\", password: \"violet tractor umbrella 42\" }) { accessToken } }",
            json!({}),
            None,
        )
        .await;
    assert_error(&log_in, "UNAUTHENTICATED");
    // Nobody promotes a guest.
    let members = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { members { edges { node { id isGuest } } } } }",
            json!({ "id": org.id }),
            Some(&ann.token),
        )
        .await;
    let guest_member = members["data"]["organization"]["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["isGuest"] == true)
        .unwrap()["node"]["id"]
        .clone();
    let promote = app
        .graphql(
            "mutation($m: ID!) { updateMemberRole(input: { memberId: $m, role: MEMBER }) { member { role } } }",
            json!({ "m": guest_member }),
            Some(&ann.token),
        )
        .await;
    assert_error(&promote, "FORBIDDEN");

    // Converted to a full account, they sign in with a password and may
    // create an organization; the guest membership ends with the guest
    // account (security review M3: `guest_limits.rs`), so nobody promotes
    // it.
    let converted = app
        .graphql(
            "mutation { convertGuestAccount(input: { password: \"violet tractor umbrella 42\", name: \"Gus\" }) { user { name } } }",
            json!({}),
            Some(&guest),
        )
        .await;
    assert_ok(&converted);
    let log_in = app
        .graphql(
            "mutation { logIn(input: { email: \"gus@partner.example\", password: \"violet tractor umbrella 42\" }) { accessToken } }",
            json!({}),
            None,
        )
        .await;
    assert_ok(&log_in);
    let own = app
        .graphql(
            "mutation { createOrganization(input: { name: \"Gus Inc\" }) { organization { id } } }",
            json!({}),
            Some(&guest),
        )
        .await;
    assert_ok(&own);
}

#[tokio::test]
async fn turning_guest_access_off_ends_every_guests_access_at_once() {
    let (app, ann, org, bob) = setting().await;
    let first = guest_in(&app, &ann, &org, "gus@partner.example").await;
    // A second session, by a mailed sign-in link.
    let asked = app
        .graphql(REQUEST, json!({ "e": "gus@partner.example" }), None)
        .await;
    assert_ok(&asked);
    let token = app
        .link_token("gus@partner.example", "Your orgql sign-in link", 1)
        .await;
    let signed_in = app.graphql(SIGN_IN, json!({ "t": token }), None).await;
    assert_ok(&signed_in);
    assert_eq!(signed_in["data"]["signInWithLink"]["amr"], json!(["email"]));
    let second = signed_in["data"]["signInWithLink"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // The link works once.
    let reused = app.graphql(SIGN_IN, json!({ "t": token }), None).await;
    assert_error(&reused, "BAD_USER_INPUT");
    for session in [&first, &second] {
        let seen = app
            .graphql(VIEW, json!({ "id": org.id }), Some(session))
            .await;
        assert_ok(&seen);
    }
    let audit_before = app.audit_count().await;

    guest_access(&app, &ann, &org, false).await;

    for session in [&first, &second] {
        let seen = app
            .graphql(
                "query($id: ID!) { organization(id: $id) { id } }",
                json!({ "id": org.id }),
                Some(session),
            )
            .await;
        assert_eq!(seen["data"]["organization"], Value::Null, "{seen}");
    }
    // Audited: the policy change and the guest's removal.
    assert_eq!(app.audit_count().await, audit_before + 2);
    let removal = app.last_audit().await;
    assert_eq!(removal.action, "member.removed");
    assert_eq!(removal.metadata["reason"], "guestAccessDisabled");
    // Members keep theirs.
    let kept = app
        .graphql(VIEW, json!({ "id": org.id }), Some(&bob.token))
        .await;
    assert_eq!(kept["data"]["organization"]["members"]["totalCount"], 2);
    // And no new guest gets in while it is off.
    let invited = app
        .graphql(
            INVITE,
            json!({ "input": { "organizationId": org.id, "email": "new@partner.example", "guest": true } }),
            Some(&ann.token),
        )
        .await;
    assert_error(&invited, "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_guest_link_lets_a_proven_address_in_as_a_guest() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let create = "mutation($o: ID!) { createJoinCode(input: { organizationId: $o, guest: true }) { code joinCode { role guest } } }";
    let refused = app
        .graphql(create, json!({ "o": org.id }), Some(&ann.token))
        .await;
    assert_error(&refused, "BAD_USER_INPUT");
    guest_access(&app, &ann, &org, true).await;
    let created = app
        .graphql(create, json!({ "o": org.id }), Some(&ann.token))
        .await;
    assert_ok(&created);
    assert_eq!(
        created["data"]["createJoinCode"]["joinCode"]["role"],
        "VIEWER"
    );
    let code = created["data"]["createJoinCode"]["code"].as_str().unwrap();

    let wrong = app
        .graphql(
            REQUEST,
            json!({ "e": "gil@partner.example", "c": "not-a-code" }),
            None,
        )
        .await;
    assert_error(&wrong, "JOIN_CODE_INVALID");
    let asked = app
        .graphql(
            REQUEST,
            json!({ "e": "gil@partner.example", "c": code }),
            None,
        )
        .await;
    assert_ok(&asked);
    let token = app
        .link_token("gil@partner.example", "Your orgql sign-in link", 1)
        .await;
    let signed_in = app.graphql(SIGN_IN, json!({ "t": token }), None).await;
    assert_ok(&signed_in);
    let guest = signed_in["data"]["signInWithLink"]["accessToken"]
        .as_str()
        .unwrap();
    let seen = app
        .graphql(VIEW, json!({ "id": org.id }), Some(guest))
        .await;
    assert_eq!(
        seen["data"]["organization"]["viewerMembership"]["role"],
        "VIEWER"
    );
    assert_eq!(
        seen["data"]["organization"]["viewerMembership"]["isGuest"],
        true
    );

    // A full account is never signed in by email alone: it gets a notice
    // with no link, and the same answer.
    let bob = app.sign_up("Bob").await;
    let asked = app
        .graphql(REQUEST, json!({ "e": bob.email, "c": code }), None)
        .await;
    assert_ok(&asked);
    let notice = app
        .emails(&bob.email, "Sign in to orgql with your password", 1)
        .await;
    assert!(!notice[0].contains("token="), "{}", notice[0]);
}

#[tokio::test]
async fn asking_for_sign_in_links_is_rate_limited() {
    let app = spawn_app_with(|c| c.rate_limit_per_account = 3).await;
    let mut last = Value::Null;
    for _ in 0..4 {
        last = app
            .graphql(REQUEST, json!({ "e": "gus@partner.example" }), None)
            .await;
    }
    assert_error(&last, "RATE_LIMITED");
}
