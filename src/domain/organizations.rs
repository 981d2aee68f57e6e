//! Organizations: creation, settings, deletion, suspension, and what a
//! viewer may list.

use std::collections::HashSet;

use chrono::Utc;
use entity::{
    audit_entry, member, organization, session,
    values::{OrganizationStatus, Role, Tier},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::audit::{AuditAction, Entry};
use crate::domain::authz::guests::{self, FullAccountOnly};
use crate::domain::authz::{Actor, Permission};
use crate::domain::ids::{OrganizationId, new_id};
use crate::domain::values::{self, Slug};
use crate::domain::write::{OrgWrite, Write};
use crate::error::{AppError, AppResult, Constraint, ResultExt};

/// Access-token lifetime for a new organization, and its bounds.
pub const DEFAULT_JWT_EXPIRY_SECS: i32 = 900;
pub const JWT_EXPIRY_SECS: std::ops::RangeInclusive<i32> = 60..=86_400;

/// Slugs are unique across all organizations (domains are claims, not
/// unique: migration 10).
const SLUG_UNIQUE: Constraint = Constraint {
    name: "uq_organizations_slug",
    sqlite: "organizations.slug",
};

fn slug_taken() -> AppError {
    AppError::taken("slug", "this slug is taken")
}

/// The optional profile fields of an organization. In an update, `None`
/// leaves a field as it is and `Some("")` clears it.
#[derive(Debug, Default, Clone)]
pub struct Profile {
    pub domain: Option<String>,
    pub website: Option<String>,
    pub industry: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
}

pub struct NewOrganization {
    pub name: String,
    pub slug: Option<String>,
    pub profile: Profile,
}

#[derive(Default)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub jwt_expiry_secs: Option<i32>,
    pub profile: Profile,
}

/// Validated profile values: each `Some(value)` parsed, `Some(None)` a clear.
struct ParsedProfile {
    domain: Option<Option<String>>,
    website: Option<Option<String>>,
    industry: Option<Option<String>>,
    description: Option<Option<String>>,
    avatar_url: Option<Option<String>>,
}

fn parse_profile(profile: &Profile) -> AppResult<ParsedProfile> {
    Ok(ParsedProfile {
        domain: profile
            .domain
            .as_deref()
            .map(|v| values::domain("domain", v))
            .transpose()?,
        website: profile
            .website
            .as_deref()
            .map(|v| values::url("website", v))
            .transpose()?,
        industry: profile
            .industry
            .as_deref()
            .map(|v| values::optional_text("industry", v, 200))
            .transpose()?,
        description: profile
            .description
            .as_deref()
            .map(|v| values::prose("description", v, 2000))
            .transpose()?,
        avatar_url: profile
            .avatar_url
            .as_deref()
            .map(|v| values::url("avatarUrl", v))
            .transpose()?,
    })
}

/// A free slug: `base`, else `base-2`, `base-3`, … (one query for all the
/// taken ones).
async fn available_slug<C: ConnectionTrait>(db: &C, base: Slug) -> AppResult<Slug> {
    let taken: HashSet<String> = organization::Entity::find()
        .select_only()
        .column(organization::Column::Slug)
        .filter(
            Condition::any()
                .add(organization::Column::Slug.eq(base.as_str()))
                .add(organization::Column::Slug.like(format!("{}-%", base.as_str()))),
        )
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(base.first_free(&taken))
}

/// Creates an organization: ACTIVE, on the FREE tier, with the creator as
/// its OWNER.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewOrganization,
) -> AppResult<(organization::Model, member::Model)> {
    let name = values::text("name", &input.name, 200)?;
    let requested_slug = match input.slug.as_deref() {
        Some(slug) => Some(Slug::parse("slug", slug)?),
        None => None,
    };
    let profile = parse_profile(&input.profile)?;
    let person = actor.require_person()?;
    guests::ensure_full_account(person.is_guest, FullAccountOnly::CreateOrganization)?;

    let write = Write::begin(db).await?;
    let slug = match requested_slug {
        Some(slug) => slug,
        None => {
            let base = Slug::derive_or(&name, "org");
            available_slug(write.txn(), base).await?
        }
    };
    let now = Utc::now();
    let organization = organization::ActiveModel {
        id: Set(new_id()),
        name: Set(name),
        slug: Set(slug.into_string()),
        domain: Set(profile.domain.flatten()),
        website: Set(profile.website.flatten()),
        industry: Set(profile.industry.flatten()),
        description: Set(profile.description.flatten()),
        avatar_url: Set(profile.avatar_url.flatten()),
        status: Set(OrganizationStatus::Active),
        tier: Set(Tier::Free),
        jwt_expiry_secs: Set(DEFAULT_JWT_EXPIRY_SECS),
        policy: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(write.txn())
    .await
    .on_unique(SLUG_UNIQUE, slug_taken)?;
    let owner = member::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization.id),
        user_id: Set(person.user_id),
        role: Set(Role::Owner),
        joined_at: Set(now),
        sessions_revoked_before: Set(None),
    }
    .insert(write.txn())
    .await?;
    let created = Entry::new(
        AuditAction::OrganizationCreated,
        organization.id,
        json!({ "after": snapshot(&organization) }),
    );
    write
        .by(actor)
        .commit(created.in_organization(organization.id))
        .await?;
    Ok((organization, owner))
}

/// The audited view of an organization's settings.
fn snapshot(org: &organization::Model) -> Value {
    json!({
        "name": org.name,
        "slug": org.slug,
        "domain": org.domain,
        "website": org.website,
        "industry": org.industry,
        "description": org.description,
        "avatarUrl": org.avatar_url,
        "status": org.status,
        "tier": org.tier,
        "jwtExpirySecs": org.jwt_expiry_secs,
    })
}

/// Changes an organization's settings (org:manage).
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
    patch: OrganizationPatch,
) -> AppResult<organization::Model> {
    let name = patch
        .name
        .as_deref()
        .map(|v| values::text("name", v, 200))
        .transpose()?;
    let slug = patch
        .slug
        .as_deref()
        .map(|v| Slug::parse("slug", v))
        .transpose()?;
    let profile = parse_profile(&patch.profile)?;
    if let Some(secs) = patch.jwt_expiry_secs
        && !JWT_EXPIRY_SECS.contains(&secs)
    {
        return Err(AppError::bad_input(
            "jwtExpirySecs",
            "between 60 and 86,400 seconds",
        ));
    }

    let write = OrgWrite::begin(db, actor, organization_id.into(), Permission::OrgManage).await?;
    let before = snapshot(write.organization());
    let mut active: organization::ActiveModel = write.organization().clone().into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(slug) = slug {
        active.slug = Set(slug.into_string());
    }
    if let Some(v) = profile.domain {
        active.domain = Set(v);
    }
    if let Some(v) = profile.website {
        active.website = Set(v);
    }
    if let Some(v) = profile.industry {
        active.industry = Set(v);
    }
    if let Some(v) = profile.description {
        active.description = Set(v);
    }
    if let Some(v) = profile.avatar_url {
        active.avatar_url = Set(v);
    }
    if let Some(secs) = patch.jwt_expiry_secs {
        active.jwt_expiry_secs = Set(secs);
    }
    active.updated_at = Set(Utc::now());
    let organization = active
        .update(write.txn())
        .await
        .on_unique(SLUG_UNIQUE, slug_taken)?;
    write
        .commit(Entry::new(
            AuditAction::OrganizationUpdated,
            organization.id,
            json!({ "before": before, "after": snapshot(&organization) }),
        ))
        .await?;
    Ok(organization)
}

/// Deletes an organization and everything it owns (org:delete). The caller
/// repeats the slug to confirm. The organization's own audit trail goes
/// with it; one entry recording the deletion is kept outside it.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
    confirm_slug: &str,
) -> AppResult<()> {
    let organization_id = Uuid::from(organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::OrgDelete).await?;
    let organization = write.organization().clone();
    if organization.slug != confirm_slug {
        return Err(AppError::bad_input(
            "confirmSlug",
            "repeat the organization's slug to confirm the deletion",
        ));
    }
    session::Entity::update_many()
        .col_expr(
            session::Column::ActiveOrganizationId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(session::Column::ActiveOrganizationId.eq(organization_id))
        .exec(write.txn())
        .await?;
    audit_entry::Entity::delete_many()
        .filter(audit_entry::Column::OrganizationId.eq(organization_id))
        .exec(write.txn())
        .await?;
    organization::Entity::delete_by_id(organization_id)
        .exec(write.txn())
        .await?;
    write
        .commit(
            Entry::new(
                AuditAction::OrganizationDeleted,
                organization_id,
                json!({ "before": snapshot(&organization) }),
            )
            // The organization's own trail goes with it.
            .outside_organizations(),
        )
        .await?;
    Ok(())
}

/// Suspends or reactivates an organization (platform administrators only).
#[tracing::instrument(skip_all, fields(%organization_id, ?status))]
pub async fn set_status(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
    status: OrganizationStatus,
    reason: Option<String>,
) -> AppResult<organization::Model> {
    let reason = reason
        .as_deref()
        .map(|r| values::prose("reason", r, 1000))
        .transpose()?
        .flatten();
    let write = Write::begin(db)
        .await?
        .authorize_platform_admin(actor, organization_id.into())
        .await?;
    let organization = write.organization().clone();
    if organization.status == status {
        return Err(AppError::conflict(match status {
            OrganizationStatus::Suspended => "the organization is already suspended",
            OrganizationStatus::Active => "the organization is already active",
        }));
    }
    let before = organization.status;
    let mut active: organization::ActiveModel = organization.into();
    active.status = Set(status);
    active.updated_at = Set(Utc::now());
    let organization = active.update(write.txn()).await?;
    let action = match status {
        OrganizationStatus::Suspended => AuditAction::OrganizationSuspended,
        OrganizationStatus::Active => AuditAction::OrganizationReactivated,
    };
    write
        .commit(Entry::new(
            action,
            organization.id,
            json!({ "before": { "status": before }, "after": { "status": status }, "reason": reason }),
        ))
        .await?;
    Ok(organization)
}
