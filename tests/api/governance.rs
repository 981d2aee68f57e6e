//! The audit log, tiers and usage, and the ownership handover.

use entity::values::{Role, Tier};
use sea_orm::{EntityTrait, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::*;

const LOG: &str = "query($id: ID!, $f: AuditLogFilter, $after: String, $n: Int) { organization(id: $id) {
    auditLog(filter: $f, first: $n, after: $after) { totalCount pageInfo { hasNextPage endCursor }
      edges { node { id action actor { id email kind } resourceType resourceId metadata ipAddress requestId createdAt } } } } }";

fn actions(response: &Value) -> Vec<String> {
    response["data"]["organization"]["auditLog"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"))
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn admins_read_the_audit_log_newest_first_and_members_cannot() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (_, max_id) = app.member_of(&org, Role::Member, "Max").await;
    app.graphql("mutation($id: ID!) { updateMemberRole(input: { memberId: $id, role: VIEWER }) { member { id } } }", json!({ "id": max_id }), Some(&ann.token)).await;
    let log = app
        .graphql(LOG, json!({ "id": org.id }), Some(&ann.token))
        .await;
    assert_ok(&log);
    assert_eq!(
        actions(&log),
        ["MEMBER_ROLE_UPDATED", "ORGANIZATION_CREATED"]
    );
    let newest = &log["data"]["organization"]["auditLog"]["edges"][0]["node"];
    assert_eq!(newest["actor"]["email"], ann.email);
    assert_eq!(newest["actor"]["kind"], "USER");
    assert_eq!(newest["resourceId"], max_id);
    assert_eq!(newest["metadata"]["before"]["role"], "MEMBER");
    assert!(newest["requestId"].is_string());
    let (max, _) = app.member_of(&org, Role::Viewer, "Vera").await;
    assert_error(
        &app.graphql(LOG, json!({ "id": org.id }), Some(&max.token))
            .await,
        "FORBIDDEN",
    );
}

#[tokio::test]
async fn the_audit_log_filters_and_pages() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    for i in 0..4 {
        app.create_team(&ann, &org, &format!("T{i}"), None).await;
    }
    let teams = app
        .graphql(
            LOG,
            json!({ "id": org.id, "f": { "actions": ["TEAM_CREATED"] } }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(teams["data"]["organization"]["auditLog"]["totalCount"], 4);
    let by_actor = app
        .graphql(
            LOG,
            json!({ "id": org.id, "f": { "actorId": ann.id, "resourceType": "organization" } }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(actions(&by_actor), ["ORGANIZATION_CREATED"]);
    let future = app
        .graphql(
            LOG,
            json!({ "id": org.id, "f": { "since": "2999-01-01T00:00:00Z" } }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(future["data"]["organization"]["auditLog"]["totalCount"], 0);

    let first = app
        .graphql(LOG, json!({ "id": org.id, "n": 3 }), Some(&ann.token))
        .await;
    let cursor = first["data"]["organization"]["auditLog"]["pageInfo"]["endCursor"].clone();
    let second = app
        .graphql(
            LOG,
            json!({ "id": org.id, "n": 3, "after": cursor }),
            Some(&ann.token),
        )
        .await;
    let mut all = actions(&first);
    all.extend(actions(&second));
    assert_eq!(
        all,
        [
            "TEAM_CREATED",
            "TEAM_CREATED",
            "TEAM_CREATED",
            "TEAM_CREATED",
            "ORGANIZATION_CREATED"
        ]
    );
}

#[tokio::test]
async fn entries_past_retention_are_neither_returned_nor_kept() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    // Nothing in the server moves an entry: the test moves the trail back
    // eight days, its entries and their daily counts alike.
    let back_then = chrono::Utc::now() - chrono::Duration::days(8);
    entity::audit_entry::Entity::update_many()
        .col_expr(
            entity::audit_entry::Column::CreatedAt,
            Expr::value(back_then),
        )
        .exec(&app.db)
        .await
        .unwrap();
    entity::audit_entry_count::Entity::update_many()
        .col_expr(
            entity::audit_entry_count::Column::Day,
            Expr::value(back_then.date_naive()),
        )
        .exec(&app.db)
        .await
        .unwrap();
    entity::audit_actor_count::Entity::update_many()
        .col_expr(
            entity::audit_actor_count::Column::Day,
            Expr::value(back_then.date_naive()),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let log = app
        .graphql(LOG, json!({ "id": org.id }), Some(&ann.token))
        .await;
    assert_eq!(
        log["data"]["organization"]["auditLog"]["totalCount"], 0,
        "FREE keeps 7 days"
    );
    // The server's own purge task may get there first, so what counts is
    // that nothing past retention is left, not who deleted it.
    orgql::domain::audit::purge(&app.db).await.unwrap();
    let left = entity::audit_entry::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        left.iter().all(|e| e.organization_id != Some(org.uuid)),
        "{left:?}"
    );
    let counts = entity::audit_entry_count::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        counts.iter().all(|c| c.organization_id != org.uuid),
        "the daily counts of days past retention go with their entries: {counts:?}"
    );
    let by_actor = entity::audit_actor_count::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        by_actor.iter().all(|c| c.organization_id != org.uuid),
        "{by_actor:?}"
    );
}

/// Issue #26: the log's `totalCount` adds the daily counts of whole days
/// and counts the parts of days at its range's ends entry by entry. Over a
/// trail spread across 30 days (retention ending mid-day), through the
/// write path today, under every kind of filter, before and after the
/// purge and a change of tier, it is the number of entries the log lists.
#[tokio::test]
async fn the_audit_log_counts_what_it_lists_over_days_and_filters() {
    use chrono::{Duration, Utc};
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Enterprise).await;
    let member = app.member_id(&org, &ann).await;
    let owner = (
        ann.uuid,
        ann.email.as_str(),
        orgql::domain::ids::parse_uuid::<orgql::domain::ids::MemberId>(&member, "id").unwrap(),
    );
    // One entry every 1.8 hours over the last 30 days.
    orgql::cli::seed::audit_trail(&app.db, org.uuid, owner, 400)
        .await
        .unwrap();
    app.create_team(&ann, &org, "Core", None).await;
    let (max, _) = app.member_of(&org, Role::Admin, "Max").await;
    app.create_team(&max, &org, "Ops", None).await;

    let now = Utc::now();
    let ago =
        |days: i64, hours: i64| (now - Duration::days(days) - Duration::hours(hours)).to_rfc3339();
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let filters = [
        json!({}),
        json!({ "actions": ["ORGANIZATION_UPDATED"] }),
        json!({ "actions": ["MEMBER_ROLE_UPDATED", "TEAM_CREATED"] }),
        json!({ "since": ago(3, 12) }),
        json!({ "since": ago(5, 5), "until": ago(2, 3), "actions": ["MEMBER_ROLE_UPDATED"] }),
        json!({ "since": ago(4, 7), "until": ago(4, 2) }),
        json!({ "until": ago(1, 0) }),
        json!({ "since": ago(20, 0) }),
        json!({ "since": (midnight - Duration::days(2)).to_rfc3339(), "until": midnight.to_rfc3339() }),
        json!({ "since": ago(1, 0), "until": ago(3, 0) }),
        json!({ "actorId": ann.id }),
        json!({ "actorId": ann.id, "actions": ["ORGANIZATION_UPDATED"], "since": ago(3, 5) }),
        json!({ "actorId": max.id }),
        json!({ "actorId": max.id, "resourceType": "team", "until": ago(0, 1) }),
        json!({ "resourceType": "organization", "since": ago(6, 0) }),
        json!({ "resourceType": "team" }),
        json!({ "resourceType": "member", "actions": ["MEMBER_ROLE_UPDATED", "TEAM_CREATED"] }),
        json!({ "resourceType": "no such type" }),
        json!({ "resourceId": org.id, "until": ago(2, 0) }),
        json!({ "resourceId": member }),
    ];
    let check = |stage: &'static str, at_least: usize| {
        let (app, ann, org, filters) = (&app, &ann, &org, &filters);
        async move {
            for filter in filters {
                let (total, listed) = count_and_list(app, ann, org, filter).await;
                assert_eq!(total, listed, "{stage}, filter {filter}");
            }
            let (total, _) = count_and_list(app, ann, org, &json!({})).await;
            assert!(total >= at_least, "{stage}: {total} entries");
            let by_type = |kind: &str| json!({ "resourceType": kind });
            let (teams, _) = count_and_list(app, ann, org, &by_type("team")).await;
            assert_eq!(teams, 2, "{stage}: the teams created today");
            let (none, _) = count_and_list(app, ann, org, &by_type("no such type")).await;
            assert_eq!(none, 0, "{stage}");
        }
    };
    check("Enterprise keeps all", 400).await;
    app.set_tier(&org, Tier::Free).await;
    check("Free keeps 7 days", 90).await;
    orgql::domain::audit::purge(&app.db).await.unwrap();
    check("after the purge", 90).await;
    app.set_tier(&org, Tier::Enterprise).await;
    check("what the purge left", 90).await;
}

/// The log's `totalCount` under `filter`, and how many entries paging
/// through it lists.
async fn count_and_list(
    app: &TestApp,
    user: &TestUser,
    org: &TestOrg,
    filter: &Value,
) -> (usize, usize) {
    let (mut total, mut listed, mut after) = (None, 0, Value::Null);
    loop {
        let page = app
            .graphql(
                LOG,
                json!({ "id": org.id, "f": filter, "n": 100, "after": after }),
                Some(&user.token),
            )
            .await;
        assert_ok(&page);
        let log = &page["data"]["organization"]["auditLog"];
        total.get_or_insert(log["totalCount"].as_u64().unwrap() as usize);
        listed += log["edges"].as_array().unwrap().len();
        if log["pageInfo"]["hasNextPage"] != true {
            return (total.unwrap_or(0), listed);
        }
        after = log["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn usage_counts_against_the_tier_and_billing_may_read_it() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (bill, _) = app.member_of(&org, Role::Billing, "Bill").await;
    app.create_team(&ann, &org, "Core", None).await;
    let query = "query($id: ID!) { organization(id: $id) { tier usage { members { used limit } teams { used limit } apiTokens { used limit } joinCodes { used limit } auditRetentionDays } } }";
    let usage = app
        .graphql(query, json!({ "id": org.id }), Some(&bill.token))
        .await;
    assert_ok(&usage);
    let u = &usage["data"]["organization"]["usage"];
    assert_eq!(u["members"], json!({ "used": 2, "limit": 2 }));
    assert_eq!(u["teams"], json!({ "used": 1, "limit": 3 }));
    assert_eq!(u["auditRetentionDays"], 7);
    let (vera, _) = app.member_of(&org, Role::Viewer, "Vera").await;
    assert_error(
        &app.graphql(query, json!({ "id": org.id }), Some(&vera.token))
            .await,
        "FORBIDDEN",
    );
}

#[tokio::test]
async fn a_tier_upgrade_is_requested_by_billing_and_decided_by_a_platform_admin() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let root = app.sign_up("Root").await;
    let org = app.create_org(&ann, "Acme").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let request = "mutation($id: ID!, $t: Tier!) { requestTierUpgrade(input: { organizationId: $id, requestedTier: $t, reason: \"growing\" }) { request { id status } } }";
    assert_error(
        &app.graphql(
            request,
            json!({ "id": org.id, "t": "TEAM" }),
            Some(&max.token),
        )
        .await,
        "FORBIDDEN",
    );
    assert_error(
        &app.graphql(
            request,
            json!({ "id": org.id, "t": "FREE" }),
            Some(&ann.token),
        )
        .await,
        "BAD_USER_INPUT",
    );
    let made = app
        .graphql(
            request,
            json!({ "id": org.id, "t": "TEAM" }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&made);
    assert_error(
        &app.graphql(
            request,
            json!({ "id": org.id, "t": "STARTER" }),
            Some(&ann.token),
        )
        .await,
        "CONFLICT",
    );
    let id = made["data"]["requestTierUpgrade"]["request"]["id"].clone();
    let approve = "mutation($id: ID!) { approveTierUpgrade(input: { requestId: $id }) { request { status } organization { tier } } }";
    assert_error(
        &app.graphql(approve, json!({ "id": id }), Some(&ann.token))
            .await,
        "FORBIDDEN",
    );
    orgql::domain::accounts::grant_platform_admin(&app.db, &root.email)
        .await
        .unwrap();
    let approved = app
        .graphql(approve, json!({ "id": id }), Some(&root.token))
        .await;
    assert_eq!(
        approved["data"]["approveTierUpgrade"]["organization"]["tier"],
        "TEAM"
    );
    assert_eq!(
        approved["data"]["approveTierUpgrade"]["request"]["status"],
        "ACCEPTED"
    );
}

#[tokio::test]
async fn after_a_downgrade_what_exists_stays_but_nothing_new_fits() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let root = app.sign_up("Root").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    for i in 0..4 {
        app.create_team(&ann, &org, &format!("T{i}"), None).await;
    }
    orgql::domain::accounts::grant_platform_admin(&app.db, &root.email)
        .await
        .unwrap();
    let set = "mutation($id: ID!) { setOrganizationTier(input: { organizationId: $id, tier: FREE }) { organization { tier } } }";
    assert_ok(
        &app.graphql(set, json!({ "id": org.id }), Some(&root.token))
            .await,
    );
    let teams = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { teams { totalCount } } }",
            json!({ "id": org.id }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(teams["data"]["organization"]["teams"]["totalCount"], 4);
    let more = app
        .graphql("mutation($org: ID!) { createTeam(input: { organizationId: $org, name: \"T5\" }) { team { id } } }", json!({ "org": org.id }), Some(&ann.token))
        .await;
    assert_error(&more, "TIER_LIMIT_EXCEEDED");
}

const OFFER: &str = "mutation($org: ID!, $m: ID!) { transferOwnership(input: { organizationId: $org, newOwnerMemberId: $m }) { transfer { id status expiresAt to { id } } } }";

#[tokio::test]
async fn ownership_is_handed_over_when_the_new_owner_accepts() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (ada, ada_id) = app.member_of(&org, Role::Admin, "Ada").await;
    assert_error(
        &app.graphql(
            OFFER,
            json!({ "org": org.id, "m": ada_id }),
            Some(&ada.token),
        )
        .await,
        "FORBIDDEN",
    );
    let offered = app
        .graphql(
            OFFER,
            json!({ "org": org.id, "m": ada_id }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&offered);
    let id = offered["data"]["transferOwnership"]["transfer"]["id"].clone();
    assert_error(
        &app.graphql(
            OFFER,
            json!({ "org": org.id, "m": ada_id }),
            Some(&ann.token),
        )
        .await,
        "CONFLICT",
    );
    let pending = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { pendingOwnershipTransfer { id status } } }",
            json!({ "id": org.id }),
            Some(&ada.token),
        )
        .await;
    assert_eq!(
        pending["data"]["organization"]["pendingOwnershipTransfer"]["status"],
        "PENDING"
    );
    let accept = "mutation($id: ID!) { acceptOwnershipTransfer(input: { transferId: $id }) { transfer { status } } }";
    assert_error(
        &app.graphql(accept, json!({ "id": id }), Some(&ann.token))
            .await,
        "FORBIDDEN",
    );
    assert_ok(
        &app.graphql(accept, json!({ "id": id }), Some(&ada.token))
            .await,
    );
    let roles = app
        .graphql("query($id: ID!) { organization(id: $id) { members { edges { node { role user { name } } } } } }", json!({ "id": org.id }), Some(&ada.token))
        .await;
    let edges = roles["data"]["organization"]["members"]["edges"]
        .as_array()
        .unwrap();
    let role_of = |name: &str| {
        edges
            .iter()
            .find(|e| e["node"]["user"]["name"] == name)
            .unwrap()["node"]["role"]
            .clone()
    };
    assert_eq!(
        (role_of("Ann"), role_of("Ada")),
        (json!("ADMIN"), json!("OWNER"))
    );
    assert_eq!(app.last_audit().await.action, "ownership.transferred");
}

async fn offer(app: &TestApp, org: &TestOrg, owner: &TestUser, to: &str) -> Value {
    let response = app
        .graphql(OFFER, json!({ "org": org.id, "m": to }), Some(&owner.token))
        .await;
    response["data"]["transferOwnership"]["transfer"]["id"].clone()
}

#[tokio::test]
async fn a_transfer_can_be_declined_or_cancelled_and_expires() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (ada, ada_id) = app.member_of(&org, Role::Admin, "Ada").await;
    let declined = offer(&app, &org, &ann, &ada_id).await;
    let decline = "mutation($id: ID!) { declineOwnershipTransfer(input: { transferId: $id }) { transfer { status } } }";
    assert_eq!(
        app.graphql(decline, json!({ "id": declined }), Some(&ada.token))
            .await["data"]["declineOwnershipTransfer"]["transfer"]["status"],
        "DECLINED"
    );
    let cancelled = offer(&app, &org, &ann, &ada_id).await;
    let cancel = "mutation($id: ID!) { cancelOwnershipTransfer(input: { transferId: $id }) { transfer { status } } }";
    assert_error(
        &app.graphql(cancel, json!({ "id": cancelled }), Some(&ada.token))
            .await,
        "FORBIDDEN",
    );
    assert_eq!(
        app.graphql(cancel, json!({ "id": cancelled }), Some(&ann.token))
            .await["data"]["cancelOwnershipTransfer"]["transfer"]["status"],
        "CANCELLED"
    );
    let lapsed = offer(&app, &org, &ann, &ada_id).await;
    entity::ownership_transfer::Entity::update_many()
        .col_expr(
            entity::ownership_transfer::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let accept = "mutation($id: ID!) { acceptOwnershipTransfer(input: { transferId: $id }) { transfer { status } } }";
    assert_error(
        &app.graphql(accept, json!({ "id": lapsed }), Some(&ada.token))
            .await,
        "CONFLICT",
    );
    // A lapsed offer does not block a new one.
    assert!(offer(&app, &org, &ann, &ada_id).await.is_string());
}

#[tokio::test]
async fn concurrent_acceptance_and_cancellation_leave_one_consistent_outcome() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (ada, ada_id) = app.member_of(&org, Role::Admin, "Ada").await;
    let offered = app
        .graphql(
            OFFER,
            json!({ "org": org.id, "m": ada_id }),
            Some(&ann.token),
        )
        .await;
    let id = offered["data"]["transferOwnership"]["transfer"]["id"].clone();
    let (accepted, cancelled) = tokio::join!(
        app.graphql("mutation($id: ID!) { acceptOwnershipTransfer(input: { transferId: $id }) { transfer { status } } }", json!({ "id": id }), Some(&ada.token)),
        app.graphql("mutation($id: ID!) { cancelOwnershipTransfer(input: { transferId: $id }) { transfer { status } } }", json!({ "id": id }), Some(&ann.token)),
    );
    assert_eq!(
        [&accepted, &cancelled]
            .iter()
            .filter(|r| error_code(r).is_none())
            .count(),
        1,
        "{accepted} {cancelled}"
    );
    let owners = app
        .graphql("query($id: ID!) { organization(id: $id) { members(filter: { role: OWNER }) { totalCount } } }", json!({ "id": org.id }), Some(&ada.token))
        .await;
    assert_eq!(owners["data"]["organization"]["members"]["totalCount"], 1);
}
