//! Settings: one struct, from command-line flags and their `ORGQL_*`
//! environment twins.
//!
//! (Long only with its unit tests, at the end.)

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use ipnet::IpNet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "ORGQL_LISTEN",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub listen: SocketAddr,

    /// Database URL: `sqlite://FILE?mode=rwc` (created if absent) or
    /// `postgres://USER@HOST/DB`. SQLite runs in WAL mode with foreign keys on.
    #[arg(
        long,
        env = "ORGQL_DATABASE_URL",
        default_value = "sqlite://orgql.db?mode=rwc",
        global = true
    )]
    pub database_url: String,

    /// Largest size of the database pool. Unset: 4 per CPU core, on either
    /// backend.
    #[arg(long, env = "ORGQL_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,

    /// HS256 secret that signs access tokens; 32 bytes or more, or the server
    /// will not start. Unset: one is generated on first start and kept in the
    /// database, so all instances that share the database share it too. To
    /// change it without signing anyone out, make the old secret
    /// `ORGQL_JWT_SECRET_FALLBACK` until its tokens expire (the book's
    /// "Rotating keys").
    #[arg(long, env = "ORGQL_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// A secret that still verifies access tokens but signs none: during a
    /// rotation, the old secret until the tokens it signed expire and, with
    /// several instances, first the next one while they restart to learn it
    /// (the book's "Rotating keys"). 32 bytes or more. Tokens name their
    /// secret (`kid`), so it costs nothing per request.
    #[arg(
        long,
        env = "ORGQL_JWT_SECRET_FALLBACK",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret_fallback: Option<String>,

    /// Key (32 bytes or more) that encrypts TOTP secrets and SSO connections'
    /// OIDC client secrets at rest (XChaCha20-Poly1305). Unset: one is
    /// generated on first start and kept in the database, like the JWT secret;
    /// set it in production so that a copy of the database alone does not
    /// reveal the secrets. Once it is set, the generated key still opens what
    /// it sealed until `orgql admin rotate-keys` re-seals that. To change the
    /// key, move the old one to `ORGQL_MFA_ENCRYPTION_KEY_FALLBACK` and run
    /// `orgql admin rotate-keys` (the book's "Rotating keys").
    #[arg(
        long,
        env = "ORGQL_MFA_ENCRYPTION_KEY",
        hide_env_values = true,
        global = true
    )]
    pub mfa_encryption_key: Option<String>,

    /// A key that still opens sealed secrets but seals none: during a
    /// rotation, the old key until `orgql admin rotate-keys` has re-sealed
    /// everything under `ORGQL_MFA_ENCRYPTION_KEY` and, with several
    /// instances, first the next one while they restart to learn it (the
    /// book's "Rotating keys"). 32 bytes or more. A value sealed under a key
    /// in neither setting does not open: enrolled authenticators fail (people
    /// sign in with a recovery code and enroll again), and SSO connections
    /// need their client secret set again (`updateSsoConnection`).
    #[arg(
        long,
        env = "ORGQL_MFA_ENCRYPTION_KEY_FALLBACK",
        hide_env_values = true,
        global = true
    )]
    pub mfa_encryption_key_fallback: Option<String>,

    /// Public base URL of the server. It is the JWT issuer (`iss`), so changing
    /// it invalidates tokens already issued, and the base of the links in
    /// emails (`…/invitations/accept?token=…`).
    #[arg(
        long,
        env = "ORGQL_PUBLIC_URL",
        default_value = "http://127.0.0.1:8000",
        global = true
    )]
    pub public_url: String,

    /// Comma-separated proxies whose `X-Forwarded-For` is believed: single IPs
    /// or CIDR networks (`10.0.0.0/8,192.0.2.7`). Empty: the socket address is
    /// the client address.
    #[arg(long, env = "ORGQL_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy, global = true)]
    pub trusted_proxies: Vec<IpNet>,

    /// SMTP server for outgoing mail, such as
    /// `smtps://user:pass@smtp.example.com:465` or
    /// `smtp://user:pass@smtp.example.com:587?tls=required` (a bare `smtp://`
    /// URL sends in clear text: for a local relay only). Unset: mail is written
    /// to the mail directory.
    #[arg(long, env = "ORGQL_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,

    /// Where mail is written as `.eml` files when `ORGQL_SMTP_URL` is unset;
    /// created at start-up, readable by the server's user only. Unset: `mail`
    /// beside the SQLite database file, else `./mail`.
    #[arg(long, env = "ORGQL_MAIL_DIR", global = true)]
    pub mail_dir: Option<PathBuf>,

    /// The `<env>` part of API tokens (`orgql_<env>_…`), so secret scanners can
    /// tell a production token from a test one: 1 to 16 lower-case letters and
    /// digits.
    #[arg(long, env = "ORGQL_TOKEN_ENV", default_value = "live", value_parser = parse_token_environment, global = true)]
    pub token_environment: String,

    /// Sender of outgoing mail. The server will not start if it is not an email
    /// address.
    #[arg(
        long,
        env = "ORGQL_MAIL_FROM",
        default_value = "orgql <no-reply@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Whether the schema answers introspection queries. The playground needs
    /// it; turn it off in production if clients use `schema.graphql`.
    #[arg(long, env = "ORGQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub introspection: bool,

    /// Whether `GET /graphql` serves the GraphiQL playground to a browser. Turn
    /// it off in production if nobody explores the API there.
    #[arg(long, env = "ORGQL_PLAYGROUND", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub playground: bool,

    /// Whether the server serves the reference web console at `/console`
    /// (and sends the mailed links' paths, `/verify-email`,
    /// `/reset-password` and `/invitations/accept`, to its pages). Turn it
    /// off when your own app is the front end.
    #[arg(long, env = "ORGQL_CONSOLE", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub console: bool,

    /// Whether `GET /graphql?query=…` runs queries. Off: GET answers 405 and
    /// only POST runs operations.
    #[arg(long, env = "ORGQL_GET_QUERIES", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub get_queries: bool,

    /// Comma-separated origins (`https://app.example.com`) whose browser apps
    /// may call the API cross-origin; `*` allows any. Empty: same-origin only,
    /// no CORS headers.
    #[arg(long, env = "ORGQL_CORS_ORIGINS", value_delimiter = ',', value_parser = parse_origin, global = true)]
    pub cors_origins: Vec<String>,

    /// How long a browser may cache a CORS preflight, in seconds (browsers cap
    /// it: Chromium at 7200).
    #[arg(
        long,
        env = "ORGQL_CORS_MAX_AGE_SECS",
        default_value_t = 7200,
        global = true
    )]
    pub cors_max_age_secs: u64,

    /// PostgreSQL only: keep sessions in memory so that a query's
    /// authentication costs no statement. Triggers notify every instance when a
    /// session is revoked or re-authenticated or its user changes, and each
    /// drops that user's sessions. Mutations always read their session from the
    /// database, so a revoked session writes nothing more anywhere, and an
    /// instance forgets its cached sessions after every mutation it runs, so it
    /// refuses at once whatever it revoked itself; a query through another
    /// instance may still be served from memory until the notice arrives
    /// (normally within a few milliseconds; a listener that loses its
    /// connection turns the cache off and empties it at once, and it comes back
    /// only after a new `LISTEN` has been answered). Set `false` to read the
    /// session on every request. SQLite never caches, and neither does a
    /// PostgreSQL database that lacks the notifying triggers (migrated by an
    /// older version under `--no-migrate`).
    #[arg(long, env = "ORGQL_SESSION_CACHE", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub session_cache: bool,

    /// Whether Apollo's automatic persisted queries work: a client sends a
    /// query's SHA-256 and registers the query on a miss.
    #[arg(long, env = "ORGQL_PERSISTED_QUERIES", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub persisted_queries: bool,

    /// Most bytes of query text the automatic persisted queries' cache holds,
    /// per instance. When full, it forgets the queries used longest ago; a
    /// client whose query was forgotten registers it again on its next miss.
    #[arg(
        long,
        env = "ORGQL_PERSISTED_QUERIES_CACHE_BYTES",
        default_value_t = 8 * 1024 * 1024,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub persisted_queries_cache_bytes: u64,

    /// Trusted documents: a JSON manifest `{ "<sha256>": "<document>" }`
    /// (graphql-codegen's persisted documents). When set, only those operations
    /// run, and automatic persisted queries are off.
    #[arg(long, env = "ORGQL_TRUSTED_DOCUMENTS", global = true)]
    pub trusted_documents: Option<std::path::PathBuf>,

    /// Whether `GET /metrics` serves Prometheus metrics.
    #[arg(long, env = "ORGQL_METRICS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub metrics: bool,

    /// Serve `GET /metrics` on this address only (`127.0.0.1:9100`, or a
    /// private interface), not on the API's listener. Unset: `/metrics` is on
    /// the API's listener, open to anyone who reaches it.
    #[arg(long, env = "ORGQL_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// Most operations in one JSON-array batch; `0` turns batching off.
    #[arg(long, env = "ORGQL_MAX_BATCH", default_value_t = 0, global = true)]
    pub max_batch: usize,

    /// Deepest allowed query nesting. 10 fits the deepest tree the schema
    /// invites (organization → members → edges → node → user → … → a scalar,
    /// with room for teams) and no more.
    #[arg(long, env = "ORGQL_MAX_DEPTH", default_value_t = 10, global = true)]
    pub max_depth: usize,

    /// Highest allowed complexity: 1 per field, with a connection's fields
    /// multiplied by its `first`.
    #[arg(
        long,
        env = "ORGQL_MAX_COMPLEXITY",
        default_value_t = 10_000,
        global = true
    )]
    pub max_complexity: usize,

    /// Most aliases in one document.
    #[arg(long, env = "ORGQL_MAX_ALIASES", default_value_t = 15, global = true)]
    pub max_aliases: usize,

    /// Most directives on one field.
    #[arg(long, env = "ORGQL_MAX_DIRECTIVES", default_value_t = 4, global = true)]
    pub max_directives: usize,

    /// Largest request body, in bytes.
    #[arg(long, env = "ORGQL_MAX_BODY_BYTES", default_value_t = 64 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Longest a request may take, in seconds.
    #[arg(
        long,
        env = "ORGQL_REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,

    /// Lifetime of access tokens that name no active organization, in seconds.
    /// A token that names one lives for that organization's `jwtExpirySecs`
    /// (900 unless changed).
    #[arg(
        long,
        env = "ORGQL_ACCESS_TOKEN_TTL_SECS",
        default_value_t = 900,
        global = true
    )]
    pub access_token_ttl_secs: i64,

    /// Lifetime of refresh tokens, in days.
    #[arg(
        long,
        env = "ORGQL_REFRESH_TOKEN_TTL_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub refresh_token_ttl_days: i64,

    /// How many times per window each credential-checking operation (log-in,
    /// sign-up, MFA, resets, links, codes) may run from one client network (an
    /// IPv4 address, an IPv6 /64), counted per operation executed: aliases and
    /// batch entries each count.
    #[arg(
        long,
        env = "ORGQL_RATE_LIMIT_PER_IP",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub rate_limit_per_ip: u32,

    /// How many times per window each such operation may run for one account
    /// (an email address, a user), from any address.
    #[arg(
        long,
        env = "ORGQL_RATE_LIMIT_PER_ACCOUNT",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub rate_limit_per_account: u32,

    /// The rate limits' window, in seconds: the budget refills evenly over it
    /// and may be spent at once. On PostgreSQL the budgets are shared by every
    /// instance.
    #[arg(
        long,
        env = "ORGQL_RATE_LIMIT_WINDOW_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub rate_limit_window_secs: u64,

    /// How many SCIM requests one directory may make per minute (issue #25);
    /// the whole minute's budget may be spent at once, so a sync of a few
    /// thousand people runs at full speed. On PostgreSQL the budget is shared
    /// by every instance. Over it: 429 with `Retry-After`.
    #[arg(
        long,
        env = "ORGQL_SCIM_REQUESTS_PER_MINUTE",
        default_value_t = 6000,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub scim_requests_per_minute: u32,

    /// Wrong passwords in a row from one client network (an IPv4 address, an
    /// IPv6 /64) after which it may not sign in to that account; as many locked
    /// networks lock the account (except where it signed in before). The same
    /// number of wrong TOTP codes locks the account's codes. The person is told
    /// by email; a password reset lifts the password locks. Counts live in the
    /// database, so they hold across instances.
    #[arg(
        long,
        env = "ORGQL_LOCKOUT_THRESHOLD",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub lockout_threshold: u32,

    /// How long a lock (a network, an account, its TOTP codes) lasts, in
    /// minutes.
    #[arg(
        long,
        env = "ORGQL_LOCKOUT_MINUTES",
        default_value_t = 15,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub lockout_minutes: u32,
    /// Absolute lifetime of a session, in days from its sign-in: refreshing
    /// never extends a session past it.
    #[arg(
        long,
        env = "ORGQL_SESSION_MAX_AGE_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub session_max_age_days: i64,

    /// Lifetime of an email verification link, in hours.
    #[arg(
        long,
        env = "ORGQL_EMAIL_VERIFICATION_TTL_HOURS",
        default_value_t = 24,
        global = true
    )]
    pub email_verification_ttl_hours: i64,

    /// DNS server (`IP:PORT`, e.g. `1.1.1.1:53`) asked for the TXT records that
    /// verify an organization's domains. Unset: the system's resolver
    /// (`/etc/resolv.conf`).
    #[arg(long, env = "ORGQL_DNS_RESOLVER", global = true)]
    pub dns_resolver: Option<SocketAddr>,

    /// Comma-separated app addresses that single sign-on may send the browser
    /// back to with its one-time code (`redirect_uri`), compared exactly. With
    /// none, SSO sign-in is refused. With the console on, its page for a
    /// connection's test sign-in (`ORGQL_PUBLIC_URL/console/sso-test`) is
    /// on the list too.
    #[arg(
        long,
        env = "ORGQL_SSO_REDIRECT_URIS",
        value_delimiter = ',',
        global = true
    )]
    pub sso_redirect_uris: Vec<String>,

    /// Accept plain `http://` OIDC issuer URLs and SAML IdP SSO URLs. For
    /// development and tests only.
    #[arg(long, env = "ORGQL_SSO_ALLOW_HTTP_ISSUERS", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub sso_allow_http_issuers: bool,

    /// Most WebSockets (subscriptions) one person or API token may hold
    /// open on one server; past it, a new one closes with 4429.
    #[arg(
        long,
        env = "ORGQL_SOCKETS_PER_USER",
        default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub sockets_per_user: u32,

    /// Most subscriptions running at once on one WebSocket; past it, a new
    /// one is refused (RATE_LIMITED).
    #[arg(
        long,
        env = "ORGQL_SUBSCRIPTIONS_PER_SOCKET",
        default_value_t = 16,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub subscriptions_per_socket: u32,

    /// Database connections that live subscriptions read through, apart
    /// from the requests' pool: many subscribers then cannot make requests
    /// wait for a connection.
    #[arg(
        long,
        env = "ORGQL_SUBSCRIPTION_DB_CONNECTIONS",
        default_value_t = 4,
        value_parser = clap::value_parser!(u32).range(1..=100),
        global = true
    )]
    pub subscription_db_connections: u32,

    /// How often a quiet subscription checks its follower again (session,
    /// membership, policy), in seconds. On PostgreSQL a revoked session
    /// ends its streams at once; on SQLite this is how it is noticed.
    #[arg(
        long,
        env = "ORGQL_SUBSCRIPTION_RECHECK_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600),
        global = true
    )]
    pub subscription_recheck_secs: u64,

    /// Accept plain `http://` webhook endpoint URLs. For development and
    /// tests only: deliveries carry an organization's events.
    #[arg(long, env = "ORGQL_WEBHOOK_ALLOW_HTTP", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub webhook_allow_http: bool,

    /// Let webhook endpoints be on private, loopback and link-local
    /// addresses. For development and tests only: otherwise an
    /// organization could make the server reach its own network.
    #[arg(long, env = "ORGQL_WEBHOOK_ALLOW_PRIVATE_TARGETS", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub webhook_allow_private_targets: bool,

    /// How long one webhook delivery may take, connecting included, before
    /// it counts as failed and is retried.
    #[arg(
        long,
        env = "ORGQL_WEBHOOK_TIMEOUT_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=60),
        global = true
    )]
    pub webhook_timeout_secs: u64,

    /// Skip migrations at start-up and in `seed` (run `orgql migrate`
    /// yourself).
    #[arg(long, env = "ORGQL_NO_MIGRATE", global = true)]
    pub no_migrate: bool,

    /// `text` writes human-readable lines; `json` writes one JSON object per
    /// line for log shippers. Logs go to standard error, with terminal colours
    /// only when standard error is a terminal.
    #[arg(
        long,
        env = "ORGQL_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// How many password hashes (sign-up, log-in, password and email changes)
    /// may run at once. Each takes tens of milliseconds of one core and 19 MiB
    /// of memory, on threads apart from those that serve requests; more wait
    /// their turn. Unset: one fewer than the CPU cores (at least 1), so that a
    /// flood of log-ins leaves a core to every other request.
    #[arg(
        long,
        env = "ORGQL_PASSWORD_HASHING_CONCURRENCY",
        value_parser = clap::value_parser!(u16).range(1..),
        global = true
    )]
    pub password_hashing_concurrency: Option<u16>,

    /// Cheap password hashing, for tests and demos only: never in
    /// production.
    #[arg(
        long,
        env = "ORGQL_INSECURE_FAST_PASSWORD_HASHING",
        hide = true,
        global = true
    )]
    pub insecure_fast_password_hashing: bool,
}

/// Lower-case letters and digits only: the token format splits on `_`.
fn parse_token_environment(value: &str) -> Result<String, String> {
    if !value.is_empty()
        && value.len() <= 16
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        Ok(value.to_owned())
    } else {
        Err("1 to 16 lower-case letters and digits, such as live or test".to_owned())
    }
}

/// An origin as browsers send it: `*`, or scheme, host and optional port.
fn parse_origin(value: &str) -> Result<String, String> {
    let value = value.trim().trim_end_matches('/');
    let valid = value == "*"
        || value.split_once("://").is_some_and(|(scheme, host)| {
            matches!(scheme, "http" | "https") && !host.is_empty() && !host.contains('/')
        });
    if valid {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "{value:?} is not an origin such as https://app.example.com"
        ))
    }
}

/// A proxy address: a CIDR (`10.0.0.0/8`) or a single IP (`10.0.0.7`).
fn parse_proxy(value: &str) -> Result<IpNet, String> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{value:?} is neither an IP address nor a CIDR"))
}

impl Config {
    /// Which webhook targets the server may post to.
    pub fn webhook_targets(&self) -> crate::domain::webhooks::Targets {
        crate::domain::webhooks::Targets {
            allow_http: self.webhook_allow_http,
            allow_private: self.webhook_allow_private_targets,
        }
    }

    /// `ORGQL_MAIL_DIR`, or `mail` beside the SQLite database file, or
    /// `./mail` (PostgreSQL, in-memory SQLite).
    pub fn mail_dir(&self) -> PathBuf {
        if let Some(dir) = &self.mail_dir {
            return dir.clone();
        }
        let sqlite_file = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))
            .map(|rest| rest.split('?').next().unwrap_or(rest))
            .filter(|path| !path.is_empty() && !path.contains(":memory:"));
        let beside = sqlite_file
            .and_then(|file| Path::new(file).parent())
            .unwrap_or(Path::new(""));
        beside.join("mail")
    }

    /// The defaults, as if started with no flags and no environment: for
    /// tests and benchmarks, which then set what they need.
    pub fn defaults(database_url: &str) -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            config: Config,
        }
        let mut config = <Defaults as clap::Parser>::parse_from(["orgql"]).config;
        config.database_url = database_url.to_owned();
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_goes_beside_the_sqlite_database_by_default() {
        for (url, dir) in [
            ("sqlite://orgql.db?mode=rwc", "mail"),
            (
                "sqlite:///var/lib/orgql/orgql.db?mode=rwc",
                "/var/lib/orgql/mail",
            ),
            ("sqlite:data/orgql.db", "data/mail"),
            ("sqlite::memory:", "mail"),
            ("postgres://orgql@db/orgql", "mail"),
        ] {
            assert_eq!(
                Config::defaults(url).mail_dir(),
                PathBuf::from(dir),
                "{url}"
            );
        }
    }

    #[test]
    fn a_configured_mail_directory_wins() {
        let mut config = Config::defaults("sqlite:///var/lib/orgql/orgql.db");
        config.mail_dir = Some("/srv/mail".into());
        assert_eq!(config.mail_dir(), PathBuf::from("/srv/mail"));
    }
}
