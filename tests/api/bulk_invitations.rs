//! `createInvitations` (issue #13): a list of addresses at once, all or
//! nothing under the seat limit, an answer per address, an audit entry and
//! an email each; and invitation emails that render a hostile organization
//! name inert.

use entity::values::{Role, Tier};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::*;

const BULK: &str = "mutation($input: CreateInvitationsInput!) { createInvitations(input: $input) { results { email outcome invitation { id email role } } } }";

fn addresses(n: usize, domain: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({ "email": format!("person{i}@{domain}") }))
        .collect()
}

async fn invitation_count(app: &TestApp) -> u64 {
    entity::invitation::Entity::find()
        .count(&app.db)
        .await
        .unwrap()
}

async fn outbox_to(app: &TestApp, domain: &str) -> u64 {
    entity::outbox_email::Entity::find()
        .filter(entity::outbox_email::Column::Recipient.like(format!("%@{domain}")))
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_hundred_addresses_on_a_tier_with_ten_seats_are_refused_whole() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Starter).await;
    let audit_before = app.audit_count().await;

    let refused = app
        .graphql(
            BULK,
            json!({ "input": { "organizationId": org.id, "invitations": addresses(100, "bulk.example") } }),
            Some(&ann.token),
        )
        .await;
    assert_error(&refused, "TIER_LIMIT_EXCEEDED");
    assert_eq!(refused["errors"][0]["extensions"]["limit"], 10);
    assert_eq!(invitation_count(&app).await, 0, "nothing created");
    assert_eq!(outbox_to(&app, "bulk.example").await, 0, "no email queued");
    assert_eq!(app.audit_count().await, audit_before, "nothing audited");

    // Nine fit beside the owner: all are created, each with its email and
    // its audit entry.
    let sent = app
        .graphql(
            BULK,
            json!({ "input": { "organizationId": org.id, "invitations": addresses(9, "bulk.example") } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&sent);
    let results = sent["data"]["createInvitations"]["results"]
        .as_array()
        .unwrap();
    assert_eq!(results.len(), 9);
    assert!(results.iter().all(|r| r["outcome"] == "CREATED"));
    assert_eq!(invitation_count(&app).await, 9);
    assert_eq!(outbox_to(&app, "bulk.example").await, 9);
    assert_eq!(app.audit_count().await, audit_before + 9);
    let created = entity::audit_entry::Entity::find()
        .filter(entity::audit_entry::Column::Action.eq("invitation.created"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(created, 9);
    app.emails("person8@bulk.example", "You are invited to join Acme", 1)
        .await;

    // The tenth seat is the last: one more than fits is refused whole.
    let over = app
        .graphql(
            BULK,
            json!({ "input": { "organizationId": org.id, "invitations": [
                { "email": "late1@bulk.example" }, { "email": "late2@bulk.example" }
            ] } }),
            Some(&ann.token),
        )
        .await;
    assert_error(&over, "TIER_LIMIT_EXCEEDED");
    assert_eq!(invitation_count(&app).await, 9);
}

#[tokio::test]
async fn the_payload_says_what_happened_to_each_address() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (bob, _) = app.member_of(&org, Role::Member, "Bob").await;
    let first = app
        .graphql(
            BULK,
            json!({ "input": { "organizationId": org.id, "invitations": [{ "email": "cat@corp.example" }] } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&first);
    let policy = app
        .graphql(
            "mutation($o: ID!) { updatePolicy(input: { organizationId: $o, allowedEmailDomains: [\"corp.example\", \"example.com\"] }) { policy { allowedEmailDomains } } }",
            json!({ "o": org.id }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&policy);

    let sent = app
        .graphql(
            BULK,
            json!({ "input": { "organizationId": org.id, "invitations": [
                { "email": "dan@corp.example", "role": "VIEWER" },
                { "email": bob.email.to_uppercase() },
                { "email": "CAT@corp.example" },
                { "email": "eve@elsewhere.example" },
            ] } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&sent);
    let results = &sent["data"]["createInvitations"]["results"];
    assert_eq!(results[0]["email"], "dan@corp.example");
    assert_eq!(results[0]["outcome"], "CREATED");
    assert_eq!(results[0]["invitation"]["role"], "VIEWER");
    assert_eq!(results[1]["outcome"], "ALREADY_MEMBER");
    assert_eq!(results[1]["invitation"], Value::Null);
    assert_eq!(results[2]["outcome"], "ALREADY_INVITED");
    assert_eq!(results[3]["outcome"], "REFUSED_BY_DOMAIN_POLICY");
    assert_eq!(invitation_count(&app).await, 2);
    assert_eq!(outbox_to(&app, "elsewhere.example").await, 0);
    app.emails("dan@corp.example", "You are invited", 1).await;
}

#[tokio::test]
async fn a_list_is_refused_whole_for_bad_input_or_rank() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    app.set_tier(&org, Tier::Team).await;
    let (max, _) = app.member_of(&org, Role::Admin, "Max").await;
    let (vic, _) = app.member_of(&org, Role::Viewer, "Vic").await;
    let cases = [
        (
            json!([{ "email": "a@x.example" }, { "email": "A@x.example" }]),
            "BAD_USER_INPUT",
            &max,
        ),
        (
            json!([{ "email": "a@x.example" }, { "email": "not an address" }]),
            "BAD_USER_INPUT",
            &max,
        ),
        (json!([]), "BAD_USER_INPUT", &max),
        (
            Value::Array(addresses(101, "x.example")),
            "BAD_USER_INPUT",
            &max,
        ),
        (
            json!([{ "email": "a@x.example" }, { "email": "b@x.example", "role": "OWNER" }]),
            "FORBIDDEN",
            &max,
        ),
        (json!([{ "email": "a@x.example" }]), "FORBIDDEN", &vic),
    ];
    for (list, code, who) in cases {
        let refused = app
            .graphql(
                BULK,
                json!({ "input": { "organizationId": org.id, "invitations": list } }),
                Some(&who.token),
            )
            .await;
        assert_error(&refused, code);
    }
    assert_eq!(invitation_count(&app).await, 0);
    assert_eq!(outbox_to(&app, "x.example").await, 0);
}

#[tokio::test]
async fn an_invitation_email_shows_a_hostile_organization_name_inert() {
    let app = spawn_app_with(|c| c.public_url = "https://app.orgql.example".into()).await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    // A name stored before names were checked, or by hand: line breaks,
    // a text-direction override and links.
    entity::organization::Entity::update_many()
        .col_expr(
            entity::organization::Column::Name,
            Expr::value("Acme\r\nBcc: all@victim.example\u{202E} pay at https://evil.example/pay or www.evil.example"),
        )
        .filter(entity::organization::Column::Id.eq(org.uuid))
        .exec(&app.db)
        .await
        .unwrap();
    let sent = app
        .graphql(
            BULK,
            json!({ "input": { "organizationId": org.id, "invitations": [{ "email": "bob@target.example" }] } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&sent);
    let email = app
        .emails("bob@target.example", "You are invited to join Acme", 1)
        .await
        .remove(0);
    assert!(!email.contains("evil.example"), "{email}");
    assert!(!email.contains('\u{202E}'), "{email}");
    assert!(
        !email.lines().any(|l| l.starts_with("Bcc:")),
        "no header injected: {email}"
    );
    let links: Vec<&str> = email.matches("://").collect();
    assert_eq!(
        links.len(),
        email.matches("https://app.orgql.example/").count(),
        "the only links are orgql's own: {email}"
    );
    assert!(email.contains("https://app.orgql.example/invitations/accept?token="));
}
