//! Verified domains: a claim, its DNS TXT challenge served by a DNS server
//! the test controls, verification, removal; who may do it; and that an
//! unverified claim neither blocks nor reveals another tenant's.

use entity::values::Role;
use serde_json::{Value, json};

use crate::dns_server::DnsServer;
use crate::helpers::*;

const ADD: &str =
    "mutation($o: ID!, $d: String!) { addDomain(input: { organizationId: $o, domain: $d }) {
    domain { domain verified verifiedAt } challenge { recordType recordName recordValue } } }";
const VERIFY: &str =
    "mutation($o: ID!, $d: String!) { verifyDomain(input: { organizationId: $o, domain: $d }) {
    domain { domain verified verifiedAt } } }";
const REMOVE: &str = "mutation($o: ID!, $d: String!) { removeDomain(input: { organizationId: $o, domain: $d }) { removedDomain } }";
const DOMAINS: &str =
    "query($o: ID!) { organization(id: $o) { domains { domain verified verifiedAt } } }";

async fn spawn_with_dns() -> (TestApp, DnsServer) {
    let dns = DnsServer::start().await;
    let addr = dns.addr;
    let app = spawn_app_with(|config| config.dns_resolver = Some(addr)).await;
    (app, dns)
}

async fn call(app: &TestApp, query: &str, user: &TestUser, org: &TestOrg, domain: &str) -> Value {
    app.graphql(
        query,
        json!({ "o": org.id, "d": domain }),
        Some(&user.token),
    )
    .await
}

/// Claims `domain` and publishes its challenge; returns the challenge.
async fn claim_and_publish(
    app: &TestApp,
    dns: &DnsServer,
    user: &TestUser,
    org: &TestOrg,
    domain: &str,
) -> Value {
    let added = call(app, ADD, user, org, domain).await;
    assert_ok(&added);
    let challenge = added["data"]["addDomain"]["challenge"].clone();
    dns.publish_txt(
        challenge["recordName"].as_str().unwrap(),
        challenge["recordValue"].as_str().unwrap(),
    );
    challenge
}

#[tokio::test]
async fn an_owner_verifies_a_domain_once_its_txt_challenge_is_published() {
    let (app, dns) = spawn_with_dns().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let added = call(&app, ADD, &ann, &org, "Example.COM.").await;
    assert_ok(&added);
    let payload = &added["data"]["addDomain"];
    assert_eq!(payload["domain"]["domain"], "example.com");
    assert_eq!(payload["domain"]["verified"], false);
    assert!(payload["domain"]["verifiedAt"].is_null());
    assert_eq!(payload["challenge"]["recordType"], "TXT");
    assert_eq!(
        payload["challenge"]["recordName"],
        "_orgql-challenge.example.com"
    );
    let value = payload["challenge"]["recordValue"].as_str().unwrap();
    assert!(value.starts_with("orgql-domain-verification="), "{value}");
    assert_eq!(app.last_audit().await.action, "domain.added");

    // Nothing published yet, then a wrong value: not verified.
    assert_error(
        &call(&app, VERIFY, &ann, &org, "example.com").await,
        "BAD_USER_INPUT",
    );
    dns.publish_txt(
        "_orgql-challenge.example.com",
        "orgql-domain-verification=not-the-one",
    );
    assert_error(
        &call(&app, VERIFY, &ann, &org, "example.com").await,
        "BAD_USER_INPUT",
    );
    let listed = app
        .graphql(DOMAINS, json!({ "o": org.id }), Some(&ann.token))
        .await;
    assert_eq!(
        listed["data"]["organization"]["domains"][0]["verified"],
        false
    );
    assert_eq!(
        orgql::domain::domains::verified_organization_for(&app.db, "example.com")
            .await
            .unwrap(),
        None
    );

    dns.publish_txt("_orgql-challenge.example.com", value);
    let verified = call(&app, VERIFY, &ann, &org, "example.com").await;
    assert_ok(&verified);
    assert_eq!(verified["data"]["verifyDomain"]["domain"]["verified"], true);
    assert!(verified["data"]["verifyDomain"]["domain"]["verifiedAt"].is_string());
    assert_eq!(app.last_audit().await.action, "domain.verified");
    let listed = app
        .graphql(DOMAINS, json!({ "o": org.id }), Some(&ann.token))
        .await;
    assert_eq!(
        listed["data"]["organization"]["domains"],
        json!([{ "domain": "example.com", "verified": true,
                 "verifiedAt": verified["data"]["verifyDomain"]["domain"]["verifiedAt"] }])
    );
    assert_eq!(
        orgql::domain::domains::verified_organization_for(&app.db, "EXAMPLE.com")
            .await
            .unwrap(),
        Some(org.uuid)
    );

    let removed = call(&app, REMOVE, &ann, &org, "example.com").await;
    assert_eq!(
        removed["data"]["removeDomain"]["removedDomain"],
        "example.com"
    );
    assert_eq!(app.last_audit().await.action, "domain.removed");
    assert_eq!(
        orgql::domain::domains::verified_organization_for(&app.db, "example.com")
            .await
            .unwrap(),
        None
    );
    assert_error(
        &call(&app, REMOVE, &ann, &org, "example.com").await,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn only_owners_and_admins_manage_domains_and_strangers_learn_nothing() {
    let (app, dns) = spawn_with_dns().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let (adam, _) = app.member_of(&org, Role::Admin, "Adam").await;
    let (max, _) = app.member_of(&org, Role::Member, "Max").await;
    let stranger = app.sign_up("Sam").await;

    assert_error(&call(&app, ADD, &max, &org, "acme.test").await, "FORBIDDEN");
    assert_error(
        &call(&app, ADD, &stranger, &org, "acme.test").await,
        "NOT_FOUND",
    );
    claim_and_publish(&app, &dns, &adam, &org, "acme.test").await;
    assert_error(
        &call(&app, VERIFY, &max, &org, "acme.test").await,
        "FORBIDDEN",
    );
    assert_error(
        &call(&app, VERIFY, &stranger, &org, "acme.test").await,
        "NOT_FOUND",
    );
    assert_ok(&call(&app, VERIFY, &adam, &org, "acme.test").await);
    assert_error(
        &call(&app, REMOVE, &max, &org, "acme.test").await,
        "FORBIDDEN",
    );
    // Members read the list, but not the challenge.
    let listed = app
        .graphql(DOMAINS, json!({ "o": org.id }), Some(&max.token))
        .await;
    assert_eq!(
        listed["data"]["organization"]["domains"][0]["verified"],
        true
    );
    let challenge = app
        .graphql(
            "query($o: ID!) { organization(id: $o) { domains { challenge { recordValue } } } }",
            json!({ "o": org.id }),
            Some(&max.token),
        )
        .await;
    assert_error(&challenge, "FORBIDDEN");
    assert_ok(&call(&app, REMOVE, &adam, &org, "acme.test").await);
    assert_error(
        &call(&app, ADD, &ann, &org, "not a domain").await,
        "BAD_USER_INPUT",
    );
}

#[tokio::test]
async fn an_unverified_claim_neither_blocks_nor_reveals_another_tenant() {
    let (app, dns) = spawn_with_dns().await;
    let ann = app.sign_up("Ann").await;
    let acme = app.create_org(&ann, "Acme").await;
    let bob = app.sign_up("Bob").await;
    let globex = app.create_org(&bob, "Globex").await;

    // Both claim the same domain; each gets a challenge of its own, and
    // neither learns of the other.
    let first = claim_and_publish(&app, &dns, &ann, &acme, "shared.test").await;
    let added = call(&app, ADD, &bob, &globex, "shared.test").await;
    assert_ok(&added);
    let second = added["data"]["addDomain"]["challenge"].clone();
    assert_ne!(first["recordValue"], second["recordValue"]);
    // Acme's published record does not verify Globex's claim.
    assert_error(
        &call(&app, VERIFY, &bob, &globex, "shared.test").await,
        "BAD_USER_INPUT",
    );
    // Claiming twice in one organization is a conflict.
    assert_error(
        &call(&app, ADD, &ann, &acme, "shared.test").await,
        "CONFLICT",
    );

    // Acme verifies first; Globex, having proved control too, learns the
    // domain is taken, and only then.
    assert_ok(&call(&app, VERIFY, &ann, &acme, "shared.test").await);
    dns.publish_txt(
        second["recordName"].as_str().unwrap(),
        second["recordValue"].as_str().unwrap(),
    );
    assert_error(
        &call(&app, VERIFY, &bob, &globex, "shared.test").await,
        "CONFLICT",
    );
    let globex_domains = app
        .graphql(DOMAINS, json!({ "o": globex.id }), Some(&bob.token))
        .await;
    assert_eq!(
        globex_domains["data"]["organization"]["domains"],
        json!([{ "domain": "shared.test", "verified": false, "verifiedAt": null }])
    );
    assert!(
        orgql::domain::domains::is_verified_by(&app.db, acme.uuid, "shared.test")
            .await
            .unwrap()
    );

    // Once Acme lets go, Globex verifies.
    assert_ok(&call(&app, REMOVE, &ann, &acme, "shared.test").await);
    assert_ok(&call(&app, VERIFY, &bob, &globex, "shared.test").await);
    assert!(
        orgql::domain::domains::is_verified_by(&app.db, globex.uuid, "shared.test")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn the_domains_of_many_organizations_cost_one_statement() {
    let (app, dns) = spawn_with_dns().await;
    let ann = app.sign_up("Ann").await;
    let query = "{ organizations(first: 20) { edges { node { domains { domain verified } } } } }";
    let mut counts = Vec::new();
    for n in 0..3 {
        let org = app.create_org(&ann, &format!("Org {n}")).await;
        claim_and_publish(&app, &dns, &ann, &org, &format!("org{n}.test")).await;
        let (response, statements) = app
            .graphql_counted(query, json!({}), Some(&ann.token))
            .await;
        assert_ok(&response);
        counts.push(statements);
    }
    assert_eq!(counts[0], counts[2], "{counts:?}");
}
