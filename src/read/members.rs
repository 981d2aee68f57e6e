//! The read side of members: lists with their users, pages and counts per
//! organization, a user's memberships, visibility by id.

use entity::{member, organization, user, values::Role};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, QueryTrait, Select,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use uuid::Uuid;

use std::net::IpAddr;

use crate::domain::authz::{Actor, Permission, Person, access};
use crate::domain::values;
use crate::error::AppResult;
use crate::read::paging::{self, PerParent};
use crate::read::users::Profile;
use sea_orm::PartialModelTrait;
use sea_orm::sea_query::SelectStatement;
use sea_orm::{DbErr, QueryResult};

#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct MemberFilter {
    pub role: Option<Role>,
    /// Matches the user's name or email, case-insensitively.
    pub search: Option<String>,
    /// Whether `search` may match email addresses: not for a guest, who
    /// must not learn addresses by probing (`Actor::sees_email_of`).
    pub by_email: bool,
}

/// The members of organizations matching a filter, joined with their
/// users so that a page needs no second query for them.
pub fn listable(
    organization_ids: &[Uuid],
    filter: &MemberFilter,
) -> AppResult<Select<member::Entity>> {
    let search = values::search("search", filter.search.as_deref())?;
    let mut select = member::Entity::find()
        .inner_join(user::Entity)
        .filter(member::Column::OrganizationId.is_in(organization_ids.iter().copied()));
    if let Some(role) = filter.role {
        select = select.filter(member::Column::Role.eq(role));
    }
    if let Some(search) = search {
        let pattern = LikeExpr::new(paging::like_pattern(&search)).escape('\\');
        let mut matches = Condition::any().add(
            Expr::expr(Func::lower(Expr::col((user::Entity, user::Column::Name))))
                .like(pattern.clone()),
        );
        if filter.by_email {
            matches = matches.add(Expr::col((user::Entity, user::Column::Email)).like(pattern));
        }
        select = select.filter(matches);
    }
    Ok(select)
}

pub type MemberWithUser = (member::Model, Option<Profile>);

/// An organization's members, with their users (one statement for the
/// page of every organization asked for).
pub struct MembersOfOrganization;

impl PerParent for MembersOfOrganization {
    type Filter = MemberFilter;
    type Item = MemberWithUser;
    const PARENT: (&'static str, &'static str) = ("members", "organization_id");
    const ID: (&'static str, &'static str) = ("members", "id");

    fn select(parents: &[Uuid], filter: &Self::Filter) -> AppResult<SelectStatement> {
        let select = member::Model::select_cols_nested(
            listable(parents, filter)?.select_only(),
            Some("A_"),
            None,
        );
        Ok(Profile::select_cols_nested(select, Some("B_"), None).into_query())
    }

    fn parse(row: &QueryResult) -> Result<(Uuid, Self::Item), DbErr> {
        let member = member::Model::from_query_result(row, "A_")?;
        let user = Profile::from_query_result_optional(row, "B_")?;
        Ok((member.organization_id, (member, user)))
    }
}

/// A person's memberships, oldest first, leaving out organizations whose
/// IP allowlist refuses the request's address.
pub async fn of_person<C: ConnectionTrait>(
    db: &C,
    person: &Person,
    client_ip: Option<IpAddr>,
) -> AppResult<Vec<member::Model>> {
    use sea_orm::QueryOrder;
    let mut select = member::Entity::find().filter(member::Column::UserId.eq(person.user_id));
    if !person.is_platform_admin {
        select = select.filter(
            member::Column::OrganizationId.in_subquery(
                organization::Entity::find()
                    .select_only()
                    .column(organization::Column::Id)
                    .filter(crate::read::organizations::allowlist_admits(
                        db.get_database_backend(),
                        client_ip,
                    ))
                    .into_query(),
            ),
        );
    }
    Ok(select.order_by_asc(member::Column::Id).all(db).await?)
}

/// A member the actor may see (members:view in its organization).
pub async fn visible_by_id<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    member_id: Uuid,
) -> AppResult<Option<member::Model>> {
    let Some(found) = member::Entity::find_by_id(member_id).one(db).await? else {
        return Ok(None);
    };
    Ok(
        access::may_read(db, actor, found.organization_id, Permission::MembersView)
            .await?
            .then_some(found),
    )
}
