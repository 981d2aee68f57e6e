//! Creating, reading, listing, changing, deleting and suspending
//! organizations.

use entity::values::Role;
use serde_json::json;

use crate::helpers::*;

const UPDATE: &str = "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { name website } } }";

#[tokio::test]
async fn the_creator_becomes_owner_of_an_active_free_organization() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let response = app
        .graphql(
            "mutation { createOrganization(input: { name: \"Acme, Inc.\", domain: \"Acme.com\" }) {
                organization { slug domain status tier viewerMembership { role user { email } } }
                membership { role } } }",
            json!({}),
            Some(&ann.token),
        )
        .await;
    assert_ok(&response);
    let org = &response["data"]["createOrganization"]["organization"];
    assert_eq!(org["slug"], "acme-inc");
    assert_eq!(org["domain"], "acme.com");
    assert_eq!(org["status"], "ACTIVE");
    assert_eq!(org["tier"], "FREE");
    assert_eq!(org["viewerMembership"]["role"], "OWNER");
    let entry = app.last_audit().await;
    assert_eq!(entry.action, "organization.created");
    assert_eq!(entry.actor_email.as_deref(), Some(ann.email.as_str()));
}

#[tokio::test]
async fn a_derived_slug_that_is_taken_gets_a_suffix_and_a_chosen_one_conflicts() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let first = app.create_org(&ann, "Acme").await;
    let second = app.create_org(&ann, "Acme").await;
    assert_eq!(first.slug, "acme");
    assert_eq!(second.slug, "acme-2");
    let before = app.audit_count().await;
    let response = app
        .graphql("mutation { createOrganization(input: { name: \"X\", slug: \"acme\" }) { organization { id } } }", json!({}), Some(&ann.token))
        .await;
    assert_error(&response, "CONFLICT");
    assert_eq!(response["errors"][0]["extensions"]["field"], "slug");
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn malformed_organization_input_names_the_field() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    for (input, field) in [
        (json!({ "name": "Acme", "slug": "Not A Slug" }), "slug"),
        (json!({ "name": "" }), "name"),
        (
            json!({ "name": "Acme", "website": "javascript:alert(1)" }),
            "website",
        ),
        (
            json!({ "name": "Acme", "domain": "not a domain" }),
            "domain",
        ),
        (json!({ "name": "Ac\u{0}me" }), "name"),
    ] {
        let response = app
            .graphql(
                "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }",
                json!({ "input": input }),
                Some(&ann.token),
            )
            .await;
        assert_error(&response, "BAD_USER_INPUT");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
}

#[tokio::test]
async fn an_organization_is_found_by_id_and_by_slug() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let by_id = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { slug } }",
            json!({ "id": org.id }),
            Some(&ann.token),
        )
        .await;
    let by_slug = app
        .graphql(
            "query($s: String!) { organization(slug: $s) { id } }",
            json!({ "s": org.slug }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(by_id["data"]["organization"]["slug"], org.slug);
    assert_eq!(by_slug["data"]["organization"]["id"], org.id);
}

#[tokio::test]
async fn an_admin_updates_settings_and_the_audit_keeps_before_and_after() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (admin, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let response = app
        .graphql(UPDATE, json!({ "input": { "organizationId": org.id, "name": "Acme Two", "website": "https://acme.example" } }), Some(&admin.token))
        .await;
    assert_ok(&response);
    assert_eq!(
        response["data"]["updateOrganization"]["organization"]["name"],
        "Acme Two"
    );
    let entry = app.last_audit().await;
    assert_eq!(entry.action, "organization.updated");
    assert_eq!(entry.metadata["before"]["name"], "Acme");
    assert_eq!(entry.metadata["after"]["name"], "Acme Two");
    assert!(entry.request_id.is_some());
    assert!(entry.ip_address.is_some());
}

#[tokio::test]
async fn a_member_may_not_change_settings() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (member, _) = app.member_of(&org, Role::Member, "Max").await;
    let response = app
        .graphql(
            UPDATE,
            json!({ "input": { "organizationId": org.id, "name": "Mine" } }),
            Some(&member.token),
        )
        .await;
    assert_error(&response, "FORBIDDEN");
}

#[tokio::test]
async fn only_the_owner_deletes_and_only_with_the_slug_repeated() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (admin, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let delete = "mutation($input: DeleteOrganizationInput!) { deleteOrganization(input: $input) { deletedOrganizationId } }";
    let by_admin = app
        .graphql(
            delete,
            json!({ "input": { "organizationId": org.id, "confirmSlug": org.slug } }),
            Some(&admin.token),
        )
        .await;
    assert_error(&by_admin, "FORBIDDEN");
    let wrong_slug = app
        .graphql(
            delete,
            json!({ "input": { "organizationId": org.id, "confirmSlug": "nope" } }),
            Some(&ann.token),
        )
        .await;
    assert_error(&wrong_slug, "BAD_USER_INPUT");
    let ok = app
        .graphql(
            delete,
            json!({ "input": { "organizationId": org.id, "confirmSlug": org.slug } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&ok);
    let gone = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { id } }",
            json!({ "id": org.id }),
            Some(&ann.token),
        )
        .await;
    assert!(gone["data"]["organization"].is_null());
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        entity::member::Entity::find().count(&app.db).await.unwrap(),
        0,
        "members go with it"
    );
    assert_eq!(app.last_audit().await.action, "organization.deleted");
}

#[tokio::test]
async fn the_viewer_lists_only_their_organizations_and_an_admin_lists_all() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let bob = app.sign_up("Bob").await;
    app.create_org(&ann, "Acme").await;
    app.create_org(&ann, "Acme Labs").await;
    app.create_org(&bob, "Bobco").await;
    let list = "query($f: OrganizationFilterInput) { organizations(filter: $f) { totalCount edges { node { slug } } } }";
    let anns = app.graphql(list, json!({}), Some(&ann.token)).await;
    assert_eq!(anns["data"]["organizations"]["totalCount"], 2);

    orgql::domain::accounts::grant_platform_admin(&app.db, &bob.email)
        .await
        .unwrap();
    let all = app.graphql(list, json!({}), Some(&bob.token)).await;
    assert_eq!(all["data"]["organizations"]["totalCount"], 3);
    let searched = app
        .graphql(
            list,
            json!({ "f": { "search": "LABS", "tier": "FREE", "status": "ACTIVE" } }),
            Some(&bob.token),
        )
        .await;
    assert_eq!(
        searched["data"]["organizations"]["edges"][0]["node"]["slug"],
        "acme-labs"
    );
    assert_eq!(searched["data"]["organizations"]["totalCount"], 1);
}

#[tokio::test]
async fn pages_follow_cursors_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    for i in 0..5 {
        app.create_org(&ann, &format!("Org {i}")).await;
    }
    let query = "query($after: String) { organizations(first: 2, after: $after) { edges { cursor node { slug } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let page = app
            .graphql(query, json!({ "after": after }), Some(&ann.token))
            .await;
        assert_ok(&page);
        let connection = &page["data"]["organizations"];
        for edge in connection["edges"].as_array().unwrap() {
            seen.push(edge["node"]["slug"].as_str().unwrap().to_owned());
        }
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ["org-0", "org-1", "org-2", "org-3", "org-4"]);
}

#[tokio::test]
async fn page_sizes_outside_the_bounds_are_refused() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    for first in [-1, 101] {
        let response = app
            .graphql(
                "query($n: Int) { organizations(first: $n) { totalCount } }",
                json!({ "n": first }),
                Some(&ann.token),
            )
            .await;
        assert_error(&response, "BAD_USER_INPUT");
        assert_eq!(response["errors"][0]["extensions"]["field"], "first");
    }
    let bad_cursor = app
        .graphql(
            "{ organizations(after: \"nope\") { totalCount } }",
            json!({}),
            Some(&ann.token),
        )
        .await;
    assert_error(&bad_cursor, "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_platform_admin_suspends_and_members_can_then_only_read() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let root = app.sign_up("Root").await;
    let org = app.create_org(&ann, "Acme").await;
    let suspend = "mutation($id: ID!) { suspendOrganization(input: { organizationId: $id, reason: \"unpaid\" }) { organization { status } } }";
    let reactivate = "mutation($id: ID!) { reactivateOrganization(input: { organizationId: $id }) { organization { status } } }";

    assert_error(
        &app.graphql(suspend, json!({ "id": org.id }), Some(&ann.token))
            .await,
        "FORBIDDEN",
    );
    assert_error(
        &app.graphql(suspend, json!({ "id": org.id }), Some(&root.token))
            .await,
        "NOT_FOUND",
    );

    orgql::domain::accounts::grant_platform_admin(&app.db, &root.email)
        .await
        .unwrap();
    let suspended = app
        .graphql(suspend, json!({ "id": org.id }), Some(&root.token))
        .await;
    assert_eq!(
        suspended["data"]["suspendOrganization"]["organization"]["status"],
        "SUSPENDED"
    );
    assert_eq!(
        app.last_audit().await.actor_kind,
        entity::values::ActorKind::PlatformAdmin
    );

    let read = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { name } }",
            json!({ "id": org.id }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&read);
    assert_error(
        &app.graphql(
            UPDATE,
            json!({ "input": { "organizationId": org.id, "name": "X" } }),
            Some(&ann.token),
        )
        .await,
        "FORBIDDEN",
    );

    let back = app
        .graphql(reactivate, json!({ "id": org.id }), Some(&root.token))
        .await;
    assert_eq!(
        back["data"]["reactivateOrganization"]["organization"]["status"],
        "ACTIVE"
    );
    assert_ok(
        &app.graphql(
            UPDATE,
            json!({ "input": { "organizationId": org.id, "name": "X" } }),
            Some(&ann.token),
        )
        .await,
    );
}

#[tokio::test]
async fn a_platform_admin_reads_any_organization_and_its_members_but_changes_nothing() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let root = app.sign_up("Root").await;
    let org = app.create_org(&ann, "Acme").await;
    orgql::domain::accounts::grant_platform_admin(&app.db, &root.email)
        .await
        .unwrap();
    let read = app
        .graphql("query($id: ID!) { organization(id: $id) { members { totalCount } viewerMembership { id } } }", json!({ "id": org.id }), Some(&root.token))
        .await;
    assert_ok(&read);
    assert_eq!(read["data"]["organization"]["members"]["totalCount"], 1);
    assert!(read["data"]["organization"]["viewerMembership"].is_null());
    assert_error(
        &app.graphql(
            UPDATE,
            json!({ "input": { "organizationId": org.id, "name": "X" } }),
            Some(&root.token),
        )
        .await,
        "FORBIDDEN",
    );
}

#[tokio::test]
async fn seeding_builds_organizations_with_members_teams_and_their_trail() {
    let app = spawn_app().await;
    orgql::cli::seed::seed(
        &app.db,
        orgql::cli::seed::SeedSize {
            organizations: 3,
            members: 10,
            teams: 4,
            audit_entries: 7,
            owner_only_organizations: 2,
        },
        |_| {},
    )
    .await
    .unwrap();
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        entity::organization::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        entity::member::Entity::find().count(&app.db).await.unwrap(),
        32
    );
    assert_eq!(
        entity::team::Entity::find().count(&app.db).await.unwrap(),
        12
    );
    assert_eq!(
        entity::audit_entry::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        21
    );
    assert_eq!(
        entity::team_member::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        30
    );
    // The demo owner reads a seeded organization's trail over the API,
    // newest first, and its events in order, numbered from 1.
    let logged_in = app
        .graphql(
            "mutation($email: String!, $password: String!) { logIn(input: { email: $email, password: $password }) { accessToken } }",
            json!({ "email": orgql::cli::seed::DEMO_EMAIL, "password": orgql::cli::seed::DEMO_PASSWORD }),
            None,
        )
        .await;
    let demo = logged_in["data"]["logIn"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("the demo owner logs in: {logged_in}"));
    let trail = app
        .graphql(
            r#"{ organization(slug: "demo-0001") {
                auditLog(first: 10) { totalCount nodes { action createdAt } }
                events(first: 10) { edges { cursor node { type } } } } }"#,
            json!({}),
            Some(demo),
        )
        .await;
    assert_ok(&trail);
    let org = &trail["data"]["organization"];
    assert_eq!(org["auditLog"]["totalCount"], 7);
    let times: Vec<&str> = org["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["createdAt"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "{times:?}");
    let events = org["events"]["edges"].as_array().unwrap();
    assert_eq!(events.len(), 7);
    assert_eq!(events[0]["node"]["type"], "MEMBER_ROLE_CHANGED");

    // On PostgreSQL the seeded tables are left vacuumed: their pages are
    // marked visible to all, so the members page's index-only scans read
    // no table page.
    if app.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        use sea_orm::ConnectionTrait;
        for table in ["users", "members", "team_members", "teams"] {
            let marked = app
                .db
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    format!(
                        "SELECT relallvisible::bigint AS marked FROM pg_class WHERE relname = '{table}'"
                    ),
                ))
                .await
                .unwrap()
                .unwrap();
            let marked: i64 = marked.try_get("", "marked").unwrap();
            assert!(marked > 0, "{table} is vacuumed after seeding");
        }
    }

    let again =
        orgql::cli::seed::seed(&app.db, orgql::cli::seed::SeedSize::new(1, 1), |_| {}).await;
    assert!(again.is_err(), "a seeded database is refused");
}

/// The `organization.read_by_platform_admin` entries: (organization,
/// actor kind, permissions read), oldest first.
async fn staff_reads(app: &TestApp) -> Vec<(uuid::Uuid, entity::values::ActorKind, Vec<String>)> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    entity::audit_entry::Entity::find()
        .filter(entity::audit_entry::Column::Action.eq("organization.read_by_platform_admin"))
        .order_by_asc(entity::audit_entry::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| {
            let permissions = entry.metadata["permissions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
                .collect();
            (
                entry.organization_id.unwrap(),
                entry.actor_kind,
                permissions,
            )
        })
        .collect()
}

/// DESIGN §3, issue #28: a platform administrator's reads inside an
/// organization they do not belong to are audited, one entry per request
/// and organization however many fields it read; members' reads, and the
/// organization's card, are not.
#[tokio::test]
async fn a_platform_admins_reads_inside_an_organization_are_audited_once_per_request() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let acme = app.create_org(&ann, "Acme").await;
    let globex = app.create_org(&ann, "Globex").await;
    let root = app.sign_up("Root").await;
    orgql::domain::accounts::grant_platform_admin(&app.db, &root.email)
        .await
        .unwrap();
    let inside = "query($a: ID!, $g: ID!) { a: organization(id: $a) { name members(first: 5) { totalCount edges { node { role } } } teams(first: 5) { totalCount } } g: organization(id: $g) { auditLog(first: 5) { edges { node { action } } } } }";
    let card = "query($a: ID!) { organization(id: $a) { name slug tier } }";
    let ids = json!({ "a": acme.id, "g": globex.id });

    // A member's reads, and the staff's look at the card: nothing.
    assert_ok(&app.graphql(inside, ids.clone(), Some(&ann.token)).await);
    assert_ok(
        &app.graphql(card, json!({ "a": acme.id }), Some(&root.token))
            .await,
    );
    assert!(staff_reads(&app).await.is_empty());

    // The staff's reads inside: one entry per organization, naming what
    // was read; a second request, one more each.
    assert_ok(&app.graphql(inside, ids.clone(), Some(&root.token)).await);
    let (acme_id, globex_id) = (acme.uuid, globex.uuid);
    let platform = entity::values::ActorKind::PlatformAdmin;
    let mut first = staff_reads(&app).await;
    first.sort_by_key(|read| read.0);
    let mut expected = vec![
        (
            acme_id,
            platform,
            vec!["members:view".to_owned(), "teams:view".to_owned()],
        ),
        (globex_id, platform, vec!["audit:view".to_owned()]),
    ];
    expected.sort_by_key(|read| read.0);
    assert_eq!(first, expected);
    assert_ok(&app.graphql(inside, ids.clone(), Some(&root.token)).await);
    assert_eq!(staff_reads(&app).await.len(), 4);

    // Where the administrator is a member, it is a member's read.
    {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        entity::member::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            organization_id: Set(globex.uuid),
            user_id: Set(root.uuid),
            role: Set(Role::Viewer),
            joined_at: Set(chrono::Utc::now()),
            sessions_revoked_before: Set(None),
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    assert_ok(
        &app.graphql(
            "query($g: ID!) { organization(id: $g) { members(first: 5) { totalCount } } }",
            json!({ "g": globex.id }),
            Some(&root.token),
        )
        .await,
    );
    assert_eq!(staff_reads(&app).await.len(), 4);

    // A lookup by id is a read inside too.
    let ann_in_acme = app.member_id(&acme, &ann).await;
    let node = app
        .graphql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": ann_in_acme }),
            Some(&root.token),
        )
        .await;
    assert_eq!(node["data"]["node"]["id"], ann_in_acme);
    let reads = staff_reads(&app).await;
    assert_eq!(
        reads.last(),
        Some(&(acme_id, platform, vec!["members:view".to_owned()]))
    );
    assert_eq!(reads.len(), 5);
}
