//! The governance policy of an organization, typed, and the network rule.
//!
//! Every field changes what the server does: `sessionTimeoutHours` refuses
//! older sessions (`access::decide_for`), `invitationTtlHours` sets the
//! default invitation lifetime, `allowedEmailDomains` bounds invitations
//! and joins, `ipAllowlistEnabled` turns on the network check
//! ([`check_network`]), `rolePermissions` grants and withdraws permissions
//! per role ([`Policy::role_has`]), `apiKeyMaxAgeDays` caps API token
//! lifetimes, `requireMfa` refuses members whose session did not pass
//! multi-factor authentication, `ssoRequired` members (not OWNERs) whose
//! session did not come through the organization's SSO connection, and
//! `guestAccessEnabled` admits guests (refused while it is off); all in
//! `access::decide_for`. org:delete and ownership:transfer always stay with OWNER.
//!
//! The policy fails closed: a stored policy that cannot be read is an error
//! for its organization, never silently the defaults (which would, for one,
//! switch its IP allowlist off).

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use entity::organization;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::matrix::{Permission, Role, permissions_of};
use super::principal::Actor;
use crate::error::{AppError, AppResult};

pub const DEFAULT_INVITATION_TTL_HOURS: u32 = 24;

/// Stored as `area:verb`; anything else fails to load (and so fails closed).
impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Permission::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown permission {text:?}")))
    }
}

/// Grants and withdrawals for one role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleOverride {
    pub grant: Vec<Permission>,
    pub withdraw: Vec<Permission>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Policy {
    pub session_timeout_hours: Option<u32>,
    pub invitation_ttl_hours: u32,
    pub allowed_email_domains: Vec<String>,
    pub ip_allowlist_enabled: bool,
    pub role_permissions: BTreeMap<Role, RoleOverride>,
    pub api_key_max_age_days: Option<u32>,
    pub require_mfa: bool,
    pub sso_required: bool,
    /// Whether guests may be invited and join (issue #13); off by default.
    pub guest_access_enabled: bool,
    /// Verified domains of the organization whose people may join it by
    /// their verified address (`domain_joins`).
    pub auto_join_domains: Vec<String>,
    /// The role people who join by domain get: VIEWER or MEMBER.
    pub default_role: Role,
    /// Whether people at those domains are added when they sign in.
    pub auto_join_on_sign_in: bool,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<Uuid>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            session_timeout_hours: None,
            invitation_ttl_hours: DEFAULT_INVITATION_TTL_HOURS,
            allowed_email_domains: Vec::new(),
            ip_allowlist_enabled: false,
            role_permissions: BTreeMap::new(),
            api_key_max_age_days: None,
            require_mfa: false,
            sso_required: false,
            guest_access_enabled: false,
            auto_join_domains: Vec::new(),
            default_role: Role::Viewer,
            auto_join_on_sign_in: false,
            updated_at: None,
            updated_by: None,
        }
    }
}

impl Policy {
    /// The policy stored with an organization: the defaults when none was
    /// ever written, an error when what is stored cannot be read.
    pub fn of(organization: &organization::Model) -> AppResult<Self> {
        match &organization.policy {
            None => Ok(Self::default()),
            Some(json) => serde_json::from_value(json.clone()).map_err(|e| {
                tracing::error!(target: "orgql::access", organization_id = %organization.id, error = %e, "stored policy is unreadable; refusing access");
                AppError::internal(format!(
                    "the policy of organization {} cannot be read: {e}",
                    organization.id
                ))
            }),
        }
    }

    /// Whether `role` holds `permission` here: the matrix, then this
    /// organization's withdrawals and grants.
    pub fn role_has(&self, role: Role, permission: Permission) -> bool {
        if permission.is_owner_only() {
            return role == Role::Owner;
        }
        let base = permissions_of(role).contains(&permission);
        if role == Role::Owner {
            // Nothing is taken from an owner: an organization can always
            // be governed by its owners.
            return base;
        }
        match self.role_permissions.get(&role) {
            Some(o) if o.withdraw.contains(&permission) => false,
            Some(o) if o.grant.contains(&permission) => true,
            _ => base,
        }
    }

    /// Whether an email's domain may join (always, without a list).
    pub fn allows_email(&self, email: &str) -> bool {
        self.allowed_email_domains.is_empty()
            || email
                .rsplit_once('@')
                .is_some_and(|(_, domain)| self.allowed_email_domains.iter().any(|d| d == domain))
    }
}

/// Whether an address lies in one of the networks.
pub fn admits(networks: &[IpNet], client: Option<IpAddr>) -> bool {
    client.is_some_and(|ip| networks.iter().any(|net| net.contains(&ip)))
}

/// Refuses a request from outside the allowlist when the organization's
/// policy turns it on. Platform administrators are not subject to it (they
/// must be able to help an organization that locked itself out); everyone
/// else, API tokens included, is.
pub fn check_network(actor: &Actor, policy: &Policy, networks: &[IpNet]) -> AppResult<()> {
    if policy.ip_allowlist_enabled
        && !actor.is_platform_admin()
        && !admits(networks, actor.meta.client_ip)
    {
        tracing::debug!(target: "orgql::access", client_ip = ?actor.meta.client_ip, "refused by the IP allowlist");
        return Err(AppError::IpNotAllowed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_policy_is_an_error_not_the_defaults() {
        let organization = organization::Model {
            policy: Some(serde_json::json!({ "ipAllowlistEnabled": "yes please" })),
            ..crate::domain::authz::tests::organization()
        };
        assert!(Policy::of(&organization).is_err());
    }

    #[test]
    fn a_policy_naming_an_unknown_permission_is_an_error() {
        let organization = organization::Model {
            policy: Some(serde_json::json!({
                "rolePermissions": { "MEMBER": { "grant": ["org:everything"], "withdraw": [] } }
            })),
            ..crate::domain::authz::tests::organization()
        };
        assert!(Policy::of(&organization).is_err());
    }

    #[test]
    fn no_stored_policy_means_the_defaults() {
        let organization = crate::domain::authz::tests::organization();
        assert_eq!(Policy::of(&organization).unwrap(), Policy::default());
    }
}
