use async_graphql::{
    Context, ID, Object,
    dataloader::{DataLoader, HashMapCache},
};
use chrono::{DateTime, Utc};
use entity::session;

use crate::domain::ids::{self, IdKind};
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::OrganizationLoader;
use crate::graphql::types::Organization;

/// A signed-in device or browser: one log-in and the tokens refreshed from
/// it.
pub struct Session(pub session::Model);

/// A signed-in device or browser: one log-in and the tokens refreshed from
/// it.
#[Object]
impl Session {
    /// Opaque id, prefixed `ses_`.
    async fn id(&self) -> ID {
        ID(ids::encode(IdKind::Session, self.0.id))
    }

    /// When the person signed in.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the session was last used (to the minute).
    async fn last_used_at(&self) -> DateTime<Utc> {
        self.0.last_used_at
    }

    /// The client address it was last used from.
    async fn ip_address(&self) -> Option<&str> {
        self.0.ip_address.as_deref()
    }

    /// The client's User-Agent.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }

    /// The organization its tokens name, if any.
    async fn active_organization(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Organization>> {
        let Some(id) = self.0.active_organization_id else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<OrganizationLoader, HashMapCache>>()?
            .load_one(id)
            .await?
            .map(Organization))
    }

    /// How the person authenticated when the session began (RFC 8176
    /// `amr`): `["pwd"]`, or `["pwd", "otp"]` after a second factor.
    async fn amr(&self) -> &'static [&'static str] {
        crate::domain::authz::Authentication::of_session(&self.0).amr()
    }

    /// Whether this is the session making the request.
    async fn current(&self, ctx: &Context<'_>) -> bool {
        ctx.actor_opt().and_then(|a| a.session_id()) == Some(self.0.id)
    }
}
