//! Joining by verified domain (issue #13): a colleague whose verified
//! address is at one of the organization's verified `autoJoinDomains` joins
//! with the policy's `defaultRole`; an unverified one cannot; the seat limit
//! holds under 50 concurrent joins; and the policy can add people
//! automatically when they sign in.

use entity::values::Tier;
use serde_json::{Value, json};

use crate::dns_server::DnsServer;
use crate::helpers::*;

const JOINABLE: &str = "{ viewer { joinableOrganizations { id name } } }";
const JOIN: &str = "mutation($o: ID!) { joinOrganizationByDomain(input: { organizationId: $o }) { member { role isGuest } organization { id } } }";
const POLICY: &str = "mutation($o: ID!, $d: [String!], $r: Role, $auto: Boolean) { updatePolicy(input: { organizationId: $o, autoJoinDomains: $d, defaultRole: $r, autoJoinOnSignIn: $auto }) { policy { autoJoinDomains defaultRole autoJoinOnSignIn } } }";

/// Ann's organization with `domain` verified through a DNS server the test
/// runs.
async fn with_verified_domain(domain: &str) -> (TestApp, DnsServer, TestUser, TestOrg) {
    let dns = DnsServer::start().await;
    let addr = dns.addr;
    let app = spawn_app_with(|c| c.dns_resolver = Some(addr)).await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let added = app
        .graphql(
            "mutation($o: ID!, $d: String!) { addDomain(input: { organizationId: $o, domain: $d }) { challenge { recordName recordValue } } }",
            json!({ "o": org.id, "d": domain }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&added);
    let challenge = &added["data"]["addDomain"]["challenge"];
    dns.publish_txt(
        challenge["recordName"].as_str().unwrap(),
        challenge["recordValue"].as_str().unwrap(),
    );
    let verified = app
        .graphql(
            "mutation($o: ID!, $d: String!) { verifyDomain(input: { organizationId: $o, domain: $d }) { domain { verified } } }",
            json!({ "o": org.id, "d": domain }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&verified);
    (app, dns, ann, org)
}

async fn open_to(
    app: &TestApp,
    ann: &TestUser,
    org: &TestOrg,
    domains: Value,
    role: &str,
    auto: bool,
) -> Value {
    app.graphql(
        POLICY,
        json!({ "o": org.id, "d": domains, "r": role, "auto": auto }),
        Some(&ann.token),
    )
    .await
}

#[tokio::test]
async fn a_verified_colleague_joins_by_domain_and_an_unverified_one_cannot() {
    let (app, _dns, ann, org) = with_verified_domain("acme.example").await;
    // Only verified domains of the organization may be named.
    let refused = open_to(&app, &ann, &org, json!(["other.example"]), "MEMBER", false).await;
    assert_error(&refused, "BAD_USER_INPUT");
    let refused = open_to(&app, &ann, &org, json!(["acme.example"]), "ADMIN", false).await;
    assert_error(&refused, "BAD_USER_INPUT");
    let opened = open_to(&app, &ann, &org, json!(["acme.example"]), "MEMBER", false).await;
    assert_ok(&opened);

    // A colleague with a verified address sees it and joins.
    let cy = app.sign_up_as("cy@acme.example", "Cy").await;
    app.mark_verified(&cy).await;
    let listed = app.graphql(JOINABLE, json!({}), Some(&cy.token)).await;
    assert_eq!(
        listed["data"]["viewer"]["joinableOrganizations"],
        json!([{ "id": org.id, "name": "Acme" }])
    );
    let joined = app
        .graphql(JOIN, json!({ "o": org.id }), Some(&cy.token))
        .await;
    assert_ok(&joined);
    assert_eq!(
        joined["data"]["joinOrganizationByDomain"]["member"]["role"],
        "MEMBER"
    );
    assert_eq!(app.last_audit().await.action, "member.joined_by_domain");
    let again = app
        .graphql(JOIN, json!({ "o": org.id }), Some(&cy.token))
        .await;
    assert_error(&again, "ALREADY_MEMBER");
    let listed = app.graphql(JOINABLE, json!({}), Some(&cy.token)).await;
    assert_eq!(listed["data"]["viewer"]["joinableOrganizations"], json!([]));

    // Same domain, unproven address: nothing listed, joining refused.
    let dan = app.sign_up_as("dan@acme.example", "Dan").await;
    let listed = app.graphql(JOINABLE, json!({}), Some(&dan.token)).await;
    assert_eq!(listed["data"]["viewer"]["joinableOrganizations"], json!([]));
    let refused = app
        .graphql(JOIN, json!({ "o": org.id }), Some(&dan.token))
        .await;
    assert_error(&refused, "FORBIDDEN");

    // A verified address at another domain: the organization looks absent.
    let eve = app.sign_up("Eve").await;
    let refused = app
        .graphql(JOIN, json!({ "o": org.id }), Some(&eve.token))
        .await;
    assert_error(&refused, "NOT_FOUND");

    // Closing the door stops new joins.
    let closed = open_to(&app, &ann, &org, json!([]), "MEMBER", false).await;
    assert_ok(&closed);
    app.mark_verified(&dan).await;
    let refused = app
        .graphql(JOIN, json!({ "o": org.id }), Some(&dan.token))
        .await;
    assert_error(&refused, "NOT_FOUND");
}

#[tokio::test]
async fn fifty_concurrent_joins_by_domain_never_pass_the_seat_limit() {
    let (app, _dns, ann, org) = with_verified_domain("acme.example").await;
    app.set_tier(&org, Tier::Starter).await;
    assert_ok(&open_to(&app, &ann, &org, json!(["acme.example"]), "VIEWER", false).await);
    let mut people = Vec::new();
    for i in 0..50 {
        let person = app
            .sign_up_as(&format!("p{i}@acme.example"), &format!("P{i}"))
            .await;
        app.mark_verified(&person).await;
        people.push(person);
    }
    let joins = people
        .iter()
        .map(|p| app.graphql(JOIN, json!({ "o": org.id }), Some(&p.token)));
    let outcomes = futures_util::future::join_all(joins).await;
    let joined = outcomes
        .iter()
        .filter(|r| r.get("errors").is_none())
        .count();
    let over = outcomes
        .iter()
        .filter(|r| error_code(r) == Some("TIER_LIMIT_EXCEEDED"))
        .count();
    // The owner holds one of STARTER's 10 seats.
    assert_eq!(joined, 9, "{outcomes:?}");
    assert_eq!(over, 41);
    let count = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { members { totalCount } } }",
            json!({ "id": org.id }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(count["data"]["organization"]["members"]["totalCount"], 10);
}

#[tokio::test]
async fn the_policy_can_add_colleagues_when_they_sign_in() {
    let (app, _dns, ann, org) = with_verified_domain("acme.example").await;
    let cy = app.sign_up_as("cy@acme.example", "Cy").await;
    app.mark_verified(&cy).await;
    let log_in = "mutation($e: String!) { logIn(input: { email: $e, password: \"violet tractor umbrella 42\" }) { accessToken } }";
    // Without automatic adding, signing in adds nobody.
    assert_ok(&open_to(&app, &ann, &org, json!(["acme.example"]), "VIEWER", false).await);
    assert_ok(&app.graphql(log_in, json!({ "e": cy.email }), None).await);
    let listed = app.graphql(JOINABLE, json!({}), Some(&cy.token)).await;
    assert_eq!(
        listed["data"]["viewer"]["joinableOrganizations"][0]["id"],
        org.id.as_str()
    );

    assert_ok(&open_to(&app, &ann, &org, json!(["acme.example"]), "VIEWER", true).await);
    assert_ok(&app.graphql(log_in, json!({ "e": cy.email }), None).await);
    let role = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { viewerMembership { role } } }",
            json!({ "id": org.id }),
            Some(&cy.token),
        )
        .await;
    assert_eq!(
        role["data"]["organization"]["viewerMembership"]["role"],
        "VIEWER"
    );
    // A colleague whose address is unverified does not even sign in (a
    // session from before still holds), and is not added.
    let dan = app.sign_up_as("dan@acme.example", "Dan").await;
    assert_error(
        &app.graphql(log_in, json!({ "e": dan.email }), None).await,
        "UNAUTHENTICATED",
    );
    let seen = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { id } }",
            json!({ "id": org.id }),
            Some(&dan.token),
        )
        .await;
    assert_eq!(seen["data"]["organization"], Value::Null);
}
