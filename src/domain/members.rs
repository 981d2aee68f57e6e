//! Members: roles, removal and leaving, under the rank rules and the
//! last-owner rule of DESIGN §4.
//!
//! Every change locks the organization row first (through the write path,
//! `domain::write`), so two requests that each demote one of the last two
//! owners take turns and the second sees one owner left: LAST_OWNER.

use entity::{member, values::Role};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, ModelTrait, PaginatorTrait, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::Actor;
use crate::domain::authz::guests::{self, FullAccountOnly};
use crate::domain::authz::matrix::{Permission, may_act_on, may_assign};
use crate::domain::ids::{MemberId, OrganizationId};
use crate::domain::sessions::revoke_member_sessions;
use crate::domain::write::{OrgWrite, Write};
use crate::error::{AppError, AppResult, Constraint, ResultExt};

async fn find<C: ConnectionTrait>(db: &C, member_id: MemberId) -> AppResult<member::Model> {
    member::Entity::find_by_id(Uuid::from(member_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

async fn owner_count<C: ConnectionTrait>(txn: &C, organization_id: Uuid) -> AppResult<u64> {
    Ok(member::Entity::find()
        .filter(member::Column::OrganizationId.eq(organization_id))
        .filter(member::Column::Role.eq(Role::Owner))
        .count(txn)
        .await?)
}

/// Refuses a change that takes `target` out of the owners when they are the
/// last one. Call only with the organization locked.
async fn keep_an_owner<C: ConnectionTrait>(txn: &C, target: &member::Model) -> AppResult<()> {
    if target.role == Role::Owner && owner_count(txn, target.organization_id).await? <= 1 {
        return Err(AppError::LastOwner);
    }
    Ok(())
}

/// Gives a member a new role (members:manage, rank rules, last owner).
#[tracing::instrument(skip_all, fields(%member_id, ?new_role))]
pub async fn change_role(
    db: &DatabaseConnection,
    actor: &Actor,
    member_id: MemberId,
    new_role: Role,
) -> AppResult<member::Model> {
    let write = Write::begin(db).await?;
    let organization_id = find(write.txn(), member_id).await?.organization_id;
    let write = write
        .authorize(actor, organization_id, Permission::MembersManage)
        .await?;
    let actor_role = write.acting_role()?;
    // Read again under the lock: the role may have changed meanwhile.
    let target = find(write.txn(), member_id).await?;
    let is_self = Some(target.user_id) == actor.user_id();
    if !may_act_on(actor_role, target.role, is_self) {
        return Err(AppError::Forbidden(
            "you may not change the role of this member",
        ));
    }
    if !may_assign(actor_role, new_role) {
        return Err(AppError::Forbidden(
            "you may not assign a role above your own",
        ));
    }
    if target.role == new_role {
        return Ok(target);
    }
    // A guest keeps the guest's view; an organization that wants the
    // person as a full member invites them (security review M3).
    let guest = entity::user::Entity::find_by_id(target.user_id)
        .one(write.txn())
        .await?
        .is_some_and(|u| u.is_guest);
    guests::ensure_full_account(guest, FullAccountOnly::TakeAnotherRole)?;
    if new_role != Role::Owner {
        keep_an_owner(write.txn(), &target).await?;
    }
    let before = target.role;
    let mut active: member::ActiveModel = target.into();
    active.role = Set(new_role);
    let updated = active.update(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::MemberRoleUpdated,
            updated.id,
            json!({
                "userId": updated.user_id,
                "before": { "role": before },
                "after": { "role": new_role },
            }),
        ))
        .await?;
    Ok(updated)
}

/// Removes a member (members:manage, rank rules, last owner) and revokes
/// their sessions in the organization at once. Removing oneself is leaving,
/// which needs no permission.
#[tracing::instrument(skip_all, fields(%member_id))]
pub async fn remove(
    db: &DatabaseConnection,
    actor: &Actor,
    member_id: MemberId,
) -> AppResult<member::Model> {
    let write = Write::begin(db).await?;
    let probe = find(write.txn(), member_id).await?;
    let leaving = Some(probe.user_id) == actor.user_id();
    let permission = if leaving {
        Permission::OrgView
    } else {
        Permission::MembersManage
    };
    let write = write
        .authorize(actor, probe.organization_id, permission)
        .await?;
    // Read again under the lock: the role may have changed meanwhile.
    let target = find(write.txn(), member_id).await?;
    if !leaving && !may_act_on(write.acting_role()?, target.role, false) {
        return Err(AppError::Forbidden("you may not remove this member"));
    }
    let action = if leaving {
        AuditAction::MemberLeft
    } else {
        AuditAction::MemberRemoved
    };
    finish_removal(write, &target, action).await?;
    Ok(target)
}

/// The actor leaves an organization; the last owner cannot.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn leave(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
) -> AppResult<member::Model> {
    let write = Write::begin(db)
        .await?
        .leave(actor, organization_id.into())
        .await?;
    let target = write
        .access()
        .membership
        .clone()
        .ok_or(AppError::NotFound)?;
    finish_removal(write, &target, AuditAction::MemberLeft).await?;
    Ok(target)
}

/// Takes `target` out of the organization (never its last owner) and ends
/// their sessions' access there.
async fn finish_removal(
    write: OrgWrite<'_>,
    target: &member::Model,
    action: AuditAction,
) -> AppResult<()> {
    let revoked = end_membership(write.txn(), target).await?;
    write
        .commit(Entry::new(
            action,
            target.id,
            json!({
                "userId": target.user_id,
                "before": { "role": target.role },
                "sessionsRevoked": revoked,
            }),
        ))
        .await
}

/// Ends `target`'s membership (LAST_OWNER for the organization's last
/// owner) and their sessions' access there; how many sessions were
/// revoked. Their teams go with the membership (a cascading key), and so
/// do the API tokens they created (a token dies with its creator's
/// membership). Call with the organization locked.
pub async fn end_membership<C: ConnectionTrait>(txn: &C, target: &member::Model) -> AppResult<u64> {
    keep_an_owner(txn, target).await?;
    target.clone().delete(txn).await?;
    revoke_member_sessions(txn, target.user_id, target.organization_id).await
}

/// Seats an organization uses toward its tier's member limit: members plus
/// pending, unexpired invitations. Call with the organization locked.
pub async fn seats_used<C: ConnectionTrait>(txn: &C, organization_id: Uuid) -> AppResult<u64> {
    let members = member::Entity::find()
        .filter(member::Column::OrganizationId.eq(organization_id))
        .count(txn)
        .await?;
    let pending = entity::invitation::Entity::find()
        .filter(entity::invitation::Column::OrganizationId.eq(organization_id))
        .filter(entity::invitation::Column::Status.eq(entity::values::InvitationStatus::Pending))
        .filter(entity::invitation::Column::ExpiresAt.gt(chrono::Utc::now()))
        .count(txn)
        .await?;
    Ok(members + pending)
}

/// A person is a member of an organization once. Callers check first,
/// under the organization's lock; this is the database's word on it.
const MEMBER_UNIQUE: Constraint = Constraint {
    name: "uq_member_org_user",
    sqlite: "members.organization_id, members.user_id",
};

/// Adds a user to an organization with a role, checking the tier's seats.
/// Call with the organization locked; `counted` says whether the seat is
/// already taken (by the pending invitation being accepted).
pub async fn admit<C: ConnectionTrait>(
    txn: &C,
    organization: &entity::organization::Model,
    user_id: Uuid,
    role: Role,
    counted: bool,
) -> AppResult<member::Model> {
    if !counted {
        let used = seats_used(txn, organization.id).await?;
        crate::domain::tiers::ensure_room(
            organization.tier,
            crate::domain::tiers::Resource::Members,
            used,
            1,
        )?;
    }
    let member = member::ActiveModel {
        id: sea_orm::ActiveValue::Set(crate::domain::ids::new_id()),
        organization_id: sea_orm::ActiveValue::Set(organization.id),
        user_id: sea_orm::ActiveValue::Set(user_id),
        role: sea_orm::ActiveValue::Set(role),
        joined_at: sea_orm::ActiveValue::Set(chrono::Utc::now()),
        sessions_revoked_before: sea_orm::ActiveValue::Set(None),
    }
    .insert(txn)
    .await
    .on_unique(MEMBER_UNIQUE, || AppError::AlreadyMember)?;
    Ok(member)
}
