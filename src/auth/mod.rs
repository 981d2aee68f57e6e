//! Authentication: who is calling. Passwords (argon2id), access tokens
//! (JWT, RFC 8725), opaque secrets (refresh tokens), and the request's
//! [`Actor`]. Authorization (what they may do) lives in
//! `domain::permissions`.

pub mod actor;
pub mod password;
pub mod secrets;
pub mod tokens;

pub use actor::{Actor, Credential, RequestMeta, TokenGrant};
pub use password::PasswordHasher;
pub use tokens::{AccessClaims, TokenIssuer};

/// What the account functions need to hash passwords and issue tokens.
#[derive(Clone)]
pub struct AuthConfig {
    pub passwords: PasswordHasher,
    pub tokens: TokenIssuer,
    /// How long a refresh token stays usable.
    pub refresh_ttl: chrono::Duration,
}
