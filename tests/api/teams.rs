//! Teams: who may create and change them, nesting, membership, limits.

use entity::values::{Role, Tier};
use orgql::domain::ids::{self, IdKind};
use serde_json::json;

use crate::helpers::*;

const ADD: &str = "mutation($t: ID!, $m: ID!, $r: TeamRole) { addTeamMember(input: { teamId: $t, memberId: $m, role: $r }) { teamMember { role member { id } } } }";
const UPDATE: &str = "mutation($input: UpdateTeamInput!) { updateTeam(input: $input) { team { name parent { id } } } }";

#[tokio::test]
async fn a_member_creates_a_team_and_maintains_it() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let response = app
        .graphql(
            "mutation($org: ID!) { createTeam(input: { organizationId: $org, name: \"Platform Team\" }) {
                team { slug membersCount viewerCanAdminister members { edges { node { role member { user { name } } } } } } } }",
            json!({ "org": org.id }),
            Some(&max.token),
        )
        .await;
    assert_ok(&response);
    let team = &response["data"]["createTeam"]["team"];
    assert_eq!(team["slug"], "platform-team");
    assert_eq!(team["membersCount"], 1);
    assert_eq!(team["viewerCanAdminister"], true);
    assert_eq!(team["members"]["edges"][0]["node"]["role"], "MAINTAINER");
    assert_eq!(app.last_audit().await.action, "team.created");
}

#[tokio::test]
async fn a_viewer_may_not_create_a_team() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (vera, _) = app.member_of(&org, Role::Viewer, "Vera").await;
    let response = app
        .graphql("mutation($org: ID!) { createTeam(input: { organizationId: $org, name: \"T\" }) { team { id } } }", json!({ "org": org.id }), Some(&vera.token))
        .await;
    assert_error(&response, "FORBIDDEN");
}

#[tokio::test]
async fn a_maintainer_or_admin_changes_a_team_and_a_plain_member_may_not() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let (mia, mia_id) = app.member_of(&org, Role::Member, "Mia").await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let team = app.create_team(&max, &org, "Core", None).await;
    // Mia is in the team, but only as a MEMBER.
    assert_ok(
        &app.graphql(
            ADD,
            json!({ "t": team, "m": mia_id, "r": "MEMBER" }),
            Some(&max.token),
        )
        .await,
    );
    let by_mia = app
        .graphql(
            UPDATE,
            json!({ "input": { "teamId": team, "name": "Mine" } }),
            Some(&mia.token),
        )
        .await;
    assert_error(&by_mia, "FORBIDDEN");
    assert_ok(
        &app.graphql(
            UPDATE,
            json!({ "input": { "teamId": team, "name": "By maintainer" } }),
            Some(&max.token),
        )
        .await,
    );
    assert_ok(
        &app.graphql(
            UPDATE,
            json!({ "input": { "teamId": team, "name": "By admin" } }),
            Some(&ada.token),
        )
        .await,
    );
    let promote = "mutation($t: ID!, $m: ID!) { updateTeamMemberRole(input: { teamId: $t, memberId: $m, role: MAINTAINER }) { teamMember { role } } }";
    assert_ok(
        &app.graphql(promote, json!({ "t": team, "m": mia_id }), Some(&ada.token))
            .await,
    );
    assert_ok(
        &app.graphql(
            UPDATE,
            json!({ "input": { "teamId": team, "name": "By Mia" } }),
            Some(&mia.token),
        )
        .await,
    );
}

#[tokio::test]
async fn only_members_of_the_organization_join_its_teams() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let eve = app.sign_up("Eve").await;
    let org = app.create_org(&ann, "Acme").await;
    let other = app.create_org(&eve, "Other").await;
    let eve_member = app.member_id(&other, &eve).await;
    let team = app.create_team(&ann, &org, "Core", None).await;
    assert_error(
        &app.graphql(ADD, json!({ "t": team, "m": eve_member }), Some(&ann.token))
            .await,
        "NOT_FOUND",
    );
    let ann_member = app.member_id(&org, &ann).await;
    assert_error(
        &app.graphql(ADD, json!({ "t": team, "m": ann_member }), Some(&ann.token))
            .await,
        "CONFLICT",
    );
}

#[tokio::test]
async fn leaving_the_organization_leaves_its_teams() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (max, max_id) = app.member_of(&org, Role::Member, "Max").await;
    let team = app.create_team(&ann, &org, "Core", None).await;
    assert_ok(
        &app.graphql(ADD, json!({ "t": team, "m": max_id }), Some(&ann.token))
            .await,
    );
    assert_ok(&app.graphql("mutation($id: ID!) { leaveOrganization(input: { organizationId: $id }) { organizationId } }", json!({ "id": org.id }), Some(&max.token)).await);
    let count = app
        .graphql(
            "query($id: ID!) { node(id: $id) { ... on Team { membersCount } } }",
            json!({ "id": team }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(count["data"]["node"]["membersCount"], 1);
}

#[tokio::test]
async fn teams_nest_without_cycles_and_at_most_eight_levels() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Enterprise).await;
    let mut chain = vec![app.create_team(&ann, &org, "Level 1", None).await];
    for level in 2..=8 {
        let parent = chain.last().unwrap().clone();
        chain.push(
            app.create_team(&ann, &org, &format!("Level {level}"), Some(&parent))
                .await,
        );
    }
    let ninth = app
        .graphql("mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }", json!({ "input": { "organizationId": org.id, "name": "Level 9", "parentTeamId": chain[7] } }), Some(&ann.token))
        .await;
    assert_error(&ninth, "BAD_USER_INPUT");
    assert_eq!(ninth["errors"][0]["extensions"]["field"], "parentTeamId");

    let cycle = app
        .graphql(
            UPDATE,
            json!({ "input": { "teamId": chain[0], "parentTeamId": chain[3] } }),
            Some(&ann.token),
        )
        .await;
    assert_error(&cycle, "BAD_USER_INPUT");
    let onto_itself = app
        .graphql(
            UPDATE,
            json!({ "input": { "teamId": chain[2], "parentTeamId": chain[2] } }),
            Some(&ann.token),
        )
        .await;
    assert_error(&onto_itself, "BAD_USER_INPUT");

    // A separate pair may go under level 6 (6 + 2 = 8) but not level 7.
    let pair = app.create_team(&ann, &org, "Pair", None).await;
    app.create_team(&ann, &org, "Pair child", Some(&pair)).await;
    assert_error(
        &app.graphql(
            UPDATE,
            json!({ "input": { "teamId": pair, "parentTeamId": chain[6] } }),
            Some(&ann.token),
        )
        .await,
        "BAD_USER_INPUT",
    );
    let moved = app
        .graphql(
            UPDATE,
            json!({ "input": { "teamId": pair, "parentTeamId": chain[5] } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&moved);
    assert_eq!(
        moved["data"]["updateTeam"]["team"]["parent"]["id"],
        chain[5]
    );
    let top = app
        .graphql(
            UPDATE,
            json!({ "input": { "teamId": pair, "parentTeamId": null } }),
            Some(&ann.token),
        )
        .await;
    assert!(top["data"]["updateTeam"]["team"]["parent"].is_null());
}

#[tokio::test]
async fn a_team_with_sub_teams_cannot_be_deleted() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let parent = app.create_team(&ann, &org, "Parent", None).await;
    let child = app.create_team(&ann, &org, "Child", Some(&parent)).await;
    let delete = "mutation($id: ID!) { deleteTeam(input: { teamId: $id }) { deletedTeamId } }";
    assert_error(
        &app.graphql(delete, json!({ "id": parent }), Some(&ann.token))
            .await,
        "CONFLICT",
    );
    assert_ok(
        &app.graphql(delete, json!({ "id": child }), Some(&ann.token))
            .await,
    );
    assert_ok(
        &app.graphql(delete, json!({ "id": parent }), Some(&ann.token))
            .await,
    );
    assert_eq!(app.last_audit().await.action, "team.deleted");
}

#[tokio::test]
async fn teams_count_toward_the_tier_limit() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    for i in 0..3 {
        app.create_team(&ann, &org, &format!("T{i}"), None).await;
    }
    let fourth = app
        .graphql("mutation($org: ID!) { createTeam(input: { organizationId: $org, name: \"T4\" }) { team { id } } }", json!({ "org": org.id }), Some(&ann.token))
        .await;
    assert_error(&fourth, "TIER_LIMIT_EXCEEDED");
    let ext = &fourth["errors"][0]["extensions"];
    assert_eq!(
        (
            ext["resource"].as_str(),
            ext["limit"].as_u64(),
            ext["used"].as_u64()
        ),
        (Some("teams"), Some(3), Some(3))
    );
}

#[tokio::test]
async fn teams_are_listed_searched_and_found_by_slug() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let parent = app.create_team(&ann, &org, "Engineering", None).await;
    app.create_team(&ann, &org, "Backend", Some(&parent)).await;
    let query = "query($id: ID!, $top: Boolean, $s: String) { organization(id: $id) {
        teams(topLevelOnly: $top, search: $s) { totalCount edges { node { slug children { slug } } } }
        team(slug: \"backend\") { parent { slug } } } }";
    let all = app
        .graphql(query, json!({ "id": org.id }), Some(&ann.token))
        .await;
    assert_eq!(all["data"]["organization"]["teams"]["totalCount"], 2);
    assert_eq!(
        all["data"]["organization"]["team"]["parent"]["slug"],
        "engineering"
    );
    let top = app
        .graphql(
            query,
            json!({ "id": org.id, "top": true }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(top["data"]["organization"]["teams"]["totalCount"], 1);
    assert_eq!(
        top["data"]["organization"]["teams"]["edges"][0]["node"]["children"][0]["slug"],
        "backend"
    );
    let searched = app
        .graphql(
            query,
            json!({ "id": org.id, "s": "BACK" }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(searched["data"]["organization"]["teams"]["totalCount"], 1);
}

#[tokio::test]
async fn another_tenants_team_is_not_found() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let eve = app.sign_up("Eve").await;
    let org = app.create_org(&ann, "Acme").await;
    let team = app.create_team(&ann, &org, "Core", None).await;
    let node = app
        .graphql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": team }),
            Some(&eve.token),
        )
        .await;
    assert!(node["data"]["node"].is_null());
    let update = app
        .graphql(
            UPDATE,
            json!({ "input": { "teamId": team, "name": "Pwned" } }),
            Some(&eve.token),
        )
        .await;
    assert_error(&update, "NOT_FOUND");
    assert!(ids::parse_uuid::<orgql::domain::ids::TeamId>(&team, "id").is_ok());
}

#[tokio::test]
async fn a_member_may_leave_a_team_but_not_remove_others() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (max, max_id) = app.member_of(&org, Role::Member, "Max").await;
    let (_, mia_id) = app.member_of(&org, Role::Member, "Mia").await;
    let team = app.create_team(&ann, &org, "Core", None).await;
    assert_ok(
        &app.graphql(ADD, json!({ "t": team, "m": max_id }), Some(&ann.token))
            .await,
    );
    assert_ok(
        &app.graphql(ADD, json!({ "t": team, "m": mia_id }), Some(&ann.token))
            .await,
    );
    let remove = "mutation($t: ID!, $m: ID!) { removeTeamMember(input: { teamId: $t, memberId: $m }) { memberId } }";
    assert_error(
        &app.graphql(remove, json!({ "t": team, "m": mia_id }), Some(&max.token))
            .await,
        "FORBIDDEN",
    );
    assert_ok(
        &app.graphql(remove, json!({ "t": team, "m": max_id }), Some(&max.token))
            .await,
    );
}

/// Every page of an organization's members, `filter` applied, as
/// (member id, names of the member's teams), in page order.
async fn members_with_teams(
    app: &TestApp,
    token: &str,
    org: &TestOrg,
    filter: serde_json::Value,
) -> Vec<(String, Vec<String>)> {
    const PAGE: &str = "query($slug: String!, $after: String, $filter: MemberFilterInput) {
        organization(slug: $slug) { members(first: 2, after: $after, filter: $filter) {
            pageInfo { hasNextPage endCursor } nodes { id teams { name } } } } }";
    let mut found = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let response = app
            .graphql(
                PAGE,
                json!({ "slug": org.slug, "after": after, "filter": filter }),
                Some(token),
            )
            .await;
        assert_ok(&response);
        let members = &response["data"]["organization"]["members"];
        for node in members["nodes"].as_array().unwrap() {
            found.push((node["id"].as_str().unwrap().to_owned(), team_names(node)));
        }
        if members["pageInfo"]["hasNextPage"] != json!(true) {
            return found;
        }
        after = members["pageInfo"]["endCursor"].clone();
    }
}

fn team_names(node: &serde_json::Value) -> Vec<String> {
    node["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// A members page reads each member's teams in its own statement
/// (`statements.rs`); they must be the member's teams as the member alone
/// shows them, in team order, on every page, filtered or not, and when
/// several organizations' pages are read at once.
#[tokio::test]
async fn a_members_page_lists_each_members_own_teams() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let mut organizations = Vec::new();
    for name in ["Red", "Blue"] {
        let org = app.create_org(&ann, &unique(name)).await;
        app.set_tier(&org, Tier::Enterprise).await;
        let members = app.bulk_members(&org, 4).await;
        let mut teams = Vec::new();
        for team in ["First", "Second"] {
            let id = app.create_team(&ann, &org, team, None).await;
            teams.push(ids::parse_uuid::<orgql::domain::ids::TeamId>(&id, "id").unwrap());
        }
        // The second team first: a member in both joined "Second" before
        // "First", and is still listed with "First" first (team order,
        // which the page puts its rows in after reading them).
        app.bulk_team_members(teams[1], &members[1..3]).await;
        app.bulk_team_members(teams[0], &members[0..2]).await;
        organizations.push((org, members));
    }
    for (org, members) in &organizations {
        let listed = members_with_teams(&app, &ann.token, org, json!(null)).await;
        assert_eq!(listed.len(), 5, "the owner and four members: {listed:?}");
        // Each as the member alone shows it (the loader's own statement).
        for (id, teams) in &listed {
            let alone = app
                .graphql(
                    "query($id: ID!) { node(id: $id) { ... on Member { teams { name } } } }",
                    json!({ "id": id }),
                    Some(&ann.token),
                )
                .await;
            assert_ok(&alone);
            assert_eq!(teams, &team_names(&alone["data"]["node"]), "member {id}");
        }
        let expected: Vec<(String, Vec<String>)> = members
            .iter()
            .zip([&["First"][..], &["First", "Second"], &["Second"], &[]])
            .map(|(id, names)| {
                let names = names.iter().map(|n| n.to_string()).collect();
                (ids::encode(IdKind::Member, *id), names)
            })
            .collect();
        let filtered = members_with_teams(&app, &ann.token, org, json!({ "role": "MEMBER" })).await;
        assert_eq!(filtered, expected);
    }
    // Both organizations' first pages in one statement.
    let response = app
        .graphql(
            "query { organizations(first: 10) { nodes { slug
                members(first: 3, filter: { role: MEMBER }) { nodes { id teams { name } } } } } }",
            json!({}),
            Some(&ann.token),
        )
        .await;
    assert_ok(&response);
    for node in response["data"]["organizations"]["nodes"]
        .as_array()
        .unwrap()
    {
        let (org, members) = organizations
            .iter()
            .find(|(org, _)| json!(org.slug) == node["slug"])
            .unwrap();
        let listed: Vec<(String, Vec<String>)> = node["members"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["id"].as_str().unwrap().to_owned(), team_names(m)))
            .collect();
        let all = members_with_teams(&app, &ann.token, org, json!({ "role": "MEMBER" })).await;
        assert_eq!(listed, all[..3], "{}", org.slug);
        assert_eq!(members.len(), 4);
    }
}

/// `viewerCanAdminister` on a page of teams: true for the team a member
/// maintains, false for a team they only belong to or are not in, and
/// false for every team to a member who maintains none.
#[tokio::test]
async fn a_page_of_teams_says_which_the_viewer_may_administer() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Enterprise).await;
    let (max, max_member) = app.member_of(&org, Role::Member, "Max").await;
    let (mia, mia_member) = app.member_of(&org, Role::Member, "Mia").await;
    let maintained = app.create_team(&ann, &org, "Maintained", None).await;
    let joined = app.create_team(&ann, &org, "Joined", None).await;
    app.create_team(&ann, &org, "Elsewhere", None).await;
    for (team, member, role) in [
        (&maintained, &max_member, "MAINTAINER"),
        (&joined, &max_member, "MEMBER"),
        (&maintained, &mia_member, "MEMBER"),
    ] {
        let response = app
            .graphql(
                ADD,
                json!({ "t": team, "m": member, "r": role }),
                Some(&ann.token),
            )
            .await;
        assert_ok(&response);
    }
    let query = "query($slug: String!) { organization(slug: $slug) {
        teams(first: 10) { edges { node { name viewerCanAdminister } } } } }";
    let administers = |response: serde_json::Value| -> Vec<(String, bool)> {
        assert_ok(&response);
        response["data"]["organization"]["teams"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| {
                let node = &edge["node"];
                (
                    node["name"].as_str().unwrap().to_owned(),
                    node["viewerCanAdminister"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let as_max = app
        .graphql(query, json!({ "slug": org.slug }), Some(&max.token))
        .await;
    assert_eq!(
        administers(as_max),
        [
            ("Maintained".to_owned(), true),
            ("Joined".to_owned(), false),
            ("Elsewhere".to_owned(), false),
        ]
    );
    let as_mia = app
        .graphql(query, json!({ "slug": org.slug }), Some(&mia.token))
        .await;
    assert!(administers(as_mia).iter().all(|(_, may)| !may));
    // The owner holds teams:manage: every team.
    let as_ann = app
        .graphql(query, json!({ "slug": org.slug }), Some(&ann.token))
        .await;
    assert!(administers(as_ann).iter().all(|(_, may)| *may));
}
