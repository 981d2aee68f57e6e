use async_graphql::{
    Context, ID, Object, SimpleObject,
    dataloader::{DataLoader, HashMapCache},
};
use chrono::{DateTime, Utc};
use entity::invitation;

use crate::domain::ids::{self, IdKind};
use crate::domain::invitations;
use crate::error::AppError;
use crate::graphql::loaders::{OrganizationLoader, UserLoader};
use crate::graphql::types::{
    Organization, User,
    enums::{InvitationStatus, Role},
};

/// A personal invitation to join an organization, addressed to an email.
pub struct Invitation(pub invitation::Model);

/// A personal invitation to join an organization, addressed to an email.
#[Object]
impl Invitation {
    /// Opaque id, prefixed `inv_`.
    pub async fn id(&self) -> ID {
        ID(ids::encode(IdKind::Invitation, self.0.id))
    }

    /// The invited address, lower-cased.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// Whether it is a guest invitation: the invitee joins as a guest
    /// (VIEWER) with the emailed link alone (`acceptGuestInvitation`).
    async fn guest(&self) -> bool {
        self.0.guest
    }

    /// The role the invitee gets on acceptance.
    async fn role(&self) -> Role {
        self.0.role.into()
    }

    /// PENDING, ACCEPTED, DECLINED, REVOKED, or EXPIRED the moment
    /// `expiresAt` passes.
    async fn status(&self) -> InvitationStatus {
        invitations::status_at(&self.0, Utc::now()).into()
    }

    /// When the invitation stops working.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    /// When it was sent.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The organization.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        let organization = ctx
            .data::<DataLoader<OrganizationLoader, HashMapCache>>()?
            .load_one(self.0.organization_id)
            .await?
            .ok_or_else(|| AppError::internal("an invitation's organization is missing"))?;
        Ok(Organization(organization))
    }

    /// Who sent it; null when their account is gone.
    async fn invited_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.invited_by_user_id else {
            return Ok(None);
        };
        Ok(ctx
            .data::<DataLoader<UserLoader, HashMapCache>>()?
            .load_one(id)
            .await?
            .map(User::from))
    }

    /// Teams (`team_` ids) the invitee joins on acceptance.
    async fn team_ids(&self) -> Vec<ID> {
        serde_json::from_value::<Vec<uuid::Uuid>>(self.0.team_ids.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|id| ID(ids::encode(IdKind::Team, id)))
            .collect()
    }
}

/// What an accept page may show before the invitee signs in, and nothing
/// more.
#[derive(SimpleObject)]
pub struct InvitationPreview {
    /// The organization's name.
    pub organization_name: String,
    /// The inviter's name; null when their account is gone.
    pub inviter_name: Option<String>,
    /// The role on offer.
    pub role: Role,
    /// When the invitation stops working.
    pub expires_at: DateTime<Utc>,
    /// Whether it can still be accepted (PENDING) or why not.
    pub status: InvitationStatus,
}

impl From<crate::read::invitations::Preview> for InvitationPreview {
    fn from(preview: crate::read::invitations::Preview) -> Self {
        Self {
            status: invitations::status_at(&preview.invitation, Utc::now()).into(),
            organization_name: preview.organization_name,
            inviter_name: preview.inviter_name,
            role: preview.invitation.role.into(),
            expires_at: preview.invitation.expires_at,
        }
    }
}
