//! Join codes: shareable secrets that let people join an organization.
//!
//! Rules enforced here: members:manage creates and revokes; a code's role
//! is never OWNER and never above its creator's; the code (256 random bits)
//! is shown once and stored as its SHA-256, lists show its last four
//! characters; uses never pass `max_uses` (a conditional UPDATE, safe under
//! concurrency on both databases) and joins never pass the tier's member
//! limit (the organization row is locked first). A guest link (issue #13)
//! is a code marked guest: its role is VIEWER, it works only while the
//! organization's policy admits guests, and a guest uses no other kind.
//! A guest link admits guests only (security review M3): a full account
//! that presents one is FORBIDDEN, because joining through it would make
//! them a full member (reading every address) on the strength of a link
//! meant for people who get nothing but a guest's view.

use chrono::{DateTime, Duration, Utc};
use entity::{join_code, member, organization, values::Role};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::secrets;
use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::access::OrgAccess;
use crate::domain::authz::guests;
use crate::domain::authz::matrix::{Permission, Via, may_assign, role_for_new_member};
use crate::domain::authz::{Actor, Person};
use crate::domain::ids::{JoinCodeId, OrganizationId, new_id};
use crate::domain::members;
use crate::domain::revocation::Revocable;
use crate::domain::tiers::{self, Resource};
use crate::domain::write::{OrgWrite, Write};
use crate::error::{AppError, AppResult};

/// The longest a code may live: one year.
pub const MAX_TTL_HOURS: i32 = 24 * 365;

pub struct NewJoinCode {
    pub organization_id: OrganizationId,
    pub role: Option<Role>,
    pub max_uses: Option<i32>,
    pub expires_in_hours: Option<i32>,
    /// A guest link: VIEWER, for people with only a proven address.
    pub guest: bool,
}

/// Whether a code can still be used at `now`.
pub fn is_active(code: &join_code::Model, now: DateTime<Utc>) -> bool {
    code.revoked_at.is_none()
        && code.expires_at.is_none_or(|at| at > now)
        && code.max_uses.is_none_or(|max| code.uses < max)
}

/// Codes that can still be used, as a condition.
pub(crate) fn active_condition(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(join_code::Column::RevokedAt.is_null())
        .add(
            Condition::any()
                .add(join_code::Column::ExpiresAt.is_null())
                .add(join_code::Column::ExpiresAt.gt(now)),
        )
        .add(
            Condition::any()
                .add(join_code::Column::MaxUses.is_null())
                .add(Expr::col(join_code::Column::Uses).lt(Expr::col(join_code::Column::MaxUses))),
        )
}

/// Creates a join code (members:manage); returns it with the code, shown
/// this once.
#[tracing::instrument(skip_all, fields(organization_id = %input.organization_id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewJoinCode,
) -> AppResult<(join_code::Model, String)> {
    let role = role_for_new_member(Via::JoinCode, input.role, input.guest, "role")?;
    if input.max_uses.is_some_and(|n| n < 1) {
        return Err(AppError::bad_input(
            "maxUses",
            "maxUses is at least 1 (leave it out for no limit)",
        ));
    }
    if input
        .expires_in_hours
        .is_some_and(|h| !(1..=MAX_TTL_HOURS).contains(&h))
    {
        return Err(AppError::bad_input(
            "expiresInHours",
            format!("a join code lasts 1 to {MAX_TTL_HOURS} hours"),
        ));
    }

    let organization_id = Uuid::from(input.organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::MembersManage).await?;
    if !may_assign(write.acting_role()?, role) {
        return Err(AppError::Forbidden(
            "you may not hand out a role above your own",
        ));
    }
    if input.guest && !write.access().gate.policy.guest_access_enabled {
        return Err(AppError::bad_input(
            "guest",
            "this organization's policy does not admit guests: turn on guestAccessEnabled first",
        ));
    }
    let now = Utc::now();
    let active = join_code::Entity::find()
        .filter(join_code::Column::OrganizationId.eq(organization_id))
        .filter(active_condition(now))
        .count(write.txn())
        .await?;
    tiers::ensure_room(write.organization().tier, Resource::JoinCodes, active, 1)?;

    let code = secrets::generate();
    let created = join_code::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization_id),
        code_hash: Set(secrets::digest(&code)),
        last_four: Set(code[code.len() - 4..].to_owned()),
        role: Set(role),
        max_uses: Set(input.max_uses),
        uses: Set(0),
        expires_at: Set(input
            .expires_in_hours
            .map(|h| now + Duration::hours(h.into()))),
        revoked_at: Set(None),
        guest: Set(input.guest),
        created_by_user_id: Set(actor.user_id()),
        created_at: Set(now),
    }
    .insert(write.txn())
    .await?;
    write
        .commit(Entry::new(
            AuditAction::JoinCodeCreated,
            created.id,
            json!({
                "role": created.role,
                "maxUses": created.max_uses,
                "expiresAt": created.expires_at,
                "lastFour": created.last_four,
                "guest": created.guest,
            }),
        ))
        .await?;
    Ok((created, code))
}

/// Ends a join code (members:manage).
#[tracing::instrument(skip_all, fields(%join_code_id))]
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    join_code_id: JoinCodeId,
) -> AppResult<join_code::Model> {
    Revocable::<join_code::Entity> {
        noun: "join code",
        id: join_code::Column::Id,
        revoked_at: join_code::Column::RevokedAt,
        organization_of: |code| code.organization_id,
        permission: Permission::MembersManage,
        action: AuditAction::JoinCodeRevoked,
        audited: |code| json!({ "lastFour": code.last_four, "uses": code.uses }),
    }
    .revoke(db, actor, join_code_id.into())
    .await
}

/// The outcome of presenting a join code.
pub struct Joined {
    pub organization: organization::Model,
    pub membership: member::Model,
    pub already_member: bool,
}

/// Joins the organization a code belongs to. A member who presents a valid
/// code learns so and uses nothing up.
#[tracing::instrument(skip_all)]
pub async fn join(db: &DatabaseConnection, actor: &Actor, code: &str) -> AppResult<Joined> {
    let person = actor.require_person()?;
    let write = Write::begin(db).await?;
    let found = join_code::Entity::find()
        .filter(join_code::Column::CodeHash.eq(secrets::digest(code.trim())))
        .one(write.txn())
        .await?
        .ok_or(AppError::JoinCodeInvalid)?;
    let now = Utc::now();
    if !is_active(&found, now) {
        return Err(AppError::JoinCodeInvalid);
    }
    let write = write.enter(actor, found.organization_id).await?;
    let organization = write.organization().clone();
    if let Some(membership) = write.access().membership.clone() {
        return Ok(Joined {
            organization,
            membership,
            already_member: true,
        });
    }
    let membership = redeem(write.txn(), write.access(), person, &found)
        .await?
        .ok_or(AppError::AlreadyMember)?;
    write
        .commit(Entry::new(
            AuditAction::JoinCodeUsed,
            found.id,
            json!({ "memberId": membership.id, "role": membership.role, "lastFour": found.last_four }),
        ))
        .await?;
    Ok(Joined {
        organization,
        membership,
        already_member: false,
    })
}

/// A live guest link, by its code: JOIN_CODE_INVALID for anything else
/// (unknown, revoked, expired, used up, not a guest link).
pub async fn live_guest_link<C: ConnectionTrait>(
    txn: &C,
    code: &str,
) -> AppResult<join_code::Model> {
    join_code::Entity::find()
        .filter(join_code::Column::CodeHash.eq(secrets::digest(code.trim())))
        .one(txn)
        .await?
        .filter(|c| c.guest && is_active(c, Utc::now()))
        .ok_or(AppError::JoinCodeInvalid)
}

/// Uses a code for `person` under the organization's lock (`access`):
/// they become a member with its role, within the seat limit and the
/// code's uses. None when they are a member already (nothing is used).
/// A guest link works only while the policy admits guests and admits
/// guests only; a guest uses no other code.
pub(crate) async fn redeem<C: ConnectionTrait>(
    txn: &C,
    access: &OrgAccess,
    person: &Person,
    found: &join_code::Model,
) -> AppResult<Option<member::Model>> {
    if access.membership.is_some() {
        return Ok(None);
    }
    let organization = &access.organization;
    let policy = &access.gate.policy;
    if found.guest && !policy.guest_access_enabled {
        return Err(AppError::JoinCodeInvalid);
    }
    // A guest link admits guests only: a full account joins with an
    // invitation or a member's join code, which the organization gave on
    // purpose.
    guests::ensure_entry_fits(found.guest, person.is_guest)?;
    // An unproven address says nothing about its domain (DESIGN §3).
    if !policy.allowed_email_domains.is_empty() && !person.email_verified {
        return Err(AppError::Forbidden(
            "verify your email address first: this organization admits only its allowed email domains",
        ));
    }
    if !policy.allows_email(&person.email) {
        return Err(AppError::bad_input(
            "code",
            "this organization's policy admits only its allowed email domains",
        ));
    }
    let now = Utc::now();
    let used = members::seats_used(txn, organization.id).await?;
    tiers::ensure_room(organization.tier, Resource::Members, used, 1)?;
    // Of concurrent joins, only as many as the code has uses left succeed.
    let taken = join_code::Entity::update_many()
        .col_expr(
            join_code::Column::Uses,
            Expr::col(join_code::Column::Uses).add(1),
        )
        .filter(join_code::Column::Id.eq(found.id))
        .filter(active_condition(now))
        .exec(txn)
        .await?
        .rows_affected;
    if taken == 0 {
        return Err(AppError::JoinCodeInvalid);
    }
    Ok(Some(
        members::admit(txn, organization, person.user_id, found.role, true).await?,
    ))
}
