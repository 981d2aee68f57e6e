//! What an attacker tried (issue #11), each reproduced over HTTP and
//! refused: tokens that outrank or outlive their creator, owner-only powers
//! in a machine's hands, the seat limit passed by a resent invitation, the
//! allowlist skipped by accepting an invitation or read in a list,
//! ADMINs cutting OWNERs off. (Attacks at the HTTP edge: `edge_hardening`.)

use chrono::{Duration, Utc};
use entity::values::{Role, Tier};
use sea_orm::{EntityTrait, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::*;

const CREATE_TOKEN: &str =
    "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }";
const CHANGE_ROLE: &str = "mutation($id: ID!, $role: Role!) { updateMemberRole(input: { memberId: $id, role: $role }) { member { role } } }";
const POLICY: &str = "mutation($input: UpdatePolicyInput!) { updatePolicy(input: $input) { policy { ipAllowlistEnabled } } }";

async fn mint(app: &TestApp, token: &str, org: &TestOrg, scopes: Value) -> Value {
    app.graphql(
        CREATE_TOKEN,
        json!({ "input": { "organizationId": org.id, "name": "ci", "scopes": scopes } }),
        Some(token),
    )
    .await
}

fn secret(response: &Value) -> String {
    response["data"]["createApiToken"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {response}"))
        .to_owned()
}

#[tokio::test]
async fn a_member_cannot_outrank_itself_through_a_token() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (max, max_id) = app.member_of(&org, Role::Member, "Max").await;
    let grant = json!({ "input": { "organizationId": org.id, "rolePermissions": [
        { "role": "MEMBER", "grant": ["MEMBERS_MANAGE", "TOKENS_MANAGE"], "withdraw": [] }
    ] } });
    assert_ok(&app.graphql(POLICY, grant, Some(&ann.token)).await);

    // As a person, Max may not make himself ADMIN …
    let direct = app
        .graphql(
            CHANGE_ROLE,
            json!({ "id": max_id, "role": "ADMIN" }),
            Some(&max.token),
        )
        .await;
    assert_error(&direct, "FORBIDDEN");
    // … and a token he mints acts no higher than he does.
    let token = secret(&mint(&app, &max.token, &org, json!(["MEMBERS_MANAGE"])).await);
    let through_token = app
        .graphql(
            CHANGE_ROLE,
            json!({ "id": max_id, "role": "ADMIN" }),
            Some(&token),
        )
        .await;
    assert_error(&through_token, "FORBIDDEN");
}

#[tokio::test]
async fn a_token_loses_what_its_creator_loses_and_dies_with_the_membership() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (ada, ada_id) = app.member_of(&org, Role::Admin, "Ada").await;
    let token = secret(
        &mint(
            &app,
            &ada.token,
            &org,
            json!(["ORG_VIEW", "MEMBERS_MANAGE"]),
        )
        .await,
    );
    let members = "query($id: ID!) { organization(id: $id) { invitations { totalCount } } }";
    assert_ok(
        &app.graphql(members, json!({ "id": org.id }), Some(&token))
            .await,
    );

    // Demoted, Ada no longer manages members: neither does her token.
    assert_ok(
        &app.graphql(
            CHANGE_ROLE,
            json!({ "id": ada_id, "role": "VIEWER" }),
            Some(&ann.token),
        )
        .await,
    );
    assert_error(
        &app.graphql(members, json!({ "id": org.id }), Some(&token))
            .await,
        "FORBIDDEN",
    );
    // Removed, her token stops working at all.
    let remove =
        "mutation($id: ID!) { removeMember(input: { memberId: $id }) { removedMemberId } }";
    assert_ok(
        &app.graphql(remove, json!({ "id": ada_id }), Some(&ann.token))
            .await,
    );
    assert_error(
        &app.graphql("{ organizations { totalCount } }", json!({}), Some(&token))
            .await,
        "UNAUTHENTICATED",
    );
}

#[tokio::test]
async fn tokens_cannot_make_tokens_nor_hold_owner_only_powers() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let token = secret(&mint(&app, &ann.token, &org, json!(["ORG_VIEW", "TOKENS_MANAGE"])).await);
    assert_error(
        &mint(&app, &token, &org, json!(["ORG_VIEW"])).await,
        "FORBIDDEN",
    );
    // Even the owner cannot hand org:delete or ownership:transfer to a
    // machine.
    for scope in ["ORG_DELETE", "OWNERSHIP_TRANSFER"] {
        let refused = mint(&app, &ann.token, &org, json!([scope])).await;
        assert_error(&refused, "BAD_USER_INPUT");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "scopes");
    }
    let delete = "mutation($id: ID!, $slug: String!) { deleteOrganization(input: { organizationId: $id, confirmSlug: $slug }) { deletedOrganizationId } }";
    let attempt = app
        .graphql(
            delete,
            json!({ "id": org.id, "slug": org.slug }),
            Some(&token),
        )
        .await;
    assert_error(&attempt, "FORBIDDEN");
}

#[tokio::test]
async fn resending_an_invitation_that_expired_unnoticed_respects_the_seat_limit() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Free).await;
    let invite = "mutation($o: ID!, $e: String!) { createInvitation(input: { organizationId: $o, email: $e }) { invitation { id } } }";
    let first = app
        .graphql(
            invite,
            json!({ "o": org.id, "e": "one@example.com" }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&first);
    let first_id = first["data"]["createInvitation"]["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // It expires but is still stored as PENDING; its seat frees up …
    entity::invitation::Entity::update_many()
        .col_expr(
            entity::invitation::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::hours(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    // … and someone else takes it (FREE: 2 seats, Ann holds one).
    assert_ok(
        &app.graphql(
            invite,
            json!({ "o": org.id, "e": "two@example.com" }),
            Some(&ann.token),
        )
        .await,
    );
    let resend = "mutation($id: ID!) { resendInvitation(input: { invitationId: $id }) { invitation { id } } }";
    let revived = app
        .graphql(resend, json!({ "id": first_id }), Some(&ann.token))
        .await;
    assert_error(&revived, "TIER_LIMIT_EXCEEDED");
}

#[tokio::test]
async fn accepting_an_invitation_from_outside_the_allowlist_is_refused() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let invite = "mutation($o: ID!, $e: String!) { createInvitation(input: { organizationId: $o, email: $e }) { token } }";
    let bob = app.sign_up("Bob").await;
    let sent = app
        .graphql(
            invite,
            json!({ "o": org.id, "e": bob.email }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&sent);
    let token = sent["data"]["createInvitation"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The test client connects from 127.0.0.1; allow only that, turn the
    // allowlist on, then move the allowed network elsewhere.
    let add = "mutation($o: ID!, $c: String!) { addIpAllowlistEntry(input: { organizationId: $o, cidr: $c }) { entry { id } } }";
    let own = app
        .graphql(
            add,
            json!({ "o": org.id, "c": "127.0.0.1/32" }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&own);
    assert_ok(
        &app.graphql(
            add,
            json!({ "o": org.id, "c": "203.0.113.0/24" }),
            Some(&ann.token),
        )
        .await,
    );
    let on = json!({ "input": { "organizationId": org.id, "ipAllowlistEnabled": true } });
    assert_ok(&app.graphql(POLICY, on, Some(&ann.token)).await);
    let own_id = own["data"]["addIpAllowlistEntry"]["entry"]["id"].clone();
    entity::ip_allowlist_entry::Entity::delete_by_id(
        orgql::domain::ids::parse_uuid::<orgql::domain::ids::IpAllowlistEntryId>(
            own_id.as_str().unwrap(),
            "id",
        )
        .unwrap(),
    )
    .exec(&app.db)
    .await
    .unwrap();

    let accept =
        "mutation($t: String!) { acceptInvitation(input: { token: $t }) { member { id } } }";
    let refused = app
        .graphql(accept, json!({ "t": token }), Some(&bob.token))
        .await;
    assert_error(&refused, "IP_NOT_ALLOWED");
}

#[tokio::test]
async fn lists_leave_out_an_organization_whose_allowlist_refuses_the_caller() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let open = app.create_org(&ann, "Open").await;
    let closed = app.create_org(&ann, "Closed").await;
    let add = "mutation($o: ID!, $c: String!) { addIpAllowlistEntry(input: { organizationId: $o, cidr: $c }) { entry { id } } }";
    let own = app
        .graphql(
            add,
            json!({ "o": closed.id, "c": "127.0.0.0/8" }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&own);
    let on = json!({ "input": { "organizationId": closed.id, "ipAllowlistEnabled": true } });
    assert_ok(&app.graphql(POLICY, on, Some(&ann.token)).await);
    let lists = "{ organizations { totalCount edges { node { name } } } viewer { memberships { organization { name } } } }";
    // From an allowed address both show.
    let allowed = app.graphql(lists, json!({}), Some(&ann.token)).await;
    assert_ok(&allowed);
    assert_eq!(allowed["data"]["organizations"]["totalCount"], 2);
    assert_eq!(
        allowed["data"]["viewer"]["memberships"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // From elsewhere the closed organization is not there at all.
    entity::ip_allowlist_entry::Entity::update_many()
        .col_expr(
            entity::ip_allowlist_entry::Column::Cidr,
            Expr::value("203.0.113.0/24"),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let refused = app.graphql(lists, json!({}), Some(&ann.token)).await;
    assert_ok(&refused);
    assert_eq!(refused["data"]["organizations"]["totalCount"], 1);
    assert_eq!(
        refused["data"]["organizations"]["edges"][0]["node"]["name"],
        "Open"
    );
    let memberships = refused["data"]["viewer"]["memberships"].as_array().unwrap();
    assert_eq!(memberships.len(), 1);
    assert!(!refused.to_string().contains("Closed"), "{refused}");
    let _ = (&open, &closed);
}

#[tokio::test]
async fn an_admin_cuts_off_those_below_but_never_the_owner_and_only_here() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    // Max also belongs to another organization of his own.
    let elsewhere = app.create_org(&max, "Elsewhere").await;
    let revoke = "mutation($id: ID!) { revokeOrganizationSessions(input: { organizationId: $id }) { revokedSessions } }";
    let done = app
        .graphql(revoke, json!({ "id": org.id }), Some(&ada.token))
        .await;
    assert_ok(&done);
    let read = "query($id: ID!) { organization(id: $id) { members { totalCount } } }";
    // The OWNER keeps access; the MEMBER and the ADMIN herself lose it …
    assert_ok(
        &app.graphql(read, json!({ "id": org.id }), Some(&ann.token))
            .await,
    );
    for cut in [&max, &ada] {
        assert_error(
            &app.graphql(read, json!({ "id": org.id }), Some(&cut.token))
                .await,
            "UNAUTHENTICATED",
        );
    }
    // … here only: Max's session still works in his other organization.
    assert_ok(
        &app.graphql(read, json!({ "id": elsewhere.id }), Some(&max.token))
            .await,
    );
    assert!(
        done["data"]["revokeOrganizationSessions"]["revokedSessions"]
            .as_u64()
            .unwrap()
            >= 2
    );
}

#[tokio::test]
async fn a_domain_another_tenant_claimed_is_neither_confirmed_nor_blocked() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let bob = app.sign_up("Bob").await;
    let first = app.create_org(&ann, "First").await;
    let second = app.create_org(&bob, "Second").await;
    let claim = "mutation($o: ID!, $d: String) { updateOrganization(input: { organizationId: $o, domain: $d }) { organization { domain } } }";
    assert_ok(
        &app.graphql(
            claim,
            json!({ "o": first.id, "d": "victimcorp.com" }),
            Some(&ann.token),
        )
        .await,
    );
    // Bob's organization may state the same (unverified) domain: nothing
    // tells him that another tenant claimed it.
    let same = app
        .graphql(
            claim,
            json!({ "o": second.id, "d": "victimcorp.com" }),
            Some(&bob.token),
        )
        .await;
    assert_ok(&same);
    assert_eq!(
        same["data"]["updateOrganization"]["organization"]["domain"],
        "victimcorp.com"
    );
}

#[tokio::test]
async fn private_account_facts_are_told_to_the_person_only() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let facts = "emailVerified mfaEnabled isPlatformAdmin";
    let own = app
        .graphql(
            &format!("{{ viewer {{ user {{ {facts} }} }} }}"),
            json!({}),
            Some(&max.token),
        )
        .await;
    assert_ok(&own);
    let user = &own["data"]["viewer"]["user"];
    for field in ["emailVerified", "mfaEnabled", "isPlatformAdmin"] {
        assert!(user[field].is_boolean(), "{own}");
    }
    // Another member sees Max, but not these.
    let others = app
        .graphql(
            &format!("query($id: ID!) {{ organization(id: $id) {{ members {{ edges {{ node {{ user {{ name {facts} }} }} }} }} }} }}"),
            json!({ "id": org.id }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&others);
    let edges = others["data"]["organization"]["members"]["edges"]
        .as_array()
        .unwrap();
    let max_row = edges
        .iter()
        .map(|e| &e["node"]["user"])
        .find(|u| u["name"] == "Max")
        .unwrap();
    for field in ["emailVerified", "mfaEnabled", "isPlatformAdmin"] {
        assert!(max_row[field].is_null(), "{others}");
    }
}
