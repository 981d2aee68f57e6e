use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::values::OrganizationStatus;

use crate::domain::ids;
use crate::domain::organizations::{self, NewOrganization, OrganizationPatch, Profile};
use crate::graphql::context::ContextExt;
use crate::graphql::guards::{Person, SignedIn};
use crate::graphql::types::{Member, Organization};

#[derive(Default)]
pub struct OrganizationMutations;

/// A new organization.
#[derive(InputObject)]
pub struct CreateOrganizationInput {
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// URL-safe unique name; derived from the name when absent.
    pub slug: Option<String>,
    /// Email domain such as `acme.com`; unique across organizations.
    pub domain: Option<String>,
    /// Absolute http(s) URL.
    pub website: Option<String>,
    /// Industry, free text up to 200 characters.
    pub industry: Option<String>,
    /// Up to 2,000 characters.
    pub description: Option<String>,
    /// Absolute http(s) URL of a picture.
    pub avatar_url: Option<String>,
}

/// The new organization and the creator's OWNER membership.
#[derive(SimpleObject)]
pub struct CreateOrganizationPayload {
    /// The organization.
    pub organization: Organization,
    /// The creator's membership, as OWNER.
    pub membership: Member,
}

/// New settings for an organization. Fields left out stay as they are; an
/// empty string clears an optional field.
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// Display name, 1 to 200 characters.
    pub name: Option<String>,
    /// URL-safe unique name; links with the old slug stop working.
    pub slug: Option<String>,
    /// Email domain such as `acme.com`; unique across organizations.
    pub domain: Option<String>,
    /// Absolute http(s) URL.
    pub website: Option<String>,
    /// Industry, free text up to 200 characters.
    pub industry: Option<String>,
    /// Up to 2,000 characters.
    pub description: Option<String>,
    /// Absolute http(s) URL of a picture.
    pub avatar_url: Option<String>,
    /// Lifetime, in seconds, of access tokens issued with this
    /// organization active: 60 to 86,400.
    pub jwt_expiry_secs: Option<i32>,
}

/// The result of `updateOrganization`.
#[derive(SimpleObject)]
pub struct UpdateOrganizationPayload {
    /// The organization as it is now.
    pub organization: Organization,
}

/// Which organization to delete, confirmed.
#[derive(InputObject)]
pub struct DeleteOrganizationInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// The organization's slug, repeated to confirm.
    pub confirm_slug: String,
}

/// The result of `deleteOrganization`.
#[derive(SimpleObject)]
pub struct DeleteOrganizationPayload {
    /// The id the organization had.
    pub deleted_organization_id: ID,
}

/// Which organization to suspend or reactivate.
#[derive(InputObject)]
pub struct SetOrganizationStatusInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// Why; kept in the audit log.
    pub reason: Option<String>,
}

/// The result of `suspendOrganization` and `reactivateOrganization`.
#[derive(SimpleObject)]
pub struct SetOrganizationStatusPayload {
    /// The organization with its new status.
    pub organization: Organization,
}

fn organization_id(id: &ID) -> Result<crate::domain::ids::OrganizationId, crate::error::AppError> {
    ids::parse::<ids::OrganizationId>(id, "organizationId")
}

#[Object]
impl OrganizationMutations {
    /// Creates an organization on the FREE tier, with the viewer as OWNER.
    #[graphql(guard = "Person")]
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> async_graphql::Result<CreateOrganizationPayload> {
        let (organization, owner) = organizations::create(
            ctx.db()?,
            ctx.actor()?,
            NewOrganization {
                name: input.name,
                slug: input.slug,
                profile: Profile {
                    domain: input.domain,
                    website: input.website,
                    industry: input.industry,
                    description: input.description,
                    avatar_url: input.avatar_url,
                },
            },
        )
        .await?;
        Ok(CreateOrganizationPayload {
            organization: Organization(organization),
            membership: owner.into(),
        })
    }

    /// Changes an organization's settings (org:manage).
    #[graphql(guard = "SignedIn")]
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> async_graphql::Result<UpdateOrganizationPayload> {
        let organization = organizations::update(
            ctx.db()?,
            ctx.actor()?,
            organization_id(&input.organization_id)?,
            OrganizationPatch {
                name: input.name,
                slug: input.slug,
                jwt_expiry_secs: input.jwt_expiry_secs,
                profile: Profile {
                    domain: input.domain,
                    website: input.website,
                    industry: input.industry,
                    description: input.description,
                    avatar_url: input.avatar_url,
                },
            },
        )
        .await?;
        Ok(UpdateOrganizationPayload {
            organization: Organization(organization),
        })
    }

    /// Deletes an organization and everything it owns (org:delete).
    #[graphql(guard = "SignedIn")]
    async fn delete_organization(
        &self,
        ctx: &Context<'_>,
        input: DeleteOrganizationInput,
    ) -> async_graphql::Result<DeleteOrganizationPayload> {
        let id = organization_id(&input.organization_id)?;
        organizations::delete(ctx.db()?, ctx.actor()?, id, &input.confirm_slug).await?;
        Ok(DeleteOrganizationPayload {
            deleted_organization_id: input.organization_id,
        })
    }

    /// Makes an organization read-only for its members (platform
    /// administrators only).
    #[graphql(guard = "SignedIn")]
    async fn suspend_organization(
        &self,
        ctx: &Context<'_>,
        input: SetOrganizationStatusInput,
    ) -> async_graphql::Result<SetOrganizationStatusPayload> {
        let id = organization_id(&input.organization_id)?;
        let organization = organizations::set_status(
            ctx.db()?,
            ctx.actor()?,
            id,
            OrganizationStatus::Suspended,
            input.reason,
        )
        .await?;
        Ok(SetOrganizationStatusPayload {
            organization: Organization(organization),
        })
    }

    /// Lifts a suspension (platform administrators only).
    #[graphql(guard = "SignedIn")]
    async fn reactivate_organization(
        &self,
        ctx: &Context<'_>,
        input: SetOrganizationStatusInput,
    ) -> async_graphql::Result<SetOrganizationStatusPayload> {
        let id = organization_id(&input.organization_id)?;
        let organization = organizations::set_status(
            ctx.db()?,
            ctx.actor()?,
            id,
            OrganizationStatus::Active,
            input.reason,
        )
        .await?;
        Ok(SetOrganizationStatusPayload {
            organization: Organization(organization),
        })
    }
}
