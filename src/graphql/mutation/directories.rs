use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::directories::{self, DirectoryPatch, GroupRole, NewDirectory};
use crate::domain::ids::{self, ScimDirectoryId};
use crate::graphql::context::ContextExt;
use crate::graphql::guards::SignedIn;
use crate::graphql::types::directory::ScimDirectory;
use crate::graphql::types::enums::Role;

#[derive(Default)]
pub struct DirectoryMutations;

/// Members of a directory group hold a role.
#[derive(InputObject)]
pub struct ScimGroupRoleInput {
    /// The group's `displayName` in the directory (ignoring case).
    pub group: String,
    /// ADMIN, MEMBER, VIEWER or BILLING; never OWNER, and never above
    /// your own role.
    pub role: Role,
}

impl From<ScimGroupRoleInput> for GroupRole {
    fn from(input: ScimGroupRoleInput) -> Self {
        GroupRole {
            group: input.group,
            role: input.role.into(),
        }
    }
}

/// A directory to connect.
#[derive(InputObject)]
pub struct CreateScimDirectoryInput {
    /// The organization (`org_` id); it must be on ENTERPRISE.
    pub organization_id: ID,
    /// A name for people (say, "Okta").
    pub name: String,
    /// VIEWER or MEMBER: the role of people the directory adds.
    pub default_role: Role,
    /// Groups whose members hold another role (optional).
    #[graphql(default)]
    pub group_roles: Vec<ScimGroupRoleInput>,
}

/// Changes to a directory; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateScimDirectoryInput {
    /// The directory (`dir_` id).
    pub directory_id: ID,
    /// A new name.
    pub name: Option<String>,
    /// VIEWER or MEMBER.
    pub default_role: Option<Role>,
    /// The whole new mapping (an empty list removes it).
    pub group_roles: Option<Vec<ScimGroupRoleInput>>,
}

/// A directory to act on.
#[derive(InputObject)]
pub struct ScimDirectoryInput {
    /// The directory (`dir_` id).
    pub directory_id: ID,
}

/// A directory with its new bearer token.
#[derive(SimpleObject)]
pub struct ScimDirectoryTokenPayload {
    /// The directory.
    pub directory: ScimDirectory,
    /// The bearer token to give the directory (`scim_…`), shown this once;
    /// only its SHA-256 is kept.
    pub token: String,
}

/// The directory after the change.
#[derive(SimpleObject)]
pub struct ScimDirectoryPayload {
    /// The directory.
    pub directory: ScimDirectory,
}

/// The result of `deleteScimDirectory`.
#[derive(SimpleObject)]
pub struct DeleteScimDirectoryPayload {
    /// The id the directory had.
    pub deleted_directory_id: ID,
}

fn directory_id(id: &ID) -> Result<ScimDirectoryId, crate::error::AppError> {
    ids::parse::<ScimDirectoryId>(id, "directoryId")
}

#[Object]
impl DirectoryMutations {
    /// Connects a SCIM directory (directory:manage, ENTERPRISE tier).
    /// Give the directory `directory.baseUrl` and `token`.
    #[graphql(guard = "SignedIn")]
    async fn create_scim_directory(
        &self,
        ctx: &Context<'_>,
        input: CreateScimDirectoryInput,
    ) -> async_graphql::Result<ScimDirectoryTokenPayload> {
        let organization_id =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        let (directory, token) = directories::create(
            ctx.db()?,
            ctx.actor()?,
            NewDirectory {
                organization_id,
                name: input.name,
                default_role: input.default_role.into(),
                group_roles: input.group_roles.into_iter().map(Into::into).collect(),
            },
        )
        .await?;
        Ok(ScimDirectoryTokenPayload {
            directory: ScimDirectory(directory),
            token,
        })
    }

    /// Changes a directory's name, default role or group mapping
    /// (directory:manage).
    #[graphql(guard = "SignedIn")]
    async fn update_scim_directory(
        &self,
        ctx: &Context<'_>,
        input: UpdateScimDirectoryInput,
    ) -> async_graphql::Result<ScimDirectoryPayload> {
        let directory = directories::update(
            ctx.db()?,
            ctx.actor()?,
            directory_id(&input.directory_id)?,
            DirectoryPatch {
                name: input.name,
                default_role: input.default_role.map(Into::into),
                group_roles: input
                    .group_roles
                    .map(|roles| roles.into_iter().map(Into::into).collect()),
            },
        )
        .await?;
        Ok(ScimDirectoryPayload {
            directory: ScimDirectory(directory),
        })
    }

    /// Gives a directory a new token (directory:manage); the old one stops
    /// working at once.
    #[graphql(guard = "SignedIn")]
    async fn rotate_scim_directory_token(
        &self,
        ctx: &Context<'_>,
        input: ScimDirectoryInput,
    ) -> async_graphql::Result<ScimDirectoryTokenPayload> {
        let (directory, token) =
            directories::rotate_token(ctx.db()?, ctx.actor()?, directory_id(&input.directory_id)?)
                .await?;
        Ok(ScimDirectoryTokenPayload {
            directory: ScimDirectory(directory),
            token,
        })
    }

    /// Revokes a directory's token (directory:manage): its calls fail
    /// until a new token is made.
    #[graphql(guard = "SignedIn")]
    async fn revoke_scim_directory_token(
        &self,
        ctx: &Context<'_>,
        input: ScimDirectoryInput,
    ) -> async_graphql::Result<ScimDirectoryPayload> {
        let directory =
            directories::revoke_token(ctx.db()?, ctx.actor()?, directory_id(&input.directory_id)?)
                .await?;
        Ok(ScimDirectoryPayload {
            directory: ScimDirectory(directory),
        })
    }

    /// Disconnects a directory (directory:manage). The members and teams
    /// it made stay.
    #[graphql(guard = "SignedIn")]
    async fn delete_scim_directory(
        &self,
        ctx: &Context<'_>,
        input: ScimDirectoryInput,
    ) -> async_graphql::Result<DeleteScimDirectoryPayload> {
        let directory =
            directories::delete(ctx.db()?, ctx.actor()?, directory_id(&input.directory_id)?)
                .await?;
        Ok(DeleteScimDirectoryPayload {
            deleted_directory_id: ID(ids::encode(ids::IdKind::ScimDirectory, directory.id)),
        })
    }
}
