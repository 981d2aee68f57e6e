//! Handing over ownership: an OWNER offers it to another member, who
//! accepts within seven days. One offer is pending at a time (a partial
//! unique index), and acceptance makes the new owner OWNER and the
//! initiator ADMIN in one transaction with the organization locked.

use chrono::{Duration, Utc};
use entity::{
    member, ownership_transfer,
    values::{RequestStatus, Role},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::access;
use crate::domain::audit::{self, AuditActor, Change};
use crate::domain::permissions::Permission;
use crate::domain::{begin_write, ids::new_id};
use crate::error::{AppError, AppResult};

pub const LIFETIME_DAYS: i64 = 7;

/// Whether a transfer can still be answered.
pub fn is_pending(transfer: &ownership_transfer::Model) -> bool {
    transfer.status == RequestStatus::Pending && transfer.expires_at > Utc::now()
}

/// The pending transfer of an organization, if any.
pub async fn pending<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
) -> AppResult<Option<ownership_transfer::Model>> {
    Ok(ownership_transfer::Entity::find()
        .filter(ownership_transfer::Column::OrganizationId.eq(organization_id))
        .filter(ownership_transfer::Column::Status.eq(RequestStatus::Pending))
        .filter(ownership_transfer::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?)
}

fn change(action: &'static str, transfer: &ownership_transfer::Model) -> Change {
    Change {
        action,
        resource_type: "ownership_transfer",
        resource_id: Some(transfer.id),
        organization_id: Some(transfer.organization_id),
        metadata: json!({ "fromMemberId": transfer.from_member_id, "toMemberId": transfer.to_member_id }),
    }
}

/// Offers ownership to another member (OWNER only).
#[tracing::instrument(skip_all, fields(%organization_id, %new_owner_member_id))]
pub async fn offer(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: Uuid,
    new_owner_member_id: Uuid,
) -> AppResult<ownership_transfer::Model> {
    let txn = begin_write(db).await?;
    let access =
        access::authorize_write(&txn, actor, organization_id, Permission::OwnershipTransfer)
            .await?;
    let from = access
        .membership
        .filter(|m| m.role == Role::Owner)
        .ok_or(AppError::Forbidden("only an owner may hand over ownership"))?;
    let to = member::Entity::find_by_id(new_owner_member_id)
        .filter(member::Column::OrganizationId.eq(organization_id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if to.id == from.id || to.role == Role::Owner {
        return Err(AppError::bad_input(
            "newOwnerMemberId",
            "offer ownership to a member who is not an owner yet",
        ));
    }
    let now = Utc::now();
    ownership_transfer::Entity::update_many()
        .col_expr(
            ownership_transfer::Column::Status,
            Expr::value(RequestStatus::Expired),
        )
        .filter(ownership_transfer::Column::OrganizationId.eq(organization_id))
        .filter(ownership_transfer::Column::Status.eq(RequestStatus::Pending))
        .filter(ownership_transfer::Column::ExpiresAt.lte(now))
        .exec(&txn)
        .await?;
    let transfer = ownership_transfer::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization_id),
        from_member_id: Set(from.id),
        to_member_id: Set(to.id),
        status: Set(RequestStatus::Pending),
        expires_at: Set(now + Duration::days(LIFETIME_DAYS)),
        created_at: Set(now),
        decided_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        change("ownership.transfer_offered", &transfer),
    )
    .await?;
    txn.commit().await?;
    Ok(transfer)
}

/// Who may answer: the new owner accepts or declines, the initiator
/// cancels.
enum Answer {
    Accept,
    Decline,
    Cancel,
}

async fn answer(
    db: &DatabaseConnection,
    actor: &Actor,
    transfer_id: Uuid,
    answer: Answer,
) -> AppResult<ownership_transfer::Model> {
    let txn = begin_write(db).await?;
    let probe = ownership_transfer::Entity::find_by_id(transfer_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let access =
        access::authorize_write(&txn, actor, probe.organization_id, Permission::OrgView).await?;
    let transfer = ownership_transfer::Entity::find_by_id(transfer_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let me = access.membership.as_ref().map(|m| m.id);
    let (allowed_member, status, action) = match answer {
        Answer::Accept => (
            transfer.to_member_id,
            RequestStatus::Accepted,
            "ownership.transferred",
        ),
        Answer::Decline => (
            transfer.to_member_id,
            RequestStatus::Declined,
            "ownership.transfer_declined",
        ),
        Answer::Cancel => (
            transfer.from_member_id,
            RequestStatus::Cancelled,
            "ownership.transfer_cancelled",
        ),
    };
    if me != Some(allowed_member) {
        return Err(AppError::Forbidden(match answer {
            Answer::Cancel => "only the owner who offered it may cancel this transfer",
            _ => "only the member it is offered to may answer this transfer",
        }));
    }
    if !is_pending(&transfer) {
        return Err(AppError::conflict("this transfer is no longer pending"));
    }
    if matches!(answer, Answer::Accept) {
        let from = member::Entity::find_by_id(transfer.from_member_id)
            .one(&txn)
            .await?;
        if from.as_ref().is_none_or(|m| m.role != Role::Owner) {
            return Err(AppError::conflict(
                "the member who offered ownership is no longer an owner",
            ));
        }
        for (member_id, role) in [
            (transfer.to_member_id, Role::Owner),
            (transfer.from_member_id, Role::Admin),
        ] {
            member::Entity::update_many()
                .col_expr(member::Column::Role, Expr::value(role))
                .filter(member::Column::Id.eq(member_id))
                .exec(&txn)
                .await?;
        }
    }
    let mut active: ownership_transfer::ActiveModel = transfer.into();
    active.status = Set(status);
    active.decided_at = Set(Some(Utc::now()));
    let transfer = active.update(&txn).await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        change(action, &transfer),
    )
    .await?;
    txn.commit().await?;
    Ok(transfer)
}

/// The new owner takes ownership; the initiator becomes ADMIN.
pub async fn accept(
    db: &DatabaseConnection,
    actor: &Actor,
    transfer_id: Uuid,
) -> AppResult<ownership_transfer::Model> {
    answer(db, actor, transfer_id, Answer::Accept).await
}

/// The new owner turns the offer down.
pub async fn decline(
    db: &DatabaseConnection,
    actor: &Actor,
    transfer_id: Uuid,
) -> AppResult<ownership_transfer::Model> {
    answer(db, actor, transfer_id, Answer::Decline).await
}

/// The initiator withdraws the offer.
pub async fn cancel(
    db: &DatabaseConnection,
    actor: &Actor,
    transfer_id: Uuid,
) -> AppResult<ownership_transfer::Model> {
    answer(db, actor, transfer_id, Answer::Cancel).await
}
