//! Typed access to what a resolver finds in its context.

use async_graphql::ContextBase;
use sea_orm::DatabaseConnection;

use crate::auth::AuthConfig;
use crate::config::Config;
use crate::domain::authz::{Actor, RequestMeta};
use crate::error::AppError;
use crate::graphql::rate_limits::{Budgets, Limited, RateLimits};

pub trait ContextExt {
    fn db(&self) -> async_graphql::Result<&DatabaseConnection>;
    /// The signed-in actor, or UNAUTHENTICATED.
    fn actor(&self) -> async_graphql::Result<&Actor>;
    fn actor_opt(&self) -> Option<&Actor>;
    fn meta(&self) -> RequestMeta;
    fn auth(&self) -> async_graphql::Result<&AuthConfig>;
    fn config(&self) -> async_graphql::Result<&Config>;
    /// Counts one `operation` against the request's client address and
    /// `account`, or answers RATE_LIMITED.
    /// On PostgreSQL the budgets are shared by every instance (one
    /// statement); on SQLite they live in this process.
    fn rate_limit<'a>(
        &'a self,
        operation: Limited,
        account: Option<&'a str>,
    ) -> impl Future<Output = async_graphql::Result<()>> + Send + 'a;
}

// Every context, a field's or a selection's (`graphql::plain` answers from
// the latter).
impl<T: Send + Sync> ContextExt for ContextBase<'_, T> {
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

    async fn rate_limit(
        &self,
        operation: Limited,
        account: Option<&str>,
    ) -> async_graphql::Result<()> {
        // Clients whose address could not be told (a forwarded chain that
        // does not parse) share one budget rather than escape the limit.
        let client_ip = self
            .meta()
            .client_ip
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let budgets = Budgets::of(self.db()?);
        Ok(self
            .data::<RateLimits>()?
            .check(budgets, operation, Some(client_ip), account)
            .await?)
    }
}
