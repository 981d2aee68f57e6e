use sea_orm::entity::prelude::*;

use crate::values::{Role, SsoProtocol, SsoStatus};

/// An organization's connection to its identity provider.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub protocol: SsoProtocol,
    pub status: SsoStatus,
    /// OIDC issuer (discovery at `/.well-known/openid-configuration`);
    /// empty on a SAML connection.
    pub issuer_url: String,
    /// OIDC client id; empty on a SAML connection.
    pub client_id: String,
    /// The client secret, sealed (`auth::sealing`); never leaves the server.
    /// Empty on a SAML connection.
    pub client_secret_sealed: String,
    /// SAML: the IdP's entity id (the assertions' `Issuer`).
    pub idp_entity_id: Option<String>,
    /// SAML: the IdP's SingleSignOnService URL (HTTP-Redirect binding).
    pub idp_sso_url: Option<String>,
    /// SAML: the IdP's signing certificate, PEM.
    #[sea_orm(column_type = "Text", nullable)]
    pub idp_certificate: Option<String>,
    pub jit_provisioning: bool,
    pub default_role: Role,
    /// When a test sign-in through it last succeeded.
    pub tested_at: Option<DateTimeUtc>,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
