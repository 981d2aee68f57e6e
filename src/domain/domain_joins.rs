//! Joining by verified domain (issue #13).
//!
//! Rules enforced here: an organization opens itself to a domain by naming
//! it in its policy's `autoJoinDomains`, which may hold only domains the
//! organization has verified (checked when the policy is written, and again
//! at every join, so a domain removed or verified away later admits nobody).
//! A person may join when their address is verified (DESIGN §3: an
//! unproven address says nothing about its domain) and its domain is one of
//! those; they get the policy's `defaultRole` (VIEWER or MEMBER). Guests
//! join only through guest doors. A join is a write into the organization:
//! its row is locked first (`SELECT … FOR UPDATE` on PostgreSQL, the
//! IMMEDIATE transaction on SQLite), then its suspension, IP allowlist and
//! seat limit apply, so concurrent joins take turns and never pass the
//! limit.

use entity::{member, organization, user};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::access;
use crate::domain::authz::{Actor, Person, Policy};
use crate::domain::domains;
use crate::domain::members;
use crate::domain::write::Write;
use crate::error::{AppError, AppResult};

/// The domain of an address, lower-cased.
fn domain_of(email: &str) -> Option<String> {
    email
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_lowercase())
}

/// Whether a person's address may join `organization` by its domain: a
/// verified address, not a guest, at a domain the policy names and the
/// organization has verified.
async fn admits<C: ConnectionTrait>(
    db: &C,
    person: &Person,
    organization: &organization::Model,
    policy: &Policy,
) -> AppResult<Option<String>> {
    if !person.email_verified || person.is_guest {
        return Ok(None);
    }
    let Some(domain) = domain_of(&person.email) else {
        return Ok(None);
    };
    if !policy.auto_join_domains.contains(&domain)
        || !domains::is_verified_by(db, organization.id, &domain).await?
    {
        return Ok(None);
    }
    Ok(Some(domain))
}

/// The organizations the person may join by their address's domain (at
/// most one: a domain is verified by one organization), unless they are a
/// member already.
pub async fn joinable<C: ConnectionTrait>(
    db: &C,
    person: &Person,
) -> AppResult<Vec<organization::Model>> {
    if !person.email_verified || person.is_guest {
        return Ok(Vec::new());
    }
    let Some(domain) = domain_of(&person.email) else {
        return Ok(Vec::new());
    };
    let Some(organization_id) = domains::verified_organization_for(db, &domain).await? else {
        return Ok(Vec::new());
    };
    let Some(organization) = organization::Entity::find_by_id(organization_id)
        .one(db)
        .await?
    else {
        return Ok(Vec::new());
    };
    let policy = Policy::of(&organization)?;
    if admits(db, person, &organization, &policy).await?.is_none()
        || access::membership(db, person.user_id, organization_id)
            .await?
            .is_some()
    {
        return Ok(Vec::new());
    }
    Ok(vec![organization])
}

/// Joins an organization by the domain of the person's verified address,
/// with the policy's `defaultRole`, within the seat limit and the IP
/// allowlist. An organization that does not admit them looks absent
/// (NOT_FOUND); an unverified address is FORBIDDEN (verify it first).
#[tracing::instrument(skip_all, fields(%organization_id))]
pub async fn join(
    db: &DatabaseConnection,
    actor: &Actor,
    organization_id: Uuid,
) -> AppResult<(member::Model, organization::Model)> {
    let person = actor.require_person()?;
    if !person.email_verified {
        return Err(AppError::Forbidden(
            "verify your email address first: joining by domain needs a proven address",
        ));
    }
    let write = Write::begin(db)
        .await?
        .enter(actor, organization_id)
        .await?;
    let organization = write.organization().clone();
    let policy = write.access().gate.policy.clone();
    let Some(domain) = admits(write.txn(), person, &organization, &policy).await? else {
        tracing::debug!(target: "orgql::access", %organization_id, "join by domain refused: not admitted");
        return Err(AppError::NotFound);
    };
    if write.access().membership.is_some() {
        return Err(AppError::AlreadyMember);
    }
    if !policy.allows_email(&person.email) {
        return Err(AppError::Forbidden(
            "this organization's policy admits only its allowed email domains",
        ));
    }
    // Seats are counted under the organization's lock (`admit`).
    let membership = members::admit(
        write.txn(),
        &organization,
        person.user_id,
        policy.default_role,
        false,
    )
    .await?;
    write
        .commit(Entry::new(
            AuditAction::MemberJoinedByDomain,
            membership.id,
            json!({
                "userId": person.user_id,
                "role": membership.role,
                "domain": domain,
            }),
        ))
        .await?;
    Ok((membership, organization))
}

/// Adds a person automatically where the policy says so
/// (`autoJoinOnSignIn`), when they sign in or prove their address. A
/// refusal (seats, allowlist, suspension) leaves them out quietly: they can
/// still be invited, and signing in must not fail because of it.
pub async fn join_automatically(db: &DatabaseConnection, actor: &Actor) {
    let Some(person) = actor.person() else {
        return;
    };
    let candidates = match joinable(db, person).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(target: "orgql::access", error = %e, "could not look for organizations to join by domain");
            return;
        }
    };
    for organization in candidates {
        if !Policy::of(&organization).is_ok_and(|p| p.auto_join_on_sign_in) {
            continue;
        }
        if let Err(e) = join(db, actor, organization.id).await {
            tracing::info!(target: "orgql::access", organization_id = %organization.id, error = %e, "not added by domain");
        }
    }
}

/// The actor for a person who just proved who they are, before a request
/// of their session is made (for [`join_automatically`], and for a guest's
/// first entry).
pub fn actor_for(
    user: &user::Model,
    session_id: Uuid,
    meta: &crate::domain::authz::RequestMeta,
    authentication: crate::domain::authz::Authentication,
) -> Actor {
    Actor {
        principal: crate::domain::authz::Principal::Person(Person {
            user_id: user.id,
            email: user.email.clone(),
            email_verified: user.email_verified_at.is_some(),
            session_id,
            session_started_at: chrono::Utc::now(),
            is_platform_admin: user.is_platform_admin,
            active_organization_id: None,
            authentication,
            is_guest: user.is_guest,
        }),
        meta: meta.clone(),
    }
}
