//! Verified domains: an organization claims a domain (`addDomain`), is
//! given a DNS TXT challenge, and proves it controls the domain by
//! publishing it (`verifyDomain`). Verified domains decide where single
//! sign-on sends a person and which existing accounts it may link, and which
//! colleagues may join by domain.
//!
//! What it enforces:
//! - Claims and verification need policies:manage (OWNER, ADMIN), the
//!   permission DESIGN §4 gives the policy, the IP allowlist and SSO.
//! - Any number of organizations may claim the same domain: an unverified
//!   claim never blocks, nor reveals, another tenant's. Each claim has its
//!   own random challenge, so one tenant's record never verifies another's.
//! - A domain is verified by at most one organization (a partial unique
//!   index); the refusal reaches only someone who has just proved control
//!   of the domain's DNS.
//! - Not tier-gated: SSO is ENTERPRISE-only (DESIGN §6), but a verified
//!   domain is also what joining by domain rests on, on any tier.

use chrono::Utc;
use entity::organization_domain;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::secrets;
use crate::dns::TxtResolver;
use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::{Actor, Permission};
use crate::domain::ids::{OrganizationId, new_id};
use crate::domain::values;
use crate::domain::write::OrgWrite;
use crate::error::{AppError, AppResult, Constraint, ResultExt};

/// The most domains one organization may claim.
pub const MAX_DOMAINS: u64 = 50;

/// Where the challenge is published: a name of its own under the domain,
/// so it sits beside (not inside) the domain's SPF and other TXT records.
pub fn challenge_record_name(domain: &str) -> String {
    format!("_orgql-challenge.{domain}")
}

/// What the TXT record must say.
pub fn challenge_record_value(claim: &organization_domain::Model) -> String {
    format!("orgql-domain-verification={}", claim.challenge)
}

/// An organization claims a domain once.
const CLAIM_UNIQUE: Constraint = Constraint {
    name: "uq_organization_domains_org_domain",
    sqlite: "organization_domains.organization_id, organization_domains.domain",
};

/// At most one organization has a domain verified.
const VERIFIED_UNIQUE: Constraint = Constraint {
    name: "uq_organization_domains_verified",
    sqlite: "organization_domains.domain",
};

fn parse_domain(domain: &str) -> AppResult<String> {
    values::domain("domain", domain.trim().trim_end_matches('.'))?
        .ok_or_else(|| AppError::bad_input("domain", "must not be empty"))
}

async fn claim_of<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    domain: &str,
) -> AppResult<organization_domain::Model> {
    organization_domain::Entity::find()
        .filter(organization_domain::Column::OrganizationId.eq(organization_id))
        .filter(organization_domain::Column::Domain.eq(domain))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Claims a domain for the organization (policies:manage). The claim is
/// unverified until [`verify`] finds its challenge in DNS.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn add(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
    domain: &str,
) -> AppResult<organization_domain::Model> {
    let domain = parse_domain(domain)?;
    let organization_id = Uuid::from(organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::PoliciesManage).await?;
    let claimed = organization_domain::Entity::find()
        .filter(organization_domain::Column::OrganizationId.eq(organization_id))
        .count(write.txn())
        .await?;
    if claimed >= MAX_DOMAINS {
        return Err(AppError::bad_input(
            "domain",
            format!("at most {MAX_DOMAINS} domains per organization"),
        ));
    }
    let claim = organization_domain::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization_id),
        domain: Set(domain),
        challenge: Set(secrets::generate_hex(16)),
        verified_at: Set(None),
        created_by_user_id: Set(actor.user_id()),
        created_at: Set(Utc::now()),
    }
    .insert(write.txn())
    .await
    .on_unique(CLAIM_UNIQUE, || {
        AppError::taken(
            "domain",
            "this organization has claimed this domain already",
        )
    })?;
    write
        .commit(Entry::new(
            AuditAction::DomainAdded,
            claim.id,
            json!({ "domain": claim.domain }),
        ))
        .await?;
    Ok(claim)
}

/// Looks for the claim's challenge in DNS and, when it is there, marks the
/// domain verified (policies:manage). A domain verified already stays
/// verified; a record that is absent or says something else is
/// BAD_USER_INPUT, and CONFLICT if another organization verified the
/// domain first.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn verify(
    db: &DatabaseConnection,
    dns: TxtResolver,
    actor: &Actor,
    organization_id: OrganizationId,
    domain: &str,
) -> AppResult<organization_domain::Model> {
    let domain = parse_domain(domain)?;
    let organization_id = Uuid::from(organization_id);
    // Decide and read the challenge, then let go of the organization's lock
    // while DNS answers (a slow name server must not hold up its writes).
    let claim = {
        let write = OrgWrite::begin(db, actor, organization_id, Permission::PoliciesManage).await?;
        claim_of(write.txn(), organization_id, &domain).await?
    };
    if claim.verified_at.is_some() {
        return Ok(claim);
    }
    let name = challenge_record_name(&claim.domain);
    let expected = challenge_record_value(&claim);
    let records = dns.txt(&name).await.map_err(|e| {
        tracing::info!(target: "orgql::domains", %name, "{e}");
        AppError::bad_input(
            "domain",
            format!("the DNS lookup of {name} failed; try again"),
        )
    })?;
    if !records.iter().any(|r| r.trim() == expected) {
        return Err(AppError::bad_input(
            "domain",
            format!("no TXT record {name} with the value {expected} was found"),
        ));
    }
    let write = OrgWrite::begin(db, actor, organization_id, Permission::PoliciesManage).await?;
    // Re-read under the lock: the claim may have been removed meanwhile.
    let claim = claim_of(write.txn(), organization_id, &domain).await?;
    if claim.verified_at.is_some() {
        return Ok(claim);
    }
    let mut row = claim.into_active_model();
    row.verified_at = Set(Some(Utc::now()));
    let claim = row
        .update(write.txn())
        .await
        .on_unique(VERIFIED_UNIQUE, || {
            AppError::taken("domain", "another organization has verified this domain")
        })?;
    write
        .commit(Entry::new(
            AuditAction::DomainVerified,
            claim.id,
            json!({ "domain": claim.domain, "record": name }),
        ))
        .await?;
    Ok(claim)
}

/// Drops a claim, verified or not (policies:manage).
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn remove(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
    domain: &str,
) -> AppResult<organization_domain::Model> {
    let domain = parse_domain(domain)?;
    let organization_id = Uuid::from(organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::PoliciesManage).await?;
    let claim = claim_of(write.txn(), organization_id, &domain).await?;
    organization_domain::Entity::delete_by_id(claim.id)
        .exec(write.txn())
        .await?;
    write
        .commit(Entry::new(
            AuditAction::DomainRemoved,
            claim.id,
            json!({ "domain": claim.domain, "wasVerified": claim.verified_at.is_some() }),
        ))
        .await?;
    Ok(claim)
}

/// The organization that has verified `domain` (lower-case, as in an
/// email address after the `@`), if any.
pub async fn verified_organization_for<C: ConnectionTrait>(
    db: &C,
    domain: &str,
) -> AppResult<Option<Uuid>> {
    Ok(organization_domain::Entity::find()
        .filter(organization_domain::Column::Domain.eq(domain.to_lowercase()))
        .filter(organization_domain::Column::VerifiedAt.is_not_null())
        .one(db)
        .await?
        .map(|claim| claim.organization_id))
}

/// Whether `organization_id` has verified `domain`.
pub async fn is_verified_by<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    domain: &str,
) -> AppResult<bool> {
    Ok(verified_organization_for(db, domain).await? == Some(organization_id))
}

/// The domains an organization has verified, in no particular order.
pub async fn verified_domains_of<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
) -> AppResult<Vec<String>> {
    Ok(organization_domain::Entity::find()
        .filter(organization_domain::Column::OrganizationId.eq(organization_id))
        .filter(organization_domain::Column::VerifiedAt.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .map(|claim| claim.domain)
        .collect())
}
