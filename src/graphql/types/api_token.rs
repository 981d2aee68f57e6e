use async_graphql::{
    Context, ID, Object,
    dataloader::{DataLoader, HashMapCache},
};
use chrono::{DateTime, Utc};
use entity::api_token;

use crate::domain::api_tokens;
use crate::domain::ids::{self, IdKind};
use crate::graphql::loaders::UserLoader;
use crate::graphql::types::{User, enums::Permission};

/// A credential for machines, owned by an organization. It does exactly
/// what its scopes allow, in its organization only. The secret is shown
/// once, when created.
pub struct ApiToken(pub api_token::Model);

/// A credential for machines, owned by an organization. It does exactly
/// what its scopes allow, in its organization only. The secret is shown
/// once, when created.
#[Object]
impl ApiToken {
    /// Opaque id, prefixed `tok_`.
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::ApiToken, self.0.id))
    }

    /// What the token is for.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Permissions it holds (never more than its creator holds at the
    /// time of use).
    async fn scopes(&self) -> Vec<Permission> {
        api_tokens::scopes_of(&self.0)
            .into_iter()
            .map(Permission::from)
            .collect()
    }

    /// The secret's last four characters.
    async fn last_four(&self) -> &str {
        &self.0.last_four
    }

    /// Who created it; null when created by another token or when the
    /// account is gone.
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

    /// When it was last used (to the minute); null if never.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    /// When it stops working.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    /// When it was revoked, if it was.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    /// Whether it works now.
    async fn active(&self) -> bool {
        api_tokens::is_active(&self.0)
    }
}
