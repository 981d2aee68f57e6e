use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{self, IdKind};
use crate::read::users::Profile;

/// A person with an account. Visible to themselves and to the people who
/// may view the members of an organization they share.
pub struct User(pub Profile);

impl User {
    /// `value` when the caller may read this user's private account facts
    /// (`Actor::sees_account_of`), null otherwise.
    fn private<T>(&self, ctx: &Context<'_>, value: T) -> Option<T> {
        ctx.actor_opt()?.sees_account_of(self.0.id).then_some(value)
    }
}

/// A person with an account. Visible to themselves and to the people who
/// may view the members of an organization they share.
#[Object]
impl User {
    /// Opaque id, prefixed `usr_`.
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::User, self.0.id))
    }

    /// The email the person signs in with, lower-cased; null to a guest,
    /// who sees only their own (`Actor::sees_email_of`).
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        // Without a credential, the only user a request sees is the one
        // it signs in (signUp, logIn): their own address.
        ctx.actor_opt()
            .is_none_or(|actor| actor.sees_email_of(self.0.id))
            .then_some(self.0.email.as_str())
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether the person administers the whole platform; told only to
    /// themselves and to platform administrators (null otherwise).
    async fn is_platform_admin(&self, ctx: &Context<'_>) -> Option<bool> {
        self.private(ctx, self.0.is_platform_admin)
    }

    /// Whether the person signs in with multi-factor authentication; told
    /// only to themselves and to platform administrators (null otherwise;
    /// admins read `Member.mfaEnabled`).
    async fn mfa_enabled(&self, ctx: &Context<'_>) -> Option<bool> {
        self.private(ctx, self.0.mfa_enabled)
    }

    /// Whether the person proved their email address (with a mailed link);
    /// told only to themselves and to platform administrators (null
    /// otherwise). An unverified address does not see or act on invitations
    /// by id and does not satisfy allowed email domains.
    async fn email_verified(&self, ctx: &Context<'_>) -> Option<bool> {
        self.private(ctx, self.0.email_verified_at.is_some())
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
