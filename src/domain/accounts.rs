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
    EntityTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{AuthConfig, secrets};
use crate::domain::audit::{AuditAction, AuditActor};
use crate::domain::authz::{Actor, Person, Principal, RequestMeta, access};
use crate::domain::ids::{OrganizationId, new_id};
use crate::domain::values::{self, Email};
use crate::domain::write::{Entry, Write};
use crate::error::{AppError, AppResult, Constraint, ResultExt};

/// One account per email address.
const EMAIL_UNIQUE: Constraint = Constraint {
    name: "uq_users_email",
    sqlite: "users.email",
};

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

    let write = Write::begin(db).await?;
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
    .insert(write.txn())
    .await
    .on_unique(EMAIL_UNIQUE, || {
        AppError::taken("email", "an account with this email already exists")
    })?;
    let entry = Entry::new(
        AuditAction::UserSignedUp,
        user.id,
        json!({ "email": user.email, "name": user.name }),
    );
    let who = AuditActor::account(&user);
    let issued = start_session(write.txn(), auth, meta, user, None).await?;
    write.commit(who, meta, None, entry).await?;
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

    let write = Write::begin(db).await?;
    let active = match user.last_organization_id {
        Some(org_id)
            if access::membership(write.txn(), user.id, org_id)
                .await?
                .is_some() =>
        {
            organization::Entity::find_by_id(org_id)
                .one(write.txn())
                .await?
        }
        _ => None,
    };
    let entry = Entry::new(AuditAction::UserLoggedIn, user.id, json!({}));
    let who = AuditActor::account(&user);
    let issued = start_session(write.txn(), auth, meta, user, active).await?;
    write.commit(who, meta, None, entry).await?;
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
    let write = Write::begin(db).await?;
    let Some(token) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(write.txn())
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
        .exec(write.txn())
        .await?
        .rows_affected;
    if marked == 0 {
        tracing::warn!(target: "orgql::auth", session_id = %token.session_id, "refresh token reused; revoking its session");
        revoke_sessions(write.txn(), session::Column::Id.eq(token.session_id)).await?;
        write
            .commit(
                AuditActor::system(),
                meta,
                None,
                Entry::new(
                    AuditAction::SessionRevokedOnReuse,
                    token.session_id,
                    json!({}),
                ),
            )
            .await?;
        return Err(AppError::Unauthenticated);
    }
    if token.expires_at <= now {
        return Err(AppError::Unauthenticated);
    }
    let Some((session, Some(user))) = session::Entity::find_by_id(token.session_id)
        .find_also_related(user::Entity)
        .one(write.txn())
        .await?
    else {
        return Err(AppError::Unauthenticated);
    };
    if session.revoked_at.is_some() {
        return Err(AppError::Unauthenticated);
    }
    let active = match session.active_organization_id {
        Some(org_id)
            if access::membership(write.txn(), user.id, org_id)
                .await?
                .is_some() =>
        {
            organization::Entity::find_by_id(org_id)
                .one(write.txn())
                .await?
        }
        _ => None,
    };
    session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session.id))
        .exec(write.txn())
        .await?;
    let entry = Entry::new(AuditAction::SessionRefreshed, session.id, json!({}));
    let who = AuditActor::account(&user);
    let issued = issue(write.txn(), auth, user, session.id, active).await?;
    write.commit(who, meta, None, entry).await?;
    Ok(issued)
}

/// Ends the actor's current session: its access and refresh tokens stop
/// working at once.
#[tracing::instrument(skip_all)]
pub async fn log_out(db: &DatabaseConnection, actor: &Actor) -> AppResult<Uuid> {
    let session_id = actor.require_person()?.session_id;
    let write = Write::begin(db).await?;
    revoke_sessions(write.txn(), session::Column::Id.eq(session_id)).await?;
    write
        .commit(
            AuditActor::of(actor),
            &actor.meta,
            None,
            Entry::new(AuditAction::SessionLoggedOut, session_id, json!({})),
        )
        .await?;
    Ok(session_id)
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
    organization_id: OrganizationId,
) -> AppResult<(String, DateTime<Utc>, organization::Model)> {
    let person = actor.require_person()?;
    let session_id = person.session_id;
    let organization_id = Uuid::from(organization_id);
    let write = Write::begin(db).await?;
    let organization = organization::Entity::find_by_id(organization_id)
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    if access::membership(write.txn(), person.user_id, organization_id)
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
        .exec(write.txn())
        .await?;
    user::Entity::update_many()
        .col_expr(
            user::Column::LastOrganizationId,
            Expr::value(organization_id),
        )
        .filter(user::Column::Id.eq(person.user_id))
        .exec(write.txn())
        .await?;
    let (token, expires_at) = auth.tokens.issue(
        person.user_id,
        session_id,
        Some(organization_id),
        i64::from(organization.jwt_expiry_secs),
    )?;
    write
        .commit(
            AuditActor::of(actor),
            &actor.meta,
            None,
            Entry::new(
                AuditAction::SessionOrganizationSwitched,
                session_id,
                json!({ "from": person.active_organization_id, "to": organization_id }),
            ),
        )
        .await?;
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
                principal: Principal::Person(Person {
                    user_id: user.id,
                    email: user.email,
                    session_id: session.id,
                    session_started_at: session.created_at,
                    is_platform_admin: user.is_platform_admin,
                    active_organization_id: claims.org,
                }),
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
    let write = Write::begin(db).await?;
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    let mut active: user::ActiveModel = user.into();
    active.is_platform_admin = Set(true);
    active.updated_at = Set(Utc::now());
    let user = active.update(write.txn()).await?;
    write
        .commit(
            AuditActor::system(),
            &RequestMeta::default(),
            None,
            Entry::new(
                AuditAction::UserPlatformAdminGranted,
                user.id,
                json!({ "email": user.email }),
            ),
        )
        .await?;
    Ok(user)
}
