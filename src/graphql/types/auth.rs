use async_graphql::{ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::accounts::LogIn;
use crate::domain::ids::{self, IdKind};
use crate::domain::sessions::IssuedTokens;
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

/// The result of signing in. Normally tokens for a signed-in session: send
/// the access token as `Authorization: Bearer …` and trade the refresh
/// token for new tokens before the access token expires. The token fields
/// are null in two cases: from `signUp`, which signs nobody in (the
/// account signs in with `logIn` once its address is verified), and from
/// `logIn` when the account has multi-factor authentication on (it then
/// returns an `mfaChallenge` to answer with `verifyMfa`). They are never
/// null from `refreshSession` or `verifyMfa`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// A short-lived JWT; null while an MFA challenge is pending.
    pub access_token: Option<String>,
    /// When the access token stops working; null with an MFA challenge.
    pub access_token_expires_at: Option<DateTime<Utc>>,
    /// Opaque; shown only here. Works once: `refreshSession` returns the
    /// next one, and reusing an old one ends the session. Null with an MFA
    /// challenge.
    pub refresh_token: Option<String>,
    /// The session these tokens belong to (`ses_` id); null with an MFA
    /// challenge.
    pub session_id: Option<ID>,
    /// The signed-in user (with an MFA challenge: the user whose password
    /// was given; from `signUp`: the account as created).
    pub user: User,
    /// The organization named in the access token, if any.
    pub active_organization: Option<Organization>,
    /// How the session was authenticated (RFC 8176 `amr`): `["pwd"]`, or
    /// `["pwd", "otp"]` after a second factor; empty with an MFA challenge.
    pub amr: Vec<String>,
    /// Set, instead of tokens, when the account has multi-factor
    /// authentication on: answer it with `verifyMfa`.
    pub mfa_challenge: Option<MfaChallenge>,
}

/// A pending second step of signing in.
#[derive(SimpleObject)]
pub struct MfaChallenge {
    /// Opaque; pass it to `verifyMfa` with a code. Works once.
    pub challenge: String,
    /// When the challenge stops working (five minutes after `logIn`).
    pub expires_at: DateTime<Utc>,
}

impl From<IssuedTokens> for AuthPayload {
    fn from(issued: IssuedTokens) -> Self {
        Self {
            access_token: Some(issued.access_token),
            access_token_expires_at: Some(issued.access_token_expires_at),
            refresh_token: Some(issued.refresh_token),
            session_id: Some(ID(ids::encode(IdKind::Session, issued.session_id))),
            user: User::from(issued.user),
            active_organization: issued.active_organization.map(Organization),
            amr: issued
                .authentication
                .amr()
                .iter()
                .map(|m| (*m).to_owned())
                .collect(),
            mfa_challenge: None,
        }
    }
}

impl AuthPayload {
    /// What `signUp` answers: the account, no session.
    pub fn signed_up(user: entity::user::Model) -> Self {
        Self {
            access_token: None,
            access_token_expires_at: None,
            refresh_token: None,
            session_id: None,
            user: User::from(user),
            active_organization: None,
            amr: Vec::new(),
            mfa_challenge: None,
        }
    }
}

impl From<LogIn> for AuthPayload {
    fn from(outcome: LogIn) -> Self {
        match outcome {
            LogIn::Session(issued) => (*issued).into(),
            LogIn::MfaChallenge { user, challenge } => Self {
                access_token: None,
                access_token_expires_at: None,
                refresh_token: None,
                session_id: None,
                user: User::from(user),
                active_organization: None,
                amr: Vec::new(),
                mfa_challenge: Some(MfaChallenge {
                    challenge: challenge.secret,
                    expires_at: challenge.expires_at,
                }),
            },
        }
    }
}

/// A second factor for a pending sign-in.
#[derive(InputObject)]
pub struct VerifyMfaInput {
    /// The `mfaChallenge.challenge` from `logIn`.
    pub challenge: String,
    /// A six-digit code from the authenticator app, or one of the recovery
    /// codes (each works once).
    pub code: String,
}

/// A new TOTP authenticator to add to an app.
#[derive(SimpleObject)]
pub struct EnrollTotpPayload {
    /// The shared secret, base32; shown only here, never again.
    pub secret: String,
    /// The `otpauth://totp/…` URI (Key URI Format) apps import.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document, for apps to scan.
    pub qr_code_svg: String,
}

/// The first code from the new authenticator.
#[derive(InputObject)]
pub struct ConfirmTotpInput {
    /// A six-digit code from the authenticator app.
    pub code: String,
}

/// MFA is on.
#[derive(SimpleObject)]
pub struct ConfirmTotpPayload {
    /// Ten single-use codes to sign in with when the authenticator is
    /// lost. Shown only here: keep them somewhere safe.
    pub recovery_codes: Vec<String>,
}

/// Proof for turning MFA off: the password or a code (give one).
#[derive(InputObject)]
pub struct DisableTotpInput {
    /// The account's password.
    pub password: Option<String>,
    /// A six-digit code from the authenticator app, or a recovery code.
    pub code: Option<String>,
}

/// MFA is off.
#[derive(SimpleObject)]
pub struct DisableTotpPayload {
    /// Whether multi-factor authentication is on now (false).
    pub mfa_enabled: bool,
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
