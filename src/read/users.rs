//! Who may see whom: a user is visible to themselves, to platform
//! administrators, and to people who may view the members of an
//! organization they share.

use entity::{member, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Query,
};
use uuid::Uuid;

use crate::domain::authz::{Actor, Permission, access};
use crate::error::AppResult;

pub async fn visible_by_id<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    user_id: Uuid,
) -> AppResult<Option<user::Model>> {
    if !actor.sees_account_of(user_id) {
        // Organizations both belong to; the user is visible if the actor
        // may view the members of one of them, with its policy, session
        // controls and allowlist applied.
        let shared: Vec<Uuid> = member::Entity::find()
            .select_only()
            .column(member::Column::OrganizationId)
            .filter(member::Column::UserId.eq(user_id))
            .filter(
                member::Column::OrganizationId.in_subquery(
                    Query::select()
                        .column(member::Column::OrganizationId)
                        .from(member::Entity)
                        .and_where(member::Column::UserId.eq(actor.user_id()))
                        .to_owned(),
                ),
            )
            .into_tuple()
            .all(db)
            .await?;
        let mut visible = false;
        for organization_id in shared {
            if access::may_read(db, actor, organization_id, Permission::MembersView).await? {
                visible = true;
                break;
            }
        }
        if !visible {
            return Ok(None);
        }
    }
    Ok(user::Entity::find_by_id(user_id).one(db).await?)
}
