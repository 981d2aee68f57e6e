use async_graphql::{Context, ID, Object};

use crate::domain::accounts::{self, SignUp};
use crate::graphql::context::ContextExt;
use crate::graphql::guards::Person;
use crate::graphql::ids::{self, IdKind};
use crate::graphql::rate_limits::Limited;
use crate::graphql::types::{
    Organization,
    auth::{
        AuthPayload, LogInInput, LogOutPayload, RefreshSessionInput, SignUpInput,
        SwitchOrganizationInput, SwitchOrganizationPayload,
    },
};

#[derive(Default)]
pub struct AccountMutations;

#[Object]
impl AccountMutations {
    /// Creates an account and signs it in.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::SignUp, Some(&input.email))?;
        let issued = accounts::sign_up(
            ctx.db()?,
            ctx.auth()?,
            &ctx.meta(),
            SignUp {
                email: &input.email,
                password: &input.password,
                name: &input.name,
            },
        )
        .await?;
        Ok(issued.into())
    }

    /// Signs in with email and password. Any failure is UNAUTHENTICATED,
    /// whichever part was wrong.
    async fn log_in(
        &self,
        ctx: &Context<'_>,
        input: LogInInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::LogIn, Some(&input.email))?;
        let config = ctx.config()?;
        let guard = accounts::LogInGuard {
            outbox: ctx.data::<crate::mail::Outbox>()?,
            lockout: accounts::lockout::LockoutPolicy {
                threshold: config.lockout_threshold,
                duration: chrono::Duration::minutes(config.lockout_minutes.into()),
            },
        };
        let issued = accounts::log_in(
            ctx.db()?,
            ctx.auth()?,
            guard,
            &ctx.meta(),
            &input.email,
            &input.password,
        )
        .await?;
        Ok(issued.into())
    }

    /// Trades a refresh token for a new access token and a new refresh
    /// token. A refresh token works once; presenting a used one ends the
    /// session.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        input: RefreshSessionInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::Refresh, None)?;
        let issued =
            accounts::refresh_session(ctx.db()?, ctx.auth()?, &ctx.meta(), &input.refresh_token)
                .await?;
        Ok(issued.into())
    }

    /// Ends the current session: its tokens stop working at once.
    #[graphql(guard = "Person")]
    async fn log_out(&self, ctx: &Context<'_>) -> async_graphql::Result<LogOutPayload> {
        let session_id = accounts::log_out(ctx.db()?, ctx.actor()?).await?;
        Ok(LogOutPayload {
            session_id: ID(ids::encode(IdKind::Session, session_id)),
        })
    }

    /// Makes an organization the active one: returns an access token whose
    /// `org` claim names it, and remembers the choice for the next log-in.
    #[graphql(guard = "Person")]
    async fn switch_organization(
        &self,
        ctx: &Context<'_>,
        input: SwitchOrganizationInput,
    ) -> async_graphql::Result<SwitchOrganizationPayload> {
        let organization_id = ids::parse(
            IdKind::Organization,
            &input.organization_id,
            "organizationId",
        )?;
        let (access_token, access_token_expires_at, organization) =
            accounts::switch_organization(ctx.db()?, ctx.auth()?, ctx.actor()?, organization_id)
                .await?;
        Ok(SwitchOrganizationPayload {
            access_token,
            access_token_expires_at,
            organization: Organization(organization),
        })
    }
}
