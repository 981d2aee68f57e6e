//! The one error type of orgql and its mapping to GraphQL errors.
//!
//! Every variant's doc line names the `extensions.code` a client receives.
//! Internal causes are logged (inside the request's span, so with its request
//! id) and reach the client as INTERNAL with no detail.

use async_graphql::Enum;
use sea_orm::{DbErr, SqlErr};

/// The stable codes a client finds in `extensions.code`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// No, bad, expired or revoked credentials.
    Unauthenticated,
    /// The object is visible, but the actor may not do this.
    Forbidden,
    /// Absent, or not visible to the actor.
    NotFound,
    /// Malformed input; `extensions.field` names the argument.
    BadUserInput,
    /// A unique value is taken, or the request clashes with the current state.
    Conflict,
    /// The person is already a member of the organization.
    AlreadyMember,
    /// The change would leave the organization without an owner.
    LastOwner,
    /// Over the tier's limit; `resource`, `limit` and `used` say which.
    TierLimitExceeded,
    /// The invitation has expired.
    InvitationExpired,
    /// The invitation was revoked, used, or is for another email.
    InvitationInvalid,
    /// The join code is unknown, revoked, expired or used up.
    JoinCodeInvalid,
    /// The organization's IP allowlist refuses the client address.
    IpNotAllowed,
    /// The organization's policy demands multi-factor authentication.
    MfaRequired,
    /// The organization's policy demands single sign-on.
    SsoRequired,
    /// Too many requests.
    RateLimited,
    /// The query exceeds a depth, complexity, alias or size limit.
    QueryTooComplex,
    /// A fault of the server's; the detail is in its logs.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::AlreadyMember => "ALREADY_MEMBER",
            Self::LastOwner => "LAST_OWNER",
            Self::TierLimitExceeded => "TIER_LIMIT_EXCEEDED",
            Self::InvitationExpired => "INVITATION_EXPIRED",
            Self::InvitationInvalid => "INVITATION_INVALID",
            Self::JoinCodeInvalid => "JOIN_CODE_INVALID",
            Self::IpNotAllowed => "IP_NOT_ALLOWED",
            Self::MfaRequired => "MFA_REQUIRED",
            Self::SsoRequired => "SSO_REQUIRED",
            Self::RateLimited => "RATE_LIMITED",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::Internal => "INTERNAL",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// UNAUTHENTICATED. The reason is logged at debug, never told.
    #[error("authentication required")]
    Unauthenticated,
    /// FORBIDDEN.
    #[error("{0}")]
    Forbidden(&'static str),
    /// NOT_FOUND.
    #[error("not found")]
    NotFound,
    /// BAD_USER_INPUT, with `field`.
    #[error("{message}")]
    BadUserInput { field: String, message: String },
    /// CONFLICT, with `field` when a unique value is taken.
    #[error("{message}")]
    Conflict {
        field: Option<&'static str>,
        message: String,
    },
    /// ALREADY_MEMBER.
    #[error("already a member of this organization")]
    AlreadyMember,
    /// LAST_OWNER.
    #[error("the organization must keep at least one owner")]
    LastOwner,
    /// TIER_LIMIT_EXCEEDED, with `resource`, `limit` and `used`.
    #[error("the {resource} limit of this organization's tier is {limit}")]
    TierLimitExceeded {
        resource: &'static str,
        limit: u64,
        used: u64,
    },
    /// INVITATION_EXPIRED.
    #[error("this invitation has expired; ask for a new one")]
    InvitationExpired,
    /// INVITATION_INVALID: revoked, used, declined, unknown, or for another
    /// email.
    #[error("this invitation is not valid for you")]
    InvitationInvalid,
    /// JOIN_CODE_INVALID: unknown, revoked, expired or used up.
    #[error("this join code is not valid")]
    JoinCodeInvalid,
    /// IP_NOT_ALLOWED.
    #[error("this organization's IP allowlist does not include your address")]
    IpNotAllowed,
    /// MFA_REQUIRED: the organization's policy (or the change asked for)
    /// needs a session that passed multi-factor authentication.
    #[error("{0}")]
    MfaRequired(&'static str),
    /// SSO_REQUIRED: the organization's policy needs a session that came
    /// through its single sign-on connection.
    #[error("{0}")]
    SsoRequired(&'static str),
    /// QUERY_TOO_COMPLEX.
    #[error("{0}")]
    QueryTooComplex(String),
    /// RATE_LIMITED, with `retryAfter` in seconds.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// INTERNAL: logged with its cause, told as "internal error".
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// INTERNAL, like `Internal`. Kept apart so that a unique violation the
    /// client can cause can still be told as CONFLICT where its statement
    /// runs ([`ResultExt::on_unique`]).
    #[error("internal error")]
    Database(#[from] DbErr),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            field: None,
            message: message.into(),
        }
    }

    /// CONFLICT blaming `field`: a unique value the client chose is taken.
    pub fn taken(field: &'static str, message: &str) -> Self {
        Self::Conflict {
            field: Some(field),
            message: message.to_owned(),
        }
    }

    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound => ErrorCode::NotFound,
            Self::BadUserInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::AlreadyMember => ErrorCode::AlreadyMember,
            Self::LastOwner => ErrorCode::LastOwner,
            Self::TierLimitExceeded { .. } => ErrorCode::TierLimitExceeded,
            Self::InvitationExpired => ErrorCode::InvitationExpired,
            Self::InvitationInvalid => ErrorCode::InvitationInvalid,
            Self::JoinCodeInvalid => ErrorCode::JoinCodeInvalid,
            Self::IpNotAllowed => ErrorCode::IpNotAllowed,
            Self::MfaRequired(_) => ErrorCode::MfaRequired,
            Self::SsoRequired(_) => ErrorCode::SsoRequired,
            Self::QueryTooComplex(_) => ErrorCode::QueryTooComplex,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Internal(_) | Self::Database(_) => ErrorCode::Internal,
        }
    }
}

/// A unique constraint as each database names it when it is violated:
/// PostgreSQL by the name its migration gave it (`… violates unique
/// constraint "uq_users_email"`), SQLite by its columns (`UNIQUE constraint
/// failed: users.email`). Declared next to the statements that can violate
/// it, which map it with [`ResultExt::on_unique`].
#[derive(Debug, Clone, Copy)]
pub struct Constraint {
    pub name: &'static str,
    pub sqlite: &'static str,
}

impl Constraint {
    fn is_violated_by(self, err: &DbErr) -> bool {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => {
                detail.ends_with(&format!("\"{}\"", self.name))
                    || detail.ends_with(&format!(": {}", self.sqlite))
            }
            _ => false,
        }
    }
}

pub trait ResultExt<T> {
    /// Turns a violation of `constraint` into the client error `err` makes;
    /// any other error is left as it is (a database error stays INTERNAL).
    fn on_unique(self, constraint: Constraint, err: impl FnOnce() -> AppError) -> AppResult<T>;
}

impl<T, E: Into<AppError>> ResultExt<T> for Result<T, E> {
    fn on_unique(self, constraint: Constraint, err: impl FnOnce() -> AppError) -> AppResult<T> {
        self.map_err(|e| match e.into() {
            AppError::Database(db) if constraint.is_violated_by(&db) => err(),
            other => other,
        })
    }
}

impl AppError {
    /// Writes this error's code (and `field`, `resource`, `limit`, `used`
    /// where it has them) into a GraphQL error's extensions. Called once per
    /// response by `graphql::extensions::annotate`, at the HTTP edge.
    pub fn annotate(&self, error: &mut async_graphql::ServerError) {
        match self {
            AppError::Internal(cause) => tracing::error!(error = %cause, "internal error"),
            AppError::Database(cause) => tracing::error!(error = %cause, "internal error"),
            _ => {}
        }
        let ext = error.extensions.get_or_insert_with(Default::default);
        ext.set("code", self.code().as_str());
        match self {
            AppError::BadUserInput { field, .. } => ext.set("field", field.as_str()),
            AppError::Conflict {
                field: Some(field), ..
            } => ext.set("field", *field),
            AppError::RateLimited { retry_after_secs } => ext.set("retryAfter", *retry_after_secs),
            AppError::TierLimitExceeded {
                resource,
                limit,
                used,
            } => {
                ext.set("resource", *resource);
                ext.set("limit", *limit);
                ext.set("used", *used);
            }
            _ => {}
        }
    }
}
