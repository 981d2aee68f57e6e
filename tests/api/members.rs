//! Roles, removal and leaving under the rank rules and the last-owner rule.

use entity::values::Role;
use serde_json::{Value, json};

use crate::helpers::*;

const CHANGE_ROLE: &str = "mutation($id: ID!, $role: Role!) { updateMemberRole(input: { memberId: $id, role: $role }) { member { role } } }";
const REMOVE: &str =
    "mutation($id: ID!) { removeMember(input: { memberId: $id }) { removedMemberId } }";
const LEAVE: &str =
    "mutation($id: ID!) { leaveOrganization(input: { organizationId: $id }) { organizationId } }";

async fn change_role(app: &TestApp, actor: &TestUser, member_id: &str, role: &str) -> Value {
    app.graphql(
        CHANGE_ROLE,
        json!({ "id": member_id, "role": role }),
        Some(&actor.token),
    )
    .await
}

#[tokio::test]
async fn an_owner_changes_any_role_and_the_change_is_audited() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (_, admin_id) = app.member_of(&org, Role::Admin, "Ada").await;
    let response = change_role(&app, &ann, &admin_id, "OWNER").await;
    assert_ok(&response);
    assert_eq!(
        response["data"]["updateMemberRole"]["member"]["role"],
        "OWNER"
    );
    let entry = app.last_audit().await;
    assert_eq!(entry.action, "member.role_updated");
    assert_eq!(entry.metadata["before"]["role"], "ADMIN");
    assert_eq!(entry.metadata["after"]["role"], "OWNER");
}

#[tokio::test]
async fn an_admin_changes_members_but_not_another_admin() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let (_, other_admin) = app.member_of(&org, Role::Admin, "Abe").await;
    let (_, member) = app.member_of(&org, Role::Member, "Max").await;
    assert_ok(&change_role(&app, &ada, &member, "VIEWER").await);
    assert_ok(&change_role(&app, &ada, &member, "ADMIN").await);
    assert_error(
        &change_role(&app, &ada, &other_admin, "MEMBER").await,
        "FORBIDDEN",
    );
}

#[tokio::test]
async fn an_admin_cannot_demote_an_owner_or_make_one() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let owner_id = app.member_id(&org, &ann).await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let (_, member) = app.member_of(&org, Role::Member, "Max").await;
    assert_error(
        &change_role(&app, &ada, &owner_id, "MEMBER").await,
        "FORBIDDEN",
    );
    assert_error(
        &change_role(&app, &ada, &member, "OWNER").await,
        "FORBIDDEN",
    );
}

#[tokio::test]
async fn members_and_viewers_change_no_roles() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let (vera, vera_id) = app.member_of(&org, Role::Viewer, "Vera").await;
    assert_error(
        &change_role(&app, &max, &vera_id, "MEMBER").await,
        "FORBIDDEN",
    );
    let max_id = app.member_id(&org, &max).await;
    assert_error(
        &change_role(&app, &vera, &max_id, "VIEWER").await,
        "FORBIDDEN",
    );
}

#[tokio::test]
async fn the_last_owner_cannot_step_down_or_leave_but_one_of_two_can() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let ann_id = app.member_id(&org, &ann).await;
    assert_error(
        &change_role(&app, &ann, &ann_id, "ADMIN").await,
        "LAST_OWNER",
    );
    assert_error(
        &app.graphql(LEAVE, json!({ "id": org.id }), Some(&ann.token))
            .await,
        "LAST_OWNER",
    );

    let (bob, _) = app.member_of(&org, Role::Owner, "Bob").await;
    assert_ok(&change_role(&app, &ann, &ann_id, "ADMIN").await);
    assert_ok(
        &app.graphql(LEAVE, json!({ "id": org.id }), Some(&ann.token))
            .await,
    );
    let bob_id = app.member_id(&org, &bob).await;
    assert_error(
        &app.graphql(REMOVE, json!({ "id": bob_id }), Some(&bob.token))
            .await,
        "LAST_OWNER",
    );
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_exactly_one_owner() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (bob, bob_id) = app.member_of(&org, Role::Owner, "Bob").await;
    let ann_id = app.member_id(&org, &ann).await;
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            change_role(&app, &ann, &bob_id, "ADMIN"),
            change_role(&app, &bob, &ann_id, "ADMIN"),
        );
        let codes = [error_code(&a), error_code(&b)];
        assert!(
            codes.contains(&None)
                && codes
                    .iter()
                    .any(|c| matches!(c, Some("LAST_OWNER") | Some("FORBIDDEN"))),
            "exactly one demotion wins: {a} {b}"
        );
        let owners = app
            .graphql("query($id: ID!) { organization(id: $id) { members(filter: { role: OWNER }) { totalCount } } }", json!({ "id": org.id }), Some(&ann.token))
            .await;
        assert_eq!(
            owners["data"]["organization"]["members"]["totalCount"], 1,
            "{owners}"
        );
        // Restore two owners for the next round.
        let (winner, loser_id) = if error_code(&a).is_none() {
            (&ann, &bob_id)
        } else {
            (&bob, &ann_id)
        };
        assert_ok(&change_role(&app, winner, loser_id, "OWNER").await);
    }
}

#[tokio::test]
async fn removing_a_member_ends_their_access_at_once() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (max, max_id) = app.member_of(&org, Role::Member, "Max").await;
    let switched = app
        .graphql("mutation($id: ID!) { switchOrganization(input: { organizationId: $id }) { accessToken } }", json!({ "id": org.id }), Some(&max.token))
        .await;
    let org_token = switched["data"]["switchOrganization"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ok(
        &app.graphql(REMOVE, json!({ "id": max_id }), Some(&ann.token))
            .await,
    );
    assert_error(
        &app.graphql("{ viewer { user { id } } }", json!({}), Some(&org_token))
            .await,
        "UNAUTHENTICATED",
    );
    assert_eq!(app.last_audit().await.action, "member.removed");
}

#[tokio::test]
async fn an_admin_removes_a_member_but_not_an_owner() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let ann_id = app.member_id(&org, &ann).await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let (_, billing_id) = app.member_of(&org, Role::Billing, "Bill").await;
    assert_error(
        &app.graphql(REMOVE, json!({ "id": ann_id }), Some(&ada.token))
            .await,
        "FORBIDDEN",
    );
    assert_ok(
        &app.graphql(REMOVE, json!({ "id": billing_id }), Some(&ada.token))
            .await,
    );
}

#[tokio::test]
async fn a_member_leaves_and_sees_the_organization_no_more() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    assert_ok(
        &app.graphql(LEAVE, json!({ "id": org.id }), Some(&max.token))
            .await,
    );
    assert_eq!(app.last_audit().await.action, "member.left");
    let gone = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { id } }",
            json!({ "id": org.id }),
            Some(&max.token),
        )
        .await;
    assert!(gone["data"]["organization"].is_null());
}

#[tokio::test]
async fn members_filter_by_role_and_search_name_or_email() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.member_of(&org, Role::Viewer, "Zelda").await;
    app.member_of(&org, Role::Member, "Max").await;
    let query = "query($id: ID!, $f: MemberFilterInput) { organization(id: $id) { members(filter: $f) { totalCount edges { node { role user { name } } } } } }";
    let viewers = app
        .graphql(
            query,
            json!({ "id": org.id, "f": { "role": "VIEWER" } }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(viewers["data"]["organization"]["members"]["totalCount"], 1);
    assert_eq!(
        viewers["data"]["organization"]["members"]["edges"][0]["node"]["user"]["name"],
        "Zelda"
    );
    let searched = app
        .graphql(
            query,
            json!({ "id": org.id, "f": { "search": "zEL" } }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(searched["data"]["organization"]["members"]["totalCount"], 1);
    let by_email = app
        .graphql(
            query,
            json!({ "id": org.id, "f": { "search": "max" } }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(by_email["data"]["organization"]["members"]["totalCount"], 1);
    let wildcard = app
        .graphql(
            query,
            json!({ "id": org.id, "f": { "search": "%" } }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(
        wildcard["data"]["organization"]["members"]["totalCount"], 0,
        "LIKE wildcards are literal"
    );
}

#[tokio::test]
async fn billing_sees_the_organization_but_not_its_members() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (bill, _) = app.member_of(&org, Role::Billing, "Bill").await;
    let response = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { name members { totalCount } } }",
            json!({ "id": org.id }),
            Some(&bill.token),
        )
        .await;
    assert_eq!(response["data"]["organization"]["name"], "Acme");
    assert_error(&response, "FORBIDDEN");
}

/// A page read with its count: `totalCount` counts every member matching
/// the filter, not the page; a later page (after a cursor) counts the same;
/// and several organizations' pages read at once count each its own.
#[tokio::test]
async fn total_count_counts_every_matching_member_whatever_the_page() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, entity::values::Tier::Enterprise).await;
    app.bulk_members(&org, 11).await;
    let other = app.create_org(&ann, "Beta").await;
    app.bulk_members(&other, 3).await;

    let page = "query($id: ID!, $after: String, $role: Role) { organization(id: $id) {
        members(first: 5, after: $after, filter: { role: $role }) {
            totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } }";
    let first = app
        .graphql(page, json!({ "id": org.id }), Some(&ann.token))
        .await;
    let members = &first["data"]["organization"]["members"];
    assert_eq!(members["totalCount"], 12, "{first}");
    assert_eq!(members["edges"].as_array().unwrap().len(), 5);
    assert_eq!(members["pageInfo"]["hasNextPage"], true);

    let cursor = members["pageInfo"]["endCursor"].clone();
    let second = app
        .graphql(
            page,
            json!({ "id": org.id, "after": cursor }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(
        second["data"]["organization"]["members"]["totalCount"], 12,
        "{second}"
    );

    let owners = app
        .graphql(
            page,
            json!({ "id": org.id, "role": "OWNER" }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(
        owners["data"]["organization"]["members"]["totalCount"], 1,
        "{owners}"
    );

    let both = app
        .graphql(
            "{ organizations(first: 10) { edges { node { name members(first: 2) { totalCount edges { node { id } } } } } } }",
            json!({}),
            Some(&ann.token),
        )
        .await;
    let mut totals: Vec<(String, u64, usize)> = both["data"]["organizations"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{both}"))
        .iter()
        .map(|edge| {
            let node = &edge["node"];
            (
                node["name"].as_str().unwrap().to_owned(),
                node["members"]["totalCount"].as_u64().unwrap(),
                node["members"]["edges"].as_array().unwrap().len(),
            )
        })
        .collect();
    totals.sort();
    assert_eq!(
        totals,
        vec![("Acme".to_owned(), 12, 2), ("Beta".to_owned(), 4, 2)]
    );
}

/// The member count the database keeps (migration 37: triggers on
/// `members`) against the members themselves, through every way in and
/// out: creating the organization, a member added, a hundred inserted in
/// one statement, a removal, leaving, rows deleted in one statement by
/// hand, and the organization deleted. A filtered count still counts.
#[tokio::test]
async fn the_kept_member_count_follows_every_way_in_and_out() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let counts = "query($id: ID!) { organization(id: $id) { membersCount
        members(first: 1) { totalCount } admins: members(first: 1, filter: { role: ADMIN }) { totalCount } } }";
    let check = |expected: u64, admins: u64, moment: &'static str| {
        let app = &app;
        let org = &org;
        let token = ann.token.clone();
        async move {
            let counted = entity::member::Entity::find()
                .filter(entity::member::Column::OrganizationId.eq(org.uuid))
                .count(&app.db)
                .await
                .unwrap();
            assert_eq!(counted, expected, "{moment}: the members themselves");
            let response = app
                .graphql(counts, json!({ "id": org.id }), Some(&token))
                .await;
            let organization = &response["data"]["organization"];
            assert_eq!(
                organization["membersCount"], expected,
                "{moment}: {response}"
            );
            assert_eq!(
                organization["members"]["totalCount"], expected,
                "{moment}: {response}"
            );
            assert_eq!(
                organization["admins"]["totalCount"], admins,
                "{moment}: {response}"
            );
        }
    };
    check(1, 0, "created").await;
    let (bob, _) = app.member_of(&org, Role::Admin, "Bob").await;
    let (_, cy_member) = app.member_of(&org, Role::Member, "Cy").await;
    check(3, 1, "two added").await;
    let bulk = app.bulk_members(&org, 100).await;
    check(103, 1, "a hundred inserted in one statement").await;
    assert_ok(
        &app.graphql(REMOVE, json!({ "id": cy_member }), Some(&ann.token))
            .await,
    );
    check(102, 1, "one removed").await;
    assert_ok(
        &app.graphql(LEAVE, json!({ "id": org.id }), Some(&bob.token))
            .await,
    );
    check(101, 0, "one left").await;
    entity::member::Entity::delete_many()
        .filter(entity::member::Column::Id.is_in(bulk[..40].to_vec()))
        .exec(&app.db)
        .await
        .unwrap();
    check(61, 0, "forty deleted in one statement").await;
    let delete = "mutation($id: ID!, $slug: String!) { deleteOrganization(input: { organizationId: $id, confirmSlug: $slug }) { deletedOrganizationId } }";
    assert_ok(
        &app.graphql(
            delete,
            json!({ "id": org.id, "slug": org.slug }),
            Some(&ann.token),
        )
        .await,
    );
    let kept = entity::organization_member_count::Entity::find_by_id(org.uuid)
        .one(&app.db)
        .await
        .unwrap();
    assert_eq!(kept, None, "a deleted organization's count stays behind");
}
