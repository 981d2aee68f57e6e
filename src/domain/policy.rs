//! The governance policy of an organization and its IP allowlist.
//!
//! Every field changes what the server does: `sessionTimeoutHours` refuses
//! older sessions here (`access::decide_for`), `invitationTtlHours` sets the
//! default invitation lifetime, `allowedEmailDomains` bounds invitations
//! and joins, `ipAllowlistEnabled` turns on the network check
//! (`check_network`), `rolePermissions` grants and withdraws permissions
//! per role (`Policy::role_has`), and `apiKeyMaxAgeDays` caps API token
//! lifetimes. org:delete and ownership:transfer always stay with OWNER, and
//! nobody grants a permission they do not hold.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use entity::{ip_allowlist_entry, organization};
use ipnet::IpNet;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::audit::{self, AuditActor, Change};
use crate::domain::permissions::{Permission, Role, may_act_on, permissions_of};
use crate::domain::tiers::{self, Resource};
use crate::domain::{access, begin_write, ids::new_id, values};
use crate::error::{AppError, AppResult};

pub const DEFAULT_INVITATION_TTL_HOURS: u32 = 24;

/// Permissions that never move: only OWNER holds them.
const OWNER_ONLY: [Permission; 2] = [Permission::OrgDelete, Permission::OwnershipTransfer];

/// Grants and withdrawals for one role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleOverride {
    pub grant: Vec<String>,
    pub withdraw: Vec<String>,
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
            updated_at: None,
            updated_by: None,
        }
    }
}

impl Policy {
    /// The policy stored with an organization (defaults when none is).
    pub fn of(organization: &organization::Model) -> Self {
        organization
            .policy
            .as_ref()
            .and_then(|json| serde_json::from_value(json.clone()).ok())
            .unwrap_or_default()
    }

    /// Whether `role` holds `permission` here: the matrix, then this
    /// organization's withdrawals and grants.
    pub fn role_has(&self, role: Role, permission: Permission) -> bool {
        if OWNER_ONLY.contains(&permission) {
            return role == Role::Owner;
        }
        let base = permissions_of(role).contains(&permission);
        if role == Role::Owner {
            // Nothing is taken from an owner: an organization can always
            // be governed by its owners.
            return base;
        }
        match self.role_permissions.get(&role) {
            Some(o) if o.withdraw.iter().any(|p| p == permission.as_str()) => false,
            Some(o) if o.grant.iter().any(|p| p == permission.as_str()) => true,
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

/// The policy of an organization, stored with its defaults on first read.
pub async fn get_or_create<C: ConnectionTrait>(
    db: &C,
    organization: &organization::Model,
) -> AppResult<Policy> {
    if organization.policy.is_none() {
        organization::Entity::update_many()
            .col_expr(
                organization::Column::Policy,
                Expr::value(json!(Policy::default())),
            )
            .filter(organization::Column::Id.eq(organization.id))
            .filter(organization::Column::Policy.is_null())
            .exec(db)
            .await?;
    }
    Ok(Policy::of(organization))
}

/// A partial change to a policy; `None` leaves a field as it is.
#[derive(Default)]
pub struct PolicyPatch {
    pub session_timeout_hours: Option<Option<u32>>,
    pub invitation_ttl_hours: Option<u32>,
    pub allowed_email_domains: Option<Vec<String>>,
    pub ip_allowlist_enabled: Option<bool>,
    /// Replaces every role's override: (role, grants, withdrawals).
    pub role_permissions: Option<Vec<(Role, RoleOverride)>>,
    pub api_key_max_age_days: Option<Option<u32>>,
}

/// Changes the policy (policies:manage), validated as a whole.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: Uuid,
    patch: PolicyPatch,
) -> AppResult<Policy> {
    let txn = begin_write(db).await?;
    let access =
        access::authorize_write(&txn, actor, organization_id, Permission::PoliciesManage).await?;
    let before = Policy::of(&access.organization);
    let mut policy = before.clone();
    if let Some(hours) = patch.session_timeout_hours {
        if hours.is_some_and(|h| !(1..=24 * 90).contains(&h)) {
            return Err(AppError::bad_input(
                "sessionTimeoutHours",
                "1 to 2,160 hours, or null for none",
            ));
        }
        policy.session_timeout_hours = hours;
    }
    if let Some(hours) = patch.invitation_ttl_hours {
        if !(1..=168).contains(&hours) {
            return Err(AppError::bad_input("invitationTtlHours", "1 to 168 hours"));
        }
        policy.invitation_ttl_hours = hours;
    }
    if let Some(domains) = patch.allowed_email_domains {
        let mut parsed = Vec::with_capacity(domains.len());
        for domain in &domains {
            let domain = values::domain("allowedEmailDomains", domain)?
                .ok_or_else(|| AppError::bad_input("allowedEmailDomains", "empty domain"))?;
            if !parsed.contains(&domain) {
                parsed.push(domain);
            }
        }
        if parsed.len() > 50 {
            return Err(AppError::bad_input(
                "allowedEmailDomains",
                "at most 50 domains",
            ));
        }
        policy.allowed_email_domains = parsed;
    }
    if let Some(days) = patch.api_key_max_age_days {
        if days.is_some_and(|d| !(1..=365).contains(&d)) {
            return Err(AppError::bad_input(
                "apiKeyMaxAgeDays",
                "1 to 365 days, or null for the server's cap",
            ));
        }
        policy.api_key_max_age_days = days;
    }
    if let Some(overrides) = patch.role_permissions {
        // The caller changes only roles they rank above (as in
        // `may_act_on`); the overrides of other roles stay as they are.
        let acting = access.acting_role(actor).ok_or(AppError::Forbidden(
            "only members of this organization may change role permissions",
        ))?;
        let mut table: BTreeMap<Role, RoleOverride> = before
            .role_permissions
            .iter()
            .filter(|(role, _)| !may_act_on(acting, **role, false) || **role == Role::Owner)
            .map(|(role, o)| (*role, o.clone()))
            .collect();
        for (role, change) in overrides {
            if role == Role::Owner {
                return Err(AppError::bad_input(
                    "rolePermissions",
                    "OWNER always holds every permission",
                ));
            }
            if !may_act_on(acting, role, false) {
                return Err(AppError::Forbidden(
                    "you may change the permissions of roles below your own only",
                ));
            }
            for (list, granting) in [(&change.grant, true), (&change.withdraw, false)] {
                for name in list {
                    let permission = Permission::parse(name).ok_or_else(|| {
                        AppError::bad_input(
                            "rolePermissions",
                            format!("{name:?} is not a permission"),
                        )
                    })?;
                    if OWNER_ONLY.contains(&permission) {
                        return Err(AppError::bad_input(
                            "rolePermissions",
                            format!("{name} always stays with OWNER"),
                        ));
                    }
                    if granting && !access.allows(actor, permission) {
                        return Err(AppError::Forbidden(
                            "nobody grants a permission they do not hold",
                        ));
                    }
                }
            }
            table.insert(role, change);
        }
        policy.role_permissions = table;
    }
    if let Some(enabled) = patch.ip_allowlist_enabled {
        if enabled && !before.ip_allowlist_enabled {
            let networks = allowlist(&txn, organization_id).await?;
            if !admits(&networks, actor.meta.client_ip) {
                return Err(AppError::bad_input(
                    "ipAllowlistEnabled",
                    "your own address is not on the allowlist: add it first, or you would be shut out",
                ));
            }
        }
        policy.ip_allowlist_enabled = enabled;
    }
    policy.updated_at = Some(Utc::now());
    policy.updated_by = actor.api_token().is_none().then_some(actor.user_id);
    organization::Entity::update_many()
        .col_expr(organization::Column::Policy, Expr::value(json!(policy)))
        .filter(organization::Column::Id.eq(organization_id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "policy.updated",
            resource_type: "organization",
            resource_id: Some(organization_id),
            organization_id: Some(organization_id),
            metadata: json!({ "before": before, "after": policy }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(policy)
}

/// The networks on an organization's allowlist.
pub async fn allowlist<C: ConnectionTrait>(db: &C, organization_id: Uuid) -> AppResult<Vec<IpNet>> {
    Ok(entries(db, organization_id)
        .await?
        .iter()
        .filter_map(|e| e.cidr.parse().ok())
        .collect())
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
        && !actor.is_platform_admin
        && !admits(networks, actor.meta.client_ip)
    {
        tracing::debug!(target: "orgql::access", client_ip = ?actor.meta.client_ip, "refused by the IP allowlist");
        return Err(AppError::IpNotAllowed);
    }
    Ok(())
}

/// An organization's allowlist entries, oldest first.
pub async fn entries<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
) -> AppResult<Vec<ip_allowlist_entry::Model>> {
    Ok(ip_allowlist_entry::Entity::find()
        .filter(ip_allowlist_entry::Column::OrganizationId.eq(organization_id))
        .order_by_asc(ip_allowlist_entry::Column::Id)
        .all(db)
        .await?)
}

/// Adds a network (policies:manage); IPv4 or IPv6, canonicalised.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn add_entry(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: Uuid,
    cidr: &str,
    description: Option<String>,
) -> AppResult<ip_allowlist_entry::Model> {
    let network: IpNet = cidr
        .trim()
        .parse()
        .or_else(|_| cidr.trim().parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            AppError::bad_input("cidr", "not a CIDR such as 203.0.113.0/24 or 2001:db8::/32")
        })?;
    let description = description
        .as_deref()
        .map(|d| values::optional_text("description", d, 200))
        .transpose()?
        .flatten();
    let txn = begin_write(db).await?;
    let access =
        access::authorize_write(&txn, actor, organization_id, Permission::PoliciesManage).await?;
    let used = ip_allowlist_entry::Entity::find()
        .filter(ip_allowlist_entry::Column::OrganizationId.eq(organization_id))
        .count(&txn)
        .await?;
    tiers::ensure_room(
        access.organization.tier,
        Resource::IpAllowlistEntries,
        used,
        1,
    )?;
    let entry = ip_allowlist_entry::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization_id),
        cidr: Set(network.trunc().to_string()),
        description: Set(description),
        created_by_user_id: Set(actor.api_token().is_none().then_some(actor.user_id)),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "ip_allowlist.entry_added",
            resource_type: "ip_allowlist_entry",
            resource_id: Some(entry.id),
            organization_id: Some(organization_id),
            metadata: json!({ "cidr": entry.cidr, "description": entry.description }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(entry)
}

/// Removes a network (policies:manage); refused when the allowlist is on
/// and the caller's own address would fall outside what remains.
#[tracing::instrument(skip_all, fields(%entry_id))]
pub async fn remove_entry(
    db: &DatabaseConnection,
    actor: &Actor,
    entry_id: Uuid,
) -> AppResult<ip_allowlist_entry::Model> {
    let txn = begin_write(db).await?;
    let entry = ip_allowlist_entry::Entity::find_by_id(entry_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let access = access::authorize_write(
        &txn,
        actor,
        entry.organization_id,
        Permission::PoliciesManage,
    )
    .await?;
    if Policy::of(&access.organization).ip_allowlist_enabled {
        let remaining: Vec<IpNet> = entries(&txn, entry.organization_id)
            .await?
            .iter()
            .filter(|e| e.id != entry.id)
            .filter_map(|e| e.cidr.parse().ok())
            .collect();
        if !admits(&remaining, actor.meta.client_ip) {
            return Err(AppError::bad_input(
                "entryId",
                "removing this entry would shut your own address out: add another entry first",
            ));
        }
    }
    ip_allowlist_entry::Entity::delete_by_id(entry.id)
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "ip_allowlist.entry_removed",
            resource_type: "ip_allowlist_entry",
            resource_id: Some(entry.id),
            organization_id: Some(entry.organization_id),
            metadata: json!({ "cidr": entry.cidr }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(entry)
}
