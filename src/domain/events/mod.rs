//! Events (issue #24): the changes a product may hear about.
//!
//! An event is a committed audit entry. The write path records the entry
//! and, when its action is one products care about ([`EventType::of`]),
//! the event beside it, in the same transaction: a change that rolls
//! back emits nothing. Each event takes its organization's next sequence
//! number; the row that holds the number stays locked until the commit,
//! so an organization's events commit in sequence order and a consumer
//! that has read up to number n can never later find an event below n
//! (the cursor of `Organization.events`).
//!
//! The same transaction queues the event for every enabled webhook
//! endpoint of the organization that listens to its type
//! (`domain::webhooks`).

pub mod bus;
mod data;
pub mod watch;

use chrono::{DateTime, Utc};
use entity::values::ActorKind;
use entity::{event, event_sequence};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::audit::{AuditAction, AuditActor, Entry};
use crate::domain::webhooks;
use crate::error::AppResult;

pub use data::public_data;

/// The type of an event: its stored, dotted form (`member.role_changed`)
/// is what webhooks carry; GraphQL clients see the enum value.
#[derive(
    async_graphql::Enum,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// A person became a member: by their address's verified domain, a
    /// join code, a directory or a single sign-on (`data.via`). Accepting
    /// an invitation is `invitation.accepted`.
    #[strum(serialize = "member.added")]
    MemberAdded,
    /// A member's role changed (`data.before.role`, `data.after.role`).
    #[strum(serialize = "member.role_changed")]
    MemberRoleChanged,
    /// A membership ended: removed, left, or deprovisioned by a directory
    /// (`data.reason`).
    #[strum(serialize = "member.removed")]
    MemberRemoved,
    /// An invitation was sent.
    #[strum(serialize = "invitation.created")]
    InvitationCreated,
    /// An invitation was sent again.
    #[strum(serialize = "invitation.resent")]
    InvitationResent,
    /// An invitation was revoked.
    #[strum(serialize = "invitation.revoked")]
    InvitationRevoked,
    /// An invitation was accepted: its person is a member
    /// (`data.memberId`).
    #[strum(serialize = "invitation.accepted")]
    InvitationAccepted,
    /// An invitation was declined.
    #[strum(serialize = "invitation.declined")]
    InvitationDeclined,
    /// A join code was created.
    #[strum(serialize = "join_code.created")]
    JoinCodeCreated,
    /// A join code was revoked.
    #[strum(serialize = "join_code.revoked")]
    JoinCodeRevoked,
    /// A team was created.
    #[strum(serialize = "team.created")]
    TeamCreated,
    /// A team's name, description or parent changed.
    #[strum(serialize = "team.updated")]
    TeamUpdated,
    /// A team was deleted.
    #[strum(serialize = "team.deleted")]
    TeamDeleted,
    /// A member was put into a team.
    #[strum(serialize = "team.member_added")]
    TeamMemberAdded,
    /// A member's role in a team changed.
    #[strum(serialize = "team.member_role_changed")]
    TeamMemberRoleChanged,
    /// A member was taken out of a team.
    #[strum(serialize = "team.member_removed")]
    TeamMemberRemoved,
    /// The organization's settings changed.
    #[strum(serialize = "organization.updated")]
    OrganizationUpdated,
    /// A platform administrator suspended the organization.
    #[strum(serialize = "organization.suspended")]
    OrganizationSuspended,
    /// A platform administrator reactivated the organization.
    #[strum(serialize = "organization.reactivated")]
    OrganizationReactivated,
    /// The organization's tier changed (set or an approved upgrade).
    #[strum(serialize = "organization.tier_changed")]
    OrganizationTierChanged,
    /// The ownership passed to another member.
    #[strum(serialize = "ownership.transferred")]
    OwnershipTransferred,
    /// The governance policy changed.
    #[strum(serialize = "policy.updated")]
    PolicyUpdated,
    /// A network was added to the IP allowlist.
    #[strum(serialize = "ip_allowlist.entry_added")]
    IpAllowlistEntryAdded,
    /// A network was removed from the IP allowlist.
    #[strum(serialize = "ip_allowlist.entry_removed")]
    IpAllowlistEntryRemoved,
    /// A domain was claimed.
    #[strum(serialize = "domain.added")]
    DomainAdded,
    /// A domain was verified.
    #[strum(serialize = "domain.verified")]
    DomainVerified,
    /// A domain was removed.
    #[strum(serialize = "domain.removed")]
    DomainRemoved,
    /// A single sign-on connection was created.
    #[strum(serialize = "sso_connection.created")]
    SsoConnectionCreated,
    /// A connection's settings changed.
    #[strum(serialize = "sso_connection.updated")]
    SsoConnectionUpdated,
    /// A connection became the organization's sign-in route.
    #[strum(serialize = "sso_connection.activated")]
    SsoConnectionActivated,
    /// A connection was taken out of use.
    #[strum(serialize = "sso_connection.deactivated")]
    SsoConnectionDeactivated,
    /// A connection was deleted.
    #[strum(serialize = "sso_connection.deleted")]
    SsoConnectionDeleted,
    /// An API token was created (never its secret).
    #[strum(serialize = "api_token.created")]
    ApiTokenCreated,
    /// An API token was revoked.
    #[strum(serialize = "api_token.revoked")]
    ApiTokenRevoked,
}

impl EventType {
    /// The stored, dotted form.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The event type of an audit entry, if products hear of its kind of
    /// change. Sign-ins, reads and the server's own bookkeeping are not
    /// events; nor are changes to webhook endpoints themselves.
    pub fn of(entry: &Entry) -> Option<EventType> {
        use AuditAction as A;
        use EventType as E;
        Some(match entry.action {
            A::MemberJoinedByDomain | A::JoinCodeUsed | A::MemberProvisioned => E::MemberAdded,
            A::UserSsoSignedIn if !Value::is_null(&entry.metadata["joinedAs"]) => E::MemberAdded,
            A::MemberRoleUpdated => E::MemberRoleChanged,
            A::MemberRemoved | A::MemberLeft | A::MemberDeprovisioned => E::MemberRemoved,
            A::InvitationCreated => E::InvitationCreated,
            A::InvitationResent => E::InvitationResent,
            A::InvitationRevoked => E::InvitationRevoked,
            A::InvitationAccepted => E::InvitationAccepted,
            A::InvitationDeclined => E::InvitationDeclined,
            A::JoinCodeCreated => E::JoinCodeCreated,
            A::JoinCodeRevoked => E::JoinCodeRevoked,
            A::TeamCreated => E::TeamCreated,
            A::TeamUpdated => E::TeamUpdated,
            A::TeamDeleted => E::TeamDeleted,
            A::TeamMemberAdded => E::TeamMemberAdded,
            A::TeamMemberRoleUpdated => E::TeamMemberRoleChanged,
            A::TeamMemberRemoved => E::TeamMemberRemoved,
            A::OrganizationUpdated => E::OrganizationUpdated,
            A::OrganizationSuspended => E::OrganizationSuspended,
            A::OrganizationReactivated => E::OrganizationReactivated,
            A::TierSet | A::TierUpgradeApproved => E::OrganizationTierChanged,
            A::OwnershipTransferred => E::OwnershipTransferred,
            A::PolicyUpdated => E::PolicyUpdated,
            A::IpAllowlistEntryAdded => E::IpAllowlistEntryAdded,
            A::IpAllowlistEntryRemoved => E::IpAllowlistEntryRemoved,
            A::DomainAdded => E::DomainAdded,
            A::DomainVerified => E::DomainVerified,
            A::DomainRemoved => E::DomainRemoved,
            A::SsoConnectionCreated => E::SsoConnectionCreated,
            A::SsoConnectionUpdated => E::SsoConnectionUpdated,
            A::SsoConnectionActivated => E::SsoConnectionActivated,
            A::SsoConnectionDeactivated => E::SsoConnectionDeactivated,
            A::SsoConnectionDeleted => E::SsoConnectionDeleted,
            A::ApiTokenCreated => E::ApiTokenCreated,
            A::ApiTokenRevoked => E::ApiTokenRevoked,
            _ => return None,
        })
    }

    /// Every type, in declaration order.
    pub fn all() -> impl Iterator<Item = EventType> {
        <Self as strum::IntoEnumIterator>::iter()
    }
}

/// Records the event of the audit entry `audit_id`, if its action is one,
/// in `organization_id`'s sequence, and queues it for that organization's
/// webhook endpoints. Only `domain::write` calls this, after the entries
/// are recorded and before the commit. Returns `None` when the entry is no
/// event, else whether a delivery was queued (the sender is woken after
/// the commit).
pub(crate) async fn record<C: ConnectionTrait>(
    txn: &C,
    audit_id: Uuid,
    who: &AuditActor,
    organization_id: Uuid,
    entry: &Entry,
    occurred_at: DateTime<Utc>,
) -> AppResult<Option<bool>> {
    let Some(event_type) = EventType::of(entry) else {
        return Ok(None);
    };
    let sequence = next_sequence(txn, organization_id).await?;
    let row = event::ActiveModel {
        id: Set(audit_id),
        organization_id: Set(organization_id),
        sequence: Set(sequence),
        event_type: Set(event_type.as_str().to_owned()),
        actor_kind: Set(who.kind),
        actor_id: Set(who.id),
        actor_email: Set(who.email.clone()),
        subject_user_id: Set(subject_user(entry, who)),
        subject_email: Set(entry.metadata["email"].as_str().map(str::to_lowercase)),
        data: Set(public_data(event_type, entry)),
        occurred_at: Set(occurred_at),
    }
    .insert(txn)
    .await?;
    webhooks::enqueue(txn, &row, event_type).await.map(Some)
}

/// The account an event is about: the member's (`userId` in the entry),
/// the person who joined or answered an invitation themselves, or the
/// person an SSO sign-in added.
fn subject_user(entry: &Entry, who: &AuditActor) -> Option<Uuid> {
    if let Some(user) = entry.metadata["userId"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
    {
        return Some(user);
    }
    match entry.action {
        AuditAction::UserSsoSignedIn => entry.resource_id,
        AuditAction::JoinCodeUsed
        | AuditAction::InvitationAccepted
        | AuditAction::InvitationDeclined
        | AuditAction::MemberLeft
            if who.kind == ActorKind::User =>
        {
            who.id
        }
        _ => None,
    }
}

/// Takes the organization's next event number. The upsert locks the
/// organization's counter row until the transaction ends.
async fn next_sequence<C: ConnectionTrait>(txn: &C, organization_id: Uuid) -> AppResult<i64> {
    use event_sequence::Column::{LastSequence, OrganizationId};
    let counter = event_sequence::Entity::insert(event_sequence::ActiveModel {
        organization_id: Set(organization_id),
        last_sequence: Set(1),
    })
    .on_conflict(
        OnConflict::column(OrganizationId)
            .value(
                LastSequence,
                Expr::col((event_sequence::Entity, LastSequence)).add(1),
            )
            .to_owned(),
    )
    .exec_with_returning(txn)
    .await?;
    Ok(counter.last_sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_reads_back_from_its_stored_form() {
        for event_type in EventType::all() {
            assert_eq!(event_type.as_str().parse::<EventType>(), Ok(event_type));
        }
    }
}
