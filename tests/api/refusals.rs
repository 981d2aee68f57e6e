//! The refused case of every guarded read and of the permission checks not
//! covered by their feature's own tests: each row names a caller whose role
//! lacks the permission and the code they get.

use entity::values::{Role, Tier};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn guarded_fields_refuse_roles_without_their_permission() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let (bill, _) = app.member_of(&org, Role::Billing, "Bill").await;
    let cases = [
        ("invitations { totalCount }", &max),
        ("joinCodes { totalCount }", &max),
        ("apiTokens { id }", &max),
        ("ipAllowlist { id }", &max),
        ("auditLog { totalCount }", &max),
        ("usage { auditRetentionDays }", &max),
        ("pendingTierUpgradeRequest { id }", &max),
        ("jwtExpirySecs", &max),
        ("teams { totalCount }", &bill),
        ("team(slug: \"x\") { id }", &bill),
        ("membersCount", &bill),
        ("policy { invitationTtlHours }", &bill),
        ("pendingOwnershipTransfer { id }", &bill),
    ];
    for (field, caller) in cases {
        let query = format!("query($id: ID!) {{ organization(id: $id) {{ {field} }} }}");
        let allowed = app
            .graphql(&query, json!({ "id": org.id }), Some(&ann.token))
            .await;
        assert_ok(&allowed);
        let refused = app
            .graphql(&query, json!({ "id": org.id }), Some(&caller.token))
            .await;
        assert_eq!(
            error_code(&refused),
            Some("FORBIDDEN"),
            "{field}: {refused}"
        );
    }
}

#[tokio::test]
async fn managing_codes_tokens_allowlist_and_tiers_is_refused_without_permission() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (max, max_id) = app.member_of(&org, Role::Member, "Max").await;
    let (ada, _) = app.member_of(&org, Role::Admin, "Ada").await;
    let code = app
        .graphql("mutation($o: ID!) { createJoinCode(input: { organizationId: $o }) { joinCode { id } } }", json!({ "o": org.id }), Some(&ann.token))
        .await;
    let token = app
        .graphql("mutation($o: ID!) { createApiToken(input: { organizationId: $o, name: \"CI\", scopes: [ORG_VIEW] }) { apiToken { id } } }", json!({ "o": org.id }), Some(&ann.token))
        .await;
    let invitation = app
        .graphql("mutation($o: ID!) { createInvitation(input: { organizationId: $o, email: \"x@example.com\" }) { invitation { id } } }", json!({ "o": org.id }), Some(&ann.token))
        .await;
    let team = app.create_team(&ann, &org, "Core", None).await;
    let request = app
        .graphql("mutation($o: ID!) { requestTierUpgrade(input: { organizationId: $o, requestedTier: ENTERPRISE }) { request { id } } }", json!({ "o": org.id }), Some(&ann.token))
        .await;
    let cases = [
        (
            "mutation($x: ID!) { revokeJoinCode(input: { joinCodeId: $x }) { joinCode { id } } }",
            code["data"]["createJoinCode"]["joinCode"]["id"].clone(),
            &max,
            "FORBIDDEN",
        ),
        (
            "mutation($x: ID!) { revokeApiToken(input: { apiTokenId: $x }) { apiToken { id } } }",
            token["data"]["createApiToken"]["apiToken"]["id"].clone(),
            &max,
            "FORBIDDEN",
        ),
        (
            "mutation($x: ID!) { resendInvitation(input: { invitationId: $x }) { token } }",
            invitation["data"]["createInvitation"]["invitation"]["id"].clone(),
            &max,
            "FORBIDDEN",
        ),
        (
            "mutation($x: ID!) { addIpAllowlistEntry(input: { organizationId: $x, cidr: \"10.0.0.0/8\" }) { entry { id } } }",
            json!(org.id),
            &max,
            "FORBIDDEN",
        ),
        (
            "mutation($x: ID!) { updatePolicy(input: { organizationId: $x, invitationTtlHours: 48 }) { policy { invitationTtlHours } } }",
            json!(org.id),
            &max,
            "FORBIDDEN",
        ),
        (
            "mutation($x: ID!) { revokeOrganizationSessions(input: { organizationId: $x }) { revokedSessions } }",
            json!(org.id),
            &max,
            "FORBIDDEN",
        ),
        (
            "mutation($x: ID!) { setOrganizationTier(input: { organizationId: $x, tier: ENTERPRISE }) { organization { tier } } }",
            json!(org.id),
            &ann,
            "FORBIDDEN",
        ),
        (
            "mutation($x: ID!) { rejectTierUpgrade(input: { requestId: $x }) { request { id } } }",
            request["data"]["requestTierUpgrade"]["request"]["id"].clone(),
            &ada,
            "FORBIDDEN",
        ),
        (
            "mutation($x: ID!) { deleteTeam(input: { teamId: $x }) { deletedTeamId } }",
            json!(team),
            &max,
            "FORBIDDEN",
        ),
        (
            "mutation($x: ID!) { transferOwnership(input: { organizationId: $x, newOwnerMemberId: \"MEMBER\" }) { transfer { id } } }",
            json!(org.id),
            &ada,
            "FORBIDDEN",
        ),
    ];
    for (mutation, id, caller, code) in cases {
        let mutation = mutation.replace("\"MEMBER\"", &format!("\"{max_id}\""));
        let refused = app
            .graphql(&mutation, json!({ "x": id }), Some(&caller.token))
            .await;
        assert_eq!(error_code(&refused), Some(code), "{mutation}: {refused}");
    }
}
