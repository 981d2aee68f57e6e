//! Organization API tokens: credentials for machines.
//!
//! Rules enforced here: tokens:manage creates and revokes; a token's scopes
//! are permissions of the matrix, and nobody grants a scope they do not
//! hold; the secret (256 random bits) is shown once, as
//! `orgql_<env>_<key>_<secret>` so secret scanners recognise it, and stored
//! as its SHA-256; a presented token is refused, always with the same
//! UNAUTHENTICATED, when its key is unknown, its secret wrong, or it is
//! revoked or expired.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use entity::api_token;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{Actor, Credential, RequestMeta, TokenGrant, secrets};
use crate::domain::access;
use crate::domain::audit::{self, AuditActor, Change};
use crate::domain::permissions::Permission;
use crate::domain::policy::Policy;
use crate::domain::tiers::{self, Resource};
use crate::domain::values;
use crate::domain::{begin_write, ids::new_id};
use crate::error::{AppError, AppResult};

/// The longest a token may live when the policy sets no cap.
pub const MAX_AGE_DAYS: i32 = 365;
const PREFIX: &str = "orgql";

pub struct NewApiToken {
    pub organization_id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_in_days: Option<i32>,
}

/// The scopes stored with a token.
pub fn scopes_of(token: &api_token::Model) -> Vec<Permission> {
    serde_json::from_value::<Vec<String>>(token.scopes.clone())
        .unwrap_or_default()
        .iter()
        .filter_map(|s| Permission::parse(s))
        .collect()
}

/// Whether a token can be used now.
pub fn is_active(token: &api_token::Model) -> bool {
    token.revoked_at.is_none() && token.expires_at.is_none_or(|at| at > Utc::now())
}

fn active_condition() -> Condition {
    Condition::all()
        .add(api_token::Column::RevokedAt.is_null())
        .add(
            Condition::any()
                .add(api_token::Column::ExpiresAt.is_null())
                .add(api_token::Column::ExpiresAt.gt(Utc::now())),
        )
}

/// Creates a token (tokens:manage); returns it with the secret token,
/// shown this once.
#[tracing::instrument(skip_all, fields(organization_id = %input.organization_id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    environment: &str,
    input: NewApiToken,
) -> AppResult<(api_token::Model, String)> {
    let name = values::text("name", &input.name, 200)?;
    if input.scopes.is_empty() {
        return Err(AppError::bad_input(
            "scopes",
            "name at least one scope, such as members:view",
        ));
    }
    let mut scopes = Vec::with_capacity(input.scopes.len());
    for scope in &input.scopes {
        let permission = Permission::parse(scope).ok_or_else(|| {
            AppError::bad_input(
                "scopes",
                format!("{scope:?} is not a permission; see the roles query"),
            )
        })?;
        if !scopes.contains(&permission) {
            scopes.push(permission);
        }
    }

    let txn = begin_write(db).await?;
    let access =
        access::authorize_write(&txn, actor, input.organization_id, Permission::TokensManage)
            .await?;
    // The policy's apiKeyMaxAgeDays caps the lifetime (the server's cap
    // when it sets none); no expiry given means the longest allowed.
    let max_days = Policy::of(&access.organization)
        .api_key_max_age_days
        .map_or(MAX_AGE_DAYS, |d| d as i32);
    let days = input.expires_in_days.unwrap_or(max_days);
    if !(1..=max_days).contains(&days) {
        return Err(AppError::bad_input(
            "expiresInDays",
            format!("a token here lasts 1 to {max_days} days"),
        ));
    }
    if let Some(missing) = scopes.iter().find(|p| !access.allows(actor, **p)) {
        tracing::debug!(target: "orgql::access", scope = missing.as_str(), "scope not held by the creator");
        return Err(AppError::Forbidden(
            "you cannot grant a scope you do not hold",
        ));
    }
    let active = api_token::Entity::find()
        .filter(api_token::Column::OrganizationId.eq(input.organization_id))
        .filter(active_condition())
        .count(&txn)
        .await?;
    tiers::ensure_room(access.organization.tier, Resource::ApiTokens, active, 1)?;

    let key = secrets::generate_hex(8);
    let secret = secrets::generate_hex(32);
    let now = Utc::now();
    let token = api_token::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(input.organization_id),
        name: Set(name),
        key: Set(key.clone()),
        secret_hash: Set(secrets::digest(&secret)),
        last_four: Set(secret[secret.len() - 4..].to_owned()),
        scopes: Set(json!(scopes.iter().map(|p| p.as_str()).collect::<Vec<_>>())),
        created_by_user_id: Set(actor.api_token().is_none().then_some(actor.user_id)),
        created_at: Set(now),
        last_used_at: Set(None),
        expires_at: Set(Some(now + Duration::days(days.into()))),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "api_token.created",
            resource_type: "api_token",
            resource_id: Some(token.id),
            organization_id: Some(token.organization_id),
            metadata: json!({ "name": token.name, "scopes": token.scopes, "expiresAt": token.expires_at, "lastFour": token.last_four }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok((token, format!("{PREFIX}_{environment}_{key}_{secret}")))
}

/// Revokes a token (tokens:manage); its next request fails.
#[tracing::instrument(skip_all, fields(%token_id))]
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    token_id: Uuid,
) -> AppResult<api_token::Model> {
    let txn = begin_write(db).await?;
    let found = api_token::Entity::find_by_id(token_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    access::authorize_write(&txn, actor, found.organization_id, Permission::TokensManage).await?;
    if found.revoked_at.is_some() {
        return Err(AppError::conflict("this token is already revoked"));
    }
    let mut active: api_token::ActiveModel = found.into();
    active.revoked_at = Set(Some(Utc::now()));
    let revoked = active.update(&txn).await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "api_token.revoked",
            resource_type: "api_token",
            resource_id: Some(revoked.id),
            organization_id: Some(revoked.organization_id),
            metadata: json!({ "name": revoked.name, "lastFour": revoked.last_four }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(revoked)
}

/// Whether a bearer credential looks like an API token rather than a JWT.
pub fn looks_like_token(credential: &str) -> bool {
    credential.starts_with("orgql_")
}

/// Resolves a presented API token to its actor (one indexed lookup by key).
/// A token minted for another `<env>` (`orgql_test_…` on a `live` server) is
/// refused like any other bad token, so a test token never works in
/// production.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    presented: &str,
    environment: &str,
    meta: RequestMeta,
) -> AppResult<Actor> {
    let refused = || {
        tracing::debug!(target: "orgql::auth", "API token refused");
        AppError::Unauthenticated
    };
    let mut parts = presented
        .strip_prefix("orgql_")
        .ok_or_else(refused)?
        .splitn(3, '_');
    let (Some(presented_env), Some(key), Some(secret)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(refused());
    };
    if presented_env != environment {
        return Err(refused());
    }
    let token = api_token::Entity::find()
        .filter(api_token::Column::Key.eq(key))
        .one(db)
        .await?
        .ok_or_else(refused)?;
    if !secrets::constant_time_eq(&secrets::digest(secret), &token.secret_hash)
        || !is_active(&token)
    {
        return Err(refused());
    }
    let now = Utc::now();
    if token
        .last_used_at
        .is_none_or(|at| now - at > Duration::seconds(60))
    {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
            .filter(api_token::Column::Id.eq(token.id))
            .exec(db)
            .await?;
    }
    Ok(Actor {
        user_id: token.id,
        email: String::new(),
        credential: Credential::ApiToken(TokenGrant {
            token_id: token.id,
            organization_id: token.organization_id,
            scopes: scopes_of(&token),
        }),
        is_platform_admin: false,
        active_organization_id: Some(token.organization_id),
        meta,
    })
}

/// Each organization's tokens, newest first.
pub async fn of_organizations<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<api_token::Model>>> {
    let rows = api_token::Entity::find()
        .filter(api_token::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await?;
    let mut tokens: HashMap<Uuid, Vec<api_token::Model>> = organization_ids
        .iter()
        .map(|id| (*id, Vec::new()))
        .collect();
    for row in rows {
        tokens.entry(row.organization_id).or_default().push(row);
    }
    Ok(tokens)
}
