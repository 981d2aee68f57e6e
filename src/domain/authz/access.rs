//! Tenant isolation and permission checks: the one access decision.
//!
//! Enforces DESIGN §4: an organization the actor does not belong to looks
//! absent (NOT_FOUND), one they see but may not change answers FORBIDDEN,
//! and a suspended organization is read-only for its members. Guards in the
//! GraphQL layer call [`decide_for`] through their batched loader; domain
//! functions reach the same decision through [`authorize`] and the write
//! path (`domain::write`), because a domain function must be safe to call
//! from anywhere.

use entity::{member, organization, values::OrganizationStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use chrono::Utc;

use super::matrix::{Decision, Permission, Role, decide_with};
use super::network;
use super::policy::Policy;
use super::principal::{Actor, Person, Principal};
use crate::error::{AppError, AppResult};

/// An organization together with the actor's membership in it.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    pub organization: organization::Model,
    /// None for a platform administrator who is not a member.
    pub membership: Option<member::Model>,
    /// The organization's gate, its policy parsed once.
    pub gate: Gate,
}

/// The actor's membership in an organization, if any (an API token has
/// none).
pub async fn actor_membership<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    organization_id: Uuid,
) -> AppResult<Option<member::Model>> {
    match actor.user_id() {
        Some(user_id) => membership(db, user_id, organization_id).await,
        None => Ok(None),
    }
}

/// A user's membership in an organization, if any.
pub async fn membership<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    organization_id: Uuid,
) -> AppResult<Option<member::Model>> {
    Ok(member::Entity::find()
        .filter(member::Column::OrganizationId.eq(organization_id))
        .filter(member::Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// What an organization says about access beyond roles: its policy.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    pub policy: Policy,
    /// `ssoRequired`, while the organization is on a tier with SSO.
    pub sso_required: bool,
}

impl Gate {
    /// The organization's gate; an error when its policy cannot be read
    /// (fail closed).
    pub fn of(organization: &organization::Model) -> AppResult<Self> {
        let policy = Policy::of(organization)?;
        Ok(Self {
            sso_required: policy.sso_required
                && organization.tier == entity::values::Tier::Enterprise,
            policy,
        })
    }
}

/// The one access decision, for guards and domain functions alike. A
/// session started before its membership's cutoff
/// (`revokeOrganizationSessions`), or older than the policy's session
/// timeout, is UNAUTHENTICATED there; a member's session that did not pass
/// MFA is MFA_REQUIRED where the policy requires it (enrolling is
/// account-level, so it stays open to them); a member's session that did
/// not come through the organization's single sign-on is SSO_REQUIRED
/// where the policy requires it, OWNERs excepted (their emergency bypass);
/// an API token holds its scopes, in its own organization only and never
/// beyond its creator, and no MFA or SSO rule applies to it; a person holds
/// what their role grants, as the policy adjusts it. A guest holds no more
/// than [`GUEST_PERMISSIONS`](super::guests::GUEST_PERMISSIONS), and nothing at all where the policy does not
/// admit guests (their memberships end when it is turned off; this holds
/// even so).
pub fn decide_for(
    actor: &Actor,
    organization_id: Uuid,
    gate: &Gate,
    membership: Option<&member::Model>,
    permission: Permission,
) -> AppResult<Decision> {
    let role = membership.map(|m| m.role);
    match &actor.principal {
        Principal::ApiToken(grant) => Ok(if grant.organization_id != organization_id {
            Decision::DenyHidden
        } else if grant.scopes.contains(&permission)
            && !permission.is_owner_only()
            && gate.policy.role_has(grant.creator_role, permission)
        {
            // A token holds its scopes only while its creator does: it
            // never acts above the person who made it.
            Decision::Allow
        } else {
            Decision::DenyForbidden
        }),
        Principal::Directory(grant) => Ok(if grant.organization_id != organization_id {
            Decision::DenyHidden
        } else if super::principal::DIRECTORY_PERMISSIONS.contains(&permission) {
            Decision::Allow
        } else {
            Decision::DenyForbidden
        }),
        Principal::Person(person) => {
            if let Some(membership) = membership {
                ensure_session_holds(person, organization_id, gate, membership)?;
                if person.is_guest && !gate.policy.guest_access_enabled {
                    tracing::debug!(target: "orgql::access", %organization_id, "guest refused: guest access is off");
                    return Ok(Decision::DenyHidden);
                }
                ensure_mfa(person, organization_id, gate)?;
                // OWNERs keep an emergency bypass (the issue's "SSO
                // enforcement has an owner bypass").
                if gate.sso_required
                    && membership.role != Role::Owner
                    && !person.authentication.through_sso_of(organization_id)
                {
                    tracing::debug!(target: "orgql::access", %organization_id, "session not from the organization's SSO refused here");
                    return Err(AppError::SsoRequired(
                        "this organization requires single sign-on: sign in through its identity provider (ssoLoginUrl)",
                    ));
                }
            } else if person.is_platform_admin {
                // Staff accounts are the most valuable ones: inside an
                // organization that requires MFA, they too must have
                // signed in with it (issue #28).
                ensure_mfa(person, organization_id, gate)?;
            }
            Ok(decide_with(
                role,
                person.is_platform_admin,
                permission,
                |role, permission| {
                    gate.policy.role_has(role, permission)
                        && (!person.is_guest
                            || super::guests::GUEST_PERMISSIONS.contains(&permission))
                },
            ))
        }
    }
}

/// A member's session still holds in the organization: it started after
/// the membership's cutoff (`revokeOrganizationSessions`) and within the
/// policy's session timeout; UNAUTHENTICATED otherwise. Even leaving needs
/// this: a revoked session may not act for the person at all.
pub fn ensure_session_holds(
    person: &Person,
    organization_id: Uuid,
    gate: &Gate,
    membership: &member::Model,
) -> AppResult<()> {
    let started_at = person.session_started_at;
    let revoked = membership
        .sessions_revoked_before
        .is_some_and(|cutoff| started_at < cutoff);
    let timed_out = gate
        .policy
        .session_timeout_hours
        .is_some_and(|hours| started_at + chrono::Duration::hours(hours.into()) < Utc::now());
    if revoked || timed_out {
        tracing::debug!(target: "orgql::access", %organization_id, revoked, timed_out, "session refused here");
        return Err(AppError::Unauthenticated);
    }
    Ok(())
}

/// MFA_REQUIRED when the organization requires multi-factor
/// authentication and the session did not pass it.
pub fn ensure_mfa(person: &Person, organization_id: Uuid, gate: &Gate) -> AppResult<()> {
    if gate.policy.require_mfa && !person.authentication.passed_mfa() {
        tracing::debug!(target: "orgql::access", %organization_id, "session without MFA refused here");
        return Err(AppError::MfaRequired(
            "this organization requires multi-factor authentication: turn it on with enrollTotp, then sign in again with a code",
        ));
    }
    Ok(())
}

/// Whether the actor may see the organization at all.
pub fn may_see(
    actor: &Actor,
    organization: &organization::Model,
    membership: Option<&member::Model>,
) -> bool {
    match &actor.principal {
        Principal::ApiToken(grant) => grant.organization_id == organization.id,
        Principal::Directory(grant) => grant.organization_id == organization.id,
        Principal::Person(person) => membership.is_some() || person.is_platform_admin,
    }
}

impl OrgAccess {
    /// The role the actor acts with where rank rules apply: their own, or
    /// an API token's (see `TokenGrant::acting_role`).
    pub fn acting_role(&self, actor: &Actor) -> Option<Role> {
        match actor.api_token() {
            Some(grant) => Some(grant.acting_role()),
            None => self.membership.as_ref().map(|m| m.role),
        }
    }

    /// Whether the actor holds `permission` here.
    pub fn allows(&self, actor: &Actor, permission: Permission) -> bool {
        matches!(
            decide_for(
                actor,
                self.organization.id,
                &self.gate,
                self.membership.as_ref(),
                permission,
            ),
            Ok(Decision::Allow)
        )
    }
}

fn check(actor: &Actor, access: &OrgAccess, permission: Permission) -> AppResult<()> {
    decide_for(
        actor,
        access.organization.id,
        &access.gate,
        access.membership.as_ref(),
        permission,
    )?
    .into_result()
}

/// Loads an organization the actor may use with `permission`, for reading.
pub async fn authorize<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    organization_id: Uuid,
    permission: Permission,
) -> AppResult<OrgAccess> {
    let organization = organization::Entity::find_by_id(organization_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let access = OrgAccess {
        membership: actor_membership(db, actor, organization_id).await?,
        gate: Gate::of(&organization)?,
        organization,
    };
    check(actor, &access, permission)?;
    check_gate_network(db, actor, organization_id, &access.gate.policy).await?;
    Ok(access)
}

/// Applies the organization's IP allowlist, when its policy turns it on
/// (one more read, only then).
pub async fn check_network<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    organization: &organization::Model,
) -> AppResult<()> {
    check_gate_network(db, actor, organization.id, &Policy::of(organization)?).await
}

async fn check_gate_network<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    organization_id: Uuid,
    policy: &Policy,
) -> AppResult<()> {
    if !policy.ip_allowlist_enabled {
        return Ok(());
    }
    let networks = network::allowlist(db, organization_id).await?;
    network::check_network(actor, policy, &networks)
}

/// Whether the actor may read with `permission` in an organization: for
/// lookups by id, where anything the actor may not read is simply absent.
pub async fn may_read<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    organization_id: Uuid,
    permission: Permission,
) -> AppResult<bool> {
    match authorize(db, actor, organization_id, permission).await {
        Ok(_) => Ok(true),
        Err(AppError::NotFound | AppError::Forbidden(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Loads and locks (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's IMMEDIATE
/// transaction already holds the write lock) an organization the actor may
/// change with `permission`. Everything that guards an invariant of the
/// organization (its last owner, its limits) runs after this lock, so
/// concurrent writers to one organization take turns. A suspended
/// organization refuses writes.
pub async fn authorize_write<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    organization_id: Uuid,
    permission: Permission,
) -> AppResult<OrgAccess> {
    let organization = lock_organization(txn, organization_id).await?;
    let access = OrgAccess {
        membership: actor_membership(txn, actor, organization_id).await?,
        gate: Gate::of(&organization)?,
        organization,
    };
    check(actor, &access, permission)?;
    check_gate_network(txn, actor, organization_id, &access.gate.policy).await?;
    ensure_active(&access.organization)?;
    Ok(access)
}

/// Locks an organization's row for the rest of the transaction.
pub async fn lock_organization<C: ConnectionTrait>(
    txn: &C,
    organization_id: Uuid,
) -> AppResult<organization::Model> {
    organization::Entity::find_by_id(organization_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

/// A suspended organization is read-only.
pub fn ensure_active(organization: &organization::Model) -> AppResult<()> {
    match organization.status {
        OrganizationStatus::Active => Ok(()),
        OrganizationStatus::Suspended => Err(AppError::Forbidden(
            "this organization is suspended and read-only",
        )),
    }
}

/// Platform administration (suspension, tiers) is for platform
/// administrators only; anyone else learns nothing about the organization.
pub async fn require_platform_admin<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    organization_id: Uuid,
) -> AppResult<()> {
    if actor.is_platform_admin() {
        return Ok(());
    }
    match actor_membership(db, actor, organization_id).await? {
        Some(_) => Err(AppError::Forbidden(
            "only a platform administrator may do this",
        )),
        None => Err(AppError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::authz::policy::RoleOverride;
    use crate::domain::authz::principal::{Authentication, Person, RequestMeta};

    fn guest_viewer(organization_id: Uuid, guest: bool) -> (Actor, member::Model) {
        let user_id = Uuid::now_v7();
        let actor = Actor {
            principal: Principal::Person(Person {
                user_id,
                email: "gus@example.com".into(),
                email_verified: true,
                session_id: Uuid::now_v7(),
                session_started_at: Utc::now(),
                is_platform_admin: false,
                active_organization_id: None,
                authentication: Authentication::EmailLink,
                is_guest: guest,
            }),
            meta: RequestMeta::default(),
        };
        let membership = member::Model {
            id: Uuid::now_v7(),
            organization_id,
            user_id,
            role: Role::Viewer,
            joined_at: Utc::now(),
            sessions_revoked_before: None,
        };
        (actor, membership)
    }

    fn gate(guests: bool) -> Gate {
        let mut policy = Policy {
            guest_access_enabled: guests,
            ..Policy::default()
        };
        policy.role_permissions.insert(
            Role::Viewer,
            RoleOverride {
                grant: vec![Permission::TeamsCreate],
                withdraw: vec![],
            },
        );
        Gate {
            policy,
            sso_required: false,
        }
    }

    #[test]
    fn a_guest_reads_but_holds_no_permission_the_policy_grants_viewers() {
        let org = Uuid::now_v7();
        let (guest, membership) = guest_viewer(org, true);
        let decide = |actor: &Actor, permission| {
            decide_for(actor, org, &gate(true), Some(&membership), permission).unwrap()
        };
        assert_eq!(decide(&guest, Permission::MembersView), Decision::Allow);
        assert_eq!(
            decide(&guest, Permission::TeamsCreate),
            Decision::DenyForbidden
        );
        let (viewer, _) = guest_viewer(org, false);
        assert_eq!(decide(&viewer, Permission::TeamsCreate), Decision::Allow);
    }

    #[test]
    fn a_guest_sees_nothing_where_guest_access_is_off() {
        let org = Uuid::now_v7();
        let (guest, membership) = guest_viewer(org, true);
        let decision = decide_for(
            &guest,
            org,
            &gate(false),
            Some(&membership),
            Permission::OrgView,
        )
        .unwrap();
        assert_eq!(decision, Decision::DenyHidden);
    }
}
