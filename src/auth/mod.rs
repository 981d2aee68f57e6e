//! Authentication's cryptography: passwords (argon2id), access tokens (JWT,
//! RFC 8725), opaque secrets (refresh tokens, API token secrets), one-time
//! passwords (TOTP, RFC 6238), encryption at rest (`sealing`), and the key
//! rings that let the token-signing secret and the sealing key rotate
//! (`keyring`). It
//! depends on nothing in `domain`; who the caller is, once proven, is
//! `domain::authz::Actor`.

pub mod keyring;
pub mod password;
pub mod sealing;
pub mod secrets;
pub mod tokens;
pub mod totp;

pub use password::PasswordHasher;
pub use sealing::Sealer;
pub use tokens::{AccessClaims, TokenIssuer};

/// What the account functions need to hash passwords and issue tokens.
#[derive(Clone)]
pub struct AuthConfig {
    pub passwords: PasswordHasher,
    pub tokens: TokenIssuer,
    /// How long a refresh token stays usable.
    pub refresh_ttl: chrono::Duration,
    /// How long a session lives after its sign-in, however often it is
    /// refreshed.
    pub session_max_age: chrono::Duration,
    /// How long an email verification link works.
    pub verification_ttl: chrono::Duration,
    /// The `<env>` of API tokens this server issues and accepts
    /// (`orgql_<env>_…`).
    pub token_environment: String,
    /// Encrypts TOTP secrets at rest.
    pub sealer: Sealer,
}
