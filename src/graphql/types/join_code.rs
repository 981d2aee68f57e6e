use async_graphql::{
    Context, ID, Object,
    dataloader::{DataLoader, HashMapCache},
};
use chrono::{DateTime, Utc};
use entity::join_code;

use crate::domain::ids::{self, IdKind};
use crate::domain::join_codes;
use crate::graphql::loaders::UserLoader;
use crate::graphql::types::{User, enums::Role};

/// A shareable code that lets people join an organization. The code itself
/// is shown only when created; lists show its last four characters.
pub struct JoinCode(pub join_code::Model);

/// A shareable code that lets people join an organization. The code itself
/// is shown only when created; lists show its last four characters.
#[Object]
impl JoinCode {
    /// Opaque id, prefixed `jc_`.
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::JoinCode, self.0.id))
    }

    /// The code's last four characters.
    async fn last_four(&self) -> &str {
        &self.0.last_four
    }

    /// The role a joiner gets.
    async fn role(&self) -> Role {
        self.0.role.into()
    }

    /// Whether it is a guest link: joiners are guests (VIEWER) who need
    /// only a proven email address (`requestGuestSignIn` with the code).
    async fn guest(&self) -> bool {
        self.0.guest
    }

    /// How many people joined with it.
    async fn uses(&self) -> i32 {
        self.0.uses
    }

    /// The most uses allowed; null for no limit.
    async fn max_uses(&self) -> Option<i32> {
        self.0.max_uses
    }

    /// When it stops working; null for never.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    /// When it was revoked, if it was.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    /// Whether it can be used now: not revoked, expired or used up.
    async fn active(&self) -> bool {
        join_codes::is_active(&self.0, Utc::now())
    }

    /// Who created it; null when their account is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.created_by_user_id else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<UserLoader, HashMapCache>>()?
            .load_one(id)
            .await?
            .map(User::from))
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
