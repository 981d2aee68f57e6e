use async_graphql::{Context, ID, InputObject, Object, dataloader::DataLoader};
use chrono::{DateTime, Utc};
use entity::organization;

use crate::domain::ids::{self, IdKind};
use crate::domain::members::{self, MemberFilter};
use crate::domain::pagination;
use crate::domain::permissions::Permission;
use crate::graphql::connection::{self, CountedConnection, TotalCount};
use crate::graphql::context::ContextExt;
use crate::graphql::guards::PermissionGuard;
use crate::graphql::loaders::ViewerMembershipLoader;
use crate::graphql::types::{
    Member,
    enums::{OrganizationStatus, Role, Tier},
};

/// A tenant: a company or group whose members share teams, settings and an
/// audit trail. Only its members (and platform administrators) see it.
pub struct Organization(pub organization::Model);

/// Narrows `Organization.members`.
#[derive(InputObject, Default)]
pub struct MemberFilterInput {
    /// Only members with this role.
    pub role: Option<Role>,
    /// Only members whose name or email contains this text
    /// (case-insensitive).
    pub search: Option<String>,
}

/// A tenant: a company or group whose members share teams, settings and an
/// audit trail. Only its members (and platform administrators) see it.
#[Object]
impl Organization {
    /// Opaque id, prefixed `org_`.
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::Organization, self.0.id))
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// URL-safe unique name, such as `acme-inc`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The organization's email domain, such as `acme.com`; unique.
    async fn domain(&self) -> Option<&str> {
        self.0.domain.as_deref()
    }

    /// Public website URL.
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }

    /// Industry, free text.
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }

    /// What the organization is about.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// URL of the organization's picture.
    async fn avatar_url(&self) -> Option<&str> {
        self.0.avatar_url.as_deref()
    }

    /// ACTIVE, or SUSPENDED (read-only) by a platform administrator.
    async fn status(&self) -> OrganizationStatus {
        self.0.status.into()
    }

    /// The plan, which sets the organization's limits.
    async fn tier(&self) -> Tier {
        self.0.tier.into()
    }

    /// When the organization was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When its settings last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The people in the organization, oldest membership first
    /// (members:view).
    #[graphql(
        guard = "PermissionGuard::new(Permission::MembersView, self.0.id)",
        complexity = "first.unwrap_or(20).max(1) as usize * child_complexity"
    )]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when absent, at most 100.")] first: Option<i32>,
        #[graphql(desc = "The `cursor` of the last edge already seen.")] after: Option<String>,
        #[graphql(desc = "Narrows the list by role or by name and email.")] filter: Option<
            MemberFilterInput,
        >,
    ) -> async_graphql::Result<CountedConnection<Member>> {
        let db = ctx.db()?.clone();
        let request = connection::page_request(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let select = members::listable(
            self.0.id,
            &MemberFilter {
                role: filter.role.map(Into::into),
                search: filter.search,
            },
        )?;
        let page = members::page(&db, select.clone(), request).await?;
        let total = TotalCount::new(move || {
            let (db, select) = (db.clone(), select.clone());
            Box::pin(async move { pagination::count(&db, select).await })
        });
        Ok(connection::build(
            page,
            request,
            total,
            |(m, _)| m.id,
            |(row, user)| Member { row, user },
        ))
    }

    /// The viewer's own membership here; null for a platform administrator
    /// who is not a member.
    async fn viewer_membership(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Member>> {
        let membership = ctx
            .data::<DataLoader<ViewerMembershipLoader>>()?
            .load_one(self.0.id)
            .await?;
        Ok(membership.map(Member::from))
    }
}
