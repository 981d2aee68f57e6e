//! Personal invitations to an email address.
//!
//! Rules enforced here: only members:manage invites, and never above their
//! own role; one pending invitation per address; pending invitations take
//! seats of the tier's member limit; the token (256 random bits) is shown
//! once and stored as its SHA-256; it works once, only for an account with
//! the invited email (compared case-insensitively), and a wrong account
//! leaves it valid for the right one.

use chrono::{DateTime, Duration, Utc};
use entity::{
    invitation, member, organization, team, team_member, user,
    values::{InvitationStatus, Role, TeamRole},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QueryTrait, Select, sea_query::Expr,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

use crate::auth::{Actor, secrets};
use crate::domain::access;
use crate::domain::audit::{self, AuditActor, Change};
use crate::domain::members;
use crate::domain::outbox::Outbox;
use crate::domain::pagination::{self, Page, PageRequest};
use crate::domain::permissions::{Permission, may_assign};
use crate::domain::policy::Policy;
use crate::domain::values::Email;
use crate::domain::{begin_write, ids::new_id};
use crate::error::{AppError, AppResult};

pub const MAX_TTL_HOURS: i64 = 168;

/// The status a reader sees: PENDING past its expiry reads EXPIRED.
pub fn status_at(invitation: &invitation::Model, now: DateTime<Utc>) -> InvitationStatus {
    match invitation.status {
        InvitationStatus::Pending if invitation.expires_at <= now => InvitationStatus::Expired,
        status => status,
    }
}

pub struct NewInvitation {
    pub organization_id: Uuid,
    pub email: String,
    pub role: Option<Role>,
    pub expires_in_hours: Option<i32>,
    pub team_ids: Vec<Uuid>,
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

fn accept_url(outbox: &Outbox, token: &str) -> String {
    format!("{}/invitations/accept?token={token}", outbox.public_url)
}

async fn queue_email<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    organization: &organization::Model,
    inviter: &str,
    invitation: &invitation::Model,
    token: &str,
) -> AppResult<String> {
    let url = accept_url(outbox, token);
    let body = format!(
        "{inviter} invited you to join {} on orgql as {}.\n\nAccept the invitation: {url}\n\nThe link works once and expires at {} (UTC).\n",
        organization.name,
        format!("{:?}", invitation.role).to_uppercase(),
        invitation.expires_at.format("%Y-%m-%d %H:%M"),
    );
    outbox
        .enqueue(
            txn,
            &invitation.email,
            &format!("You are invited to join {}", organization.name),
            body,
        )
        .await?;
    Ok(url)
}

/// Who an invitation email says invited you.
fn inviter_label(actor: &Actor) -> &str {
    match actor.api_token() {
        Some(_) => "An administrator",
        None => &actor.email,
    }
}

/// The actor's own role, which bounds what they may hand out.
fn inviter_role(actor: &Actor, access: &access::OrgAccess) -> AppResult<Role> {
    access.acting_role(actor).ok_or(AppError::Forbidden(
        "only members of this organization may invite",
    ))
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
    let role = input.role.unwrap_or(Role::Member);

    let txn = begin_write(db).await?;
    let access = access::authorize_write(
        &txn,
        actor,
        input.organization_id,
        Permission::MembersManage,
    )
    .await?;
    if !may_assign(inviter_role(actor, &access)?, role) {
        return Err(AppError::Forbidden(
            "you may not invite someone above your own role",
        ));
    }
    let organization = access.organization;
    let policy = Policy::of(&organization);
    let ttl = ttl(input.expires_in_hours, &policy)?;
    if !policy.allows_email(email.as_str()) {
        return Err(AppError::bad_input(
            "email",
            "this organization's policy admits only its allowed email domains",
        ));
    }
    let existing_member = member::Entity::find()
        .inner_join(user::Entity)
        .filter(member::Column::OrganizationId.eq(organization.id))
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?;
    if existing_member.is_some() {
        return Err(AppError::AlreadyMember);
    }
    let teams_in_org = team::Entity::find()
        .filter(team::Column::OrganizationId.eq(organization.id))
        .filter(team::Column::Id.is_in(input.team_ids.iter().copied()))
        .count(&txn)
        .await?;
    if teams_in_org != input.team_ids.len() as u64 {
        return Err(AppError::bad_input(
            "teamIds",
            "every team must belong to this organization",
        ));
    }
    let now = Utc::now();
    // A pending invitation past its expiry no longer blocks a new one.
    invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            Expr::value(InvitationStatus::Expired),
        )
        .filter(invitation::Column::OrganizationId.eq(organization.id))
        .filter(invitation::Column::Email.eq(email.as_str()))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.lte(now))
        .exec(&txn)
        .await?;
    let used = members::seats_used(&txn, organization.id).await?;
    crate::domain::tiers::ensure_room(
        organization.tier,
        crate::domain::tiers::Resource::Members,
        used,
        1,
    )?;

    let token = secrets::generate();
    let invitation = invitation::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(organization.id),
        email: Set(email.into_string()),
        role: Set(role),
        status: Set(InvitationStatus::Pending),
        token_hash: Set(secrets::digest(&token)),
        invited_by_user_id: Set(actor.api_token().is_none().then_some(actor.user_id)),
        team_ids: Set(json!(input.team_ids)),
        expires_at: Set(now + ttl),
        created_at: Set(now),
        updated_at: Set(now),
        accepted_by_user_id: Set(None),
    }
    .insert(&txn)
    .await?;
    let accept_url = queue_email(
        &txn,
        outbox,
        &organization,
        inviter_label(actor),
        &invitation,
        &token,
    )
    .await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "invitation.created",
            resource_type: "invitation",
            resource_id: Some(invitation.id),
            organization_id: Some(organization.id),
            metadata: json!({
                "email": invitation.email,
                "role": invitation.role,
                "teamIds": input.team_ids,
                "expiresAt": invitation.expires_at,
            }),
        },
    )
    .await?;
    txn.commit().await?;
    outbox.wake();
    Ok(IssuedInvitation {
        invitation,
        token,
        accept_url,
    })
}

/// How the invitee names an invitation: its secret token, or its id when
/// it is listed among their pending invitations.
pub enum InvitationRef<'a> {
    Token(&'a str),
    Id(Uuid),
}

/// Finds the invitation for the invitee; anything that is not theirs is
/// INVITATION_INVALID (by token) or NOT_FOUND (by id), and nothing changes.
async fn find_for_invitee<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    by: &InvitationRef<'_>,
) -> AppResult<invitation::Model> {
    let found = match by {
        InvitationRef::Token(token) => invitation::Entity::find()
            .filter(invitation::Column::TokenHash.eq(secrets::digest(token)))
            .one(db)
            .await?
            .ok_or(AppError::InvitationInvalid)?,
        InvitationRef::Id(id) => invitation::Entity::find_by_id(*id)
            .filter(invitation::Column::Email.eq(actor.email.to_lowercase()))
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?,
    };
    if found.email != actor.email.to_lowercase() {
        tracing::debug!(target: "orgql::access", invitation_id = %found.id, "invitation presented by another account");
        return Err(AppError::InvitationInvalid);
    }
    match status_at(&found, Utc::now()) {
        InvitationStatus::Pending => Ok(found),
        InvitationStatus::Expired => Err(AppError::InvitationExpired),
        _ => Err(AppError::InvitationInvalid),
    }
}

/// Accepts an invitation: the invitee becomes a member with its role and
/// joins its teams. Of two concurrent accepts, one wins.
#[tracing::instrument(skip_all, fields(user_id = %actor.user_id))]
pub async fn accept(
    db: &DatabaseConnection,
    actor: &Actor,
    by: InvitationRef<'_>,
) -> AppResult<(member::Model, organization::Model)> {
    let txn = begin_write(db).await?;
    let found = find_for_invitee(&txn, actor, &by).await?;
    let organization = access::lock_organization(&txn, found.organization_id).await?;
    access::ensure_active(&organization)?;
    if access::membership(&txn, actor.user_id, organization.id)
        .await?
        .is_some()
    {
        return Err(AppError::AlreadyMember);
    }
    let won = invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            Expr::value(InvitationStatus::Accepted),
        )
        .col_expr(
            invitation::Column::AcceptedByUserId,
            Expr::value(actor.user_id),
        )
        .col_expr(invitation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(invitation::Column::Id.eq(found.id))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .exec(&txn)
        .await?
        .rows_affected;
    if won == 0 {
        return Err(AppError::InvitationInvalid);
    }
    let member = members::admit(&txn, &organization, actor.user_id, found.role, true).await?;
    let team_ids: Vec<Uuid> = serde_json::from_value(found.team_ids.clone()).unwrap_or_default();
    let teams = team::Entity::find()
        .filter(team::Column::OrganizationId.eq(organization.id))
        .filter(team::Column::Id.is_in(team_ids))
        .all(&txn)
        .await?;
    for team in &teams {
        team_member::ActiveModel {
            id: Set(new_id()),
            team_id: Set(team.id),
            member_id: Set(member.id),
            role: Set(TeamRole::Member),
            added_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
    }
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "invitation.accepted",
            resource_type: "invitation",
            resource_id: Some(found.id),
            organization_id: Some(organization.id),
            metadata: json!({
                "memberId": member.id,
                "role": member.role,
                "teamIds": teams.iter().map(|t| t.id).collect::<Vec<_>>(),
            }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok((member, organization))
}

/// The invitee turns an invitation down.
#[tracing::instrument(skip_all, fields(user_id = %actor.user_id))]
pub async fn decline(
    db: &DatabaseConnection,
    actor: &Actor,
    by: InvitationRef<'_>,
) -> AppResult<invitation::Model> {
    let txn = begin_write(db).await?;
    let found = find_for_invitee(&txn, actor, &by).await?;
    let declined = set_status(&txn, found, InvitationStatus::Declined).await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "invitation.declined",
            resource_type: "invitation",
            resource_id: Some(declined.id),
            organization_id: Some(declined.organization_id),
            metadata: json!({ "email": declined.email }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(declined)
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

/// Loads an invitation for someone who manages the organization's members.
async fn find_for_manager<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    invitation_id: Uuid,
) -> AppResult<(access::OrgAccess, invitation::Model)> {
    let found = invitation::Entity::find_by_id(invitation_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let access =
        access::authorize_write(txn, actor, found.organization_id, Permission::MembersManage)
            .await?;
    Ok((access, found))
}

/// Withdraws a pending invitation (members:manage).
#[tracing::instrument(skip_all, fields(%invitation_id))]
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    invitation_id: Uuid,
) -> AppResult<invitation::Model> {
    let txn = begin_write(db).await?;
    let (_, found) = find_for_manager(&txn, actor, invitation_id).await?;
    let revoked = set_status(&txn, found, InvitationStatus::Revoked).await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "invitation.revoked",
            resource_type: "invitation",
            resource_id: Some(revoked.id),
            organization_id: Some(revoked.organization_id),
            metadata: json!({ "email": revoked.email }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(revoked)
}

/// Sends a pending (or expired) invitation again with a new token and a
/// new expiry; the old token stops working (members:manage).
#[tracing::instrument(skip_all, fields(%invitation_id))]
pub async fn resend(
    db: &DatabaseConnection,
    actor: &Actor,
    outbox: &Outbox,
    invitation_id: Uuid,
    expires_in_hours: Option<i32>,
) -> AppResult<IssuedInvitation> {
    let txn = begin_write(db).await?;
    let (access, found) = find_for_manager(&txn, actor, invitation_id).await?;
    let ttl = ttl(expires_in_hours, &Policy::of(&access.organization))?;
    if !matches!(
        found.status,
        InvitationStatus::Pending | InvitationStatus::Expired
    ) {
        return Err(AppError::conflict(
            "only a pending or expired invitation can be resent",
        ));
    }
    if !may_assign(inviter_role(actor, &access)?, found.role) {
        return Err(AppError::Forbidden(
            "you may not invite someone above your own role",
        ));
    }
    if found.status == InvitationStatus::Expired {
        // Revived: it takes a seat again and must not clash with a newer one.
        let used = members::seats_used(&txn, access.organization.id).await?;
        crate::domain::tiers::ensure_room(
            access.organization.tier,
            crate::domain::tiers::Resource::Members,
            used,
            1,
        )?;
    }
    let token = secrets::generate();
    let now = Utc::now();
    let mut active: invitation::ActiveModel = found.into();
    active.token_hash = Set(secrets::digest(&token));
    active.status = Set(InvitationStatus::Pending);
    active.expires_at = Set(now + ttl);
    active.updated_at = Set(now);
    let invitation = active.update(&txn).await?;
    let accept_url = queue_email(
        &txn,
        outbox,
        &access.organization,
        inviter_label(actor),
        &invitation,
        &token,
    )
    .await?;
    audit::record(
        &txn,
        AuditActor::user(actor),
        &actor.meta,
        Change {
            action: "invitation.resent",
            resource_type: "invitation",
            resource_id: Some(invitation.id),
            organization_id: Some(invitation.organization_id),
            metadata: json!({ "email": invitation.email, "expiresAt": invitation.expires_at }),
        },
    )
    .await?;
    txn.commit().await?;
    outbox.wake();
    Ok(IssuedInvitation {
        invitation,
        token,
        accept_url,
    })
}

/// What an accept page shows before sign-in.
pub struct Preview {
    pub invitation: invitation::Model,
    pub organization_name: String,
    pub inviter_name: Option<String>,
}

/// The invitation behind a token, if any.
pub async fn preview<C: ConnectionTrait>(db: &C, token: &str) -> AppResult<Option<Preview>> {
    let Some((invitation, Some(organization))) = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(secrets::digest(token)))
        .find_also_related(organization::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let inviter_name = match invitation.invited_by_user_id {
        Some(id) => user::Entity::find_by_id(id).one(db).await?.map(|u| u.name),
        None => None,
    };
    Ok(Some(Preview {
        invitation,
        organization_name: organization.name,
        inviter_name,
    }))
}

/// Pending, unexpired invitations to an email, in any organization.
pub async fn pending_for<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> AppResult<Vec<invitation::Model>> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::Email.eq(email.to_lowercase()))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await?)
}

/// An invitation the actor may see: addressed to them, or in an
/// organization whose members they manage.
pub async fn visible_by_id<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    invitation_id: Uuid,
) -> AppResult<Option<invitation::Model>> {
    let Some(found) = invitation::Entity::find_by_id(invitation_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if found.email == actor.email.to_lowercase() {
        return Ok(Some(found));
    }
    Ok(
        access::may_read(db, actor, found.organization_id, Permission::MembersManage)
            .await?
            .then_some(found),
    )
}

fn listable(
    organization_ids: &[Uuid],
    status: Option<InvitationStatus>,
) -> Select<invitation::Entity> {
    let select = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.is_in(organization_ids.iter().copied()));
    let now = Utc::now();
    match status {
        None => select,
        Some(InvitationStatus::Pending) => select
            .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
            .filter(invitation::Column::ExpiresAt.gt(now)),
        Some(InvitationStatus::Expired) => select.filter(
            Condition::any()
                .add(invitation::Column::Status.eq(InvitationStatus::Expired))
                .add(
                    Condition::all()
                        .add(invitation::Column::Status.eq(InvitationStatus::Pending))
                        .add(invitation::Column::ExpiresAt.lte(now)),
                ),
        ),
        Some(status) => select.filter(invitation::Column::Status.eq(status)),
    }
}

/// One page of invitations per organization, in one statement.
pub async fn pages<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
    status: Option<InvitationStatus>,
    page: PageRequest,
) -> AppResult<HashMap<Uuid, Page<invitation::Model>>> {
    let select = listable(organization_ids, status).into_query();
    pagination::pages_per_parent(
        db,
        select,
        ("invitations", "organization_id"),
        ("invitations", "id"),
        page,
        |row| {
            let invitation = invitation::Model::from_query_result(row, "")?;
            Ok((invitation.organization_id, invitation))
        },
    )
    .await
}

/// How many invitations match in each organization.
pub async fn counts<C: ConnectionTrait>(
    db: &C,
    organization_ids: &[Uuid],
    status: Option<InvitationStatus>,
) -> AppResult<HashMap<Uuid, u64>> {
    let select = listable(organization_ids, status).into_query();
    pagination::counts_per_parent(db, select, ("invitations", "organization_id")).await
}
