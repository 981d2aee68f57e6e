//! The GraphQL layer: thin resolvers that turn arguments into domain calls
//! and rows into GraphQL objects. Guards declare each field's permission;
//! loaders batch what nested fields read.

pub mod connection;
pub mod context;
pub mod extensions;
pub mod guards;
pub mod ids;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod types;

use async_graphql::{EmptySubscription, Schema};
use sea_orm::DatabaseConnection;

use crate::auth::AuthConfig;
use crate::config::Config;
use crate::error::ErrorCode;
use crate::mail::outbox::Outbox;

pub use mutation::MutationRoot;
pub use query::QueryRoot;

pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// What resolvers reach through the schema's data. Per-request values (the
/// actor, the loaders) are added to each request instead: see
/// `http::graphql`.
pub struct SchemaDeps {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub auth: AuthConfig,
    pub config: Config,
}

/// The one schema builder, used by the server, the `schema` command and
/// tests.
pub fn build_schema(deps: SchemaDeps) -> AppSchema {
    let config = &deps.config;
    let mut builder = Schema::build(QueryRoot, MutationRoot::default(), EmptySubscription)
        .register_output_type::<ErrorCode>()
        .limit_depth(config.max_depth)
        .limit_complexity(config.max_complexity)
        .limit_directives(config.max_directives)
        .limit_recursive_depth(64)
        .disable_suggestions();
    if !config.introspection {
        builder = builder.disable_introspection();
    }
    builder
        .data(deps.db)
        .data(deps.outbox)
        .data(deps.auth)
        .data(deps.config)
        .finish()
}

/// The SDL of the schema, as `orgql schema` prints it and `schema.graphql`
/// holds it.
pub fn sdl() -> String {
    offline_schema().sdl()
}

/// The schema over a disconnected database: for printing and for
/// introspecting it, never for serving.
pub fn offline_schema() -> AppSchema {
    let deps = SchemaDeps {
        db: DatabaseConnection::default(),
        auth: AuthConfig {
            passwords: crate::auth::PasswordHasher::new(true),
            tokens: crate::auth::TokenIssuer::new(b"schema-printing-only", "orgql", 60),
            refresh_ttl: chrono::Duration::days(1),
            session_max_age: chrono::Duration::days(1),
            verification_ttl: chrono::Duration::hours(1),
            token_environment: "live".into(),
        },
        config: Config::defaults("sqlite::memory:"),
        outbox: Outbox::new("http://127.0.0.1:8000"),
    };
    build_schema(deps)
}
