use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::{Context, ContextSelectionSet, ID, Object, ScalarType, Value};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::authz::Actor;
use crate::domain::ids::{self, IdKind};
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::{UserLoader, load_existing};
use crate::graphql::plain::PlainFields;
use crate::read::users::{Profile, UserRow};

/// A person with an account. Visible to themselves and to the people who
/// may view the members of an organization they share.
#[derive(Clone)]
pub struct User(pub UserRow);

impl From<Profile> for User {
    fn from(profile: Profile) -> Self {
        Self(UserRow::Profile(profile))
    }
}

impl From<entity::user::Model> for User {
    fn from(user: entity::user::Model) -> Self {
        Self::from(Profile::from(user))
    }
}

/// User `user_id`'s whole profile: `read` when the query that found the
/// user read all of it, otherwise loaded by id (`what` names the row in
/// the internal error its absence would be).
pub async fn whole_profile<'a>(
    ctx: &Context<'_>,
    read: Option<&'a Profile>,
    user_id: Uuid,
    what: &str,
) -> async_graphql::Result<Cow<'a, Profile>> {
    match read {
        Some(profile) => Ok(Cow::Borrowed(profile)),
        None => Ok(Cow::Owned(
            load_existing::<UserLoader>(ctx, user_id, what).await?,
        )),
    }
}

impl User {
    /// The fields a `UserBrief` cannot answer: a members page whose client
    /// selects none of them reads only the brief.
    pub const BEYOND_BRIEF: &[&str] = &[
        "isPlatformAdmin",
        "mfaEnabled",
        "emailVerified",
        "createdAt",
    ];

    fn opaque_id(&self) -> ID {
        ID(ids::encode(IdKind::User, self.0.id()))
    }

    /// The email address as `actor` may see it: a guest sees only their
    /// own (`Actor::sees_email_of`). Without a credential, the only user a
    /// request sees is the one it signs in (signUp, logIn): their own.
    fn email_seen_by(&self, actor: Option<&Actor>) -> Option<&str> {
        actor
            .is_none_or(|actor| actor.sees_email_of(self.0.id()))
            .then_some(self.0.email())
    }

    /// Whether the caller may read this user's private account facts
    /// (`Actor::sees_account_of`).
    fn shows_private(&self, ctx: &Context<'_>) -> bool {
        ctx.actor_opt()
            .is_some_and(|actor| actor.sees_account_of(self.0.id()))
    }

    /// The whole profile: as read, or loaded by id when only the brief was.
    async fn profile(&self, ctx: &Context<'_>) -> async_graphql::Result<Cow<'_, Profile>> {
        whole_profile(ctx, self.0.as_profile(), self.0.id(), "a listed user").await
    }

    /// A private account fact, null unless [`User::shows_private`].
    async fn private<T>(
        &self,
        ctx: &Context<'_>,
        fact: impl FnOnce(&Profile) -> T,
    ) -> async_graphql::Result<Option<T>> {
        if !self.shows_private(ctx) {
            return Ok(None);
        }
        Ok(Some(fact(&*self.profile(ctx).await?)))
    }
}

/// A person with an account. Visible to themselves and to the people who
/// may view the members of an organization they share.
// `serial`: see `Member` (issue #26).
#[Object(serial)]
impl User {
    /// Opaque id, prefixed `usr_`.
    pub async fn id(&self) -> ID {
        self.opaque_id()
    }

    /// The email the person signs in with, lower-cased; null to a guest,
    /// who sees only their own (`Actor::sees_email_of`).
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.email_seen_by(ctx.actor_opt())
    }

    /// Display name.
    async fn name(&self) -> &str {
        self.0.name()
    }

    /// Whether the person administers the whole platform; told only to
    /// themselves and to platform administrators (null otherwise).
    async fn is_platform_admin(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        self.private(ctx, |profile| profile.is_platform_admin).await
    }

    /// Whether the person signs in with multi-factor authentication; told
    /// only to themselves and to platform administrators (null otherwise;
    /// admins read `Member.mfaEnabled`).
    async fn mfa_enabled(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        self.private(ctx, |profile| profile.mfa_enabled).await
    }

    /// Whether the person proved their email address (with a mailed link);
    /// told only to themselves and to platform administrators (null
    /// otherwise). An unverified address does not see or act on invitations
    /// by id and does not satisfy allowed email domains.
    async fn email_verified(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        self.private(ctx, |profile| profile.email_verified_at.is_some())
            .await
    }

    /// When the account was created.
    async fn created_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.profile(ctx).await?.created_at)
    }
}

/// A listed user answers its brief's fields from the row
/// (`graphql::plain`).
impl PlainFields for User {
    fn plain_field(&self, ctx: &ContextSelectionSet<'_>, field: &Field) -> Option<Value> {
        match field.name.node.as_str() {
            "id" => Some(self.opaque_id().to_value()),
            "email" => Some(
                self.email_seen_by(ctx.actor_opt())
                    .map_or(Value::Null, |email| Value::String(email.to_owned())),
            ),
            "name" => Some(Value::String(self.0.name().to_owned())),
            _ => None,
        }
    }
}
