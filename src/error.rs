//! The one error type of orgql and its mapping to GraphQL errors. (Long
//! only with its unit tests, at the end.)
//!
//! Every variant's doc line names the `extensions.code` a client receives.
//! Internal causes are logged (inside the request's span, so with its request
//! id) and reach the client as INTERNAL with no detail.

use async_graphql::Enum;
use sea_orm::{DbErr, SqlErr};

/// The stable codes a client finds in `extensions.code`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Credentials are missing, bad, expired or revoked (access tokens and API
    /// tokens alike). Also a session that the organization no longer accepts:
    /// past its policy's `sessionTimeoutHours`, or started before
    /// `revokeOrganizationSessions`.
    Unauthenticated,
    /// You can see the object, but you may not do this (rank rules included;
    /// also any change to a suspended organization, and account operations
    /// tried with an API token).
    Forbidden,
    /// The object does not exist, or you may not see it.
    NotFound,
    /// Malformed input; `extensions.field` names the argument (`email`, `slug`,
    /// `first`, `confirmSlug`, `parentTeamId`, `scopes`, …).
    BadUserInput,
    /// A unique value is taken (`extensions.field` names it: `email`, `slug`,
    /// `memberId`, `organizationId`, `cidr`, …), or the request clashes with
    /// the current state (e.g. "already suspended", a team that still has
    /// sub-teams, a second pending transfer or tier request).
    Conflict,
    /// The person is already a member (inviting a member, accepting while a
    /// member).
    AlreadyMember,
    /// The change would leave the organization without an owner.
    LastOwner,
    /// Over the tier's limit; `extensions.resource` (`members`, `teams`,
    /// `apiTokens`, `joinCodes`, `ipAllowlistEntries`; `ssoConnections` off
    /// ENTERPRISE), `limit` and `used` say which.
    TierLimitExceeded,
    /// The invitation has expired; ask for a new one (`resendInvitation`).
    InvitationExpired,
    /// The invitation was revoked, declined, used, is unknown, or is for
    /// another email.
    InvitationInvalid,
    /// The join code is unknown, revoked, expired or used up.
    JoinCodeInvalid,
    /// The organization's IP allowlist does not include the client address.
    IpNotAllowed,
    /// The organization requires multi-factor authentication and this session
    /// signed in with a password alone (enroll with `enrollTotp`, then sign in
    /// again with a code), or you tried to turn `requireMfa` on from such a
    /// session.
    MfaRequired,
    /// The organization's policy requires single sign-on, and this session
    /// signed in otherwise.
    SsoRequired,
    /// Too many credential-checking operations from this client network or for
    /// this account; `extensions.retryAfter` says after how many seconds to try
    /// again.
    RateLimited,
    /// The query exceeds the depth, complexity, alias, directive,
    /// introspection-depth or parser-recursion limit, or the body is over the
    /// size limit (HTTP 413).
    QueryTooComplex,
    /// The database could not be reached (a restart, a failover, every
    /// connection busy). Retryable: `extensions.retryAfter` says after how many
    /// seconds. When nothing ran (the credential could not be checked), the
    /// whole answer is HTTP 503 with `Retry-After`.
    Unavailable,
    /// A fault on the server's side. The message is just "internal error"; the
    /// detail goes to the server log under the request id.
    Internal,
}

impl ErrorCode {
    /// The code as `extensions.code` carries it (the enum value's name).
    pub fn as_str(self) -> &'static str {
        self.into()
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
    /// UNAVAILABLE, with `retryAfter` ([`UNAVAILABLE_RETRY_AFTER_SECS`]):
    /// the database could not be reached ([`is_unavailable`]); logged at
    /// warn with its cause, which is never told.
    #[error("the database is unavailable for now; try again in {UNAVAILABLE_RETRY_AFTER_SECS} s")]
    Unavailable(#[source] DbErr),
    /// INTERNAL: logged with its cause, told as "internal error".
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// INTERNAL, like `Internal`. Kept apart so that a unique violation the
    /// client can cause can still be told as CONFLICT where its statement
    /// runs ([`ResultExt::on_unique`]).
    #[error("internal error")]
    Database(DbErr),
}

/// How long a client is told to wait before retrying an UNAVAILABLE
/// request: about what a PostgreSQL restart or a failover takes, and the
/// pool reconnects meanwhile.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

impl From<DbErr> for AppError {
    /// UNAVAILABLE when the database could not be reached, else INTERNAL.
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            Self::Unavailable(err)
        } else {
            Self::Database(err)
        }
    }
}

/// Whether `err` says the database could not be reached, rather than that
/// it refused the statement: the same request may succeed once it is back.
///
/// - no connection from the pool in time, or the pool is closed;
/// - the connection failed underneath (an I/O error: refused, reset,
///   closed; TLS; a SQLite worker gone);
/// - PostgreSQL's own words for it: class 08 (connection exception), 57P01
///   `admin_shutdown`, 57P02 `crash_shutdown`, 57P03 `cannot_connect_now`
///   (starting up or shutting down) and 53300 `too_many_connections`
///   (<https://www.postgresql.org/docs/current/errcodes-appendix.html>);
/// - SQLite's `SQLITE_BUSY` (5, and its extended codes), which a writer
///   meets only after waiting out the busy timeout: the file is held by
///   someone else for now.
///
/// Everything else the database said (a constraint violated, a syntax or
/// type error, a serialization failure) is not an outage.
pub fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::{ConnAcquireErr, RuntimeErr};
    match err {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => {
            true
        }
        DbErr::Conn(RuntimeErr::SqlxError(sqlx))
        | DbErr::Exec(RuntimeErr::SqlxError(sqlx))
        | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => sqlx_is_unavailable(sqlx),
        _ => false,
    }
}

fn sqlx_is_unavailable(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_)
        | Error::Tls(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed => true,
        Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if db
                .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                // The extended result code; its low byte is the primary one.
                code.parse::<u32>()
                    .is_ok_and(|code| code & 0xff == SQLITE_BUSY)
            } else {
                code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
            }
        }
        _ => false,
    }
}

const SQLITE_BUSY: u32 = 5;

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
            Self::Unavailable(_) => ErrorCode::Unavailable,
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
            AppError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable; the client is told to retry");
            }
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
            AppError::Unavailable(_) => ext.set("retryAfter", UNAVAILABLE_RETRY_AFTER_SECS),
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

#[cfg(test)]
mod tests {
    #[test]
    fn each_code_reads_as_its_graphql_name() {
        for item in <super::ErrorCode as async_graphql::resolver_utils::EnumType>::items() {
            assert_eq!(item.value.as_str(), item.name);
        }
    }

    use std::borrow::Cow;
    use std::sync::Arc;

    use sea_orm::sqlx::error::{DatabaseError, ErrorKind};
    use sea_orm::{ConnAcquireErr, ConnectOptions, ConnectionTrait, Database, RuntimeErr};

    use super::*;

    /// What PostgreSQL says, by SQLSTATE (its driver's error cannot be built
    /// outside sqlx).
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Sqlstate(&'static str);

    impl DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn sqlx(err: sea_orm::sqlx::Error) -> DbErr {
        DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err)))
    }

    fn postgres_says(code: &'static str) -> DbErr {
        sqlx(sea_orm::sqlx::Error::Database(Box::new(Sqlstate(code))))
    }

    #[test]
    fn postgres_shutting_down_or_starting_up_is_unavailable() {
        for code in ["57P01", "57P02", "57P03", "08006", "08003", "53300"] {
            let err = AppError::from(postgres_says(code));
            assert_eq!(err.code(), ErrorCode::Unavailable, "{code}");
        }
    }

    #[test]
    fn postgres_refusing_a_statement_is_internal() {
        // unique, foreign key, syntax, serialization failure, query canceled
        for code in ["23505", "23503", "42601", "40001", "57014"] {
            let err = AppError::from(postgres_says(code));
            assert_eq!(err.code(), ErrorCode::Internal, "{code}");
        }
    }

    #[test]
    fn a_pool_timeout_or_a_broken_connection_is_unavailable() {
        use std::io::{Error, ErrorKind::*};
        let errors = [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            sqlx(sea_orm::sqlx::Error::PoolTimedOut),
            sqlx(sea_orm::sqlx::Error::Io(Error::from(ConnectionRefused))),
            sqlx(sea_orm::sqlx::Error::Io(Error::from(ConnectionReset))),
            sqlx(sea_orm::sqlx::Error::Io(Error::from(UnexpectedEof))),
        ];
        for err in errors {
            assert!(is_unavailable(&err), "{err}");
        }
        for err in [
            DbErr::RecordNotFound("x".into()),
            DbErr::Custom("x".into()),
            sqlx(sea_orm::sqlx::Error::RowNotFound),
            sqlx(sea_orm::sqlx::Error::Protocol("unexpected".into())),
        ] {
            assert!(!is_unavailable(&err), "{err}");
        }
    }

    #[tokio::test]
    async fn a_unique_violation_on_sqlite_is_not_unavailable() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        db.execute_unprepared("CREATE TABLE t (x INTEGER UNIQUE); INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        let err = db
            .execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap_err();
        assert!(!is_unavailable(&err), "{err}");
        assert_eq!(AppError::from(err).code(), ErrorCode::Internal);
    }

    #[tokio::test]
    async fn a_closed_pool_is_unavailable() {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        db.close_by_ref().await.unwrap();
        let err = db.execute_unprepared("SELECT 1").await.unwrap_err();
        assert!(is_unavailable(&err), "{err}");
    }

    #[tokio::test]
    async fn a_postgresql_that_refuses_connections_is_unavailable() {
        // Port 1: nothing listens there.
        let mut options = ConnectOptions::new("postgres://postgres@127.0.0.1:1/postgres");
        options
            .connect_timeout(std::time::Duration::from_secs(2))
            .acquire_timeout(std::time::Duration::from_secs(2));
        let err = Database::connect(options).await.unwrap_err();
        assert!(is_unavailable(&err), "{err:?}");
        let err = AppError::from(err);
        assert_eq!(err.code(), ErrorCode::Unavailable);
        assert!(!err.to_string().contains("127.0.0.1"), "{err}");
    }
}
