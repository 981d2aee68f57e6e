//! Governance commands: changing an organization's policy and its IP
//! allowlist (policies:manage). What the policy means is the kernel's
//! (`authz::policy`); this module changes it, validated as a whole, and
//! refuses any change that would shut the caller's own address out.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::Utc;
use entity::{ip_allowlist_entry, organization};
use ipnet::IpNet;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::authz::matrix::may_act_on;
use crate::domain::authz::policy::{Policy, RoleOverride, admits};
use crate::domain::authz::{Actor, Permission, Role};
use crate::domain::ids::{IpAllowlistEntryId, OrganizationId, new_id};
use crate::domain::tiers::{self, Resource};
use crate::domain::values;
use crate::domain::write::{Entry, OrgWrite, Write};
use crate::error::{AppError, AppResult, Constraint, ResultExt};

/// The networks on an organization's allowlist.
pub async fn allowlist<C: ConnectionTrait>(db: &C, organization_id: Uuid) -> AppResult<Vec<IpNet>> {
    Ok(entries(db, organization_id)
        .await?
        .iter()
        .filter_map(|e| e.cidr.parse().ok())
        .collect())
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
    pub require_mfa: Option<bool>,
    pub sso_required: Option<bool>,
    pub guest_access_enabled: Option<bool>,
    pub auto_join_domains: Option<Vec<String>>,
    pub default_role: Option<Role>,
    pub auto_join_on_sign_in: Option<bool>,
}

/// Changes the policy (policies:manage), validated as a whole.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
    patch: PolicyPatch,
) -> AppResult<Policy> {
    let organization_id = Uuid::from(organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::PoliciesManage).await?;
    let before = Policy::of(write.organization())?;
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
        let acting = write.acting_role()?;
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
                for &permission in list {
                    if permission.is_owner_only() {
                        return Err(AppError::bad_input(
                            "rolePermissions",
                            format!("{permission} always stays with OWNER"),
                        ));
                    }
                    if granting && !write.allows(permission) {
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
            let networks = allowlist(write.txn(), organization_id).await?;
            if !admits(&networks, actor.meta.client_ip) {
                return Err(AppError::bad_input(
                    "ipAllowlistEnabled",
                    "your own address is not on the allowlist: add it first, or you would be shut out",
                ));
            }
        }
        policy.ip_allowlist_enabled = enabled;
    }
    if let Some(required) = patch.require_mfa {
        // No lock-out: whoever turns it on must be admitted by it. An API
        // token is not subject to it, so it may.
        let admitted = actor
            .person()
            .is_none_or(|person| person.authentication.passed_mfa());
        if required && !before.require_mfa && !admitted {
            return Err(AppError::MfaRequired(
                "turn on multi-factor authentication for yourself and sign in with a code before requiring it",
            ));
        }
        policy.require_mfa = required;
    }
    if let Some(required) = patch.sso_required {
        if required && !before.sso_required {
            crate::domain::sso::ensure_tier(write.organization().tier)?;
            if crate::domain::sso::connections::active_of(write.txn(), organization_id)
                .await?
                .is_none()
            {
                return Err(AppError::conflict(
                    "activate a single sign-on connection before requiring it",
                ));
            }
            // No lock-out: whoever turns it on must be admitted by it.
            let admitted = match actor.person() {
                None => true,
                Some(person) => {
                    write.acting_role()? == Role::Owner
                        || person.authentication.through_sso_of(organization_id)
                }
            };
            if !admitted {
                return Err(AppError::SsoRequired(
                    "sign in through the organization's single sign-on before requiring it",
                ));
            }
        }
        policy.sso_required = required;
    }
    if let Some(enabled) = patch.guest_access_enabled {
        policy.guest_access_enabled = enabled;
    }
    if let Some(domains) = patch.auto_join_domains {
        // Only domains this organization has proven it controls.
        let mut parsed = Vec::with_capacity(domains.len());
        for domain in &domains {
            let domain = values::domain("autoJoinDomains", domain)?
                .ok_or_else(|| AppError::bad_input("autoJoinDomains", "empty domain"))?;
            if !crate::domain::domains::is_verified_by(write.txn(), organization_id, &domain)
                .await?
            {
                return Err(AppError::bad_input(
                    "autoJoinDomains",
                    format!(
                        "{domain} is not a verified domain of this organization: verify it first (addDomain, verifyDomain)"
                    ),
                ));
            }
            if !parsed.contains(&domain) {
                parsed.push(domain);
            }
        }
        policy.auto_join_domains = parsed;
    }
    if let Some(role) = patch.default_role {
        if !matches!(role, Role::Viewer | Role::Member) {
            return Err(AppError::bad_input(
                "defaultRole",
                "people who join by domain are VIEWER or MEMBER",
            ));
        }
        policy.default_role = role;
    }
    if let Some(automatic) = patch.auto_join_on_sign_in {
        policy.auto_join_on_sign_in = automatic;
    }
    policy.updated_at = Some(Utc::now());
    policy.updated_by = actor.user_id();
    organization::Entity::update_many()
        .col_expr(organization::Column::Policy, Expr::value(json!(policy)))
        .filter(organization::Column::Id.eq(organization_id))
        .exec(write.txn())
        .await?;
    let mut entries = vec![Entry::new(
        AuditAction::PolicyUpdated,
        organization_id,
        json!({ "before": before, "after": policy }),
    )];
    if before.guest_access_enabled && !policy.guest_access_enabled {
        // Guests lose access in this same transaction, sessions included:
        // their memberships end (one `member.removed` entry each).
        let ended = crate::domain::guest_access::end(write.txn(), organization_id).await?;
        for guest in &ended.guests {
            entries.push(Entry::new(
                AuditAction::MemberRemoved,
                guest.member_id,
                json!({
                    "userId": guest.user_id,
                    "before": { "role": guest.role },
                    "reason": "guestAccessDisabled",
                    "sessionsRevoked": guest.sessions_revoked,
                }),
            ));
        }
    }
    write.commit_each(entries).await?;
    Ok(policy)
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

/// A network is on an organization's allowlist once.
const CIDR_UNIQUE: Constraint = Constraint {
    name: "uq_ip_allowlist_entries_org_cidr",
    sqlite: "ip_allowlist_entries.organization_id, ip_allowlist_entries.cidr",
};

/// Adds a network (policies:manage); IPv4 or IPv6, canonicalised.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn add_entry(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
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
        .map(|d| values::prose("description", d, 200))
        .transpose()?
        .flatten();
    let organization_id = Uuid::from(organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::PoliciesManage).await?;
    let used = ip_allowlist_entry::Entity::find()
        .filter(ip_allowlist_entry::Column::OrganizationId.eq(organization_id))
        .count(write.txn())
        .await?;
    tiers::ensure_room(
        write.organization().tier,
        Resource::IpAllowlistEntries,
        used,
        1,
    )?;
    let entry = ip_allowlist_entry::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization_id),
        cidr: Set(network.trunc().to_string()),
        description: Set(description),
        created_by_user_id: Set(actor.user_id()),
        created_at: Set(Utc::now()),
    }
    .insert(write.txn())
    .await
    .on_unique(CIDR_UNIQUE, || {
        AppError::taken("cidr", "this CIDR is on the allowlist already")
    })?;
    write
        .commit(Entry::new(
            AuditAction::IpAllowlistEntryAdded,
            entry.id,
            json!({ "cidr": entry.cidr, "description": entry.description }),
        ))
        .await?;
    Ok(entry)
}

/// Removes a network (policies:manage); refused when the allowlist is on
/// and the caller's own address would fall outside what remains.
#[tracing::instrument(skip_all, fields(%entry_id))]
pub async fn remove_entry(
    db: &DatabaseConnection,
    actor: &Actor,
    entry_id: IpAllowlistEntryId,
) -> AppResult<ip_allowlist_entry::Model> {
    let write = Write::begin(db).await?;
    let entry = ip_allowlist_entry::Entity::find_by_id(Uuid::from(entry_id))
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    let write = write
        .authorize(actor, entry.organization_id, Permission::PoliciesManage)
        .await?;
    if Policy::of(write.organization())?.ip_allowlist_enabled {
        let remaining: Vec<IpNet> = entries(write.txn(), entry.organization_id)
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
        .exec(write.txn())
        .await?;
    write
        .commit(Entry::new(
            AuditAction::IpAllowlistEntryRemoved,
            entry.id,
            json!({ "cidr": entry.cidr }),
        ))
        .await?;
    Ok(entry)
}
