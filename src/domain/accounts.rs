//! Accounts and sessions: sign-up, log-in, refresh-token rotation, log-out
//! and the active organization.
//!
//! Security rules enforced here: passwords are verified in constant work
//! whether or not the email exists; every failure is the same
//! UNAUTHENTICATED; a refresh token works once, and presenting a used one
//! revokes its whole session (RFC 9700 §4.14.2, refresh token rotation).

use chrono::{DateTime, Utc};
use entity::{organization, refresh_token, session, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{Actor, AuthConfig, Credential, RequestMeta, secrets};
use crate::domain::audit::{self, AuditActor, Change};
use crate::domain::values::{self, Email};
use crate::domain::{access, begin_write, ids::new_id};
use crate::error::{AppError, AppResult};

/// What a successful sign-up, log-in or refresh hands the client.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub user: user::Model,
    pub session_id: Uuid,
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    /// Shown once; only its hash is kept.
    pub refresh_token: String,
    pub active_organization: Option<organization::Model>,
}

pub struct SignUp<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: &'a str,
}

fn account_actor(user: &user::Model) -> AuditActor {
    AuditActor {
        kind: entity::values::ActorKind::User,
        id: Some(user.id),
        email: Some(user.email.clone()),
    }
}

/// Creates an account and signs it in.
#[tracing::instrument(skip_all)]
pub async fn sign_up(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    meta: &RequestMeta,
    input: SignUp<'_>,
) -> AppResult<IssuedTokens> {
    let email = Email::parse("email", input.email)?;
    let name = values::text("name", input.name, 200)?;
    values::password("password", input.password)?;
    let password_hash = auth.passwords.hash(input.password)?;

    let txn = begin_write(db).await?;
    let now = Utc::now();
    let user = user::ActiveModel {
        id: Set(new_id()),
        email: Set(email.into_string()),
        name: Set(name),
        password_hash: Set(password_hash),
        is_platform_admin: Set(false),
        last_organization_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        account_actor(&user),
        meta,
        Change {
            action: "user.signed_up",
            resource_type: "user",
            resource_id: Some(user.id),
            organization_id: None,
            metadata: json!({ "email": user.email, "name": user.name }),
        },
    )
    .await?;
    let issued = start_session(&txn, auth, meta, user, None).await?;
    txn.commit().await?;
    Ok(issued)
}

/// Signs in with email and password, restoring the organization the user
/// last switched to while they are still a member of it.
#[tracing::instrument(skip_all)]
pub async fn log_in(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    meta: &RequestMeta,
    email: &str,
    password: &str,
) -> AppResult<IssuedTokens> {
    let email = email.trim().to_lowercase();
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?;
    let user = match found {
        Some(user) if auth.passwords.verify(password, &user.password_hash) => user,
        Some(_) => return Err(AppError::Unauthenticated),
        None => {
            auth.passwords.verify_dummy(password);
            return Err(AppError::Unauthenticated);
        }
    };

    let txn = begin_write(db).await?;
    let active = match user.last_organization_id {
        Some(org_id) if access::membership(&txn, user.id, org_id).await?.is_some() => {
            organization::Entity::find_by_id(org_id).one(&txn).await?
        }
        _ => None,
    };
    audit::record(
        &txn,
        account_actor(&user),
        meta,
        Change {
            action: "user.logged_in",
            resource_type: "user",
            resource_id: Some(user.id),
            organization_id: None,
            metadata: json!({}),
        },
    )
    .await?;
    let issued = start_session(&txn, auth, meta, user, active).await?;
    txn.commit().await?;
    Ok(issued)
}

async fn start_session<C: ConnectionTrait>(
    txn: &C,
    auth: &AuthConfig,
    meta: &RequestMeta,
    user: user::Model,
    active_organization: Option<organization::Model>,
) -> AppResult<IssuedTokens> {
    let now = Utc::now();
    let session = session::ActiveModel {
        id: Set(new_id()),
        user_id: Set(user.id),
        active_organization_id: Set(active_organization.as_ref().map(|o| o.id)),
        ip_address: Set(meta.client_ip.map(|ip| ip.to_string())),
        user_agent: Set(meta.user_agent.clone()),
        created_at: Set(now),
        last_used_at: Set(now),
        revoked_at: Set(None),
    }
    .insert(txn)
    .await?;
    issue(txn, auth, user, session.id, active_organization).await
}

/// A new access token and a new refresh token for a live session.
async fn issue<C: ConnectionTrait>(
    txn: &C,
    auth: &AuthConfig,
    user: user::Model,
    session_id: Uuid,
    active_organization: Option<organization::Model>,
) -> AppResult<IssuedTokens> {
    let refresh_token = secrets::generate();
    let now = Utc::now();
    refresh_token::ActiveModel {
        id: Set(new_id()),
        session_id: Set(session_id),
        token_hash: Set(secrets::digest(&refresh_token)),
        created_at: Set(now),
        expires_at: Set(now + auth.refresh_ttl),
        used_at: Set(None),
    }
    .insert(txn)
    .await?;
    let ttl = active_organization
        .as_ref()
        .map_or(auth.tokens.access_ttl_secs, |o| {
            i64::from(o.jwt_expiry_secs)
        });
    let (access_token, access_token_expires_at) = auth.tokens.issue(
        user.id,
        session_id,
        active_organization.as_ref().map(|o| o.id),
        ttl,
    )?;
    Ok(IssuedTokens {
        user,
        session_id,
        access_token,
        access_token_expires_at,
        refresh_token,
        active_organization,
    })
}

/// Trades a refresh token for new tokens. A token works once: a second use
/// (a stolen copy, or a replay) revokes the session, and both the thief and
/// the owner must sign in again.
#[tracing::instrument(skip_all)]
pub async fn refresh_session(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    meta: &RequestMeta,
    presented: &str,
) -> AppResult<IssuedTokens> {
    let hash = secrets::digest(presented);
    let txn = begin_write(db).await?;
    let Some(token) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(&txn)
        .await?
    else {
        return Err(AppError::Unauthenticated);
    };
    let now = Utc::now();
    // Conditional update: of two concurrent uses, exactly one marks it.
    let marked = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(token.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    if marked == 0 {
        tracing::warn!(target: "orgql::auth", session_id = %token.session_id, "refresh token reused; revoking its session");
        revoke_sessions(&txn, session::Column::Id.eq(token.session_id)).await?;
        audit::record(
            &txn,
            AuditActor::system(),
            meta,
            Change {
                action: "session.revoked_on_reuse",
                resource_type: "session",
                resource_id: Some(token.session_id),
                organization_id: None,
                metadata: json!({}),
            },
        )
        .await?;
        txn.commit().await?;
        return Err(AppError::Unauthenticated);
    }
    if token.expires_at <= now {
        return Err(AppError::Unauthenticated);
    }
    let Some((session, Some(user))) = session::Entity::find_by_id(token.session_id)
        .find_also_related(user::Entity)
        .one(&txn)
        .await?
    else {
        return Err(AppError::Unauthenticated);
    };
    if session.revoked_at.is_some() {
        return Err(AppError::Unauthenticated);
    }
    let active = match session.active_organization_id {
        Some(org_id) if access::membership(&txn, user.id, org_id).await?.is_some() => {
            organization::Entity::find_by_id(org_id).one(&txn).await?
        }
        _ => None,
    };
    session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session.id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        account_actor(&user),
        meta,
        Change {
            action: "session.refreshed",
            resource_type: "session",
            resource_id: Some(session.id),
            organization_id: None,
            metadata: json!({}),
        },
    )
    .await?;
    let issued = issue(&txn, auth, user, session.id, active).await?;
    txn.commit().await?;
    Ok(issued)
}

/// Ends the actor's current session: its access and refresh tokens stop
/// working at once.
#[tracing::instrument(skip_all, fields(user_id = %actor.user_id))]
pub async fn log_out(db: &DatabaseConnection, actor: &Actor) -> AppResult<Uuid> {
    let session_id = own_session(actor)?;
    let txn = begin_write(db).await?;
    revoke_sessions(&txn, session::Column::Id.eq(session_id)).await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "session.logged_out",
            resource_type: "session",
            resource_id: Some(session_id),
            organization_id: None,
            metadata: json!({}),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(session_id)
}

/// The caller's own session: account operations are for people, not for
/// API tokens.
pub fn own_session(actor: &Actor) -> AppResult<Uuid> {
    actor.session_id().ok_or(AppError::Forbidden(
        "an API token cannot do this; sign in as a person",
    ))
}

/// Marks the matching live sessions revoked.
pub async fn revoke_sessions<C: ConnectionTrait>(
    txn: &C,
    which: sea_orm::sea_query::SimpleExpr,
) -> AppResult<u64> {
    Ok(session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(which)
        .filter(session::Column::RevokedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected)
}

/// Makes `organization_id` the session's active organization, remembers it
/// for the next log-in, and issues an access token naming it.
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn switch_organization(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    actor: &Actor,
    organization_id: Uuid,
) -> AppResult<(String, DateTime<Utc>, organization::Model)> {
    let session_id = own_session(actor)?;
    let txn = begin_write(db).await?;
    let organization = organization::Entity::find_by_id(organization_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if access::membership(&txn, actor.user_id, organization_id)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound);
    }
    session::Entity::update_many()
        .col_expr(
            session::Column::ActiveOrganizationId,
            Expr::value(organization_id),
        )
        .filter(session::Column::Id.eq(session_id))
        .exec(&txn)
        .await?;
    user::Entity::update_many()
        .col_expr(
            user::Column::LastOrganizationId,
            Expr::value(organization_id),
        )
        .filter(user::Column::Id.eq(actor.user_id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "session.organization_switched",
            resource_type: "session",
            resource_id: Some(session_id),
            organization_id: Some(organization_id),
            metadata: json!({ "from": actor.active_organization_id, "to": organization_id }),
        },
    )
    .await?;
    let (token, expires_at) = auth.tokens.issue(
        actor.user_id,
        session_id,
        Some(organization_id),
        i64::from(organization.jwt_expiry_secs),
    )?;
    txn.commit().await?;
    Ok((token, expires_at, organization))
}

/// Resolves a verified access token to its actor: one indexed lookup of the
/// session joined with its user. A revoked session, or one whose user is
/// gone, is UNAUTHENTICATED.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    claims: &crate::auth::AccessClaims,
    meta: RequestMeta,
) -> AppResult<Actor> {
    let found = session::Entity::find_by_id(claims.sid)
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    match found {
        Some((session, Some(user)))
            if session.revoked_at.is_none() && session.user_id == claims.sub =>
        {
            let actor = Actor {
                user_id: user.id,
                email: user.email,
                credential: Credential::Session {
                    session_id: session.id,
                    started_at: session.created_at,
                },
                is_platform_admin: user.is_platform_admin,
                active_organization_id: claims.org,
                meta,
            };
            crate::domain::sessions::touch(db, &session, &actor).await?;
            Ok(actor)
        }
        _ => {
            tracing::debug!(target: "orgql::auth", session_id = %claims.sid, "session revoked or unknown");
            Err(AppError::Unauthenticated)
        }
    }
}

/// `orgql admin grant EMAIL`: makes an account a platform administrator.
pub async fn grant_platform_admin(db: &DatabaseConnection, email: &str) -> AppResult<user::Model> {
    let email = Email::parse("email", email)?;
    let txn = db.begin().await?;
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut active: user::ActiveModel = user.into();
    active.is_platform_admin = Set(true);
    active.updated_at = Set(Utc::now());
    let user = active.update(&txn).await?;
    audit::record(
        &txn,
        AuditActor::system(),
        &RequestMeta::default(),
        Change {
            action: "user.platform_admin_granted",
            resource_type: "user",
            resource_id: Some(user.id),
            organization_id: None,
            metadata: json!({ "email": user.email }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}
