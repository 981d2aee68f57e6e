//! The invitee's side: accepting or declining. An invitation works only for
//! the account it was sent to (the email compared case-insensitively); a
//! wrong account learns nothing and leaves it valid for the right one.
//!
//! By id, only for a verified address: anyone may sign up with any address,
//! so an unproven one must not take over (or turn down) an invitation meant
//! for the mailbox's owner (issue #10). The token came by email, so using it
//! proves the mailbox, and accepting with it verifies the address.

use chrono::Utc;
use entity::{
    invitation, member, organization, team, team_member,
    values::{InvitationStatus, TeamRole},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{set_status, status_at};
use crate::auth::secrets;
use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::access::OrgAccess;
use crate::domain::authz::{Actor, Person, guests};
use crate::domain::ids::new_id;
use crate::domain::members;
use crate::domain::users;
use crate::domain::write::Write;
use crate::error::{AppError, AppResult};

/// How the invitee names an invitation: its secret token, or its id when
/// it is listed among their pending invitations.
pub enum InvitationRef<'a> {
    Token(&'a str),
    Id(Uuid),
}

/// Finds the invitation for the invitee; anything that is not theirs is
/// INVITATION_INVALID (by token) or NOT_FOUND (by id), and nothing changes.
async fn find_for_invitee<C: ConnectionTrait>(
    db: &C,
    invitee: &Person,
    by: &InvitationRef<'_>,
) -> AppResult<invitation::Model> {
    let email = invitee.email.to_lowercase();
    let found = match by {
        InvitationRef::Token(token) => invitation::Entity::find()
            .filter(invitation::Column::TokenHash.eq(secrets::digest(token)))
            .one(db)
            .await?
            .ok_or(AppError::InvitationInvalid)?,
        InvitationRef::Id(_) if !invitee.email_verified => {
            tracing::debug!(target: "orgql::access", "invitation by id refused to an unverified address");
            return Err(AppError::NotFound);
        }
        InvitationRef::Id(id) => invitation::Entity::find_by_id(*id)
            .filter(invitation::Column::Email.eq(email.as_str()))
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?,
    };
    if found.email != email {
        tracing::debug!(target: "orgql::access", invitation_id = %found.id, "invitation presented by another account");
        return Err(AppError::InvitationInvalid);
    }
    match status_at(&found, Utc::now()) {
        InvitationStatus::Pending => Ok(found),
        InvitationStatus::Expired => Err(AppError::InvitationExpired),
        _ => Err(AppError::InvitationInvalid),
    }
}

/// Accepts an invitation: the invitee becomes a member with its role and
/// joins its teams. Of two concurrent accepts, one wins.
#[tracing::instrument(skip_all)]
pub async fn accept(
    db: &DatabaseConnection,
    actor: &Actor,
    by: InvitationRef<'_>,
) -> AppResult<(member::Model, organization::Model)> {
    let invitee = actor.require_person()?;
    let write = Write::begin(db).await?;
    let found = find_for_invitee(write.txn(), invitee, &by).await?;
    let write = write.enter(actor, found.organization_id).await?;
    let organization = write.organization().clone();
    let (member, team_ids) = redeem(write.txn(), write.access(), actor, &found).await?;
    write
        .commit(Entry::new(
            AuditAction::InvitationAccepted,
            found.id,
            json!({
                "memberId": member.id,
                "role": member.role,
                "teamIds": team_ids,
            }),
        ))
        .await?;
    Ok((member, organization))
}

/// Uses a pending invitation for the person behind `actor`, under the
/// organization's lock (`access`): they become a member with its role and
/// join its teams; returns the membership and the teams joined. A guest
/// invitation works only while the organization admits guests, and a guest
/// takes no other kind (a guest is promoted only by converting their
/// account).
pub(crate) async fn redeem<C: ConnectionTrait>(
    txn: &C,
    access: &OrgAccess,
    actor: &Actor,
    found: &invitation::Model,
) -> AppResult<(member::Model, Vec<Uuid>)> {
    let invitee = actor.require_person()?;
    let organization = &access.organization;
    if access.membership.is_some() {
        return Err(AppError::AlreadyMember);
    }
    if found.guest && !access.gate.policy.guest_access_enabled {
        return Err(AppError::InvitationInvalid);
    }
    if invitee.is_guest {
        guests::ensure_entry_fits(found.guest, true)?;
    }
    let won = invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            Expr::value(InvitationStatus::Accepted),
        )
        .col_expr(
            invitation::Column::AcceptedByUserId,
            Expr::value(invitee.user_id),
        )
        .col_expr(invitation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(invitation::Column::Id.eq(found.id))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .exec(txn)
        .await?
        .rows_affected;
    if won == 0 {
        return Err(AppError::InvitationInvalid);
    }
    if !invitee.email_verified {
        users::mark_verified(txn, invitee.user_id).await?;
    }
    let member = members::admit(txn, organization, invitee.user_id, found.role, true).await?;
    let team_ids: Vec<Uuid> = serde_json::from_value(found.team_ids.clone()).unwrap_or_default();
    let teams = team::Entity::find()
        .filter(team::Column::OrganizationId.eq(organization.id))
        .filter(team::Column::Id.is_in(team_ids))
        .all(txn)
        .await?;
    for team in &teams {
        team_member::ActiveModel {
            id: Set(new_id()),
            team_id: Set(team.id),
            member_id: Set(member.id),
            role: Set(TeamRole::Member),
            added_at: Set(Utc::now()),
        }
        .insert(txn)
        .await?;
    }
    Ok((member, teams.iter().map(|t| t.id).collect()))
}

/// The invitee turns an invitation down.
#[tracing::instrument(skip_all)]
pub async fn decline(
    db: &DatabaseConnection,
    actor: &Actor,
    by: InvitationRef<'_>,
) -> AppResult<invitation::Model> {
    let invitee = actor.require_person()?;
    let write = Write::begin(db).await?;
    let found = find_for_invitee(write.txn(), invitee, &by).await?;
    let write = write.enter(actor, found.organization_id).await?;
    let declined = set_status(write.txn(), found, InvitationStatus::Declined).await?;
    write
        .commit(Entry::new(
            AuditAction::InvitationDeclined,
            declined.id,
            json!({ "email": declined.email }),
        ))
        .await?;
    Ok(declined)
}
