//! Names reach invitation emails and logs, so they are one line of visible
//! text: line breaks, bidi overrides and zero-width characters are refused
//! (issue #11, item 10). Descriptions are prose and keep their line breaks.
//! The zero-width joiner and non-joiner are kept where a script or an emoji
//! sequence needs them, and names are stored in NFC (issue #28, item 1).

use serde_json::{Value, json};

use crate::helpers::{assert_error, assert_ok, spawn_app};

const CREATE_ORG: &str = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { name } } }";
const UPDATE_ORG: &str = "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { name description } } }";
const CREATE_TEAM: &str = "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { name description } } }";
const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { user { name } } }";

/// Ali-Reza, with the zero-width non-joiner Persian writes between ی and ر.
const PERSIAN: &str = "علی\u{200C}رضا";
/// A family: man, ZWJ, woman, ZWJ, girl.
const FAMILY: &str = "👨\u{200D}👩\u{200D}👧";

/// A name that would put a fake notice into an invitation email, and one
/// that a right-to-left override makes read "Acme moc.live" backwards.
const DECEPTIVE_NAMES: [&str; 2] = [
    "Acme\n\nURGENT: verify at https://evil.example",
    "Acme \u{202E}evil.com",
];

#[track_caller]
fn assert_name_refused(response: &Value) {
    assert_error(response, "BAD_USER_INPUT");
    assert_eq!(
        response["errors"][0]["extensions"]["field"], "name",
        "{response}"
    );
}

#[tokio::test]
async fn an_organization_name_with_line_breaks_or_a_bidi_override_is_refused() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let before = app.audit_count().await;
    for name in DECEPTIVE_NAMES {
        let created = app
            .graphql(
                CREATE_ORG,
                json!({ "input": { "name": name } }),
                Some(&ann.token),
            )
            .await;
        assert_name_refused(&created);
        let updated = app
            .graphql(
                UPDATE_ORG,
                json!({ "input": { "organizationId": org.id, "name": name } }),
                Some(&ann.token),
            )
            .await;
        assert_name_refused(&updated);
    }
    assert_eq!(app.audit_count().await, before);

    let description = "We build anvils.\n\nAnd rockets.";
    let updated = app
        .graphql(
            UPDATE_ORG,
            json!({ "input": { "organizationId": org.id, "name": "Acme, Inc.", "description": description } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&updated);
    let organization = &updated["data"]["updateOrganization"]["organization"];
    assert_eq!(organization["name"], "Acme, Inc.");
    assert_eq!(organization["description"], description);
}

#[tokio::test]
async fn a_team_name_with_a_zero_width_space_is_refused() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let refused = app
        .graphql(
            CREATE_TEAM,
            json!({ "input": { "organizationId": org.id, "name": "Core\u{200B}" } }),
            Some(&ann.token),
        )
        .await;
    assert_name_refused(&refused);

    let created = app
        .graphql(
            CREATE_TEAM,
            json!({ "input": { "organizationId": org.id, "name": "Core", "description": "Line one\nLine two" } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&created);
    assert_eq!(
        created["data"]["createTeam"]["team"]["description"],
        "Line one\nLine two"
    );
}

#[tokio::test]
async fn a_person_cannot_sign_up_under_a_deceptive_name() {
    let app = spawn_app().await;
    for name in DECEPTIVE_NAMES {
        let response = app
            .graphql(
                "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
                json!({ "input": { "email": "eve@example.com", "password": "correct horse", "name": name } }),
                None,
            )
            .await;
        assert_name_refused(&response);
    }
}

#[tokio::test]
async fn a_persian_name_and_an_emoji_sequence_are_kept_and_stored_in_nfc() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let persian = format!("{PERSIAN} و پسران");
    let created = app
        .graphql(
            CREATE_ORG,
            json!({ "input": { "name": persian } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&created);
    assert_eq!(
        created["data"]["createOrganization"]["organization"]["name"],
        persian.as_str()
    );
    let org = app.create_org(&ann, "Acme").await;

    // "e" + U+0301 is stored as the one character "é".
    let updated = app
        .graphql(
            UPDATE_ORG,
            json!({ "input": { "organizationId": org.id, "name": format!("Cafe\u{301} {FAMILY}") } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&updated);
    let read = app
        .graphql(
            "query($id: ID!) { organization(id: $id) { name } }",
            json!({ "id": org.id }),
            Some(&ann.token),
        )
        .await;
    assert_eq!(
        read["data"]["organization"]["name"],
        format!("Café {FAMILY}").as_str()
    );

    let team = app
        .graphql(
            CREATE_TEAM,
            json!({ "input": { "organizationId": org.id, "name": format!("{FAMILY} {PERSIAN}") } }),
            Some(&ann.token),
        )
        .await;
    assert_ok(&team);
    assert_eq!(
        team["data"]["createTeam"]["team"]["name"],
        format!("{FAMILY} {PERSIAN}").as_str()
    );

    let signed_up = app
        .graphql(
            SIGN_UP,
            json!({ "input": { "email": "alireza@example.com", "password": "correct horse", "name": PERSIAN } }),
            None,
        )
        .await;
    assert_ok(&signed_up);
    assert_eq!(signed_up["data"]["signUp"]["user"]["name"], PERSIAN);
}

#[tokio::test]
async fn a_name_that_starts_or_ends_with_a_joiner_or_joins_nothing_is_refused() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    let org = app.create_org(&ann, "Acme").await;
    let before = app.audit_count().await;
    for name in [
        format!("\u{200D}{FAMILY}"),
        format!("{FAMILY}\u{200D}"),
        format!("\u{200C}{PERSIAN}"),
        // Between Latin letters a joiner changes nothing that shows.
        "Ac\u{200C}me".to_owned(),
        "Ac\u{200D}me".to_owned(),
    ] {
        let created = app
            .graphql(
                CREATE_ORG,
                json!({ "input": { "name": name } }),
                Some(&ann.token),
            )
            .await;
        assert_name_refused(&created);
        assert_eq!(
            created["errors"][0]["message"],
            "name contains invisible or text-direction characters"
        );
        let updated = app
            .graphql(
                UPDATE_ORG,
                json!({ "input": { "organizationId": org.id, "name": name } }),
                Some(&ann.token),
            )
            .await;
        assert_name_refused(&updated);
        let team = app
            .graphql(
                CREATE_TEAM,
                json!({ "input": { "organizationId": org.id, "name": name } }),
                Some(&ann.token),
            )
            .await;
        assert_name_refused(&team);
        let signed_up = app
            .graphql(
                SIGN_UP,
                json!({ "input": { "email": "eve@example.com", "password": "correct horse", "name": name } }),
                None,
            )
            .await;
        assert_name_refused(&signed_up);
    }
    assert_eq!(app.audit_count().await, before);
}

#[tokio::test]
async fn a_name_typed_decomposed_is_found_by_either_spelling() {
    let app = spawn_app().await;
    let ann = app.sign_up("Ann").await;
    app.create_org(&ann, "Cafe\u{301} Noir").await;
    app.create_org(&ann, "Acme").await;
    let list = "query($f: OrganizationFilterInput) { organizations(filter: $f) { totalCount edges { node { name } } } }";
    for search in ["Café", "cafe\u{301}", "é n"] {
        let found = app
            .graphql(list, json!({ "f": { "search": search } }), Some(&ann.token))
            .await;
        assert_eq!(
            found["data"]["organizations"]["totalCount"], 1,
            "{search}: {found}"
        );
        assert_eq!(
            found["data"]["organizations"]["edges"][0]["node"]["name"],
            "Café Noir"
        );
    }
}
