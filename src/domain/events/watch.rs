//! Live event streams (`organizationEvents`, `viewerEvents`): who may
//! follow an organization's events, which of them each follower sees, and
//! what follows a stream's last event. A stream checks [`follow`] again
//! before each batch it sends, so a follower who was removed, lost the
//! permission, lost their session, left the allowlisted network or whose
//! organization was suspended gets nothing more: the stream ends with that
//! error's code.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{event, member};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::EventType;
use crate::domain::authz::{Actor, Permission, access};
use crate::error::AppResult;

/// How many events one read of a stream takes.
pub const BATCH: u64 = 100;

impl EventType {
    /// Whether members:view is enough to see events of this type: the
    /// membership and teams, and the organization's own changes. The rest
    /// (invitations, codes, policies, networks, domains, SSO, tokens) is
    /// for audit:view.
    pub fn members_may_see(self) -> bool {
        use EventType::*;
        matches!(
            self,
            MemberAdded
                | MemberRoleChanged
                | MemberRemoved
                | TeamCreated
                | TeamUpdated
                | TeamDeleted
                | TeamMemberAdded
                | TeamMemberRoleChanged
                | TeamMemberRemoved
                | OrganizationUpdated
                | OrganizationSuspended
                | OrganizationReactivated
                | OrganizationTierChanged
                | OwnershipTransferred
        )
    }
}

/// Which of an organization's events a follower sees.
#[derive(Debug, Clone, Copy)]
pub struct Audience {
    audit: bool,
}

impl Audience {
    pub fn sees(&self, event_type: EventType) -> bool {
        self.audit || event_type.members_may_see()
    }
}

/// Whether `actor` may follow the organization's events now: members:view
/// there, under its policy (MFA, SSO, IP allowlist), and the organization
/// active. A suspended organization ends its streams (FORBIDDEN).
pub async fn follow<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    organization_id: Uuid,
) -> AppResult<Audience> {
    let access = access::authorize(db, actor, organization_id, Permission::MembersView).await?;
    access::ensure_active(&access.organization)?;
    Ok(Audience {
        audit: access.allows(actor, Permission::AuditView),
    })
}

/// The number of the organization's last event (0 before the first): a
/// new stream starts after it.
pub async fn last_sequence<C: ConnectionTrait>(db: &C, organization_id: Uuid) -> AppResult<i64> {
    let last: Option<Option<i64>> = event::Entity::find()
        .select_only()
        .column_as(event::Column::Sequence.max(), "last")
        .filter(event::Column::OrganizationId.eq(organization_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(last.flatten().unwrap_or(0))
}

/// Up to [`BATCH`] of the organization's events after number `after`, in
/// order.
pub async fn after<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
    after: i64,
) -> AppResult<Vec<event::Model>> {
    Ok(event::Entity::find()
        .filter(event::Column::OrganizationId.eq(organization_id))
        .filter(event::Column::Sequence.gt(after))
        .order_by_asc(event::Column::Sequence)
        .limit(BATCH)
        .all(db)
        .await?)
}

/// Whom `viewerEvents` is for: the account, and its address once verified
/// (invitations name an address).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: Uuid,
    pub verified_email: Option<String>,
}

/// Where a viewer's stream starts in each organization they belong to:
/// after its last event.
pub async fn viewer_starts<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
) -> AppResult<HashMap<Uuid, i64>> {
    let mine = Query::select()
        .column(member::Column::OrganizationId)
        .from(member::Entity)
        .and_where(member::Column::UserId.eq(user_id))
        .to_owned();
    let rows: Vec<(Uuid, Option<i64>)> = event::Entity::find()
        .select_only()
        .column(event::Column::OrganizationId)
        .column_as(event::Column::Sequence.max(), "last")
        .filter(event::Column::OrganizationId.in_subquery(mine))
        .group_by(event::Column::OrganizationId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(organization, last)| (organization, last.unwrap_or(0)))
        .collect())
}

/// Up to [`BATCH`] events about the viewer in one organization after
/// number `after`; in an organization the stream had no start for (one
/// that invited them since), those that occurred from `since` on.
pub async fn about_viewer<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    organization_id: Uuid,
    after: Option<i64>,
    since: DateTime<Utc>,
) -> AppResult<Vec<event::Model>> {
    let mut about = Condition::any().add(event::Column::SubjectUserId.eq(viewer.user_id));
    if let Some(email) = &viewer.verified_email {
        about = about.add(event::Column::SubjectEmail.eq(email.to_lowercase()));
    }
    let mut select = event::Entity::find()
        .filter(event::Column::OrganizationId.eq(organization_id))
        .filter(about);
    select = match after {
        Some(after) => select.filter(event::Column::Sequence.gt(after)),
        None => select.filter(event::Column::OccurredAt.gte(since)),
    };
    Ok(select
        .order_by_asc(event::Column::Sequence)
        .limit(BATCH)
        .all(db)
        .await?)
}
