use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{
    Context, ContextSelectionSet, ID, Object, ScalarType, Value,
    dataloader::{DataLoader, HashMapCache},
};
use chrono::{DateTime, Utc};
use entity::member;

use crate::domain::authz::matrix::Permission;
use crate::domain::ids::{self, IdKind};
use crate::graphql::guards::PermissionGuard;
use crate::graphql::loaders::{
    MemberKey, MemberLoader, OrganizationLoader, TeamsByMemberLoader, load_existing,
};
use crate::graphql::plain::{self, PlainFields};
use crate::graphql::types::user::whole_profile;
use crate::graphql::types::{Organization, Team, User, enums::Role};
use crate::read::members::MemberRow;
use crate::read::users::Profile;

/// A person's membership in one organization, with their role there.
pub struct Member {
    pub row: MemberRow,
    /// The user, when the query that found the member already read it.
    pub user: Option<User>,
    /// The member's teams, when the query that found the member already
    /// read them (a members page that selected them).
    pub teams: Option<Vec<Team>>,
}

impl From<member::Model> for Member {
    fn from(row: member::Model) -> Self {
        Self {
            row: MemberRow::Full(row),
            user: None,
            teams: None,
        }
    }
}

impl Member {
    /// The fields a `MemberBrief` cannot answer: a members page whose
    /// client selects none of them reads only the brief.
    pub const BEYOND_BRIEF: &[&str] = &["joinedAt"];

    /// The fields of a member that read its user's whole profile: a
    /// members page whose client selects none of them (nor a field beyond
    /// `User::BEYOND_BRIEF`) reads only the user's brief.
    pub const BEYOND_USER_BRIEF: &[&str] = &["isGuest", "mfaEnabled"];

    fn opaque_id(&self) -> ID {
        ID(ids::encode(IdKind::Member, self.row.id()))
    }

    fn teams_guard(&self) -> PermissionGuard {
        PermissionGuard::new(Permission::TeamsView, self.row.organization_id())
    }

    /// The user's whole profile: as the page read it, or loaded by id.
    async fn profile(&self, ctx: &Context<'_>) -> async_graphql::Result<Cow<'_, Profile>> {
        let read = self.user.as_ref().and_then(|user| user.0.as_profile());
        whole_profile(ctx, read, self.row.user_id(), "a member's user").await
    }
}

// `serial`: a node's fields resolve one after another, not as a set of
// futures each (issue #26: about 7% less server CPU per request for a page
// of members, measured). Items of a list still resolve together, so each
// loader still sees the whole page at once: no statement more.
/// A person's membership in one organization, with their role there.
#[Object(serial)]
impl Member {
    /// Opaque id, prefixed `mem_`.
    pub async fn id(&self) -> ID {
        self.opaque_id()
    }

    /// The person.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Cow<'_, User>> {
        if let Some(user) = &self.user {
            return Ok(Cow::Borrowed(user));
        }
        Ok(Cow::Owned(User::from(
            self.profile(ctx).await?.into_owned(),
        )))
    }

    /// The organization.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        let organization = load_existing::<OrganizationLoader>(
            ctx,
            self.row.organization_id(),
            "a member's organization",
        );
        Ok(Organization(organization.await?))
    }

    /// The teams the member belongs to (teams:view).
    #[graphql(guard = "self.teams_guard()")]
    async fn teams(&self, ctx: &Context<'_>) -> async_graphql::Result<Cow<'_, Vec<Team>>> {
        if let Some(teams) = &self.teams {
            return Ok(Cow::Borrowed(teams));
        }
        let teams = ctx
            .data::<DataLoader<TeamsByMemberLoader, HashMapCache>>()?
            .load_one(MemberKey {
                organization_id: self.row.organization_id(),
                member_id: self.row.id(),
            })
            .await?;
        Ok(Cow::Owned(
            teams
                .unwrap_or_default()
                .into_iter()
                .map(Team::from)
                .collect(),
        ))
    }

    /// The member's role in the organization.
    async fn role(&self) -> Role {
        self.row.role().into()
    }

    /// When the person joined.
    async fn joined_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        match &self.row {
            MemberRow::Full(member) => Ok(member.joined_at),
            MemberRow::Brief(brief) => {
                let member = load_existing::<MemberLoader>(ctx, brief.id, "a listed member");
                Ok(member.await?.joined_at)
            }
        }
    }

    /// Whether the person is a guest (issue #13): a VIEWER who signs in by
    /// mailed links, sees no one's email address but their own, and is
    /// promoted only after converting to a full account.
    async fn is_guest(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.profile(ctx).await?.is_guest)
    }

    /// Whether the person signs in with multi-factor authentication, so
    /// that admins see who still has to enroll before `requireMfa`
    /// (members:manage). Read from the user the members page already
    /// joins: no statement per member.
    #[graphql(
        guard = "PermissionGuard::new(Permission::MembersManage, self.row.organization_id())"
    )]
    async fn mfa_enabled(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.profile(ctx).await?.mfa_enabled)
    }
}

/// A listed member answers from the page's row, user and teams
/// (`graphql::plain`); `teams` only once its guard has passed in this
/// request.
impl PlainFields for Member {
    fn plain_field(&self, ctx: &ContextSelectionSet<'_>, field: &Field) -> Option<Value> {
        let selection = &field.selection_set.node;
        match field.name.node.as_str() {
            "id" => Some(self.opaque_id().to_value()),
            "role" => Some(enum_value(Role::from(self.row.role()))),
            "joinedAt" => match &self.row {
                MemberRow::Full(member) => Some(member.joined_at.to_value()),
                MemberRow::Brief(_) => None,
            },
            "user" => plain::object(self.user.as_ref()?, ctx, selection),
            "teams" if self.teams_guard().passed(ctx) => {
                plain::list(self.teams.as_ref()?, ctx, selection)
            }
            _ => None,
        }
    }
}
