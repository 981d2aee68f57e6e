//! Every mutation of the schema writes an audit entry. The test drives each
//! one over HTTP through one story, checks that it added an entry, and
//! fails if the schema has a mutation the story does not cover.

use std::collections::BTreeSet;

use entity::values::Tier;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::*;

struct Story<'a> {
    app: &'a TestApp,
    covered: BTreeSet<String>,
}

impl Story<'_> {
    /// Runs `query` (one mutation, named `name`) and checks that it
    /// succeeded and wrote at least one audit entry.
    async fn run(
        &mut self,
        name: &str,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> Value {
        // The newest entry's id (UUIDv7, time-ordered) must change: a count
        // would not do, since deleting an organization deletes its log.
        let newest = || async {
            entity::audit_entry::Entity::find()
                .order_by_desc(entity::audit_entry::Column::Id)
                .one(&self.app.db)
                .await
                .unwrap()
                .map(|e| e.id)
        };
        let before = newest().await;
        let response = self.app.graphql(query, variables, token).await;
        assert!(
            response.get("errors").is_none(),
            "{name} failed: {response}"
        );
        assert_ne!(newest().await, before, "{name} wrote no audit entry");
        self.covered.insert(name.to_owned());
        response["data"][name].clone()
    }
}

async fn schema_mutations() -> BTreeSet<String> {
    let response = orgql::graphql::offline_schema()
        .execute("{ __schema { mutationType { fields { name } } } }")
        .await;
    let data = response.data.into_json().unwrap();
    data["__schema"]["mutationType"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

fn s(value: &Value, path: &[&str]) -> String {
    let mut v = value;
    for p in path {
        v = &v[*p];
    }
    v.as_str()
        .unwrap_or_else(|| panic!("no {path:?} in {value}"))
        .to_owned()
}

#[tokio::test]
async fn every_mutation_writes_an_audit_entry() {
    let dns = crate::dns_server::DnsServer::start().await;
    let dns_addr = dns.addr;
    let app = spawn_app_with(|config| {
        crate::sso::configure(config);
        config.dns_resolver = Some(dns_addr);
    })
    .await;
    let mut story = Story {
        app: &app,
        covered: BTreeSet::new(),
    };
    let sign_up = "mutation($e: String!) { signUp(input: { email: $e, password: \"violet tractor umbrella 42\", name: \"Someone\" }) { user { id } } }";
    story
        .run("signUp", sign_up, json!({ "e": "ann@acme.example" }), None)
        .await;
    // An address signs in once proven (the link's own mutation is covered
    // below, for Val).
    let ann_link = app
        .link_token("ann@acme.example", "Confirm your email address", 1)
        .await;
    assert_ok(
        &app.graphql(
            "mutation($t: String!) { verifyEmail(input: { token: $t }) { user { id } } }",
            json!({ "t": ann_link }),
            None,
        )
        .await,
    );
    let log_in = "mutation { logIn(input: { email: \"ann@acme.example\", password: \"violet tractor umbrella 42\" }) { accessToken refreshToken } }";
    // Two sessions: one to act in, one to revoke later.
    let first = app.graphql(log_in, json!({}), None).await;
    let ann_token = s(&first["data"]["logIn"], &["accessToken"]);
    let login = story.run("logIn", log_in, json!({}), None).await;
    let refreshed = story
        .run(
            "refreshSession",
            "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }",
            json!({ "t": s(&login, &["refreshToken"]) }),
            None,
        )
        .await;
    let second_session_token = s(&refreshed, &["accessToken"]);
    let org = story
        .run("createOrganization", "mutation { createOrganization(input: { name: \"Acme\" }) { organization { id slug } } }", json!({}), Some(&ann_token))
        .await;
    let org_id = s(&org, &["organization", "id"]);
    let org_handle = TestOrg {
        uuid: orgql::domain::ids::parse_uuid::<orgql::domain::ids::OrganizationId>(&org_id, "id")
            .unwrap(),
        id: org_id.clone(),
        slug: s(&org, &["organization", "slug"]),
    };
    app.set_tier(&org_handle, Tier::Team).await;
    story.run("updateOrganization", "mutation($o: ID!) { updateOrganization(input: { organizationId: $o, industry: \"Tools\" }) { organization { id } } }", json!({ "o": org_id }), Some(&ann_token)).await;
    story.run("switchOrganization", "mutation($o: ID!) { switchOrganization(input: { organizationId: $o }) { accessToken } }", json!({ "o": org_id }), Some(&ann_token)).await;
    let team = story.run("createTeam", "mutation($o: ID!) { createTeam(input: { organizationId: $o, name: \"Core\" }) { team { id } } }", json!({ "o": org_id }), Some(&ann_token)).await;
    let team_id = s(&team, &["team", "id"]);
    story.run("updateTeam", "mutation($t: ID!) { updateTeam(input: { teamId: $t, description: \"the core\" }) { team { id } } }", json!({ "t": team_id }), Some(&ann_token)).await;

    let bob = app.sign_up_as("bob@acme.example", "Someone").await;
    let bob_token = bob.token;
    let invite = "mutation($o: ID!, $e: String!) { createInvitation(input: { organizationId: $o, email: $e }) { token invitation { id } } }";
    let for_bob = story
        .run(
            "createInvitation",
            invite,
            json!({ "o": org_id, "e": "bob@acme.example" }),
            Some(&ann_token),
        )
        .await;
    story
        .run(
            "createInvitations",
            "mutation($o: ID!) { createInvitations(input: { organizationId: $o, invitations: [{ email: \"eli@acme.example\" }] }) { results { outcome } } }",
            json!({ "o": org_id }),
            Some(&ann_token),
        )
        .await;
    let resent = story
        .run(
            "resendInvitation",
            "mutation($i: ID!) { resendInvitation(input: { invitationId: $i }) { token } }",
            json!({ "i": s(&for_bob, &["invitation", "id"]) }),
            Some(&ann_token),
        )
        .await;
    let accepted = story
        .run(
            "acceptInvitation",
            "mutation($t: String!) { acceptInvitation(input: { token: $t }) { member { id } } }",
            json!({ "t": s(&resent, &["token"]) }),
            Some(&bob_token),
        )
        .await;
    let bob_member = s(&accepted, &["member", "id"]);
    story.run("addTeamMember", "mutation($t: ID!, $m: ID!) { addTeamMember(input: { teamId: $t, memberId: $m }) { teamMember { role } } }", json!({ "t": team_id, "m": bob_member }), Some(&ann_token)).await;
    story.run("updateTeamMemberRole", "mutation($t: ID!, $m: ID!) { updateTeamMemberRole(input: { teamId: $t, memberId: $m, role: MAINTAINER }) { teamMember { role } } }", json!({ "t": team_id, "m": bob_member }), Some(&ann_token)).await;
    story.run("removeTeamMember", "mutation($t: ID!, $m: ID!) { removeTeamMember(input: { teamId: $t, memberId: $m }) { memberId } }", json!({ "t": team_id, "m": bob_member }), Some(&ann_token)).await;
    story.run("updateMemberRole", "mutation($m: ID!) { updateMemberRole(input: { memberId: $m, role: ADMIN }) { member { role } } }", json!({ "m": bob_member }), Some(&ann_token)).await;
    let for_cy = app
        .graphql(
            invite,
            json!({ "o": org_id, "e": "cy@acme.example" }),
            Some(&ann_token),
        )
        .await;
    story.run("revokeInvitation", "mutation($i: ID!) { revokeInvitation(input: { invitationId: $i }) { invitation { status } } }", json!({ "i": for_cy["data"]["createInvitation"]["invitation"]["id"] }), Some(&ann_token)).await;
    let dee = app.sign_up_as("dee@acme.example", "Someone").await;
    let for_dee = app
        .graphql(
            invite,
            json!({ "o": org_id, "e": "dee@acme.example" }),
            Some(&ann_token),
        )
        .await;
    story.run("declineInvitation", "mutation($t: String!) { declineInvitation(input: { token: $t }) { invitation { status } } }", json!({ "t": for_dee["data"]["createInvitation"]["token"] }), Some(&dee.token)).await;

    let code = story.run("createJoinCode", "mutation($o: ID!) { createJoinCode(input: { organizationId: $o }) { code joinCode { id } } }", json!({ "o": org_id }), Some(&ann_token)).await;
    let eve = app.sign_up_as("eve@acme.example", "Someone").await;
    let eve_token = eve.token;
    story
        .run(
            "joinOrganization",
            "mutation($c: String!) { joinOrganization(input: { code: $c }) { role } }",
            json!({ "c": s(&code, &["code"]) }),
            Some(&eve_token),
        )
        .await;
    story.run("revokeJoinCode", "mutation($j: ID!) { revokeJoinCode(input: { joinCodeId: $j }) { joinCode { active } } }", json!({ "j": s(&code, &["joinCode", "id"]) }), Some(&ann_token)).await;
    let token = story.run("createApiToken", "mutation($o: ID!) { createApiToken(input: { organizationId: $o, name: \"CI\", scopes: [ORG_VIEW] }) { apiToken { id } } }", json!({ "o": org_id }), Some(&ann_token)).await;
    story.run("revokeApiToken", "mutation($t: ID!) { revokeApiToken(input: { apiTokenId: $t }) { apiToken { active } } }", json!({ "t": s(&token, &["apiToken", "id"]) }), Some(&ann_token)).await;
    story.run("updatePolicy", "mutation($o: ID!) { updatePolicy(input: { organizationId: $o, invitationTtlHours: 48 }) { policy { invitationTtlHours } } }", json!({ "o": org_id }), Some(&ann_token)).await;
    // Guests (issue #13).
    let guests_on = app
        .graphql("mutation($o: ID!) { updatePolicy(input: { organizationId: $o, guestAccessEnabled: true }) { policy { guestAccessEnabled } } }", json!({ "o": org_id }), Some(&ann_token))
        .await;
    assert_ok(&guests_on);
    let guest_invited = app
        .graphql("mutation($o: ID!) { createInvitation(input: { organizationId: $o, email: \"gus@guest.example\", guest: true }) { token } }", json!({ "o": org_id }), Some(&ann_token))
        .await;
    let guest = story
        .run(
            "acceptGuestInvitation",
            "mutation($t: String!) { acceptGuestInvitation(input: { token: $t }) { accessToken } }",
            json!({ "t": guest_invited["data"]["createInvitation"]["token"] }),
            None,
        )
        .await;
    story
        .run(
            "requestGuestSignIn",
            "mutation { requestGuestSignIn(input: { email: \"gus@guest.example\" }) { email } }",
            json!({}),
            None,
        )
        .await;
    let guest_link = app
        .link_token("gus@guest.example", "Your orgql sign-in link", 1)
        .await;
    story
        .run(
            "signInWithLink",
            "mutation($t: String!) { signInWithLink(input: { token: $t }) { accessToken } }",
            json!({ "t": guest_link }),
            None,
        )
        .await;
    story
        .run(
            "convertGuestAccount",
            "mutation { convertGuestAccount(input: { password: \"violet tractor umbrella 42\" }) { user { id } } }",
            json!({}),
            guest["accessToken"].as_str(),
        )
        .await;
    let entry = story.run("addIpAllowlistEntry", "mutation($o: ID!) { addIpAllowlistEntry(input: { organizationId: $o, cidr: \"10.0.0.0/8\" }) { entry { id } } }", json!({ "o": org_id }), Some(&ann_token)).await;
    story.run("removeIpAllowlistEntry", "mutation($e: ID!) { removeIpAllowlistEntry(input: { entryId: $e }) { removedEntryId } }", json!({ "e": s(&entry, &["entry", "id"]) }), Some(&ann_token)).await;
    let domain = story.run("addDomain", "mutation($o: ID!) { addDomain(input: { organizationId: $o, domain: \"acme.example\" }) { challenge { recordName recordValue } } }", json!({ "o": org_id }), Some(&ann_token)).await;
    dns.publish_txt(
        &s(&domain, &["challenge", "recordName"]),
        &s(&domain, &["challenge", "recordValue"]),
    );
    story.run("verifyDomain", "mutation($o: ID!) { verifyDomain(input: { organizationId: $o, domain: \"acme.example\" }) { domain { verified } } }", json!({ "o": org_id }), Some(&ann_token)).await;
    // Joining by domain (issue #13), while acme.example is verified.
    let opened = app
        .graphql("mutation($o: ID!) { updatePolicy(input: { organizationId: $o, autoJoinDomains: [\"acme.example\"] }) { policy { autoJoinDomains } } }", json!({ "o": org_id }), Some(&ann_token))
        .await;
    assert_ok(&opened);
    let zed = app.sign_up_as("zed@acme.example", "Zed").await;
    app.mark_verified(&zed).await;
    story
        .run(
            "joinOrganizationByDomain",
            "mutation($o: ID!) { joinOrganizationByDomain(input: { organizationId: $o }) { member { role } } }",
            json!({ "o": org_id }),
            Some(&zed.token),
        )
        .await;
    story.run("removeDomain", "mutation($o: ID!) { removeDomain(input: { organizationId: $o, domain: \"acme.example\" }) { removedDomain } }", json!({ "o": org_id }), Some(&ann_token)).await;

    // Single sign-on, in an ENTERPRISE organization of its own, through a
    // real IdP.
    let idp = crate::idp::Idp::start(crate::sso::idp_config()).await;
    let enterprise = app.graphql("mutation { createOrganization(input: { name: \"Enterprise\" }) { organization { id slug } } }", json!({}), Some(&ann_token)).await["data"]["createOrganization"]["organization"].clone();
    let enterprise_id = s(&enterprise, &["id"]);
    app.set_tier(
        &TestOrg {
            uuid: orgql::domain::ids::parse_uuid::<orgql::domain::ids::OrganizationId>(
                &enterprise_id,
                "id",
            )
            .unwrap(),
            id: enterprise_id.clone(),
            slug: s(&enterprise, &["slug"]),
        },
        Tier::Enterprise,
    )
    .await;
    // Its IdP speaks only for the organization's verified domains.
    let added = app.graphql("mutation($o: ID!) { addDomain(input: { organizationId: $o, domain: \"acme.test\" }) { challenge { recordName recordValue } } }", json!({ "o": enterprise_id }), Some(&ann_token)).await;
    let challenge = &added["data"]["addDomain"]["challenge"];
    dns.publish_txt(
        challenge["recordName"].as_str().unwrap(),
        challenge["recordValue"].as_str().unwrap(),
    );
    assert_ok(&app.graphql("mutation($o: ID!) { verifyDomain(input: { organizationId: $o, domain: \"acme.test\" }) { domain { verified } } }", json!({ "o": enterprise_id }), Some(&ann_token)).await);
    let connection = story.run("createSsoConnection", "mutation($o: ID!, $i: String!, $c: String!, $s: String!) { createSsoConnection(input: { organizationId: $o, protocol: OIDC, issuerUrl: $i, clientId: $c, clientSecret: $s }) { connection { id } } }", json!({ "o": enterprise_id, "i": idp.issuer, "c": crate::sso::CLIENT_ID, "s": crate::sso::CLIENT_SECRET }), Some(&ann_token)).await;
    let connection_id = s(&connection, &["connection", "id"]);
    story.run("updateSsoConnection", "mutation($c: ID!) { updateSsoConnection(input: { connectionId: $c, defaultRole: VIEWER }) { connection { id } } }", json!({ "c": connection_id }), Some(&ann_token)).await;
    let test = story.run("testSsoConnection", "mutation($c: ID!, $r: String!) { testSsoConnection(input: { connectionId: $c, redirectUri: $r }) { authorizationUrl } }", json!({ "c": connection_id, "r": crate::sso::APP_RETURN }), Some(&ann_token)).await;
    let browser = crate::idp::Browser::default();
    let to_idp = crate::sso::open_test_link(&app, &browser, &s(&test, &["authorizationUrl"])).await;
    let tested = crate::sso::through_callback(&app, &browser, &to_idp, "alice").await;
    assert!(tested.ends_with("sso_test=passed"), "{tested}");
    story.run("activateSsoConnection", "mutation($c: ID!) { activateSsoConnection(input: { connectionId: $c }) { connection { status } } }", json!({ "c": connection_id }), Some(&ann_token)).await;
    let start = format!(
        "{}/sso/{}/start?redirect_uri={}",
        app.base,
        s(&enterprise, &["slug"]),
        crate::sso::urlencode(crate::sso::APP_RETURN)
    );
    let (_, to_idp) = browser.redirect_of(&start).await;
    let back = crate::sso::through_callback(&app, &browser, &to_idp.unwrap(), "alice").await;
    let code = crate::sso::query_param(&back, "code").unwrap();
    story
        .run(
            "exchangeSsoCode",
            "mutation($c: String!) { exchangeSsoCode(input: { code: $c }) { accessToken } }",
            json!({ "c": code }),
            None,
        )
        .await;
    story.run("deactivateSsoConnection", "mutation($c: ID!) { deactivateSsoConnection(input: { connectionId: $c }) { connection { status } } }", json!({ "c": connection_id }), Some(&ann_token)).await;
    story.run("deleteSsoConnection", "mutation($c: ID!) { deleteSsoConnection(input: { connectionId: $c }) { deletedConnectionId } }", json!({ "c": connection_id }), Some(&ann_token)).await;

    let root = app.sign_up_as("root@platform.example", "Someone").await;
    let root_token = root.token;
    orgql::domain::accounts::grant_platform_admin(&app.db, "root@platform.example")
        .await
        .unwrap();
    let request = "mutation($o: ID!) { requestTierUpgrade(input: { organizationId: $o, requestedTier: ENTERPRISE }) { request { id } } }";
    let first = story
        .run(
            "requestTierUpgrade",
            request,
            json!({ "o": org_id }),
            Some(&ann_token),
        )
        .await;
    story.run("rejectTierUpgrade", "mutation($r: ID!) { rejectTierUpgrade(input: { requestId: $r }) { request { status } } }", json!({ "r": s(&first, &["request", "id"]) }), Some(&root_token)).await;
    let second = app
        .graphql(request, json!({ "o": org_id }), Some(&ann_token))
        .await;
    story.run("approveTierUpgrade", "mutation($r: ID!) { approveTierUpgrade(input: { requestId: $r }) { request { status } } }", json!({ "r": second["data"]["requestTierUpgrade"]["request"]["id"] }), Some(&root_token)).await;
    story.run("setOrganizationTier", "mutation($o: ID!) { setOrganizationTier(input: { organizationId: $o, tier: TEAM }) { organization { tier } } }", json!({ "o": org_id }), Some(&root_token)).await;
    story.run("suspendOrganization", "mutation($o: ID!) { suspendOrganization(input: { organizationId: $o }) { organization { status } } }", json!({ "o": org_id }), Some(&root_token)).await;
    story.run("reactivateOrganization", "mutation($o: ID!) { reactivateOrganization(input: { organizationId: $o }) { organization { status } } }", json!({ "o": org_id }), Some(&root_token)).await;

    let offer = "mutation($o: ID!, $m: ID!) { transferOwnership(input: { organizationId: $o, newOwnerMemberId: $m }) { transfer { id } } }";
    let offered = story
        .run(
            "transferOwnership",
            offer,
            json!({ "o": org_id, "m": bob_member }),
            Some(&ann_token),
        )
        .await;
    story.run("declineOwnershipTransfer", "mutation($t: ID!) { declineOwnershipTransfer(input: { transferId: $t }) { transfer { status } } }", json!({ "t": s(&offered, &["transfer", "id"]) }), Some(&bob_token)).await;
    let offered = app
        .graphql(
            offer,
            json!({ "o": org_id, "m": bob_member }),
            Some(&ann_token),
        )
        .await;
    story.run("cancelOwnershipTransfer", "mutation($t: ID!) { cancelOwnershipTransfer(input: { transferId: $t }) { transfer { status } } }", json!({ "t": offered["data"]["transferOwnership"]["transfer"]["id"] }), Some(&ann_token)).await;
    let offered = app
        .graphql(
            offer,
            json!({ "o": org_id, "m": bob_member }),
            Some(&ann_token),
        )
        .await;
    story.run("acceptOwnershipTransfer", "mutation($t: ID!) { acceptOwnershipTransfer(input: { transferId: $t }) { transfer { status } } }", json!({ "t": offered["data"]["transferOwnership"]["transfer"]["id"] }), Some(&bob_token)).await;

    let sessions = app
        .graphql(
            "{ viewer { sessions { id current } } }",
            json!({}),
            Some(&ann_token),
        )
        .await;
    let other = sessions["data"]["viewer"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["current"] == false)
        .unwrap()["id"]
        .clone();
    story
        .run(
            "revokeSession",
            "mutation($s: ID!) { revokeSession(input: { sessionId: $s }) { sessionId } }",
            json!({ "s": other }),
            Some(&ann_token),
        )
        .await;
    assert_error(
        &app.graphql(
            "{ viewer { user { id } } }",
            json!({}),
            Some(&second_session_token),
        )
        .await,
        "UNAUTHENTICATED",
    );
    let eve_member = app
        .graphql(
            "query($o: ID!) { organization(id: $o) { viewerMembership { id } } }",
            json!({ "o": org_id }),
            Some(&eve_token),
        )
        .await;
    story
        .run(
            "removeMember",
            "mutation($m: ID!) { removeMember(input: { memberId: $m }) { removedMemberId } }",
            json!({ "m": eve_member["data"]["organization"]["viewerMembership"]["id"] }),
            Some(&bob_token),
        )
        .await;
    story.run("leaveOrganization", "mutation($o: ID!) { leaveOrganization(input: { organizationId: $o }) { organizationId } }", json!({ "o": org_id }), Some(&ann_token)).await;
    story
        .run(
            "deleteTeam",
            "mutation($t: ID!) { deleteTeam(input: { teamId: $t }) { deletedTeamId } }",
            json!({ "t": team_id }),
            Some(&bob_token),
        )
        .await;
    story
        .run(
            "logOut",
            "mutation { logOut { sessionId } }",
            json!({}),
            Some(&dee.token),
        )
        .await;
    story
        .run(
            "logOutEverywhere",
            "mutation { logOutEverywhere { revokedSessions } }",
            json!({}),
            Some(&eve_token),
        )
        .await;
    story.run("deleteOrganization", "mutation($o: ID!, $s: String!) { deleteOrganization(input: { organizationId: $o, confirmSlug: $s }) { deletedOrganizationId } }", json!({ "o": org_id, "s": org_handle.slug }), Some(&bob_token)).await;
    // Last: it ends access to the organization for everyone, the caller too.
    let other_org = app
        .graphql(
            "mutation { createOrganization(input: { name: \"Other\" }) { organization { id } } }",
            json!({}),
            Some(&bob_token),
        )
        .await;
    story.run("revokeOrganizationSessions", "mutation($o: ID!) { revokeOrganizationSessions(input: { organizationId: $o }) { revokedSessions } }", json!({ "o": other_org["data"]["createOrganization"]["organization"]["id"] }), Some(&bob_token)).await;

    // Multi-factor authentication, for a person of its own.
    let cat = app.sign_up_as("cat@acme.example", "Someone").await;
    app.mark_verified(&cat).await;
    let cat_token = cat.token;
    let enrolled = story
        .run(
            "enrollTotp",
            "mutation { enrollTotp { secret } }",
            json!({}),
            Some(&cat_token),
        )
        .await;
    let mut authenticator = totp::Authenticator::new(&s(&enrolled, &["secret"]));
    story
        .run(
            "confirmTotp",
            "mutation($c: String!) { confirmTotp(input: { code: $c }) { recoveryCodes } }",
            json!({ "c": authenticator.fresh_code() }),
            Some(&cat_token),
        )
        .await;
    let challenged = app
        .graphql("mutation { logIn(input: { email: \"cat@acme.example\", password: \"violet tractor umbrella 42\" }) { mfaChallenge { challenge } } }", json!({}), None)
        .await;
    story
        .run(
            "verifyMfa",
            "mutation($ch: String!, $c: String!) { verifyMfa(input: { challenge: $ch, code: $c }) { accessToken } }",
            json!({
                "ch": challenged["data"]["logIn"]["mfaChallenge"]["challenge"],
                "c": authenticator.fresh_code(),
            }),
            None,
        )
        .await;

    // Accounts: proving the address, changing it, passwords.
    let val = app.sign_up_as("val@acme.example", "Someone").await;
    let val_token = val.token;
    // The sign-up's link is written before the resent one, a file-time tick
    // apart: the newest file is then the resent link (written in one batch,
    // the two files could share a modification time and swap).
    app.emails("val@acme.example", "Confirm your email address", 1)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    story
        .run(
            "resendVerificationEmail",
            "mutation { resendVerificationEmail { email } }",
            json!({}),
            Some(&val_token),
        )
        .await;
    let link = app
        .link_token("val@acme.example", "Confirm your email address", 2)
        .await;
    story
        .run(
            "verifyEmail",
            "mutation($t: String!) { verifyEmail(input: { token: $t }) { user { id } } }",
            json!({ "t": link }),
            None,
        )
        .await;
    story
        .run(
            "changeEmail",
            "mutation($p: String!) { changeEmail(input: { password: $p, newEmail: \"val@other.example\" }) { pendingEmail } }",
            json!({ "p": PASSWORD }),
            Some(&val_token),
        )
        .await;
    let new_password = "harbor quilt meadow 1987 sprocket";
    story
        .run(
            "changePassword",
            "mutation($c: String!, $n: String!) { changePassword(input: { currentPassword: $c, newPassword: $n }) { sessionsEnded } }",
            json!({ "c": PASSWORD, "n": new_password }),
            Some(&val_token),
        )
        .await;
    story
        .run(
            "requestPasswordReset",
            "mutation { requestPasswordReset(input: { email: \"val@acme.example\" }) { accepted } }",
            json!({}),
            None,
        )
        .await;
    let reset = app
        .link_token("val@acme.example", "Reset your orgql password", 1)
        .await;
    story
        .run(
            "resetPassword",
            "mutation($t: String!) { resetPassword(input: { token: $t, newPassword: \"another fresh phrase 77 zebra\" }) { passwordReset } }",
            json!({ "t": reset }),
            None,
        )
        .await;
    story
        .run(
            "disableTotp",
            "mutation { disableTotp(input: { password: \"violet tractor umbrella 42\" }) { mfaEnabled } }",
            json!({}),
            Some(&cat_token),
        )
        .await;

    // Directory sync (issue #25), in an ENTERPRISE organization of its own.
    let dora = app.sign_up("Dora").await;
    let directory_org = app.create_org(&dora, "Directory").await;
    app.set_tier(&directory_org, Tier::Enterprise).await;
    let directory = story
        .run(
            "createScimDirectory",
            "mutation($o: ID!) { createScimDirectory(input: { organizationId: $o, name: \"Okta\", defaultRole: MEMBER }) { directory { id } token } }",
            json!({ "o": directory_org.id }),
            Some(&dora.token),
        )
        .await;
    let d = s(&directory, &["directory", "id"]);
    for (name, mutation) in [
        (
            "updateScimDirectory",
            "mutation($d: ID!) { updateScimDirectory(input: { directoryId: $d, name: \"Entra\" }) { directory { id } } }",
        ),
        (
            "rotateScimDirectoryToken",
            "mutation($d: ID!) { rotateScimDirectoryToken(input: { directoryId: $d }) { token } }",
        ),
        (
            "revokeScimDirectoryToken",
            "mutation($d: ID!) { revokeScimDirectoryToken(input: { directoryId: $d }) { directory { id } } }",
        ),
        (
            "deleteScimDirectory",
            "mutation($d: ID!) { deleteScimDirectory(input: { directoryId: $d }) { deletedDirectoryId } }",
        ),
    ] {
        story
            .run(name, mutation, json!({ "d": d }), Some(&dora.token))
            .await;
    }

    // Webhooks (issue #24), in the same organization: `.invalid` never
    // resolves, so the one delivery fails quietly and stays to redeliver.
    let endpoint = story
        .run(
            "createWebhookEndpoint",
            "mutation($o: ID!) { createWebhookEndpoint(input: { organizationId: $o, url: \"https://receiver.invalid/orgql\", types: [TEAM_CREATED] }) { endpoint { id } secret } }",
            json!({ "o": directory_org.id }),
            Some(&dora.token),
        )
        .await;
    let e = s(&endpoint, &["endpoint", "id"]);
    app.create_team(&dora, &directory_org, "Hooked", None).await;
    let listed = app
        .graphql(
            "query($o: ID!) { organization(id: $o) { webhookEndpoints { deliveries { edges { node { id } } } } } }",
            json!({ "o": directory_org.id }),
            Some(&dora.token),
        )
        .await;
    let delivery = listed["data"]["organization"]["webhookEndpoints"][0]["deliveries"]["edges"][0]
        ["node"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no delivery in {listed}"))
        .to_owned();
    story
        .run(
            "redeliverWebhook",
            "mutation($d: ID!) { redeliverWebhook(input: { deliveryId: $d }) { delivery { status attempts } } }",
            json!({ "d": delivery }),
            Some(&dora.token),
        )
        .await;
    for (name, mutation) in [
        (
            "updateWebhookEndpoint",
            "mutation($e: ID!) { updateWebhookEndpoint(input: { endpointId: $e, description: \"CRM sync\" }) { endpoint { id } } }",
        ),
        (
            "rotateWebhookEndpointSecret",
            "mutation($e: ID!) { rotateWebhookEndpointSecret(input: { endpointId: $e }) { secret } }",
        ),
        (
            "disableWebhookEndpoint",
            "mutation($e: ID!) { disableWebhookEndpoint(input: { endpointId: $e }) { endpoint { enabled } } }",
        ),
    ] {
        story
            .run(name, mutation, json!({ "e": e }), Some(&dora.token))
            .await;
    }
    story
        .run(
            "deleteWebhookEndpoint",
            "mutation($e: ID!) { deleteWebhookEndpoint(input: { endpointId: $e }) { deletedEndpointId } }",
            json!({ "e": e }),
            Some(&dora.token),
        )
        .await;

    let missing: Vec<_> = schema_mutations()
        .await
        .difference(&story.covered)
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "mutations this test does not exercise: {missing:?}"
    );
}
