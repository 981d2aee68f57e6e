//! Revoking a stored secret (an API token, a join code): found by id,
//! authorized in its organization, stamped `revoked_at` once (a conditional
//! update, so two concurrent revocations cannot both succeed), audited.

use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::{Actor, Permission};
use crate::domain::write::Write;
use crate::error::{AppError, AppResult};

/// What differs between the kinds of secret.
pub struct Revocable<E: EntityTrait> {
    /// How the client names it ("token", "join code").
    pub noun: &'static str,
    pub id: E::Column,
    pub revoked_at: E::Column,
    pub organization_of: fn(&E::Model) -> Uuid,
    /// The permission that manages it.
    pub permission: Permission,
    pub action: AuditAction,
    /// What the audit entry records of it (never the secret).
    pub audited: fn(&E::Model) -> Value,
}

impl<E> Revocable<E>
where
    E: EntityTrait,
    E::Model: Sync,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    /// Revokes the secret `id`: NOT_FOUND when the actor cannot see it,
    /// CONFLICT when it is revoked already.
    pub async fn revoke(
        &self,
        db: &DatabaseConnection,
        actor: &Actor,
        id: Uuid,
    ) -> AppResult<E::Model> {
        let write = Write::begin(db).await?;
        let found = E::find_by_id(id)
            .one(write.txn())
            .await?
            .ok_or(AppError::NotFound)?;
        let write = write
            .authorize(actor, (self.organization_of)(&found), self.permission)
            .await?;
        let stamped = E::update_many()
            .col_expr(self.revoked_at, Expr::value(Utc::now()))
            .filter(self.id.eq(id))
            .filter(self.revoked_at.is_null())
            .exec(write.txn())
            .await?
            .rows_affected;
        if stamped == 0 {
            return Err(AppError::conflict(format!(
                "this {} is already revoked",
                self.noun
            )));
        }
        let revoked = E::find_by_id(id)
            .one(write.txn())
            .await?
            .ok_or(AppError::NotFound)?;
        write
            .commit(Entry::new(self.action, id, (self.audited)(&revoked)))
            .await?;
        Ok(revoked)
    }
}
