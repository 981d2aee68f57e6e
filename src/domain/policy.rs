//! Policy commands: changing an organization's governance policy and its
//! IP allowlist (policies:manage). What the policy means, and which changes
//! it allows, is the kernel's (`authz::policy`, `authz::network`); this
//! module adds the checks that need the database and refuses any change
//! that would shut the caller's own address out.

use std::net::IpAddr;

use chrono::Utc;
use entity::{ip_allowlist_entry, organization};
use ipnet::IpNet;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::network::{admits, allowlist, entries};
use crate::domain::authz::policy::{Policy, PolicyEditor, PolicyPatch};
use crate::domain::authz::{Actor, Permission, Role};
use crate::domain::ids::{IpAllowlistEntryId, OrganizationId, new_id};
use crate::domain::tiers::{self, Resource};
use crate::domain::values;
use crate::domain::write::{OrgWrite, Write};
use crate::error::{AppError, AppResult, Constraint, ResultExt};

/// Changes the policy (policies:manage), validated as a whole: each field
/// by the policy's own rules ([`Policy::apply`]), then what needs the
/// database: the caller's own address on the allowlist before it is
/// turned on, an active SSO connection (and a caller who came through it)
/// before SSO is required, and only verified domains to join by. Turning
/// guest access off ends every guest membership in the same transaction.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
    patch: PolicyPatch,
) -> AppResult<Policy> {
    let organization_id = Uuid::from(organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::PoliciesManage).await?;
    let before = write.policy().clone();
    let holds = |permission| write.allows(permission);
    let editor = PolicyEditor {
        role: write.acting_role()?,
        holds: &holds,
        passed_mfa: actor
            .person()
            .is_none_or(|person| person.authentication.passed_mfa()),
    };
    let mut policy = before.apply(patch, &editor)?;
    if policy.ip_allowlist_enabled && !before.ip_allowlist_enabled {
        let networks = allowlist(write.txn(), organization_id).await?;
        if !admits(&networks, actor.meta.client_ip) {
            return Err(AppError::bad_input(
                "ipAllowlistEnabled",
                "your own address is not on the allowlist: add it first, or you would be shut out",
            ));
        }
    }
    if policy.sso_required && !before.sso_required {
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
                editor.role == Role::Owner || person.authentication.through_sso_of(organization_id)
            }
        };
        if !admitted {
            return Err(AppError::SsoRequired(
                "sign in through the organization's single sign-on before requiring it",
            ));
        }
    }
    if policy.auto_join_domains != before.auto_join_domains {
        // Only domains this organization has proven it controls.
        for domain in &policy.auto_join_domains {
            if !crate::domain::domains::is_verified_by(write.txn(), organization_id, domain).await?
            {
                return Err(AppError::bad_input(
                    "autoJoinDomains",
                    format!(
                        "{domain} is not a verified domain of this organization: verify it first (addDomain, verifyDomain)"
                    ),
                ));
            }
        }
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
    write.commit_all(entries).await?;
    Ok(policy)
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
    if write.policy().ip_allowlist_enabled {
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
