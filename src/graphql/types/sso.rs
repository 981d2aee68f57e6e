use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use entity::sso_connection;
use std::sync::Arc;

use crate::domain::ids::{self, IdKind};
use crate::domain::sso::{SsoSettings, saml};
use crate::graphql::types::enums::Role;

/// The protocol of a single sign-on connection.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::values::SsoProtocol")]
pub enum SsoProtocol {
    /// OpenID Connect: authorization code flow with PKCE.
    Oidc,
    /// SAML 2.0: AuthnRequest on the HTTP-Redirect binding, signed
    /// Response on the HTTP-POST binding to orgql's ACS URL.
    Saml,
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

/// An organization's connection to its identity provider, OIDC or SAML.
/// The OIDC client secret is write-only: it is never returned.
pub struct SsoConnection(pub sso_connection::Model);

impl SsoConnection {
    fn is(&self, protocol: entity::values::SsoProtocol) -> bool {
        self.0.protocol == protocol
    }

    fn oidc<'a>(&self, value: &'a str) -> Option<&'a str> {
        self.is(entity::values::SsoProtocol::Oidc).then_some(value)
    }

    fn saml_sp(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<saml::ServiceProviderUrls>> {
        Ok(if self.is(entity::values::SsoProtocol::Saml) {
            Some(ctx.data::<Arc<SsoSettings>>()?.saml_sp(self.0.id))
        } else {
            None
        })
    }
}

/// An organization's connection to its identity provider, OIDC or SAML.
/// The OIDC client secret is write-only: it is never returned. Fields of
/// the other protocol are null.
#[Object]
impl SsoConnection {
    /// Opaque id, prefixed `sso_`.
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::SsoConnection, self.0.id))
    }

    /// OIDC or SAML.
    async fn protocol(&self) -> SsoProtocol {
        self.0.protocol.into()
    }

    /// DRAFT, ACTIVE or INACTIVE.
    async fn status(&self) -> SsoStatus {
        self.0.status.into()
    }

    /// OIDC: the IdP's issuer URL (discovery at
    /// `/.well-known/openid-configuration`). Null for SAML.
    async fn issuer_url(&self) -> Option<&str> {
        self.oidc(&self.0.issuer_url)
    }

    /// OIDC: the client id orgql is registered with at the IdP. Null for
    /// SAML.
    async fn client_id(&self) -> Option<&str> {
        self.oidc(&self.0.client_id)
    }

    /// SAML: the IdP's entity id, which its assertions name as their
    /// issuer. Null for OIDC.
    async fn idp_entity_id(&self) -> Option<&str> {
        self.0.idp_entity_id.as_deref()
    }

    /// SAML: the IdP's single sign-on URL, where orgql sends the
    /// AuthnRequest (HTTP-Redirect binding). Null for OIDC.
    async fn idp_sso_url(&self) -> Option<&str> {
        self.0.idp_sso_url.as_deref()
    }

    /// SAML: the IdP's signing certificate (PEM) that every response must
    /// be signed with. Changing it changes whom the connection trusts, like
    /// changing the entity id or SSO URL: a new test sign-in is needed, and
    /// on an ACTIVE connection it is refused (deactivate it first). Null
    /// for OIDC.
    async fn idp_certificate(&self) -> Option<&str> {
        self.0.idp_certificate.as_deref()
    }

    /// SAML: orgql's service provider entity id for this connection
    /// (`{ORGQL_PUBLIC_URL}/sso/saml/{id}`, where its metadata is served):
    /// every AudienceRestriction in an assertion must name it. Each
    /// connection has its own, so an assertion meant for one connection is
    /// refused by any other. Null for OIDC.
    async fn sp_entity_id(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.saml_sp(ctx)?.map(|sp| sp.entity_id))
    }

    /// SAML: orgql's Assertion Consumer Service URL
    /// (`{ORGQL_PUBLIC_URL}/sso/saml/acs`, HTTP-POST binding), where the IdP
    /// posts its response. Null for OIDC.
    async fn acs_url(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.saml_sp(ctx)?.map(|sp| sp.acs_url))
    }

    /// SAML: orgql's service provider metadata XML, to paste into (or
    /// upload to) the IdP. Null for OIDC.
    async fn sp_metadata_xml(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        match self.saml_sp(ctx)? {
            Some(sp) => {
                crate::domain::sso::ensure_built(self.0.protocol)?;
                Ok(Some(
                    saml::sp_metadata(&sp).map_err(crate::error::AppError::internal)?,
                ))
            }
            None => Ok(None),
        }
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

    /// OIDC: the redirect URI to register at the IdP for this server.
    /// Null for SAML.
    async fn redirect_uri(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(if self.is(entity::values::SsoProtocol::Oidc) {
            Some(ctx.data::<Arc<SsoSettings>>()?.oidc_callback_url())
        } else {
            None
        })
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
