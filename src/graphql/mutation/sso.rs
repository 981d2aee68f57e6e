use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::ids;
use crate::domain::ids::SsoConnectionId;
use crate::domain::sso::connections::{self, ConnectionPatch, IdpFields, NewConnection};
use crate::domain::sso::{SsoSettings, sign_in};
use crate::graphql::context::ContextExt;
use crate::graphql::guards::SignedIn;
use crate::graphql::rate_limits::Limited;
use crate::graphql::types::auth::AuthPayload;
use crate::graphql::types::enums::Role;
use crate::graphql::types::sso::{SsoConnection, SsoProtocol};

#[derive(Default)]
pub struct SsoMutations;

/// A new single sign-on connection (DRAFT until tested and activated).
/// OIDC takes `issuerUrl`, `clientId` and `clientSecret`; SAML takes
/// `idpEntityId`, `idpSsoUrl` and `idpCertificate`. Each protocol's fields
/// are required for it and refused (BAD_USER_INPUT) for the other.
#[derive(InputObject)]
pub struct CreateSsoConnectionInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// OIDC or SAML.
    pub protocol: SsoProtocol,
    /// OIDC: the IdP's issuer URL (https).
    pub issuer_url: Option<String>,
    /// OIDC: the client id orgql is registered with at the IdP.
    pub client_id: Option<String>,
    /// OIDC: the client secret: stored encrypted, never returned.
    pub client_secret: Option<String>,
    /// SAML: the IdP's entity id (the issuer of its assertions).
    pub idp_entity_id: Option<String>,
    /// SAML: the IdP's single sign-on URL (HTTP-Redirect binding; https).
    pub idp_sso_url: Option<String>,
    /// SAML: the IdP's signing certificate, PEM (`-----BEGIN
    /// CERTIFICATE-----`).
    pub idp_certificate: Option<String>,
    /// Add (and create) people at their first sign-in. Default true.
    #[graphql(default = true)]
    pub jit_provisioning: bool,
    /// VIEWER or MEMBER, for people added at sign-in. Default MEMBER.
    #[graphql(default_with = "Role::Member")]
    pub default_role: Role,
}

/// Changes to a connection; fields left out stay as they are. Fields of
/// the other protocol are refused (BAD_USER_INPUT).
#[derive(InputObject)]
pub struct UpdateSsoConnectionInput {
    /// The connection (`sso_` id).
    pub connection_id: ID,
    /// OIDC: a new issuer URL (not while ACTIVE; needs a new test sign-in).
    pub issuer_url: Option<String>,
    /// OIDC: a new client id (not while ACTIVE; needs a new test sign-in).
    pub client_id: Option<String>,
    /// OIDC: a new client secret (may be rotated at any time).
    pub client_secret: Option<String>,
    /// SAML: a new IdP entity id (not while ACTIVE; needs a new test
    /// sign-in).
    pub idp_entity_id: Option<String>,
    /// SAML: a new IdP SSO URL (not while ACTIVE; needs a new test
    /// sign-in).
    pub idp_sso_url: Option<String>,
    /// SAML: a new signing certificate, PEM (may be rotated at any time).
    pub idp_certificate: Option<String>,
    /// Add (and create) people at their first sign-in.
    pub jit_provisioning: Option<bool>,
    /// VIEWER or MEMBER.
    pub default_role: Option<Role>,
}

/// A connection to act on.
#[derive(InputObject)]
pub struct SsoConnectionInput {
    /// The connection (`sso_` id).
    pub connection_id: ID,
}

/// A test sign-in to start.
#[derive(InputObject)]
pub struct TestSsoConnectionInput {
    /// The connection (`sso_` id).
    pub connection_id: ID,
    /// Where the browser returns (`?sso_test=passed` or `?error=…`); must
    /// be on the server's allowlist (`ORGQL_SSO_REDIRECT_URIS`).
    pub redirect_uri: String,
}

/// A one-time code to trade.
#[derive(InputObject)]
pub struct ExchangeSsoCodeInput {
    /// The `code` the app received on its `redirect_uri`.
    pub code: String,
}

/// The connection after the change.
#[derive(SimpleObject)]
pub struct SsoConnectionPayload {
    /// The connection.
    pub connection: SsoConnection,
}

/// The result of `deleteSsoConnection`.
#[derive(SimpleObject)]
pub struct DeleteSsoConnectionPayload {
    /// The id the connection had.
    pub deleted_connection_id: ID,
}

/// The result of `testSsoConnection`.
#[derive(SimpleObject)]
pub struct TestSsoConnectionPayload {
    /// A one-time link to open in the browser (`/sso/test?ticket=…`): it
    /// binds the test sign-in to that browser and sends it on to the IdP,
    /// where the administrator signs in. The IdP's answer counts only
    /// through the same browser. Works once, for ten minutes.
    pub authorization_url: String,
}

fn connection_id(id: &ID) -> Result<SsoConnectionId, crate::error::AppError> {
    ids::parse::<ids::SsoConnectionId>(id, "connectionId")
}

#[Object]
impl SsoMutations {
    /// Creates a single sign-on connection, DRAFT (sso:manage,
    /// ENTERPRISE tier).
    #[graphql(guard = "SignedIn")]
    async fn create_sso_connection(
        &self,
        ctx: &Context<'_>,
        input: CreateSsoConnectionInput,
    ) -> async_graphql::Result<SsoConnectionPayload> {
        let organization_id =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        let connection = connections::create(
            ctx.db()?,
            &ctx.auth()?.sealer,
            ctx.data::<Arc<SsoSettings>>()?,
            ctx.actor()?,
            organization_id,
            NewConnection {
                protocol: input.protocol.into(),
                idp: IdpFields {
                    issuer_url: input.issuer_url,
                    client_id: input.client_id,
                    client_secret: input.client_secret,
                    idp_entity_id: input.idp_entity_id,
                    idp_sso_url: input.idp_sso_url,
                    idp_certificate: input.idp_certificate,
                },
                jit_provisioning: input.jit_provisioning,
                default_role: input.default_role.into(),
            },
        )
        .await?;
        Ok(SsoConnectionPayload {
            connection: SsoConnection(connection),
        })
    }

    /// Changes a connection (sso:manage, ENTERPRISE tier).
    #[graphql(guard = "SignedIn")]
    async fn update_sso_connection(
        &self,
        ctx: &Context<'_>,
        input: UpdateSsoConnectionInput,
    ) -> async_graphql::Result<SsoConnectionPayload> {
        let connection = connections::update(
            ctx.db()?,
            &ctx.auth()?.sealer,
            ctx.data::<Arc<SsoSettings>>()?,
            ctx.actor()?,
            connection_id(&input.connection_id)?,
            ConnectionPatch {
                idp: IdpFields {
                    issuer_url: input.issuer_url,
                    client_id: input.client_id,
                    client_secret: input.client_secret,
                    idp_entity_id: input.idp_entity_id,
                    idp_sso_url: input.idp_sso_url,
                    idp_certificate: input.idp_certificate,
                },
                jit_provisioning: input.jit_provisioning,
                default_role: input.default_role.map(Into::into),
            },
        )
        .await?;
        Ok(SsoConnectionPayload {
            connection: SsoConnection(connection),
        })
    }

    /// Starts a test sign-in through a connection (sso:manage,
    /// ENTERPRISE tier): open `authorizationUrl` in a browser. A
    /// successful one allows activating the connection.
    #[graphql(guard = "SignedIn")]
    async fn test_sso_connection(
        &self,
        ctx: &Context<'_>,
        input: TestSsoConnectionInput,
    ) -> async_graphql::Result<TestSsoConnectionPayload> {
        let url = connections::start_test(
            ctx.db()?,
            &ctx.auth()?.sealer,
            ctx.data::<Arc<SsoSettings>>()?,
            ctx.actor()?,
            connection_id(&input.connection_id)?,
            &input.redirect_uri,
        )
        .await?;
        Ok(TestSsoConnectionPayload {
            authorization_url: url,
        })
    }

    /// Makes a tested connection the organization's sign-in route
    /// (sso:manage, ENTERPRISE tier); CONFLICT if untested or another
    /// is active.
    #[graphql(guard = "SignedIn")]
    async fn activate_sso_connection(
        &self,
        ctx: &Context<'_>,
        input: SsoConnectionInput,
    ) -> async_graphql::Result<SsoConnectionPayload> {
        let connection = connections::activate(
            ctx.db()?,
            ctx.actor()?,
            connection_id(&input.connection_id)?,
        )
        .await?;
        Ok(SsoConnectionPayload {
            connection: SsoConnection(connection),
        })
    }

    /// Takes a connection out of use (sso:manage); for the active one
    /// this also turns the policy's `ssoRequired` off.
    #[graphql(guard = "SignedIn")]
    async fn deactivate_sso_connection(
        &self,
        ctx: &Context<'_>,
        input: SsoConnectionInput,
    ) -> async_graphql::Result<SsoConnectionPayload> {
        let connection = connections::deactivate(
            ctx.db()?,
            ctx.actor()?,
            connection_id(&input.connection_id)?,
        )
        .await?;
        Ok(SsoConnectionPayload {
            connection: SsoConnection(connection),
        })
    }

    /// Deletes a connection and the identities linked through it
    /// (sso:manage); for the active one this also turns the policy's
    /// `ssoRequired` off.
    #[graphql(guard = "SignedIn")]
    async fn delete_sso_connection(
        &self,
        ctx: &Context<'_>,
        input: SsoConnectionInput,
    ) -> async_graphql::Result<DeleteSsoConnectionPayload> {
        connections::delete(
            ctx.db()?,
            ctx.actor()?,
            connection_id(&input.connection_id)?,
        )
        .await?;
        Ok(DeleteSsoConnectionPayload {
            deleted_connection_id: input.connection_id,
        })
    }

    /// Trades the one-time code from a single sign-on for a session (its
    /// `amr` is `["sso"]`). A code works once, for 60 seconds.
    async fn exchange_sso_code(
        &self,
        ctx: &Context<'_>,
        input: ExchangeSsoCodeInput,
    ) -> async_graphql::Result<AuthPayload> {
        ctx.rate_limit(Limited::SsoCode, None).await?;
        let issued = sign_in::exchange(ctx.db()?, ctx.auth()?, &ctx.meta(), &input.code).await?;
        Ok(issued.into())
    }
}
