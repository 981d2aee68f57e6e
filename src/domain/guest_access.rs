//! Guest access to one organization (issue #13): what turning the
//! policy's `guestAccessEnabled` off ends. The guest identity and its
//! sign-in links are `accounts::guests`; the access decision that refuses
//! guests while it is off is `authz::access::decide_for`.
//!
//! Every guest-derived membership is a guest account's (security review
//! M3): a guest link admits guests only (`join_codes::redeem`) and a guest
//! that converts leaves its guest memberships (`accounts::guests::convert`),
//! so ending the guest accounts' memberships here ends them all.

use chrono::Utc;
use entity::{
    invitation, join_code, member, user,
    values::{InvitationStatus, Role},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::error::AppResult;

/// A guest whose membership ended with guest access.
pub struct EndedGuest {
    pub member_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub sessions_revoked: u64,
}

/// What turning guest access off ended.
pub struct EndedGuestAccess {
    pub guests: Vec<EndedGuest>,
}

/// Ends guest access to an organization when its policy turns guests off:
/// every guest's membership goes, with their sessions there (at once: the
/// membership is what every request checks), and so do pending guest
/// invitations and live guest links. Memberships end rather than wait
/// behind a flag, so turning guests on again restores nobody silently and
/// the seats are free. Call under the organization's lock.
pub async fn end<C: ConnectionTrait>(
    txn: &C,
    organization_id: Uuid,
) -> AppResult<EndedGuestAccess> {
    let members: Vec<member::Model> = member::Entity::find()
        .inner_join(user::Entity)
        .filter(member::Column::OrganizationId.eq(organization_id))
        .filter(user::Column::IsGuest.eq(true))
        .all(txn)
        .await?;
    let mut guests = Vec::with_capacity(members.len());
    for m in members {
        member::Entity::delete_by_id(m.id).exec(txn).await?;
        let sessions_revoked =
            crate::domain::sessions::revoke_member_sessions(txn, m.user_id, organization_id)
                .await?;
        guests.push(EndedGuest {
            member_id: m.id,
            user_id: m.user_id,
            role: m.role,
            sessions_revoked,
        });
    }
    let now = Utc::now();
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            Expr::value(InvitationStatus::Revoked),
        )
        .col_expr(invitation::Column::UpdatedAt, Expr::value(now))
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .filter(invitation::Column::Guest.eq(true))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .exec(txn)
        .await?;
    join_code::Entity::update_many()
        .col_expr(join_code::Column::RevokedAt, Expr::value(now))
        .filter(join_code::Column::OrganizationId.eq(organization_id))
        .filter(join_code::Column::Guest.eq(true))
        .filter(join_code::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(EndedGuestAccess { guests })
}
