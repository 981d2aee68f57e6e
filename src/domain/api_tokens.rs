//! Organization API tokens: credentials for machines.
//!
//! Rules enforced here: tokens:manage creates and revokes; only a person
//! creates a token (tokens do not make tokens), and the token answers to
//! them: its scopes are permissions of the matrix the creator holds, never
//! the owner-only ones, and at every use it holds no more than its creator
//! does then (`authz::access::decide_for`), and nothing once the creator
//! has left the organization. The secret (256 random bits) is shown once,
//! as `orgql_<env>_<key>_<secret>` so secret scanners recognise it, and
//! stored as its SHA-256; a presented token is refused, always with the
//! same UNAUTHENTICATED, when its key is unknown, its secret wrong, its
//! environment another, or it is revoked or expired.

use chrono::{Duration, Utc};
use entity::{api_token, member};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QuerySelect,
    RelationDef, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::secrets;
use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::{Actor, Permission, Principal, RequestMeta, TokenGrant};
use crate::domain::ids::{ApiTokenId, OrganizationId, new_id};
use crate::domain::revocation::Revocable;
use crate::domain::tiers::{self, Resource};
use crate::domain::values;
use crate::domain::write::OrgWrite;
use crate::error::{AppError, AppResult};

/// The longest a token may live when the policy sets no cap.
pub const MAX_AGE_DAYS: i32 = 365;
const PREFIX: &str = "orgql";

pub struct NewApiToken {
    pub organization_id: OrganizationId,
    pub name: String,
    pub scopes: Vec<Permission>,
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
    for &permission in &input.scopes {
        if !scopes.contains(&permission) {
            scopes.push(permission);
        }
    }
    // A token is made by a person and answers to them: tokens do not
    // make tokens.
    let creator = actor.require_person()?;

    let organization_id = Uuid::from(input.organization_id);
    let write = OrgWrite::begin(db, actor, organization_id, Permission::TokensManage).await?;
    // The policy's apiKeyMaxAgeDays caps the lifetime (the server's cap
    // when it sets none); no expiry given means the longest allowed.
    let max_days = write
        .policy()
        .api_key_max_age_days
        .map_or(MAX_AGE_DAYS, |d| d as i32);
    let days = input.expires_in_days.unwrap_or(max_days);
    if !(1..=max_days).contains(&days) {
        return Err(AppError::bad_input(
            "expiresInDays",
            format!("a token here lasts 1 to {max_days} days"),
        ));
    }
    if let Some(missing) = scopes.iter().find(|p| !write.allows(**p)) {
        tracing::debug!(target: "orgql::access", scope = missing.as_str(), "scope not held by the creator");
        return Err(AppError::Forbidden(
            "you cannot grant a scope you do not hold",
        ));
    }
    if let Some(owner_only) = scopes.iter().find(|p| p.is_owner_only()) {
        return Err(AppError::bad_input(
            "scopes",
            format!("{owner_only} stays with the organization's owners, who are people"),
        ));
    }
    let active = api_token::Entity::find()
        .filter(api_token::Column::OrganizationId.eq(organization_id))
        .filter(active_condition())
        .count(write.txn())
        .await?;
    tiers::ensure_room(write.organization().tier, Resource::ApiTokens, active, 1)?;

    let key = secrets::generate_hex(8);
    let secret = secrets::generate_hex(32);
    let now = Utc::now();
    let token = api_token::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization_id),
        name: Set(name),
        key: Set(key.clone()),
        secret_hash: Set(secrets::digest(&secret)),
        last_four: Set(secret[secret.len() - 4..].to_owned()),
        scopes: Set(json!(scopes.iter().map(|p| p.as_str()).collect::<Vec<_>>())),
        created_by_user_id: Set(Some(creator.user_id)),
        created_at: Set(now),
        last_used_at: Set(None),
        expires_at: Set(Some(now + Duration::days(days.into()))),
        revoked_at: Set(None),
    }
    .insert(write.txn())
    .await?;
    write
        .commit(Entry::new(
            AuditAction::ApiTokenCreated,
            token.id,
            json!({ "name": token.name, "scopes": token.scopes, "expiresAt": token.expires_at, "lastFour": token.last_four }),
        ))
        .await?;
    Ok((token, format!("{PREFIX}_{environment}_{key}_{secret}")))
}

/// Revokes a token (tokens:manage); its next request fails.
#[tracing::instrument(skip_all, fields(%token_id))]
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    token_id: ApiTokenId,
) -> AppResult<api_token::Model> {
    Revocable::<api_token::Entity> {
        noun: "token",
        id: api_token::Column::Id,
        revoked_at: api_token::Column::RevokedAt,
        organization_of: |token| token.organization_id,
        permission: Permission::TokensManage,
        action: AuditAction::ApiTokenRevoked,
        audited: |token| json!({ "name": token.name, "lastFour": token.last_four }),
    }
    .revoke(db, actor, token_id.into())
    .await
}

/// Whether a bearer credential looks like an API token rather than a JWT.
pub fn looks_like_token(credential: &str) -> bool {
    credential.starts_with("orgql_")
}

/// Resolves a presented API token to its actor, in one statement that
/// also reads its creator's membership. A token is refused when its secret
/// does not match, it is revoked or expired, it was issued for another
/// environment (`orgql_<env>_…`), or its creator is no longer a member of
/// its organization: a token dies with its creator's membership.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    environment: &str,
    presented: &str,
    meta: RequestMeta,
) -> AppResult<Actor> {
    let refused = |why: &'static str| {
        tracing::debug!(target: "orgql::auth", why, "API token refused");
        AppError::Unauthenticated
    };
    let mut parts = presented
        .strip_prefix("orgql_")
        .ok_or_else(|| refused("no orgql_ prefix"))?
        .splitn(3, '_');
    let (Some(presented_environment), Some(key), Some(secret)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(refused("malformed"));
    };
    if presented_environment != environment {
        return Err(refused("issued for another environment"));
    }
    let (token, creator) = api_token::Entity::find()
        .filter(api_token::Column::Key.eq(key))
        .join(JoinType::LeftJoin, creator_membership())
        .select_also(member::Entity)
        .one(db)
        .await?
        .ok_or_else(|| refused("unknown key"))?;
    if !secrets::constant_time_eq(&secrets::digest(secret), &token.secret_hash) {
        return Err(refused("wrong secret"));
    }
    if !is_active(&token) {
        return Err(refused("revoked or expired"));
    }
    let creator = creator.ok_or_else(|| refused("its creator is no longer a member"))?;
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
        principal: Principal::ApiToken(TokenGrant {
            token_id: token.id,
            organization_id: token.organization_id,
            scopes: scopes_of(&token),
            creator_role: creator.role,
        }),
        meta,
    })
}

/// Joins a token to its creator's membership in the token's organization.
fn creator_membership() -> RelationDef {
    api_token::Entity::belongs_to(member::Entity)
        .from((
            api_token::Column::OrganizationId,
            api_token::Column::CreatedByUserId,
        ))
        .to((member::Column::OrganizationId, member::Column::UserId))
        .into()
}
