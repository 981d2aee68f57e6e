//! Who is in a team, and with which team role. Only members of the team's
//! organization join it; maintainers and holders of teams:manage change the
//! roster, and anyone may take themselves out.

use chrono::Utc;
use entity::{member, team_member, values::TeamRole};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, ModelTrait, QueryFilter,
};
use serde_json::json;
use uuid::Uuid;

use super::{begin_administering, begin_on_team, ensure_may_administer};
use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::Actor;
use crate::domain::ids::{MemberId, TeamId, new_id};
use crate::error::{AppError, AppResult, Constraint, ResultExt};

/// The organization member `member_id`, which must belong to the team's
/// organization (anything else looks absent).
async fn member_of_org<C: ConnectionTrait>(
    txn: &C,
    organization_id: Uuid,
    member_id: MemberId,
) -> AppResult<member::Model> {
    member::Entity::find_by_id(Uuid::from(member_id))
        .filter(member::Column::OrganizationId.eq(organization_id))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

/// A member is in a team once.
const MEMBER_UNIQUE: Constraint = Constraint {
    name: "uq_team_members_team_member",
    sqlite: "team_members.team_id, team_members.member_id",
};

/// Inserts a member's place in a team (CONFLICT naming `memberId` when
/// they are in it). Call inside a write on the team's organization.
pub(crate) async fn insert<C: ConnectionTrait>(
    txn: &C,
    team_id: Uuid,
    member_id: Uuid,
    role: TeamRole,
) -> AppResult<team_member::Model> {
    team_member::ActiveModel {
        id: Set(new_id()),
        team_id: Set(team_id),
        member_id: Set(member_id),
        role: Set(role),
        added_at: Set(Utc::now()),
    }
    .insert(txn)
    .await
    .on_unique(MEMBER_UNIQUE, || {
        AppError::taken("memberId", "already a member of this team")
    })
}

/// Takes a member's place in a team away, if they have one: the place
/// they had. Call inside a write on the team's organization.
pub(crate) async fn remove<C: ConnectionTrait>(
    txn: &C,
    team_id: Uuid,
    member_id: Uuid,
) -> AppResult<Option<team_member::Model>> {
    let place = team_member::Entity::find()
        .filter(team_member::Column::TeamId.eq(team_id))
        .filter(team_member::Column::MemberId.eq(member_id))
        .one(txn)
        .await?;
    if let Some(place) = &place {
        place.clone().delete(txn).await?;
    }
    Ok(place)
}

/// Puts an organization member into a team.
#[tracing::instrument(skip_all, fields(%team_id, %member_id, ?role))]
pub async fn add_member(
    db: &DatabaseConnection,
    actor: &Actor,
    team_id: TeamId,
    member_id: MemberId,
    role: TeamRole,
) -> AppResult<team_member::Model> {
    let (write, team) = begin_administering(db, actor, team_id).await?;
    let member = member_of_org(write.txn(), team.organization_id, member_id).await?;
    let added = insert(write.txn(), team.id, member.id, role).await?;
    write
        .commit(Entry::new(
            AuditAction::TeamMemberAdded,
            team.id,
            json!({ "memberId": member.id, "userId": member.user_id, "after": { "role": role } }),
        ))
        .await?;
    Ok(added)
}

async fn team_membership<C: ConnectionTrait>(
    txn: &C,
    team_id: Uuid,
    member_id: MemberId,
) -> AppResult<team_member::Model> {
    team_member::Entity::find()
        .filter(team_member::Column::TeamId.eq(team_id))
        .filter(team_member::Column::MemberId.eq(Uuid::from(member_id)))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

/// Changes a member's role within a team.
#[tracing::instrument(skip_all, fields(%team_id, %member_id, ?role))]
pub async fn change_member_role(
    db: &DatabaseConnection,
    actor: &Actor,
    team_id: TeamId,
    member_id: MemberId,
    role: TeamRole,
) -> AppResult<team_member::Model> {
    let (write, team) = begin_administering(db, actor, team_id).await?;
    let current = team_membership(write.txn(), team.id, member_id).await?;
    let before = current.role;
    let mut active: team_member::ActiveModel = current.into();
    active.role = Set(role);
    let updated = active.update(write.txn()).await?;
    write
        .commit(Entry::new(
            AuditAction::TeamMemberRoleUpdated,
            team.id,
            json!({ "memberId": member_id, "before": { "role": before }, "after": { "role": role } }),
        ))
        .await?;
    Ok(updated)
}

/// Takes a member out of a team. Members may also take themselves out.
#[tracing::instrument(skip_all, fields(%team_id, %member_id))]
pub async fn remove_member(
    db: &DatabaseConnection,
    actor: &Actor,
    team_id: TeamId,
    member_id: MemberId,
) -> AppResult<team_member::Model> {
    let (write, team) = begin_on_team(db, actor, team_id).await?;
    let leaving = write
        .access()
        .membership
        .as_ref()
        .is_some_and(|m| MemberId::from(m.id) == member_id);
    if !leaving {
        ensure_may_administer(&write, &team).await?;
    }
    let current = remove(write.txn(), team.id, member_id.into())
        .await?
        .ok_or(AppError::NotFound)?;
    write
        .commit(Entry::new(
            AuditAction::TeamMemberRemoved,
            team.id,
            json!({ "memberId": member_id, "before": { "role": current.role } }),
        ))
        .await?;
    Ok(current)
}
