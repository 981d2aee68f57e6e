//! Who may see whom: a user is visible to themselves, to platform
//! administrators, and to people who may view the members of an
//! organization they share.

use chrono::{DateTime, Utc};
use entity::{member, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, QueryFilter, QuerySelect,
    sea_query::Query,
};
use uuid::Uuid;

use crate::domain::authz::{Actor, Permission, access};
use crate::error::AppResult;
use crate::read::paging;

/// What the API shows of an account: the columns a `User` field can
/// return, never the password hash. Reads of people for display select
/// only these.
#[derive(Debug, Clone, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "user::Entity", from_query_result)]
pub struct Profile {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub is_platform_admin: bool,
    pub mfa_enabled: bool,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub is_guest: bool,
}

/// What a members page reads of a user when the client asks for nothing
/// beyond the name and email: three columns instead of the profile's eight.
#[derive(Debug, Clone, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "user::Entity", from_query_result)]
pub struct UserBrief {
    pub id: Uuid,
    pub email: String,
    pub name: String,
}

impl UserBrief {
    /// Its columns, in the order of its fields.
    pub const COLUMNS: [&'static str; 3] = ["id", "email", "name"];

    /// Reads it from a row by the positions of [`Self::COLUMNS`]; none
    /// when the row has no user (its id is null).
    pub fn read_optional(
        row: &sea_orm::QueryResult,
        at: [usize; 3],
    ) -> Result<Option<Self>, sea_orm::DbErr> {
        let Some(id) = paging::cell::<Option<Uuid>>(row, at[0])? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id,
            email: paging::cell(row, at[1])?,
            name: paging::cell(row, at[2])?,
        }))
    }
}

/// A user as a read found them: the whole profile, or only the brief (the
/// rest is then loaded by id if a resolver needs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRow {
    Profile(Profile),
    Brief(UserBrief),
}

impl UserRow {
    /// The whole profile, when the read found all of it.
    pub fn as_profile(&self) -> Option<&Profile> {
        match self {
            Self::Profile(profile) => Some(profile),
            Self::Brief(_) => None,
        }
    }

    pub fn id(&self) -> Uuid {
        match self {
            Self::Profile(profile) => profile.id,
            Self::Brief(brief) => brief.id,
        }
    }

    pub fn email(&self) -> &str {
        match self {
            Self::Profile(profile) => &profile.email,
            Self::Brief(brief) => &brief.email,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Profile(profile) => &profile.name,
            Self::Brief(brief) => &brief.name,
        }
    }
}

impl From<Profile> for UserRow {
    fn from(profile: Profile) -> Self {
        Self::Profile(profile)
    }
}

impl From<user::Model> for Profile {
    fn from(user: user::Model) -> Self {
        Self {
            id: user.id,
            email: user.email,
            name: user.name,
            is_platform_admin: user.is_platform_admin,
            mfa_enabled: user.mfa_enabled,
            email_verified_at: user.email_verified_at,
            created_at: user.created_at,
            is_guest: user.is_guest,
        }
    }
}

pub async fn visible_by_id<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    user_id: Uuid,
) -> AppResult<Option<Profile>> {
    if !actor.sees_account_of(user_id) {
        // Organizations both belong to; the user is visible if the actor
        // may view the members of one of them, with its policy, session
        // controls and allowlist applied.
        let shared: Vec<Uuid> = member::Entity::find()
            .select_only()
            .column(member::Column::OrganizationId)
            .filter(member::Column::UserId.eq(user_id))
            .filter(
                member::Column::OrganizationId.in_subquery(
                    Query::select()
                        .column(member::Column::OrganizationId)
                        .from(member::Entity)
                        .and_where(member::Column::UserId.eq(actor.user_id()))
                        .to_owned(),
                ),
            )
            .into_tuple()
            .all(db)
            .await?;
        let mut visible = false;
        for organization_id in shared {
            if access::may_read(db, actor, organization_id, Permission::MembersView).await? {
                visible = true;
                break;
            }
        }
        if !visible {
            return Ok(None);
        }
    }
    Ok(user::Entity::find_by_id(user_id)
        .into_partial_model::<Profile>()
        .one(db)
        .await?)
}
