//! The read side of members: lists with their users, pages and counts per
//! organization, a user's memberships, visibility by id.

use entity::{
    member, organization, organization_member_count, team, team_member, user, values::Role,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DerivePartialModel, EntityTrait, FromQueryResult,
    IdenStatic, Iterable, QueryFilter, QuerySelect, QueryTrait, Select,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, JoinType, LikeExpr, Order},
};
use uuid::Uuid;

use std::net::IpAddr;

use crate::domain::authz::{Actor, Permission, Person, access, visibility};
use crate::domain::values;
use crate::error::AppResult;
use crate::read::Columns;
use crate::read::paging::{self, PerParent};
use crate::read::teams::{TeamBrief, TeamRow};
use crate::read::users::{Profile, UserBrief, UserRow};
use sea_orm::ActiveEnum;
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
    /// Which columns of each member the page reads. Narrows nothing.
    pub members: Columns,
    /// Which columns of each member's user the page reads. Narrows nothing.
    pub users: Columns,
    /// Whether, and with which columns, each member's teams are read with
    /// the page, in the same statement (the client selected them). Narrows
    /// nothing.
    pub teams: Option<Columns>,
}

/// The members of organizations matching a filter. Their users are joined
/// only to search them: every member has one (a foreign key, cascading),
/// so without a search the join would change no count, and a page joins
/// its users once it is cut ([`MembersOfOrganization::widen`]) rather than
/// for every member its total counts.
pub fn listable(
    organization_ids: &[Uuid],
    filter: &MemberFilter,
) -> AppResult<Select<member::Entity>> {
    let search = values::search("search", filter.search.as_deref())?;
    let mut select = member::Entity::find()
        .filter(member::Column::OrganizationId.is_in(organization_ids.iter().copied()));
    if let Some(role) = filter.role {
        select = select.filter(member::Column::Role.eq(role));
    }
    if let Some(search) = search {
        select = select.inner_join(user::Entity);
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

/// What a members page reads of a member when the client asks for nothing
/// that needs more: no `joined_at`, no `sessions_revoked_before`.
#[derive(Debug, Clone, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "member::Entity", from_query_result)]
pub struct MemberBrief {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
}

impl MemberBrief {
    /// Its columns, in the order of its fields.
    pub const COLUMNS: [&'static str; 4] = ["id", "organization_id", "user_id", "role"];

    /// Reads it from a row by the positions of [`Self::COLUMNS`].
    pub fn read(row: &QueryResult, at: [usize; 4]) -> Result<Self, DbErr> {
        Ok(Self {
            id: paging::cell(row, at[0])?,
            organization_id: paging::cell(row, at[1])?,
            user_id: paging::cell(row, at[2])?,
            role: Role::try_from_value(&paging::cell(row, at[3])?)?,
        })
    }
}

/// A member as a read found it: every column, or only the brief (the rest
/// is then loaded by id if a resolver needs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRow {
    Full(member::Model),
    Brief(MemberBrief),
}

impl MemberRow {
    pub fn id(&self) -> Uuid {
        match self {
            Self::Full(member) => member.id,
            Self::Brief(brief) => brief.id,
        }
    }

    pub fn organization_id(&self) -> Uuid {
        match self {
            Self::Full(member) => member.organization_id,
            Self::Brief(brief) => brief.organization_id,
        }
    }

    pub fn user_id(&self) -> Uuid {
        match self {
            Self::Full(member) => member.user_id,
            Self::Brief(brief) => brief.user_id,
        }
    }

    pub fn role(&self) -> Role {
        match self {
            Self::Full(member) => member.role,
            Self::Brief(brief) => brief.role,
        }
    }
}

impl From<member::Model> for MemberRow {
    fn from(member: member::Model) -> Self {
        Self::Full(member)
    }
}

/// A member as a page lists it: with the user the page joins, and the
/// member's teams when the page was read with them ([`MemberFilter::teams`]).
#[derive(Debug, Clone)]
pub struct ListedMember {
    pub member: MemberRow,
    pub user: Option<UserRow>,
    /// The member's teams, by team id; `None` when not read.
    pub teams: Option<Vec<TeamRow>>,
}

/// An organization's members, with their users and, when asked for, their
/// teams (one statement for the page of every organization asked for).
pub struct MembersOfOrganization;

/// The alias of the page a members page's teams are joined to.
const PAGE: &str = "page";
/// The prefixes of a members page's columns: member, user, team.
const MEMBER: &str = "A_";
const USER: &str = "B_";
const TEAM: &str = "C_";

impl PerParent for MembersOfOrganization {
    type Filter = MemberFilter;
    type Item = ListedMember;
    const PARENT: (&'static str, &'static str) = ("members", "organization_id");
    const ID: (&'static str, &'static str) = ("members", "id");

    fn select(parents: &[Uuid], filter: &Self::Filter) -> AppResult<SelectStatement> {
        let select = listable(parents, filter)?.select_only();
        let select = match filter.members {
            Columns::All => member::Model::select_cols_nested(select, Some(MEMBER), None),
            Columns::Brief => MemberBrief::select_cols_nested(select, Some(MEMBER), None),
        };
        Ok(select.into_query())
    }

    /// The page's members with their users and, when asked for, each of
    /// their teams: one row per (member, team), one for a member without
    /// teams, in member order. Joined once the page is cut, so a page of
    /// 100 probes 100 users however many members its total counts. Only
    /// teams of the member's own organization are joined. The rows are
    /// ordered by member alone, which the page's own order already gives
    /// (ordered by team as well, PostgreSQL sorted every row again);
    /// [`absorb`](Self::absorb) puts each member's teams in order.
    fn widen(page: SelectStatement, filter: &Self::Filter) -> SelectStatement {
        let member_id = || (Alias::new(PAGE), Alias::new(format!("{MEMBER}id")));
        let users = user::Entity::find().select_only();
        let users = match filter.users {
            Columns::All => Profile::select_cols_nested(users, Some(USER), None),
            Columns::Brief => UserBrief::select_cols_nested(users, Some(USER), None),
        };
        let mut widened = users.into_query();
        widened
            .column((Alias::new(PAGE), Asterisk))
            .join_subquery(
                JoinType::InnerJoin,
                page,
                Alias::new(PAGE),
                Expr::col((user::Entity, user::Column::Id))
                    .equals((Alias::new(PAGE), Alias::new(format!("{MEMBER}user_id")))),
            )
            .order_by(member_id(), Order::Asc);
        let Some(team_columns) = filter.teams else {
            return widened;
        };
        let organization_id = (
            Alias::new(PAGE),
            Alias::new(format!("{MEMBER}organization_id")),
        );
        widened
            .join(
                JoinType::LeftJoin,
                team_member::Entity,
                Expr::col((team_member::Entity, team_member::Column::MemberId)).equals(member_id()),
            )
            .join(
                JoinType::LeftJoin,
                team::Entity,
                Expr::col((team::Entity, team::Column::Id))
                    .equals((team_member::Entity, team_member::Column::TeamId))
                    .and(
                        Expr::col((team::Entity, team::Column::OrganizationId))
                            .equals(organization_id),
                    ),
            );
        let columns: Vec<team::Column> = match team_columns {
            Columns::All => team::Column::iter().collect(),
            Columns::Brief => vec![
                team::Column::Id,
                team::Column::OrganizationId,
                team::Column::Name,
                team::Column::Slug,
            ],
        };
        for column in columns {
            widened.expr_as(
                Expr::col((team::Entity, column)),
                Alias::new(format!("{TEAM}{}", column.as_str())),
            );
        }
        widened
    }

    /// The brief columns, the common case, are read by position.
    fn parse(
        row: &QueryResult,
        filter: &Self::Filter,
        at: &mut paging::Positions,
    ) -> Result<(Uuid, Self::Item), DbErr> {
        let member = match filter.members {
            Columns::All => MemberRow::Full(member::Model::from_query_result(row, MEMBER)?),
            Columns::Brief => MemberRow::Brief(MemberBrief::read(
                row,
                at.of_columns(MEMBER, &MemberBrief::COLUMNS)?,
            )?),
        };
        let user = match filter.users {
            Columns::All => Profile::from_query_result_optional(row, USER)?.map(UserRow::Profile),
            Columns::Brief => {
                UserBrief::read_optional(row, at.of_columns(USER, &UserBrief::COLUMNS)?)?
                    .map(UserRow::Brief)
            }
        };
        let teams = match filter.teams {
            Some(columns) => Some(team_of(row, columns, at)?.into_iter().collect()),
            None => None,
        };
        Ok((
            member.organization_id(),
            ListedMember {
                member,
                user,
                teams,
            },
        ))
    }

    /// Every member (no role, no search): `organization_member_counts`,
    /// which triggers on `members` keep (migration 37).
    fn kept_count(filter: &Self::Filter) -> Option<paging::KeptCount> {
        use organization_member_count::{Column, Entity};
        use sea_orm::EntityName;
        (filter.role.is_none() && filter.search.is_none()).then(|| {
            (
                Entity.table_name(),
                Column::OrganizationId.as_str(),
                Column::Members.as_str(),
            )
        })
    }

    /// A search: its plan depends on how many people the text matches
    /// (`ix_users_search`, a trigram index, where PostgreSQL has one).
    fn planned_per_execution(filter: &Self::Filter) -> bool {
        filter.search.is_some()
    }

    fn absorb(
        item: &mut Self::Item,
        row: &QueryResult,
        filter: &Self::Filter,
        at: &mut paging::Positions,
    ) -> Result<bool, DbErr> {
        let (Some(teams), Some(columns)) = (&mut item.teams, filter.teams) else {
            return Ok(false);
        };
        let [id] = at.of_columns(MEMBER, &["id"])?;
        let member_id: Uuid = paging::cell(row, id)?;
        if member_id != item.member.id() {
            return Ok(false);
        }
        if let Some(team) = team_of(row, columns, at)? {
            let at = teams.partition_point(|t| t.id() < team.id());
            teams.insert(at, team);
        }
        Ok(true)
    }
}

/// The team a members page row carries, if any, read with `columns`.
fn team_of(
    row: &QueryResult,
    columns: Columns,
    at: &mut paging::Positions,
) -> Result<Option<TeamRow>, DbErr> {
    Ok(match columns {
        Columns::All => team::Model::from_query_result_optional(row, TEAM)?.map(TeamRow::Full),
        Columns::Brief => TeamBrief::read_optional(row, at.of_columns(TEAM, &TeamBrief::COLUMNS)?)?
            .map(TeamRow::Brief),
    })
}

/// A person's memberships, oldest first, after the membership `after`,
/// leaving out organizations whose IP allowlist refuses the request's
/// address: the first `limit` of them, or all.
/// `ix_members_user_page (user_id, id)` serves the order, so a page costs
/// the same in 5 organizations or 5,000 (each row's organization is probed
/// by primary key for its allowlist).
pub async fn of_person<C: ConnectionTrait>(
    db: &C,
    person: &Person,
    client_ip: Option<IpAddr>,
    after: Option<Uuid>,
    limit: Option<u64>,
) -> AppResult<Vec<member::Model>> {
    use sea_orm::QueryOrder;
    let mut select = member::Entity::find()
        .filter(member::Column::UserId.eq(person.user_id))
        .filter(
            member::Column::OrganizationId.in_subquery(
                organization::Entity::find()
                    .select_only()
                    .column(organization::Column::Id)
                    .filter(visibility::network_admits(
                        db.get_database_backend(),
                        person.is_platform_admin,
                        client_ip,
                    ))
                    .into_query(),
            ),
        );
    if let Some(after) = after {
        select = select.filter(member::Column::Id.gt(after));
    }
    let select = select.order_by_asc(member::Column::Id);
    Ok(select.limit(limit).all(db).await?)
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
