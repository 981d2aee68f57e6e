//! The read side of join codes: pages and counts per organization and
//! visibility by id.

use chrono::Utc;
use entity::join_code;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryTrait, Select,
};
use uuid::Uuid;

use crate::domain::authz::{Actor, Permission, access};
use crate::domain::join_codes::active_condition;
use crate::error::AppResult;
use crate::read::paging::{self, PerParent};
use sea_orm::sea_query::SelectStatement;
use sea_orm::{DbErr, QueryResult};

fn listable(organization_ids: &[Uuid], active_only: bool) -> Select<join_code::Entity> {
    let select = join_code::Entity::find()
        .filter(join_code::Column::OrganizationId.is_in(organization_ids.iter().copied()));
    if active_only {
        select.filter(active_condition(Utc::now()))
    } else {
        select
    }
}

/// An organization's join codes; the filter is "active only".
pub struct JoinCodesOfOrganization;

impl PerParent for JoinCodesOfOrganization {
    type Filter = bool;
    type Item = join_code::Model;
    const PARENT: (&'static str, &'static str) = ("join_codes", "organization_id");
    const ID: (&'static str, &'static str) = ("join_codes", "id");

    fn select(parents: &[Uuid], active_only: &Self::Filter) -> AppResult<SelectStatement> {
        Ok(listable(parents, *active_only).into_query())
    }

    fn parse(
        row: &QueryResult,
        _filter: &Self::Filter,
        _at: &mut paging::Positions,
    ) -> Result<(Uuid, Self::Item), DbErr> {
        let code = join_code::Model::from_query_result(row, "")?;
        Ok((code.organization_id, code))
    }
}

/// A join code the actor may see (members:manage in its organization).
pub async fn visible_by_id<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    join_code_id: Uuid,
) -> AppResult<Option<join_code::Model>> {
    let Some(found) = join_code::Entity::find_by_id(join_code_id).one(db).await? else {
        return Ok(None);
    };
    Ok(
        access::may_read(db, actor, found.organization_id, Permission::MembersManage)
            .await?
            .then_some(found),
    )
}
