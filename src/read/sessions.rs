//! The read side of sessions.

use entity::session;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::AppResult;

/// A user's live sessions, newest first.
pub async fn active_of_user<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
) -> AppResult<Vec<session::Model>> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .order_by_desc(session::Column::Id)
        .all(db)
        .await?)
}
