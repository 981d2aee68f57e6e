use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::accounts::IssuedTokens;
use crate::graphql::ids::{self, IdKind};
use crate::graphql::types::{Organization, User};

/// A new account.
#[derive(InputObject)]
pub struct SignUpInput {
    /// The email to sign in with; unique. A verification link is mailed to
    /// it; until it is used the address is unverified.
    pub email: String,
    /// 8 to 256 characters, any of them; refused when easy to guess
    /// (common passwords, words, the email or name).
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

/// A verification link's token.
#[derive(InputObject)]
pub struct VerifyEmailInput {
    /// The `token` of the link mailed by `signUp`,
    /// `resendVerificationEmail` or `changeEmail`. It works once.
    pub token: String,
}

/// The result of `verifyEmail`.
#[derive(SimpleObject)]
pub struct VerifyEmailPayload {
    /// The account, with its address now verified.
    pub user: User,
}

/// The result of `resendVerificationEmail`.
#[derive(SimpleObject)]
pub struct ResendVerificationEmailPayload {
    /// The address the new link was mailed to.
    pub email: String,
}

/// A new email address for the signed-in account.
#[derive(InputObject)]
pub struct ChangeEmailInput {
    /// The account's current password.
    pub password: String,
    /// The new address; a confirmation link is mailed to it.
    pub new_email: String,
}

/// The result of `changeEmail`.
#[derive(SimpleObject)]
pub struct ChangeEmailPayload {
    /// The address awaiting confirmation. The account keeps its current
    /// address until the link mailed here is used.
    pub pending_email: String,
}

/// A new password for the signed-in account.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// The account's current password.
    pub current_password: String,
    /// 8 to 256 characters; refused when easy to guess.
    pub new_password: String,
}

/// The result of `changePassword`.
#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    /// How many other sessions of the account were ended.
    pub sessions_ended: i32,
}

/// The address of an account whose password is forgotten.
#[derive(InputObject)]
pub struct RequestPasswordResetInput {
    /// The account's email, in any case.
    pub email: String,
}

/// The result of `requestPasswordReset`; the same whether or not an account
/// has the address.
#[derive(SimpleObject)]
pub struct RequestPasswordResetPayload {
    /// Always true: when an account has this address, a link is on its way.
    pub accepted: bool,
}

/// A new password, set with a mailed reset link.
#[derive(InputObject)]
pub struct ResetPasswordInput {
    /// The `token` of the link mailed by `requestPasswordReset`. It works
    /// once, for one hour.
    pub token: String,
    /// 8 to 256 characters; refused when easy to guess.
    pub new_password: String,
}

/// The result of `resetPassword`. Every session of the account has ended:
/// sign in with the new password.
#[derive(SimpleObject)]
pub struct ResetPasswordPayload {
    /// Always true once the password is set.
    pub password_reset: bool,
}
