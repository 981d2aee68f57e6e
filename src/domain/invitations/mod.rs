//! Personal invitations to an email address. (Long because creating,
//! revoking and resending share their rules and their row; a list of
//! invitations is `bulk.rs`, the invitee's answer `respond.rs`.)
//!
//! Rules enforced here: only members:manage invites, and never above their
//! own role; one pending invitation per address; pending invitations take
//! seats of the tier's member limit; the token (256 random bits) is shown
//! once and stored as its SHA-256; it works once, only for an account with
//! the invited email (compared case-insensitively), and a wrong account
//! leaves it valid for the right one. A guest invitation (issue #13) is
//! VIEWER, exists only while the policy admits guests, and is accepted
//! with its token alone (`accounts::accept_guest_invitation`).

use chrono::{DateTime, Duration, Utc};
use entity::{
    invitation, member, team, user,
    values::{InvitationStatus, Role},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::secrets;
use crate::domain::audit::AuditAction;
use crate::domain::audit::Entry;
use crate::domain::authz::matrix::{Permission, Via, may_assign, role_for_new_member};
use crate::domain::authz::{Actor, Policy};
use crate::domain::ids::{InvitationId, OrganizationId, new_id};
use crate::domain::members;
use crate::domain::values::Email;
use crate::domain::write::{OrgWrite, Write};
use crate::error::{AppError, AppResult, Constraint, ResultExt};
use crate::mail::outbox::{Mail, Outbox};
use crate::mail::render;

mod bulk;
mod respond;

pub use bulk::{Invitee, Outcome, create_many};
pub(crate) use respond::redeem;
pub use respond::{InvitationRef, accept, decline};

pub const MAX_TTL_HOURS: i64 = 168;

/// The status a reader sees: PENDING past its expiry reads EXPIRED.
pub fn status_at(invitation: &invitation::Model, now: DateTime<Utc>) -> InvitationStatus {
    match invitation.status {
        InvitationStatus::Pending if invitation.expires_at <= now => InvitationStatus::Expired,
        status => status,
    }
}

pub struct NewInvitation {
    pub organization_id: OrganizationId,
    pub email: String,
    pub role: Option<Role>,
    pub expires_in_hours: Option<i32>,
    pub team_ids: Vec<Uuid>,
    /// A guest invitation: VIEWER, accepted without an account.
    pub guest: bool,
}

/// An invitation with its secret token, which is shown this once.
pub struct IssuedInvitation {
    pub invitation: invitation::Model,
    pub token: String,
    pub accept_url: String,
}

fn ttl(expires_in_hours: Option<i32>, policy: &Policy) -> AppResult<Duration> {
    let hours = expires_in_hours.map_or(i64::from(policy.invitation_ttl_hours), i64::from);
    if !(1..=MAX_TTL_HOURS).contains(&hours) {
        return Err(AppError::bad_input(
            "expiresInHours",
            format!("an invitation lasts 1 to {MAX_TTL_HOURS} hours"),
        ));
    }
    Ok(Duration::hours(hours))
}

fn accept_url(outbox: &Outbox, invitation: &invitation::Model, token: &str) -> String {
    let path = if invitation.guest {
        "guest/accept"
    } else {
        "invitations/accept"
    };
    format!("{}/{path}?token={token}", outbox.public_url)
}

/// The invitation email (with its one-time link), and the link. The
/// organization's name and the inviter's address are rendered inert
/// (`mail::render`): the only link is orgql's own.
fn invitation_mail(
    outbox: &Outbox,
    organization: &entity::organization::Model,
    actor: &Actor,
    invitation: &invitation::Model,
    token: &str,
) -> (Mail, String) {
    let name = render::inline(&organization.name);
    let inviter = render::inline(inviter_label(actor));
    let url = accept_url(outbox, invitation, token);
    let (role, how) = if invitation.guest {
        (
            "a guest".to_owned(),
            "You need no password: the link signs you in.",
        )
    } else {
        (format!("{:?}", invitation.role).to_uppercase(), "")
    };
    let body = format!(
        "{inviter} invited you to join {name} on orgql as {role}.\n\nAccept the invitation: {url}\n{how}\nThe link works once and expires at {} (UTC).\n",
        invitation.expires_at.format("%Y-%m-%d %H:%M"),
    );
    let mail = Mail::new(
        &invitation.email,
        &format!("You are invited to join {name}"),
        body,
    );
    (mail, url)
}

/// Queues the invitation email in the write's transaction and commits with
/// the change's audit entry: the email goes out if and only if the change
/// is kept.
async fn send(
    mut write: OrgWrite<'_>,
    outbox: &Outbox,
    invitation: invitation::Model,
    token: String,
    entry: Entry,
) -> AppResult<IssuedInvitation> {
    let (mail, url) = invitation_mail(
        outbox,
        write.organization(),
        write.actor(),
        &invitation,
        &token,
    );
    write.send(outbox, mail).await?;
    write.commit(entry).await?;
    Ok(IssuedInvitation {
        invitation,
        token,
        accept_url: url,
    })
}

/// Who an invitation email says invited you.
fn inviter_label(actor: &Actor) -> &str {
    match actor.person() {
        Some(person) => &person.email,
        None => "An administrator",
    }
}

/// One pending invitation per email address and organization (a partial
/// index: `WHERE status = 'PENDING'`).
const PENDING_EMAIL_UNIQUE: Constraint = Constraint {
    name: "uq_invitations_pending_email",
    sqlite: "invitations.organization_id, invitations.email",
};

fn already_invited() -> AppError {
    AppError::taken(
        "email",
        "a pending invitation to this email exists: resend it instead",
    )
}

/// Invites an email address (members:manage).
#[tracing::instrument(skip_all, fields(organization_id = %input.organization_id))]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    outbox: &Outbox,
    input: NewInvitation,
) -> AppResult<IssuedInvitation> {
    let email = Email::parse("email", &input.email)?;
    let role = role_for_new_member(Via::Invitation, input.role, input.guest, "role")?;

    let write = OrgWrite::begin(
        db,
        actor,
        input.organization_id.into(),
        Permission::MembersManage,
    )
    .await?;
    may_invite_as(&write, role)?;
    let organization = write.organization().clone();
    let policy = write.policy().clone();
    let ttl = ttl(input.expires_in_hours, &policy)?;
    if input.guest && !policy.guest_access_enabled {
        return Err(AppError::bad_input(
            "guest",
            "this organization's policy does not admit guests: turn on guestAccessEnabled first",
        ));
    }
    let now = Utc::now();
    match standing(write.txn(), &organization, &policy, &email, now).await? {
        Standing::Free => {}
        Standing::RefusedByDomainPolicy => {
            return Err(AppError::bad_input(
                "email",
                "this organization's policy admits only its allowed email domains",
            ));
        }
        Standing::AlreadyMember => return Err(AppError::AlreadyMember),
        Standing::AlreadyInvited => return Err(already_invited()),
    }
    ensure_teams(write.txn(), organization.id, &input.team_ids, "teamIds").await?;
    let used = members::seats_used(write.txn(), organization.id).await?;
    crate::domain::tiers::ensure_room(
        organization.tier,
        crate::domain::tiers::Resource::Members,
        used,
        1,
    )?;
    let (invitation, token) = insert(
        write.txn(),
        actor,
        organization.id,
        email,
        &input.team_ids,
        Terms {
            role,
            expires_at: now + ttl,
            guest: input.guest,
        },
    )
    .await?;
    let entry = created_entry(&invitation, &input.team_ids);
    send(write, outbox, invitation, token, entry).await
}

/// Refuses inviting above the inviter's own rank.
fn may_invite_as(write: &OrgWrite<'_>, role: Role) -> AppResult<()> {
    if !may_assign(write.acting_role()?, role) {
        return Err(AppError::Forbidden(
            "you may not invite someone above your own role",
        ));
    }
    Ok(())
}

/// Where an address stands toward a new invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Nothing stands in the way.
    Free,
    /// The person is a member already.
    AlreadyMember,
    /// A pending, unexpired invitation to the address exists.
    AlreadyInvited,
    /// The policy's `allowedEmailDomains` leaves the address out.
    RefusedByDomainPolicy,
}

/// Where `email` stands, read under the organization's lock. A pending
/// invitation past its expiry is marked EXPIRED on the way, so it no
/// longer blocks a new one.
async fn standing<C: ConnectionTrait>(
    txn: &C,
    organization: &entity::organization::Model,
    policy: &Policy,
    email: &Email,
    now: DateTime<Utc>,
) -> AppResult<Standing> {
    if !policy.allows_email(email.as_str()) {
        return Ok(Standing::RefusedByDomainPolicy);
    }
    let existing_member = member::Entity::find()
        .inner_join(user::Entity)
        .filter(member::Column::OrganizationId.eq(organization.id))
        .filter(user::Column::Email.eq(email.as_str()))
        .one(txn)
        .await?;
    if existing_member.is_some() {
        return Ok(Standing::AlreadyMember);
    }
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            Expr::value(InvitationStatus::Expired),
        )
        .filter(invitation::Column::OrganizationId.eq(organization.id))
        .filter(invitation::Column::Email.eq(email.as_str()))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.lte(now))
        .exec(txn)
        .await?;
    let pending = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(organization.id))
        .filter(invitation::Column::Email.eq(email.as_str()))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .count(txn)
        .await?;
    Ok(if pending > 0 {
        Standing::AlreadyInvited
    } else {
        Standing::Free
    })
}

/// Refuses teams that are not the organization's.
async fn ensure_teams<C: ConnectionTrait>(
    txn: &C,
    organization_id: Uuid,
    team_ids: &[Uuid],
    field: &str,
) -> AppResult<()> {
    let distinct: std::collections::HashSet<&Uuid> = team_ids.iter().collect();
    let teams_in_org = team::Entity::find()
        .filter(team::Column::OrganizationId.eq(organization_id))
        .filter(team::Column::Id.is_in(distinct.iter().copied().copied()))
        .count(txn)
        .await?;
    if teams_in_org != distinct.len() as u64 {
        return Err(AppError::bad_input(
            field,
            "every team must belong to this organization",
        ));
    }
    Ok(())
}

/// The audit entry of a new invitation.
fn created_entry(invitation: &invitation::Model, team_ids: &[Uuid]) -> Entry {
    Entry::new(
        AuditAction::InvitationCreated,
        invitation.id,
        json!({
            "email": invitation.email,
            "role": invitation.role,
            "teamIds": team_ids,
            "expiresAt": invitation.expires_at,
            "guest": invitation.guest,
        }),
    )
}

/// What an invitation offers: the role, until when, and whether to a
/// guest.
struct Terms {
    role: Role,
    expires_at: DateTime<Utc>,
    guest: bool,
}

/// Stores a pending invitation with a fresh token (returned, never
/// stored). Call after the checks, under the organization's lock.
async fn insert<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    organization_id: Uuid,
    email: Email,
    team_ids: &[Uuid],
    Terms {
        role,
        expires_at,
        guest,
    }: Terms,
) -> AppResult<(invitation::Model, String)> {
    let now = Utc::now();
    let token = secrets::generate();
    let invitation = invitation::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization_id),
        email: Set(email.into_string()),
        role: Set(role),
        status: Set(InvitationStatus::Pending),
        token_hash: Set(secrets::digest(&token)),
        invited_by_user_id: Set(actor.user_id()),
        team_ids: Set(json!(team_ids)),
        expires_at: Set(expires_at),
        created_at: Set(now),
        updated_at: Set(now),
        accepted_by_user_id: Set(None),
        guest: Set(guest),
    }
    .insert(txn)
    .await
    .on_unique(PENDING_EMAIL_UNIQUE, already_invited)?;
    Ok((invitation, token))
}

async fn set_status<C: ConnectionTrait>(
    txn: &C,
    found: invitation::Model,
    status: InvitationStatus,
) -> AppResult<invitation::Model> {
    let changed = invitation::Entity::update_many()
        .col_expr(invitation::Column::Status, Expr::value(status))
        .col_expr(invitation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(invitation::Column::Id.eq(found.id))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .exec(txn)
        .await?
        .rows_affected;
    if changed == 0 {
        return Err(AppError::conflict("this invitation is no longer pending"));
    }
    Ok(invitation::Model { status, ..found })
}

/// Opens a write on an invitation for someone who manages the
/// organization's members.
async fn begin_managing<'a>(
    db: &DatabaseConnection,
    actor: &'a Actor,
    invitation_id: InvitationId,
) -> AppResult<(OrgWrite<'a>, invitation::Model)> {
    let write = Write::begin(db).await?;
    let found = invitation::Entity::find_by_id(Uuid::from(invitation_id))
        .one(write.txn())
        .await?
        .ok_or(AppError::NotFound)?;
    let write = write
        .authorize(actor, found.organization_id, Permission::MembersManage)
        .await?;
    Ok((write, found))
}

/// Withdraws a pending invitation (members:manage).
#[tracing::instrument(skip_all, fields(%invitation_id))]
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    invitation_id: InvitationId,
) -> AppResult<invitation::Model> {
    let (write, found) = begin_managing(db, actor, invitation_id).await?;
    let revoked = set_status(write.txn(), found, InvitationStatus::Revoked).await?;
    write
        .commit(Entry::new(
            AuditAction::InvitationRevoked,
            revoked.id,
            json!({ "email": revoked.email }),
        ))
        .await?;
    Ok(revoked)
}

/// Sends a pending (or expired) invitation again with a new token and a
/// new expiry; the old token stops working (members:manage).
#[tracing::instrument(skip_all, fields(%invitation_id))]
pub async fn resend(
    db: &DatabaseConnection,
    actor: &Actor,
    outbox: &Outbox,
    invitation_id: InvitationId,
    expires_in_hours: Option<i32>,
) -> AppResult<IssuedInvitation> {
    let (write, found) = begin_managing(db, actor, invitation_id).await?;
    let organization = write.organization().clone();
    let ttl = ttl(expires_in_hours, write.policy())?;
    let now = Utc::now();
    if !matches!(
        found.status,
        InvitationStatus::Pending | InvitationStatus::Expired
    ) {
        return Err(AppError::conflict(
            "only a pending or expired invitation can be resent",
        ));
    }
    may_invite_as(&write, found.role)?;
    if status_at(&found, now) == InvitationStatus::Expired {
        // Revived (whether or not its status was ever written as EXPIRED):
        // it takes a seat again, checked under the organization's lock.
        let used = members::seats_used(write.txn(), organization.id).await?;
        crate::domain::tiers::ensure_room(
            organization.tier,
            crate::domain::tiers::Resource::Members,
            used,
            1,
        )?;
    }
    let token = secrets::generate();
    let mut active: invitation::ActiveModel = found.into();
    active.token_hash = Set(secrets::digest(&token));
    active.status = Set(InvitationStatus::Pending);
    active.expires_at = Set(now + ttl);
    active.updated_at = Set(now);
    let invitation = active
        .update(write.txn())
        .await
        .on_unique(PENDING_EMAIL_UNIQUE, already_invited)?;
    let entry = Entry::new(
        AuditAction::InvitationResent,
        invitation.id,
        json!({ "email": invitation.email, "expiresAt": invitation.expires_at }),
    );
    send(write, outbox, invitation, token, entry).await
}
