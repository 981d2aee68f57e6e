use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::scim_directory;

use crate::domain::directories;
use crate::domain::ids::{self, IdKind};
use crate::domain::sso::SsoSettings;
use crate::graphql::types::enums::Role;

/// Members of a directory group hold a role (`ScimDirectory.groupRoles`).
#[derive(SimpleObject)]
pub struct ScimGroupRole {
    /// The group's `displayName` in the directory, compared ignoring case.
    pub group: String,
    /// The role its members hold (never OWNER).
    pub role: Role,
}

/// A SCIM 2.0 directory (Okta, Microsoft Entra ID, …) that provisions the
/// organization's members and teams (issue #25). Its bearer token is
/// shown once, when the directory is created or its token rotated.
pub struct ScimDirectory(pub scim_directory::Model);

/// A SCIM 2.0 directory (Okta, Microsoft Entra ID, …) that provisions the
/// organization's members and teams. Its bearer token is shown once, when
/// the directory is created or its token rotated.
#[Object]
impl ScimDirectory {
    /// Opaque id, prefixed `dir_`.
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::ScimDirectory, self.0.id))
    }

    /// A name for people (say, "Okta").
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The SCIM base URL to give the directory:
    /// `{ORGQL_PUBLIC_URL}/scim/v2/{id}`.
    async fn base_url(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let public_url = &ctx.data::<Arc<SsoSettings>>()?.public_url;
        Ok(format!(
            "{public_url}/scim/v2/{}",
            ids::encode(IdKind::ScimDirectory, self.0.id)
        ))
    }

    /// The role of people the directory adds (VIEWER or MEMBER), unless
    /// a group mapping gives them another.
    async fn default_role(&self) -> Role {
        self.0.default_role.into()
    }

    /// Groups whose members hold a role. With none, roles are the
    /// organization's to change; with some, the members the directory
    /// manages take the highest role of their mapped groups (the default
    /// without one) whenever their groups change. Owners keep their role.
    async fn group_roles(&self) -> Vec<ScimGroupRole> {
        directories::group_roles_of(&self.0)
            .into_iter()
            .map(|mapped| ScimGroupRole {
                group: mapped.group,
                role: mapped.role.into(),
            })
            .collect()
    }

    /// Whether the directory holds a working token (false once revoked;
    /// `rotateScimDirectoryToken` makes a new one).
    async fn token_active(&self) -> bool {
        self.0.token_hash.is_some()
    }

    /// The last four characters of the current or last token, to tell
    /// tokens apart.
    async fn token_last_four(&self) -> Option<&str> {
        self.0.token_last_four.as_deref()
    }

    /// When it was connected.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When its settings or token last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
