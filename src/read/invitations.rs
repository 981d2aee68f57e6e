//! The read side of invitations: the accept page's preview, a person's
//! pending invitations, visibility by id, and pages and counts per
//! organization.

use chrono::Utc;
use entity::{invitation, organization, user, values::InvitationStatus};
use sea_orm::sea_query::SelectStatement;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QueryResult, QueryTrait, Select,
};
use uuid::Uuid;

use crate::auth::secrets;
use crate::domain::authz::{Actor, Permission, Person, access};
use crate::error::AppResult;
use crate::read::paging::{self, PerParent};

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

/// Pending, unexpired invitations to the person's email, in any
/// organization. None while the address is unverified: anyone can sign up
/// with any address, so an unproven one must not reveal (or let anyone act
/// on) invitations meant for the mailbox's owner (issue #10).
pub async fn pending_for<C: ConnectionTrait>(
    db: &C,
    person: &Person,
) -> AppResult<Vec<invitation::Model>> {
    if !person.email_verified {
        return Ok(Vec::new());
    }
    Ok(invitation::Entity::find()
        .filter(invitation::Column::Email.eq(person.email.to_lowercase()))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await?)
}

/// An invitation the actor may see: addressed to their verified address,
/// or in an organization whose members they manage.
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
        .is_some_and(|p| p.email_verified && found.email == p.email.to_lowercase())
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

/// An organization's invitations; the filter is a status (as readers see
/// it: PENDING past its expiry is EXPIRED).
pub struct InvitationsOfOrganization;

impl PerParent for InvitationsOfOrganization {
    type Filter = Option<InvitationStatus>;
    type Item = invitation::Model;
    const PARENT: (&'static str, &'static str) = ("invitations", "organization_id");
    const ID: (&'static str, &'static str) = ("invitations", "id");

    fn select(parents: &[Uuid], status: &Self::Filter) -> AppResult<SelectStatement> {
        Ok(listable(parents, *status).into_query())
    }

    fn parse(
        row: &QueryResult,
        _filter: &Self::Filter,
        _at: &mut paging::Positions,
    ) -> Result<(Uuid, Self::Item), DbErr> {
        let invitation = invitation::Model::from_query_result(row, "")?;
        Ok((invitation.organization_id, invitation))
    }
}
