//! Inviting a list of addresses at once (issue #13): the same rules as one
//! invitation (rank, allowed email domains, one pending invitation per
//! address, teams of this organization), checked for every address under
//! one lock of the organization, and all or nothing under the tier's seat
//! limit: if the new invitations do not all fit, none is created and no
//! email is queued. Each invitation gets its own audit entry and its own
//! email through the outbox; addresses that are members already, invited
//! already or outside the allowed domains are reported, not invited.

use std::collections::HashSet;

use chrono::Utc;
use entity::{invitation, values::Role};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{
    Standing, Terms, created_entry, ensure_teams, insert, invitation_mail, may_invite_as, standing,
    ttl,
};
use crate::domain::authz::Actor;
use crate::domain::authz::matrix::Permission;
use crate::domain::ids::OrganizationId;
use crate::domain::members;
use crate::domain::tiers::{self, Resource};
use crate::domain::values::Email;
use crate::domain::write::OrgWrite;
use crate::error::{AppError, AppResult};
use crate::mail::outbox::Outbox;

/// The most addresses one call invites.
pub const MAX_INVITATIONS: usize = 100;

/// One address of the list.
pub struct Invitee {
    pub email: String,
    pub role: Option<Role>,
    pub team_ids: Vec<Uuid>,
}

/// What happened to one address.
pub enum Outcome {
    /// Invited: the invitation, its email queued.
    Created(invitation::Model),
    AlreadyMember,
    AlreadyInvited,
    RefusedByDomainPolicy,
}

/// Invites up to [`MAX_INVITATIONS`] addresses (members:manage); answers
/// per address, in the order given. Malformed input (a bad address, the
/// same address twice, a role above the inviter's, a team of another
/// organization) refuses the whole list, as does a list whose new
/// invitations would not all fit the tier's seats (TIER_LIMIT_EXCEEDED).
#[tracing::instrument(skip_all, fields(%organization_id, count = invitees.len()))]
pub async fn create_many(
    db: &DatabaseConnection,
    actor: &Actor,
    outbox: &Outbox,
    organization_id: OrganizationId,
    invitees: Vec<Invitee>,
) -> AppResult<Vec<(String, Outcome)>> {
    if invitees.is_empty() || invitees.len() > MAX_INVITATIONS {
        return Err(AppError::bad_input(
            "invitations",
            format!("invite 1 to {MAX_INVITATIONS} addresses at once"),
        ));
    }
    let mut parsed = Vec::with_capacity(invitees.len());
    let mut seen = HashSet::new();
    for (i, invitee) in invitees.into_iter().enumerate() {
        let field = format!("invitations.{i}.email");
        let email = Email::parse(&field, &invitee.email)?;
        if !seen.insert(email.as_str().to_owned()) {
            return Err(AppError::bad_input(
                &field,
                "this address appears twice in the list",
            ));
        }
        parsed.push((
            i,
            email,
            invitee.role.unwrap_or(Role::Member),
            invitee.team_ids,
        ));
    }

    let mut write =
        OrgWrite::begin(db, actor, organization_id.into(), Permission::MembersManage).await?;
    let organization = write.organization().clone();
    let policy = write.policy().clone();
    let expires_at = Utc::now() + ttl(None, &policy)?;
    let now = Utc::now();
    let mut standings = Vec::with_capacity(parsed.len());
    for (i, email, role, team_ids) in &parsed {
        may_invite_as(&write, *role)?;
        ensure_teams(
            write.txn(),
            organization.id,
            team_ids,
            &format!("invitations.{i}.teamIds"),
        )
        .await?;
        standings.push(standing(write.txn(), &organization, &policy, email, now).await?);
    }
    let fresh = standings.iter().filter(|s| **s == Standing::Free).count() as u64;
    if fresh > 0 {
        // All or nothing: the whole list's new seats, checked at once.
        let used = members::seats_used(write.txn(), organization.id).await?;
        tiers::ensure_room(organization.tier, Resource::Members, used, fresh)?;
    }

    let mut outcomes = Vec::with_capacity(parsed.len());
    let mut entries = Vec::new();
    for ((_, email, role, team_ids), standing) in parsed.into_iter().zip(standings) {
        let address = email.as_str().to_owned();
        let outcome = match standing {
            Standing::AlreadyMember => Outcome::AlreadyMember,
            Standing::AlreadyInvited => Outcome::AlreadyInvited,
            Standing::RefusedByDomainPolicy => Outcome::RefusedByDomainPolicy,
            Standing::Free => {
                let (invitation, token) = insert(
                    write.txn(),
                    actor,
                    organization.id,
                    email,
                    &team_ids,
                    Terms {
                        role,
                        expires_at,
                        guest: false,
                    },
                )
                .await?;
                let (mail, _) = invitation_mail(outbox, &organization, actor, &invitation, &token);
                write.send(outbox, mail).await?;
                entries.push(created_entry(&invitation, &team_ids));
                Outcome::Created(invitation)
            }
        };
        outcomes.push((address, outcome));
    }
    write.commit_all(entries).await?;
    Ok(outcomes)
}
