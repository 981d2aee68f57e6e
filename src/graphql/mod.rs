//! The GraphQL layer: thin resolvers that turn arguments into domain calls
//! and rows into GraphQL objects. Guards declare each field's permission;
//! loaders batch what nested fields read.

pub mod connection;
pub mod context;
pub mod error_codes;
pub mod extensions;
pub mod guards;
pub mod loaders;
pub mod mutation;
pub mod plain;
pub mod query;
pub mod rate_limits;
pub mod subscription;
pub mod types;

use async_graphql::{MergedObject, SDLExportOptions, Schema};
use sea_orm::DatabaseConnection;

use crate::auth::AuthConfig;
use crate::config::Config;
use crate::mail::outbox::Outbox;

pub use mutation::MutationRoot;
pub use query::QueryRoot;

// The query root: the API's queries (`QueryRoot`) and `errorCodes`. The
// parts carry names of their own, which the schema drops as unused.
/// Where every read starts.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(QueryRoot, error_codes::ErrorCodesQuery);

pub type AppSchema = Schema<Query, MutationRoot, subscription::SubscriptionRoot>;

/// What resolvers reach through the schema's data. Per-request values (the
/// actor, the loaders) are added to each request instead: see
/// `http::execute`.
pub struct SchemaDeps {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub auth: AuthConfig,
    pub config: Config,
    /// Shared with the browser endpoints (`/sso/...`).
    pub sso: std::sync::Arc<crate::domain::sso::SsoSettings>,
}

/// The one schema builder, used by the server, the `schema` command and
/// tests.
pub fn build_schema(deps: SchemaDeps) -> AppSchema {
    let config = &deps.config;
    let rate_limits = rate_limits::RateLimits::new(
        config.rate_limit_per_ip,
        config.rate_limit_per_account,
        std::time::Duration::from_secs(config.rate_limit_window_secs),
    );
    // Depth, aliases and directives are checked at the HTTP edge, where
    // introspection can be measured by its own rule (`extensions::prepare`);
    // complexity needs the schema's costs, so async-graphql checks it.
    // No async-graphql extension: a plain answer (`plain`) skips their
    // per-field hooks.
    let mut builder = Schema::build(
        Query::default(),
        MutationRoot::default(),
        subscription::SubscriptionRoot,
    )
    .limit_complexity(config.max_complexity)
    .limit_recursive_depth(64)
    .disable_suggestions();
    if !config.introspection {
        builder = builder.disable_introspection();
    }
    builder
        .data(deps.db)
        .data(deps.outbox)
        .data(deps.auth)
        .data(rate_limits)
        .data(deps.sso)
        .data(deps.config)
        .finish()
}

/// The SDL of the schema, as `orgql schema` prints it and `schema.graphql`
/// holds it.
pub fn sdl() -> String {
    // `@specifiedBy` too, as introspection reports `specifiedByURL`: the
    // file and the server then describe the same schema.
    offline_schema().sdl_with_options(SDLExportOptions::new().include_specified_by())
}

/// The schema over a disconnected database: for printing and for
/// introspecting it, never for serving.
pub fn offline_schema() -> AppSchema {
    let deps = SchemaDeps {
        db: DatabaseConnection::default(),
        auth: AuthConfig {
            passwords: crate::auth::PasswordHasher::new(true, 1),
            tokens: crate::auth::TokenIssuer::new(b"schema-printing-only", "orgql", 60),
            refresh_ttl: chrono::Duration::days(1),
            session_max_age: chrono::Duration::days(1),
            verification_ttl: chrono::Duration::hours(1),
            token_environment: "live".into(),
            sealer: crate::auth::Sealer::new(b"schema-printing-only"),
        },
        config: Config::defaults("sqlite::memory:"),
        outbox: Outbox::new("http://127.0.0.1:8000"),
        sso: std::sync::Arc::new(crate::domain::sso::SsoSettings::new(
            "http://127.0.0.1:8000",
            Vec::new(),
            false,
        )),
    };
    build_schema(deps)
}
