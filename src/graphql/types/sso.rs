use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use entity::sso_connection;
use std::sync::Arc;

use crate::domain::sso::SsoSettings;
use crate::graphql::ids::{self, IdKind};
use crate::graphql::types::enums::Role;

/// The protocol of a single sign-on connection.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoProtocol {
    /// OpenID Connect: authorization code flow with PKCE.
    Oidc,
}

/// Where a single sign-on connection stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::values::SsoStatus")]
pub enum SsoStatus {
    /// Configured; not yet used for sign-in. Test it, then activate it.
    Draft,
    /// The organization's sign-in route (one at a time).
    Active,
    /// Taken out of use.
    Inactive,
}

/// An organization's connection to its identity provider. The client
/// secret is write-only: it is never returned.
pub struct SsoConnection(pub sso_connection::Model);

/// An organization's connection to its identity provider. The client
/// secret is write-only: it is never returned.
#[Object]
impl SsoConnection {
    /// Opaque id, prefixed `sso_`.
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::SsoConnection, self.0.id))
    }

    /// OIDC.
    async fn protocol(&self) -> SsoProtocol {
        SsoProtocol::Oidc
    }

    /// DRAFT, ACTIVE or INACTIVE.
    async fn status(&self) -> SsoStatus {
        self.0.status.into()
    }

    /// The IdP's issuer URL (discovery at
    /// `/.well-known/openid-configuration`).
    async fn issuer_url(&self) -> &str {
        &self.0.issuer_url
    }

    /// The client id orgql is registered with at the IdP.
    async fn client_id(&self) -> &str {
        &self.0.client_id
    }

    /// Whether people new to the organization are added (and, without an
    /// account, created) at their first sign-in.
    async fn jit_provisioning(&self) -> bool {
        self.0.jit_provisioning
    }

    /// The role people added at sign-in get: VIEWER or MEMBER.
    async fn default_role(&self) -> Role {
        self.0.default_role.into()
    }

    /// The redirect URI to register at the IdP for this server.
    async fn redirect_uri(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(ctx.data::<Arc<SsoSettings>>()?.oidc_callback_url())
    }

    /// When a test sign-in (`testSsoConnection`) last succeeded since the
    /// IdP settings changed; activation needs one.
    async fn tested_at(&self) -> Option<DateTime<Utc>> {
        self.0.tested_at
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
