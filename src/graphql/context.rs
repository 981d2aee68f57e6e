//! Typed access to what a resolver finds in its context.

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::auth::AuthConfig;
use crate::config::Config;
use crate::domain::authz::{Actor, RequestMeta};
use crate::error::AppError;

pub trait ContextExt {
    fn db(&self) -> async_graphql::Result<&DatabaseConnection>;
    /// The signed-in actor, or UNAUTHENTICATED.
    fn actor(&self) -> async_graphql::Result<&Actor>;
    fn actor_opt(&self) -> Option<&Actor>;
    fn meta(&self) -> RequestMeta;
    fn auth(&self) -> async_graphql::Result<&AuthConfig>;
    fn config(&self) -> async_graphql::Result<&Config>;
}

impl ContextExt for Context<'_> {
    fn db(&self) -> async_graphql::Result<&DatabaseConnection> {
        self.data::<DatabaseConnection>()
    }

    fn actor(&self) -> async_graphql::Result<&Actor> {
        self.actor_opt()
            .ok_or_else(|| AppError::Unauthenticated.into())
    }

    fn actor_opt(&self) -> Option<&Actor> {
        self.data_opt::<Actor>()
    }

    fn meta(&self) -> RequestMeta {
        self.data_opt::<RequestMeta>().cloned().unwrap_or_default()
    }

    fn auth(&self) -> async_graphql::Result<&AuthConfig> {
        self.data::<AuthConfig>()
    }

    fn config(&self) -> async_graphql::Result<&Config> {
        self.data::<Config>()
    }
}
