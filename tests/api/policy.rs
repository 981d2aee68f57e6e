//! The governance policy: every field's effect, both ways, and the IP
//! allowlist from allowed and refused addresses, direct and through a
//! trusted proxy.

use entity::values::{Role, Tier};
use sea_orm::{EntityTrait, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::*;

const UPDATE: &str = "mutation($input: UpdatePolicyInput!) { updatePolicy(input: $input) { policy {
    sessionTimeoutHours invitationTtlHours allowedEmailDomains ipAllowlistEnabled apiKeyMaxAgeDays
    rolePermissions { role grant withdraw } updatedAt updatedBy { name } } } }";

async fn update(app: &TestApp, actor: &TestUser, org: &TestOrg, mut input: Value) -> Value {
    input["organizationId"] = json!(org.id);
    app.graphql(UPDATE, json!({ "input": input }), Some(&actor.token))
        .await
}

#[tokio::test]
async fn members_read_the_default_policy_and_only_policy_managers_change_it() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let read = app
        .graphql("query($id: ID!) { organization(id: $id) { policy { invitationTtlHours ipAllowlistEnabled allowedEmailDomains updatedAt } } }", json!({ "id": org.id }), Some(&max.token))
        .await;
    assert_ok(&read);
    assert_eq!(
        read["data"]["organization"]["policy"]["invitationTtlHours"],
        24
    );
    assert!(read["data"]["organization"]["policy"]["updatedAt"].is_null());
    assert_error(
        &update(&app, &max, &org, json!({ "invitationTtlHours": 48 })).await,
        "FORBIDDEN",
    );
    let changed = update(&app, &ann, &org, json!({ "invitationTtlHours": 48 })).await;
    assert_ok(&changed);
    assert_eq!(
        changed["data"]["updatePolicy"]["policy"]["updatedBy"]["name"],
        "Ann"
    );
    let entry = app.last_audit().await;
    assert_eq!(entry.action, "policy.updated");
    assert_eq!(
        (
            entry.metadata["before"]["invitationTtlHours"].as_u64(),
            entry.metadata["after"]["invitationTtlHours"].as_u64()
        ),
        (Some(24), Some(48))
    );
    assert_error(
        &update(&app, &ann, &org, json!({ "invitationTtlHours": 169 })).await,
        "BAD_USER_INPUT",
    );
}

#[tokio::test]
async fn the_invitation_lifetime_sets_the_default_expiry() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    assert_ok(&update(&app, &ann, &org, json!({ "invitationTtlHours": 48 })).await);
    let sent = app
        .graphql("mutation($o: ID!) { createInvitation(input: { organizationId: $o, email: \"a@example.com\" }) { invitation { expiresAt } } }", json!({ "o": org.id }), Some(&ann.token))
        .await;
    let expires: chrono::DateTime<chrono::Utc> =
        sent["data"]["createInvitation"]["invitation"]["expiresAt"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    let hours = (expires - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((47.0..=48.0).contains(&hours), "{hours}");
}

#[tokio::test]
async fn allowed_email_domains_bound_invitations_and_joins() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let code = app
        .graphql(
            "mutation($o: ID!) { createJoinCode(input: { organizationId: $o }) { code } }",
            json!({ "o": org.id }),
            Some(&ann.token),
        )
        .await["data"]["createJoinCode"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ok(
        &update(
            &app,
            &ann,
            &org,
            json!({ "allowedEmailDomains": ["ACME.example"] }),
        )
        .await,
    );
    let invite = "mutation($o: ID!, $e: String!) { createInvitation(input: { organizationId: $o, email: $e }) { invitation { id } } }";
    let outside = app
        .graphql(
            invite,
            json!({ "o": org.id, "e": "x@other.example" }),
            Some(&ann.token),
        )
        .await;
    assert_error(&outside, "BAD_USER_INPUT");
    assert_eq!(outside["errors"][0]["extensions"]["field"], "email");
    assert_ok(
        &app.graphql(
            invite,
            json!({ "o": org.id, "e": "x@acme.example" }),
            Some(&ann.token),
        )
        .await,
    );
    let stranger = app.sign_up("Sam").await; // @example.com
    let join = app
        .graphql(
            "mutation($c: String!) { joinOrganization(input: { code: $c }) { role } }",
            json!({ "c": code }),
            Some(&stranger.token),
        )
        .await;
    assert_error(&join, "BAD_USER_INPUT");
}

#[tokio::test]
async fn sessions_older_than_the_timeout_are_refused_in_that_organization_only() {
    // The session is aged in the database behind the server's back: no
    // session cache, which would learn of it only by notice
    // (`session_cache.rs`). The timeout is checked on every request.
    let app = spawn_app_with(|c| c.session_cache = false).await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let other = app.create_org(&ann, "Other").await;
    assert_ok(&update(&app, &ann, &org, json!({ "sessionTimeoutHours": 1 })).await);
    let read = "query($id: ID!) { organization(id: $id) { members { totalCount } } }";
    assert_ok(
        &app.graphql(read, json!({ "id": org.id }), Some(&ann.token))
            .await,
    );
    entity::session::Entity::update_many()
        .col_expr(
            entity::session::Column::CreatedAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::hours(2)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    assert_error(
        &app.graphql(read, json!({ "id": org.id }), Some(&ann.token))
            .await,
        "UNAUTHENTICATED",
    );
    assert_ok(
        &app.graphql(read, json!({ "id": other.id }), Some(&ann.token))
            .await,
    );
}

#[tokio::test]
async fn role_permissions_grant_and_withdraw_but_never_owner_only_ones() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let team = app.create_team(&ann, &org, "Core", None).await;
    let rename = "mutation($t: ID!) { updateTeam(input: { teamId: $t, name: \"Renamed\" }) { team { name } } }";
    assert_error(
        &app.graphql(rename, json!({ "t": team }), Some(&max.token))
            .await,
        "FORBIDDEN",
    );
    let set = update(&app, &ann, &org, json!({ "rolePermissions": [{ "role": "MEMBER", "grant": ["TEAMS_MANAGE"], "withdraw": ["TEAMS_CREATE"] }] })).await;
    assert_ok(&set);
    assert_ok(
        &app.graphql(rename, json!({ "t": team }), Some(&max.token))
            .await,
    );
    let create = app
        .graphql("mutation($o: ID!) { createTeam(input: { organizationId: $o, name: \"Mine\" }) { team { id } } }", json!({ "o": org.id }), Some(&max.token))
        .await;
    assert_error(&create, "FORBIDDEN");
    let owner_only = update(&app, &ann, &org, json!({ "rolePermissions": [{ "role": "ADMIN", "grant": ["ORG_DELETE"], "withdraw": [] }] })).await;
    assert_error(&owner_only, "BAD_USER_INPUT");
    let not_held = update(&app, &ada, &org, json!({ "rolePermissions": [{ "role": "MEMBER", "grant": ["BILLING_MANAGE"], "withdraw": [] }] })).await;
    assert_error(&not_held, "FORBIDDEN");
}

#[tokio::test]
async fn api_key_max_age_caps_token_lifetimes() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    assert_ok(&update(&app, &ann, &org, json!({ "apiKeyMaxAgeDays": 30 })).await);
    let create = "mutation($o: ID!, $d: Int) { createApiToken(input: { organizationId: $o, name: \"CI\", scopes: [ORG_VIEW], expiresInDays: $d }) { apiToken { expiresAt } } }";
    let long = app
        .graphql(create, json!({ "o": org.id, "d": 31 }), Some(&ann.token))
        .await;
    assert_error(&long, "BAD_USER_INPUT");
    assert_eq!(long["errors"][0]["extensions"]["field"], "expiresInDays");
    let default = app
        .graphql(create, json!({ "o": org.id }), Some(&ann.token))
        .await;
    let expires: chrono::DateTime<chrono::Utc> =
        default["data"]["createApiToken"]["apiToken"]["expiresAt"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    assert!((expires - chrono::Utc::now()).num_days() <= 30);
}

const ADD: &str = "mutation($o: ID!, $c: String!) { addIpAllowlistEntry(input: { organizationId: $o, cidr: $c, description: \"office\" }) { entry { id cidr } } }";
const MEMBERS: &str = "query($id: ID!) { organization(id: $id) { name members { totalCount } } }";

#[tokio::test]
async fn the_allowlist_refuses_outside_addresses_through_a_trusted_proxy_and_never_locks_out_its_manager()
 {
    let app = spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    assert_error(
        &app.graphql(
            ADD,
            json!({ "o": org.id, "c": "not-a-cidr" }),
            Some(&ann.token),
        )
        .await,
        "BAD_USER_INPUT",
    );
    let office = app
        .graphql(
            ADD,
            json!({ "o": org.id, "c": "203.0.113.7/24" }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(
        office["data"]["addIpAllowlistEntry"]["entry"]["cidr"],
        "203.0.113.0/24"
    );
    // Ann talks to the server directly, from 127.0.0.1: enabling now would shut her out.
    let refused = update(&app, &ann, &org, json!({ "ipAllowlistEnabled": true })).await;
    assert_error(&refused, "BAD_USER_INPUT");
    let local = app
        .graphql(
            ADD,
            json!({ "o": org.id, "c": "127.0.0.1" }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&local);
    assert_ok(&update(&app, &ann, &org, json!({ "ipAllowlistEnabled": true })).await);

    let via_proxy = |ip: &'static str| [("x-forwarded-for", ip)];
    // The address the allowlist sees is the one the viewer is told.
    let seen = app
        .graphql_with(
            "{ viewer { ipAddress } }",
            json!({}),
            Some(&ann.token),
            &via_proxy("203.0.113.50"),
        )
        .await;
    assert_eq!(seen["data"]["viewer"]["ipAddress"], "203.0.113.50");
    let direct = app
        .graphql("{ viewer { ipAddress } }", json!({}), Some(&ann.token))
        .await;
    assert_eq!(direct["data"]["viewer"]["ipAddress"], "127.0.0.1");
    assert_ok(
        &app.graphql_with(
            MEMBERS,
            json!({ "id": org.id }),
            Some(&ann.token),
            &via_proxy("203.0.113.50"),
        )
        .await,
    );
    let outside = app
        .graphql_with(
            MEMBERS,
            json!({ "id": org.id }),
            Some(&ann.token),
            &via_proxy("198.51.100.9"),
        )
        .await;
    assert_error(&outside, "IP_NOT_ALLOWED");
    let write = app
        .graphql_with("mutation($id: ID!) { updateOrganization(input: { organizationId: $id, name: \"X\" }) { organization { id } } }", json!({ "id": org.id }), Some(&ann.token), &via_proxy("198.51.100.9"))
        .await;
    assert_error(&write, "IP_NOT_ALLOWED");

    // Removing the entry Ann stands on would lock her out.
    let remove =
        "mutation($id: ID!) { removeIpAllowlistEntry(input: { entryId: $id }) { removedEntryId } }";
    let local_id = local["data"]["addIpAllowlistEntry"]["entry"]["id"].clone();
    assert_error(
        &app.graphql(remove, json!({ "id": local_id }), Some(&ann.token))
            .await,
        "BAD_USER_INPUT",
    );
    let office_id = office["data"]["addIpAllowlistEntry"]["entry"]["id"].clone();
    assert_ok(
        &app.graphql(remove, json!({ "id": office_id }), Some(&ann.token))
            .await,
    );
}

#[tokio::test]
async fn forwarded_addresses_from_untrusted_peers_are_ignored() {
    let app = spawn_app().await; // no trusted proxies
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    assert_ok(
        &app.graphql(
            ADD,
            json!({ "o": org.id, "c": "127.0.0.1/32" }),
            Some(&ann.token),
        )
        .await,
    );
    assert_ok(&update(&app, &ann, &org, json!({ "ipAllowlistEnabled": true })).await);
    // A forged header does not move the client off 127.0.0.1 ...
    assert_ok(
        &app.graphql_with(
            MEMBERS,
            json!({ "id": org.id }),
            Some(&ann.token),
            &[("x-forwarded-for", "198.51.100.9")],
        )
        .await,
    );
    // ... nor onto an allowed network when the real address is outside.
    entity::ip_allowlist_entry::Entity::update_many()
        .col_expr(
            entity::ip_allowlist_entry::Column::Cidr,
            Expr::value("203.0.113.0/24"),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let spoofed = app
        .graphql_with(
            MEMBERS,
            json!({ "id": org.id }),
            Some(&ann.token),
            &[("x-forwarded-for", "203.0.113.9")],
        )
        .await;
    assert_error(&spoofed, "IP_NOT_ALLOWED");
}

#[tokio::test]
async fn nobody_changes_the_permissions_of_owners_or_of_their_own_rank() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let owners = update(&app, &ada, &org, json!({ "rolePermissions": [{ "role": "OWNER", "grant": [], "withdraw": ["POLICIES_MANAGE"] }] })).await;
    assert_error(&owners, "BAD_USER_INPUT");
    let admins = update(&app, &ada, &org, json!({ "rolePermissions": [{ "role": "ADMIN", "grant": [], "withdraw": ["MEMBERS_MANAGE"] }] })).await;
    assert_error(&admins, "FORBIDDEN");
    // The owner sets an ADMIN override; an admin's later change to MEMBER keeps it.
    assert_ok(&update(&app, &ann, &org, json!({ "rolePermissions": [{ "role": "ADMIN", "grant": [], "withdraw": ["TOKENS_MANAGE"] }] })).await);
    let kept = update(&app, &ada, &org, json!({ "rolePermissions": [{ "role": "MEMBER", "grant": [], "withdraw": ["TEAMS_CREATE"] }] })).await;
    let overrides = kept["data"]["updatePolicy"]["policy"]["rolePermissions"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(overrides.len(), 2, "{kept}");
}

#[tokio::test]
async fn withdrawing_members_view_hides_users_from_node_lookups_too() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (vera, _) = app.member_of(&org, Role::Viewer, "Vera").await;
    let query = "query($id: ID!) { node(id: $id) { ... on User { email isPlatformAdmin } } }";
    let seen = app
        .graphql(query, json!({ "id": ann.id }), Some(&vera.token))
        .await;
    assert_eq!(seen["data"]["node"]["email"], ann.email);
    assert!(
        seen["data"]["node"]["isPlatformAdmin"].is_null(),
        "told only to oneself and platform admins"
    );
    assert_ok(&update(&app, &ann, &org, json!({ "rolePermissions": [{ "role": "VIEWER", "grant": [], "withdraw": ["MEMBERS_VIEW"] }] })).await);
    let hidden = app
        .graphql(query, json!({ "id": ann.id }), Some(&vera.token))
        .await;
    assert!(hidden["data"]["node"].is_null(), "{hidden}");
}
