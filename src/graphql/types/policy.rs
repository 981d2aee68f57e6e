use async_graphql::{
    Context, ID, InputObject, Object, SimpleObject,
    dataloader::{DataLoader, HashMapCache},
};
use chrono::{DateTime, Utc};
use entity::ip_allowlist_entry;

use crate::domain::ids::{self, IdKind};
use crate::graphql::loaders::UserLoader;
use crate::graphql::types::{
    User,
    enums::{Permission, Role},
};

/// An organization's governance policy. Every field changes what the
/// server does.
pub struct Policy(pub crate::domain::authz::Policy);

/// Permissions one role gains and loses in this organization, on top of
/// the matrix of the `roles` query.
#[derive(SimpleObject)]
pub struct RolePermissionOverride {
    /// The role.
    pub role: Role,
    /// Permissions added.
    pub grant: Vec<Permission>,
    /// Permissions taken away.
    pub withdraw: Vec<Permission>,
}

/// Permissions one role gains and loses. org:delete and
/// ownership:transfer always stay with OWNER.
#[derive(InputObject)]
pub struct RolePermissionOverrideInput {
    /// The role.
    pub role: Role,
    /// Permissions to add; only ones you hold.
    pub grant: Vec<Permission>,
    /// Permissions to take away.
    pub withdraw: Vec<Permission>,
}

/// An organization's governance policy. Every field changes what the
/// server does.
#[Object]
impl Policy {
    /// Sessions older than this many hours are refused in this
    /// organization (people sign in again); null for no limit.
    async fn session_timeout_hours(&self) -> Option<u32> {
        self.0.session_timeout_hours
    }

    /// The default lifetime of invitations, in hours (at most 168).
    async fn invitation_ttl_hours(&self) -> u32 {
        self.0.invitation_ttl_hours
    }

    /// When not empty, invitations and joins are admitted only for emails
    /// in these domains.
    async fn allowed_email_domains(&self) -> &[String] {
        &self.0.allowed_email_domains
    }

    /// Whether guests may be invited and join (guest invitations, guest
    /// links); off by default. Turning it off ends every guest's access at
    /// once.
    async fn guest_access_enabled(&self) -> bool {
        self.0.guest_access_enabled
    }

    /// Verified domains whose people may join by their verified address
    /// (`viewer.joinableOrganizations`, `joinOrganizationByDomain`).
    async fn auto_join_domains(&self) -> &[String] {
        &self.0.auto_join_domains
    }

    /// The role people who join by domain get (VIEWER or MEMBER).
    async fn default_role(&self) -> crate::graphql::types::enums::Role {
        self.0.default_role.into()
    }

    /// Whether people at `autoJoinDomains` are added automatically when
    /// they sign in or verify their address.
    async fn auto_join_on_sign_in(&self) -> bool {
        self.0.auto_join_on_sign_in
    }

    /// Whether requests touching the organization must come from an
    /// address on its IP allowlist.
    async fn ip_allowlist_enabled(&self) -> bool {
        self.0.ip_allowlist_enabled
    }

    /// Per-role grants and withdrawals of permissions.
    async fn role_permissions(&self) -> Vec<RolePermissionOverride> {
        self.0
            .role_permissions
            .iter()
            .map(|(role, o)| RolePermissionOverride {
                role: (*role).into(),
                grant: o.grant.iter().copied().map(Permission::from).collect(),
                withdraw: o.withdraw.iter().copied().map(Permission::from).collect(),
            })
            .collect()
    }

    /// The longest lifetime of new API tokens, in days; null for the
    /// server's cap (365).
    async fn api_key_max_age_days(&self) -> Option<u32> {
        self.0.api_key_max_age_days
    }

    /// Whether members must sign in with multi-factor authentication:
    /// sessions that did not pass it get MFA_REQUIRED for this
    /// organization's data and changes (API tokens are not affected).
    async fn require_mfa(&self) -> bool {
        self.0.require_mfa
    }

    /// Whether members must sign in through the organization's single
    /// sign-on connection: other sessions get SSO_REQUIRED for this
    /// organization's data and changes, OWNERs excepted (their emergency
    /// bypass). On only while a connection is ACTIVE.
    async fn sso_required(&self) -> bool {
        self.0.sso_required
    }

    /// When the policy last changed; null while it has the defaults.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated_at
    }

    /// Who last changed it.
    async fn updated_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.updated_by else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<UserLoader, HashMapCache>>()?
            .load_one(id)
            .await?
            .map(User::from))
    }
}

/// A network the organization accepts requests from when its allowlist is
/// on.
pub struct IpAllowlistEntry(pub ip_allowlist_entry::Model);

/// A network the organization accepts requests from when its allowlist is
/// on.
#[Object]
impl IpAllowlistEntry {
    /// Opaque id, prefixed `ip_`.
    async fn id(&self) -> ID {
        ID(ids::encode(IdKind::IpAllowlistEntry, self.0.id))
    }

    /// The network, such as `203.0.113.0/24` or `2001:db8::/32`.
    async fn cidr(&self) -> &str {
        &self.0.cidr
    }

    /// What the network is.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// When it was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
