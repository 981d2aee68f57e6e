use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::api_tokens::{self, NewApiToken};
use crate::domain::ids;
use crate::domain::sessions;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::{Person, SignedIn};
use crate::graphql::types::{ApiToken, Organization, enums::Permission};

#[derive(Default)]
pub struct SessionMutations;

/// One of the viewer's sessions.
#[derive(InputObject)]
pub struct RevokeSessionInput {
    /// The session (`ses_` id), from `viewer.sessions`.
    pub session_id: ID,
}

/// The result of `revokeSession`.
#[derive(SimpleObject)]
pub struct RevokeSessionPayload {
    /// The session that ended.
    pub session_id: ID,
}

/// The result of `logOutEverywhere`.
#[derive(SimpleObject)]
pub struct LogOutEverywherePayload {
    /// How many sessions ended, this one included.
    pub revoked_sessions: u64,
}

/// The organization whose sessions to end.
#[derive(InputObject)]
pub struct RevokeOrganizationSessionsInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
}

/// The result of `revokeOrganizationSessions`.
#[derive(SimpleObject)]
pub struct RevokeOrganizationSessionsPayload {
    /// The organization.
    pub organization: Organization,
    /// Live sessions that lost access to the organization: those started
    /// before now by the members the caller ranks above, and the caller's
    /// own. They keep working in the people's other organizations.
    pub revoked_sessions: u64,
}

/// A token to create.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// The organization that owns it (`org_` id).
    pub organization_id: ID,
    /// What it is for.
    pub name: String,
    /// Permissions it holds, such as `members:view`; only ones you hold.
    pub scopes: Vec<Permission>,
    /// Days until it expires: when absent, the policy's `apiKeyMaxAgeDays`
    /// (365 unless set), which is also the most allowed.
    pub expires_in_days: Option<i32>,
}

/// A new token and, this once, its secret.
#[derive(SimpleObject)]
pub struct CreateApiTokenPayload {
    /// The token.
    pub api_token: ApiToken,
    /// The secret to send as `Authorization: Bearer …`, in the form
    /// `orgql_<env>_<key>_<secret>`; shown only here.
    pub token: String,
}

/// A token to revoke.
#[derive(InputObject)]
pub struct RevokeApiTokenInput {
    /// The token (`tok_` id).
    pub api_token_id: ID,
}

/// The result of `revokeApiToken`.
#[derive(SimpleObject)]
pub struct RevokeApiTokenPayload {
    /// The token, now revoked.
    pub api_token: ApiToken,
}

#[Object]
impl SessionMutations {
    /// Ends one of the viewer's own sessions; its tokens fail at once.
    #[graphql(guard = "Person")]
    async fn revoke_session(
        &self,
        ctx: &Context<'_>,
        input: RevokeSessionInput,
    ) -> async_graphql::Result<RevokeSessionPayload> {
        let session_id = ids::parse::<ids::SessionId>(&input.session_id, "sessionId")?;
        sessions::revoke(ctx.db()?, ctx.actor()?, session_id).await?;
        Ok(RevokeSessionPayload {
            session_id: input.session_id,
        })
    }

    /// Ends every session of the viewer, this one included.
    #[graphql(guard = "Person")]
    async fn log_out_everywhere(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<LogOutEverywherePayload> {
        let revoked_sessions = sessions::revoke_all(ctx.db()?, ctx.actor()?).await?;
        Ok(LogOutEverywherePayload { revoked_sessions })
    }

    /// Ends the access to an organization of every session started before
    /// now (members:manage), for the members the caller ranks above and the
    /// caller: an ADMIN never cuts off another ADMIN or an OWNER. They sign
    /// in again to use it; their other organizations are untouched.
    #[graphql(guard = "SignedIn")]
    async fn revoke_organization_sessions(
        &self,
        ctx: &Context<'_>,
        input: RevokeOrganizationSessionsInput,
    ) -> async_graphql::Result<RevokeOrganizationSessionsPayload> {
        let organization_id =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        let (organization, revoked_sessions) =
            sessions::revoke_for_organization(ctx.db()?, ctx.actor()?, organization_id).await?;
        Ok(RevokeOrganizationSessionsPayload {
            organization: Organization(organization),
            revoked_sessions,
        })
    }

    /// Creates an organization API token (tokens:manage).
    #[graphql(guard = "SignedIn")]
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> async_graphql::Result<CreateApiTokenPayload> {
        let (api_token, token) = api_tokens::create(
            ctx.db()?,
            ctx.actor()?,
            &ctx.config()?.token_environment,
            NewApiToken {
                organization_id: ids::parse::<ids::OrganizationId>(
                    &input.organization_id,
                    "organizationId",
                )?,
                name: input.name,
                scopes: input.scopes.into_iter().map(Into::into).collect(),
                expires_in_days: input.expires_in_days,
            },
        )
        .await?;
        Ok(CreateApiTokenPayload {
            api_token: ApiToken(api_token),
            token,
        })
    }

    /// Revokes an organization API token (tokens:manage).
    #[graphql(guard = "SignedIn")]
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiTokenInput,
    ) -> async_graphql::Result<RevokeApiTokenPayload> {
        let id = ids::parse::<ids::ApiTokenId>(&input.api_token_id, "apiTokenId")?;
        let api_token = api_tokens::revoke(ctx.db()?, ctx.actor()?, id).await?;
        Ok(RevokeApiTokenPayload {
            api_token: ApiToken(api_token),
        })
    }
}
