//! The SQL budget of nested reads: loaders, not loops. Each query costs the
//! same number of statements at 10 members as at 100. The session cache is
//! off here so that every count includes authentication's statement
//! (`session_cache.rs` pins the cached case: none).

use entity::values::Tier;
use orgql::domain::ids;
use serde_json::json;

use crate::helpers::*;

/// Builds an organization with `members` members spread over three teams.
async fn organization_with(app: &TestApp, owner: &TestUser, members: usize) -> TestOrg {
    let org = app.create_org(owner, &unique("Org ")).await;
    app.set_tier(&org, Tier::Enterprise).await;
    let member_ids = app.bulk_members(&org, members - 1).await;
    for (i, chunk) in member_ids
        .chunks(member_ids.len().div_ceil(3).max(1))
        .enumerate()
    {
        let team = app
            .create_team(owner, &org, &format!("Team {i}"), None)
            .await;
        let team = ids::parse_uuid::<orgql::domain::ids::TeamId>(&team, "id").unwrap();
        app.bulk_team_members(team, chunk).await;
    }
    org
}

async fn cost(app: &TestApp, query: &str, org: &TestOrg, token: &str) -> u64 {
    let (response, statements) = app
        .graphql_counted(query, json!({ "slug": org.slug }), Some(token))
        .await;
    assert_ok(&response);
    statements
}

const MEMBERS_WITH_USERS_AND_TEAMS: &str = "query($slug: String!) { organization(slug: $slug) {
    name members(first: 100) { totalCount edges { node { role user { name email } teams { name } } } } } }";

const TEAMS_WITH_MEMBERS: &str = "query($slug: String!) { organization(slug: $slug) {
    teams(first: 10) { edges { node { name membersCount viewerCanAdminister parent { name } children { name }
        members(first: 100) { edges { node { role member { user { name } teams { slug } } } } } } } } } }";

const VIEWER_ORGANIZATIONS: &str = "query { viewer { memberships { role organization { name } } }
    organizations(first: 50) { edges { node { slug viewerMembership { role } membersCount } } } }";

#[tokio::test]
async fn members_with_users_and_teams_cost_three_statements_at_any_size() {
    let app = spawn_app_with(|c| c.session_cache = false).await;
    let ann = app.sign_up("Ann").await;
    let small = organization_with(&app, &ann, 10).await;
    let large = organization_with(&app, &ann, 100).await;
    let at_10 = cost(&app, MEMBERS_WITH_USERS_AND_TEAMS, &small, &ann.token).await;
    let at_100 = cost(&app, MEMBERS_WITH_USERS_AND_TEAMS, &large, &ann.token).await;
    assert_eq!(at_10, at_100, "the statement count grew with the members");
    // Authentication, the organization with the viewer's membership, the
    // page of members with their users, teams and totalCount.
    assert_eq!(at_100, 3);
}

#[tokio::test]
async fn teams_with_their_members_cost_the_same_at_any_size() {
    let app = spawn_app_with(|c| c.session_cache = false).await;
    let ann = app.sign_up("Ann").await;
    let small = organization_with(&app, &ann, 10).await;
    let large = organization_with(&app, &ann, 100).await;
    let at_10 = cost(&app, TEAMS_WITH_MEMBERS, &small, &ann.token).await;
    let at_100 = cost(&app, TEAMS_WITH_MEMBERS, &large, &ann.token).await;
    assert_eq!(at_10, at_100);
    // Authentication, organization with membership, the teams page, their
    // member counts, children, the viewer's team roles, the members pages
    // of all teams, their users, their teams: nine.
    assert!(at_100 <= 9, "{at_100} statements");
}

#[tokio::test]
async fn the_viewers_organizations_cost_the_same_however_many() {
    let app = spawn_app_with(|c| c.session_cache = false).await;
    let ann = app.sign_up("Ann").await;
    let first = organization_with(&app, &ann, 3).await;
    let few = cost(&app, VIEWER_ORGANIZATIONS, &first, &ann.token).await;
    for _ in 0..5 {
        organization_with(&app, &ann, 3).await;
    }
    let many = cost(&app, VIEWER_ORGANIZATIONS, &first, &ann.token).await;
    assert_eq!(few, many);
    assert!(many <= 6, "{many} statements");
}

/// The answer to a members query on `org`, and the text of the members
/// page statement it ran among its three (authentication, organization,
/// page).
async fn answer_with_page(
    app: &TestApp,
    query: &str,
    org: &TestOrg,
    viewer: &TestUser,
) -> (serde_json::Value, String) {
    let (response, statements) = app
        .graphql_recorded(query, json!({ "slug": org.slug }), Some(&viewer.token))
        .await;
    assert_ok(&response);
    assert_eq!(statements.len(), 3, "{statements:#?}");
    let page = statements
        .into_iter()
        .find(|sql| sql.contains(r#""team_members""#) && sql.contains("parent_total"))
        .expect("a members page statement with its teams");
    (response, page)
}

fn assert_reads(statement: &str, columns: &[&str]) {
    for column in columns {
        assert!(
            statement.contains(column),
            "{column} missing from {statement}"
        );
    }
}

fn assert_leaves_out(statement: &str, columns: &[&str]) {
    for column in columns {
        assert!(!statement.contains(column), "{column} read by {statement}");
    }
}

#[tokio::test]
async fn a_members_page_reads_only_the_columns_its_client_selects() {
    let app = spawn_app_with(|c| c.session_cache = false).await;
    let ann = app.sign_up("Ann").await;
    let org = organization_with(&app, &ann, 10).await;

    // Names only: the brief of each user and team, never the profile's
    // other columns (nor, ever, the password hash).
    let (_, page) = answer_with_page(&app, MEMBERS_WITH_USERS_AND_TEAMS, &org, &ann).await;
    assert_reads(
        &page,
        &[
            r#""users"."email""#,
            r#""users"."name""#,
            r#""teams"."name""#,
        ],
    );
    assert_leaves_out(
        &page,
        &[
            r#""members"."joined_at""#,
            r#""members"."sessions_revoked_before""#,
            r#""users"."password_hash""#,
            r#""users"."created_at""#,
            r#""users"."is_platform_admin""#,
            r#""teams"."description""#,
            r#""teams"."created_at""#,
        ],
    );

    // Fields beyond the briefs, also through a fragment: the page reads
    // the whole rows, in the same three statements, and answers from them.
    let whole = "query($slug: String!) { organization(slug: $slug) {
        members(first: 100) { totalCount nodes { ...M } } } }
        fragment M on Member { joinedAt isGuest user { name createdAt isPlatformAdmin }
            teams { name description createdAt updatedAt } }";
    let (response, page) = answer_with_page(&app, whole, &org, &ann).await;
    assert_reads(
        &page,
        &[
            r#""members"."joined_at""#,
            r#""users"."created_at""#,
            r#""users"."is_platform_admin""#,
            r#""users"."is_guest""#,
            r#""teams"."description""#,
            r#""teams"."updated_at""#,
        ],
    );
    let nodes = response["data"]["organization"]["members"]["nodes"]
        .as_array()
        .unwrap();
    let own = nodes
        .iter()
        .find(|n| n["user"]["name"] == "Ann")
        .expect("Ann is listed");
    assert_eq!(own["user"]["isPlatformAdmin"], false);
    assert_eq!(own["isGuest"], false);
    assert!(own["joinedAt"].is_string(), "{own}");
    let viewer = app
        .graphql(
            "{ viewer { user { createdAt } } }",
            json!({}),
            Some(&ann.token),
        )
        .await;
    assert_eq!(
        own["user"]["createdAt"],
        viewer["data"]["viewer"]["user"]["createdAt"]
    );
    let team = &nodes.iter().find(|n| n["teams"][0].is_object()).unwrap()["teams"][0];
    assert!(
        team["createdAt"].is_string() && team["updatedAt"].is_string(),
        "{team}"
    );
}

/// How many rows the scans of `table` returned in all (rows per loop times
/// loops), anywhere in a plan PostgreSQL gave as
/// `EXPLAIN (ANALYZE, FORMAT JSON)`; `None` when no scan reads it.
fn rows_read_from(plan: &serde_json::Value, table: &str) -> Option<f64> {
    let own = (plan["Relation Name"] == table).then(|| {
        plan["Actual Rows"].as_f64().unwrap_or(f64::MAX)
            * plan["Actual Loops"].as_f64().unwrap_or(f64::MAX)
    });
    plan["Plans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|child| rows_read_from(child, table))
        .chain(own)
        .reduce(|a, b| a + b)
}

/// The plan PostgreSQL runs `sql` (a statement the server sent, with
/// `$n` parameters) with once it is a prepared statement on its generic
/// plan, as sqlx's statement cache leaves it after five runs; `arguments`
/// are SQL literals. Analyzes the database first, as a live one would be.
async fn generic_plan(app: &TestApp, sql: &str, arguments: &str) -> serde_json::Value {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    let txn = app.db.begin().await.unwrap();
    for setup in [
        "ANALYZE".to_owned(),
        "SET LOCAL plan_cache_mode = force_generic_plan".to_owned(),
        format!("PREPARE probed AS {sql}"),
    ] {
        txn.execute_unprepared(&setup).await.unwrap();
    }
    let explained = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE probed({arguments})"),
        ))
        .await
        .unwrap()
        .expect("a plan");
    let plan: serde_json::Value = explained.try_get("", "QUERY PLAN").unwrap();
    plan[0]["Plan"].clone()
}

fn on_postgres(app: &TestApp) -> bool {
    app.db.get_database_backend() == sea_orm::DbBackend::Postgres
}

/// PostgreSQL only (SQLite has no prepared plans to go wrong). A person in
/// many organizations looks one up by slug: the viewer's membership is
/// found by (organization, user), not by reading every membership of the
/// viewer and filtering, even in the generic plan a prepared statement
/// settles on after five runs.
#[tokio::test]
async fn an_organization_by_slug_reads_one_membership_of_a_person_in_many() {
    let app = spawn_app_with(|c| c.session_cache = false).await;
    if !on_postgres(&app) {
        return;
    }
    let ann = app.sign_up("Ann").await;
    let mut orgs = Vec::new();
    for i in 0..30 {
        orgs.push(
            app.create_org(&ann, &format!("{} {i}", unique("Org")))
                .await,
        );
    }
    let wanted = &orgs[20];
    let (response, statements) = app
        .graphql_recorded(
            "query($slug: String!) { organization(slug: $slug) { name } }",
            json!({ "slug": wanted.slug }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&response);
    assert!(response["data"]["organization"]["name"].is_string());
    let lookup = statements
        .iter()
        .find(|sql| sql.contains(r#""organizations""#) && sql.contains(r#"LEFT JOIN "members""#))
        .expect("the organization-with-membership statement");
    let plan = generic_plan(
        &app,
        lookup,
        &format!("'{}', '{}', 1", ann.uuid, wanted.slug),
    )
    .await;
    let read = rows_read_from(&plan, "members").expect("a scan of members");
    assert!(read <= 1.0, "read {read} memberships to find one: {plan:#}");
}

/// PostgreSQL only. A first page with its total: the total counts every
/// member, but users are joined to the page once it is cut, never below
/// the window that counts (which would read a user for every member of
/// the organization to show ten).
#[tokio::test]
async fn a_counted_page_of_members_reads_only_its_own_users() {
    let app = spawn_app_with(|c| c.session_cache = false).await;
    if !on_postgres(&app) {
        return;
    }
    let ann = app.sign_up("Ann").await;
    let org = organization_with(&app, &ann, 60).await;
    let (response, statements) = app
        .graphql_recorded(
            "query($slug: String!) { organization(slug: $slug) {
                members(first: 10) { totalCount nodes { user { name } } } } }",
            json!({ "slug": org.slug }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&response);
    assert_eq!(
        response["data"]["organization"]["members"]["totalCount"],
        60
    );
    let page = statements
        .iter()
        .find(|sql| sql.contains("parent_total"))
        .expect("the members page statement");
    let plan = generic_plan(&app, page, &format!("'{}', 11", org.uuid)).await;
    let counting = node_of_type(&plan, "WindowAgg").expect("a window counting the members");
    assert_eq!(
        rows_read_from(counting, "members"),
        Some(60.0),
        "the window counts every member: {plan:#}"
    );
    assert_eq!(
        rows_read_from(counting, "users"),
        None,
        "users read under the count: {plan:#}"
    );
    assert!(rows_read_from(&plan, "users").is_some());
}

/// The first node of `node_type` in a plan, depth first.
fn node_of_type<'p>(plan: &'p serde_json::Value, node_type: &str) -> Option<&'p serde_json::Value> {
    if plan["Node Type"] == node_type {
        return Some(plan);
    }
    plan["Plans"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|child| node_of_type(child, node_type))
}
