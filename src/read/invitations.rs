//! The read side of invitations: the accept page's preview, a person's
//! pending invitations, visibility by id, and pages and counts per
//! organization.

use std::collections::HashMap;

use chrono::Utc;
use entity::{invitation, organization, user, values::InvitationStatus};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QueryTrait, Select,
};
use uuid::Uuid;

use crate::auth::secrets;
use crate::domain::authz::{Actor, Permission, access};
use crate::error::AppResult;
use crate::read::paging::{self, Page, PageRequest};

/// What an accept page shows before sign-in.
pub struct Preview {
    pub invitation: invitation::Model,
    pub organization_name: String,
    pub inviter_name: Option<String>,
}

/// The invitation behind a token, if any.
pub async fn preview<C: ConnectionTrait>(db: &C, token: &str) -> AppResult<Option<Preview>> {
    let Some((invitation, Some(organization))) = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(secrets::digest(token)))
        .find_also_related(organization::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let inviter_name = match invitation.invited_by_user_id {
        Some(id) => user::Entity::find_by_id(id).one(db).await?.map(|u| u.name),
        None => None,
    };
    Ok(Some(Preview {
        invitation,
        organization_name: organization.name,
        inviter_name,
    }))
}

/// Pending, unexpired invitations to an email, in any organization.
pub async fn pending_for<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> AppResult<Vec<invitation::Model>> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::Email.eq(email.to_lowercase()))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await?)
}

/// An invitation the actor may see: addressed to them, or in an
/// organization whose members they manage.
pub async fn visible_by_id<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    invitation_id: Uuid,
) -> AppResult<Option<invitation::Model>> {
    let Some(found) = invitation::Entity::find_by_id(invitation_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if actor
        .person()
        .is_some_and(|p| found.email == p.email.to_lowercase())
    {
        return Ok(Some(found));
    }
    Ok(
        access::may_read(db, actor, found.organization_id, Permission::MembersManage)
            .await?
            .then_some(found),
    )
}

fn listable(
    organization_ids: &[Uuid],
    status: Option<InvitationStatus>,
) -> Select<invitation::Entity> {
    let select = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.is_in(organization_ids.iter().copied()));
    let now = Utc::now();
    match status {
        None => select,
        Some(InvitationStatus::Pending) => select
            .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
            .filter(invitation::Column::ExpiresAt.gt(now)),
        Some(InvitationStatus::Expired) => select.filter(
            Condition::any()
                .add(invitation::Column::Status.eq(InvitationStatus::Expired))
                .add(
                    Condition::all()
                        .add(invitation::Column::Status.eq(InvitationStatus::Pending))
                        .add(invitation::Column::ExpiresAt.lte(now)),
                ),
        ),
        Some(status) => select.filter(invitation::Column::Status.eq(status)),
    }
}

/// One page of invitations per organization, in one statement.
pub async fn pages<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
    status: Option<InvitationStatus>,
    page: PageRequest,
) -> AppResult<HashMap<Uuid, Page<invitation::Model>>> {
    let select = listable(organization_ids, status).into_query();
    paging::pages_per_parent(
        db,
        select,
        ("invitations", "organization_id"),
        ("invitations", "id"),
        page,
        |row| {
            let invitation = invitation::Model::from_query_result(row, "")?;
            Ok((invitation.organization_id, invitation))
        },
    )
    .await
}

/// How many invitations match in each organization.
pub async fn counts<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
    status: Option<InvitationStatus>,
) -> AppResult<HashMap<Uuid, u64>> {
    let select = listable(organization_ids, status).into_query();
    paging::counts_per_parent(db, select, ("invitations", "organization_id")).await
}
