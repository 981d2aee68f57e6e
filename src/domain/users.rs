//! Who may see whom: a user is visible to themselves, to platform
//! administrators, and to people who may view the members of an
//! organization they share.

use entity::{member, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Query};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::permissions::{Permission, permissions_of};
use crate::error::AppResult;
use entity::values::Role;

/// Roles whose holders may see their organization's members.
pub fn roles_that_view_members() -> Vec<Role> {
    [
        Role::Owner,
        Role::Admin,
        Role::Member,
        Role::Viewer,
        Role::Billing,
    ]
    .into_iter()
    .filter(|r| permissions_of(*r).contains(&Permission::MembersView))
    .collect()
}

pub async fn visible_by_id<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    user_id: Uuid,
) -> AppResult<Option<user::Model>> {
    if user_id != actor.user_id && !actor.is_platform_admin {
        let shared = member::Entity::find()
            .filter(member::Column::UserId.eq(user_id))
            .filter(
                member::Column::OrganizationId.in_subquery(
                    Query::select()
                        .column(member::Column::OrganizationId)
                        .from(member::Entity)
                        .and_where(member::Column::UserId.eq(actor.user_id))
                        .and_where(member::Column::Role.is_in(roles_that_view_members()))
                        .to_owned(),
                ),
            )
            .one(db)
            .await?;
        if shared.is_none() {
            return Ok(None);
        }
    }
    Ok(user::Entity::find_by_id(user_id).one(db).await?)
}
