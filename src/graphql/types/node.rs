use async_graphql::{ID, Interface};

use crate::graphql::types::directory::ScimDirectory;
use crate::graphql::types::sso::SsoConnection;
use crate::graphql::types::webhook::WebhookEndpoint;
use crate::graphql::types::{Invitation, JoinCode, Member, Organization, Team, User};

/// Any object with a global id; `node(id:)` fetches one by id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque, type-prefixed id."))]
pub enum Node {
    Organization(Organization),
    Member(Member),
    User(User),
    Team(Team),
    Invitation(Invitation),
    JoinCode(JoinCode),
    SsoConnection(SsoConnection),
    ScimDirectory(ScimDirectory),
    WebhookEndpoint(WebhookEndpoint),
}
