use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::accounts::IssuedTokens;
use crate::graphql::ids::{self, IdKind};
use crate::graphql::types::{Organization, User};

/// A new account.
#[derive(InputObject)]
pub struct SignUpInput {
    /// The email to sign in with; unique.
    pub email: String,
    /// 8 to 256 characters.
    pub password: String,
    /// Display name.
    pub name: String,
}

/// Credentials.
#[derive(InputObject)]
pub struct LogInInput {
    /// The account's email, in any case.
    pub email: String,
    /// The account's password.
    pub password: String,
}

/// A refresh token to trade.
#[derive(InputObject)]
pub struct RefreshSessionInput {
    /// The refresh token from the last sign-in or refresh. It works once.
    pub refresh_token: String,
}

/// The organization to make active.
#[derive(InputObject)]
pub struct SwitchOrganizationInput {
    /// The organization to make active; the viewer must be a member.
    pub organization_id: ID,
}

/// Tokens for a signed-in session. Send the access token as
/// `Authorization: Bearer …`; trade the refresh token for new tokens
/// before the access token expires.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// A short-lived JWT.
    pub access_token: String,
    /// When the access token stops working.
    pub access_token_expires_at: DateTime<Utc>,
    /// Opaque; shown only here. Works once: `refreshSession` returns the
    /// next one, and reusing an old one ends the session.
    pub refresh_token: String,
    /// The session these tokens belong to (`ses_` id).
    pub session_id: ID,
    /// The signed-in user.
    pub user: User,
    /// The organization named in the access token, if any.
    pub active_organization: Option<Organization>,
}

impl From<IssuedTokens> for AuthPayload {
    fn from(issued: IssuedTokens) -> Self {
        Self {
            access_token: issued.access_token,
            access_token_expires_at: issued.access_token_expires_at,
            refresh_token: issued.refresh_token,
            session_id: ID(ids::encode(IdKind::Session, issued.session_id)),
            user: User(issued.user),
            active_organization: issued.active_organization.map(Organization),
        }
    }
}

/// The result of `logOut`.
#[derive(SimpleObject)]
pub struct LogOutPayload {
    /// The session that ended.
    pub session_id: ID,
}

/// A new access token naming the chosen organization.
#[derive(SimpleObject)]
pub struct SwitchOrganizationPayload {
    /// A short-lived JWT whose `org` claim names the organization.
    pub access_token: String,
    /// When the access token stops working.
    pub access_token_expires_at: DateTime<Utc>,
    /// The now active organization.
    pub organization: Organization,
}
