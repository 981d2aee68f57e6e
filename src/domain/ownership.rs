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

use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::{Actor, Permission};
use crate::domain::ids::{MemberId, OrganizationId, OwnershipTransferId, new_id};
use crate::domain::write::{OrgWrite, Write};
use crate::error::{AppError, AppResult, Constraint, ResultExt};

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

fn entry(action: AuditAction, transfer: &ownership_transfer::Model) -> Entry {
    Entry::new(
        action,
        transfer.id,
        json!({ "fromMemberId": transfer.from_member_id, "toMemberId": transfer.to_member_id }),
    )
}

/// One pending transfer per organization (a partial index: `WHERE status =
/// 'PENDING'`).
const PENDING_UNIQUE: Constraint = Constraint {
    name: "uq_ownership_transfers_pending",
    sqlite: "ownership_transfers.organization_id",
};

/// Offers ownership to another member (OWNER only).
#[tracing::instrument(skip_all, fields(%organization_id, %new_owner_member_id))]
pub async fn offer(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: OrganizationId,
    new_owner_member_id: MemberId,
) -> AppResult<ownership_transfer::Model> {
    let organization_id = Uuid::from(organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::OwnershipTransfer).await?;
    let from = write
        .access()
        .membership
        .clone()
        .filter(|m| m.role == Role::Owner)
        .ok_or(AppError::Forbidden("only an owner may hand over ownership"))?;
    let to = member::Entity::find_by_id(Uuid::from(new_owner_member_id))
        .filter(member::Column::OrganizationId.eq(organization_id))
        .one(write.txn())
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
        .exec(write.txn())
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
    .insert(write.txn())
    .await
    .on_unique(PENDING_UNIQUE, || {
        AppError::taken(
            "organizationId",
            "an ownership transfer is already pending: cancel it first",
        )
    })?;
    write
        .commit(entry(AuditAction::OwnershipTransferOffered, &transfer))
        .await?;
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
    transfer_id: OwnershipTransferId,
    answer: Answer,
) -> AppResult<ownership_transfer::Model> {
    let transfer_id = Uuid::from(transfer_id);
    let write = Write::begin(db).await?;
    let probe = ownership_transfer::Entity::find_by_id(transfer_id)
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    let write = write
        .authorize(actor, probe.organization_id, Permission::OrgView)
        .await?;
    let transfer = ownership_transfer::Entity::find_by_id(transfer_id)
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    let me = write.access().membership.as_ref().map(|m| m.id);
    let (allowed_member, status, action) = match answer {
        Answer::Accept => (
            transfer.to_member_id,
            RequestStatus::Accepted,
            AuditAction::OwnershipTransferred,
        ),
        Answer::Decline => (
            transfer.to_member_id,
            RequestStatus::Declined,
            AuditAction::OwnershipTransferDeclined,
        ),
        Answer::Cancel => (
            transfer.from_member_id,
            RequestStatus::Cancelled,
            AuditAction::OwnershipTransferCancelled,
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
            .one(write.txn())
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
                .exec(write.txn())
                .await?;
        }
    }
    let mut active: ownership_transfer::ActiveModel = transfer.into();
    active.status = Set(status);
    active.decided_at = Set(Some(Utc::now()));
    let transfer = active.update(write.txn()).await?;
    write.commit(entry(action, &transfer)).await?;
    Ok(transfer)
}

/// The new owner takes ownership; the initiator becomes ADMIN.
pub async fn accept(
    db: &DatabaseConnection,
    actor: &Actor,
    transfer_id: OwnershipTransferId,
) -> AppResult<ownership_transfer::Model> {
    answer(db, actor, transfer_id, Answer::Accept).await
}

/// The new owner turns the offer down.
pub async fn decline(
    db: &DatabaseConnection,
    actor: &Actor,
    transfer_id: OwnershipTransferId,
) -> AppResult<ownership_transfer::Model> {
    answer(db, actor, transfer_id, Answer::Decline).await
}

/// The initiator withdraws the offer.
pub async fn cancel(
    db: &DatabaseConnection,
    actor: &Actor,
    transfer_id: OwnershipTransferId,
) -> AppResult<ownership_transfer::Model> {
    answer(db, actor, transfer_id, Answer::Cancel).await
}
