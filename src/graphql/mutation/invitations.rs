//! Invitations: sending them (one or a list), answering them, revoking
//! and resending them. Join codes and joining by domain, the other ways
//! in, are `join_codes.rs` and `domain_joins.rs`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::ids;
use crate::domain::invitations::{self, InvitationRef, IssuedInvitation, NewInvitation};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::{Person, SignedIn};
use crate::graphql::rate_limits::Limited;
use crate::graphql::types::{Invitation, Member, Organization, enums::Role};
use crate::mail::outbox::Outbox;

#[derive(Default)]
pub struct InvitationMutations;

/// An invitation to send.
#[derive(InputObject)]
pub struct CreateInvitationInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// Who to invite.
    pub email: String,
    /// The role on acceptance: MEMBER when absent; at most your own, and
    /// only an OWNER invites an OWNER.
    pub role: Option<Role>,
    /// Hours until it expires: the policy's invitation lifetime (24) when
    /// absent, at most 168.
    pub expires_in_hours: Option<i32>,
    /// Teams (`team_` ids) the invitee joins on acceptance.
    pub team_ids: Option<Vec<ID>>,
    /// A guest invitation: the invitee joins as a guest (VIEWER; give no
    /// other role) with the emailed link alone, no password
    /// (`acceptGuestInvitation`). Only while the policy's
    /// `guestAccessEnabled` is on.
    pub guest: Option<bool>,
}

/// A sent invitation and, this once, its secret token.
#[derive(SimpleObject)]
pub struct CreateInvitationPayload {
    /// The invitation.
    pub invitation: Invitation,
    /// The secret token; shown only here and in the email.
    pub token: String,
    /// The link the email carries, built from `ORGQL_PUBLIC_URL`.
    pub accept_url: String,
}

impl From<IssuedInvitation> for CreateInvitationPayload {
    fn from(issued: IssuedInvitation) -> Self {
        Self {
            invitation: Invitation(issued.invitation),
            token: issued.token,
            accept_url: issued.accept_url,
        }
    }
}

/// One address of a list to invite.
#[derive(InputObject)]
pub struct InvitationEntryInput {
    /// Who to invite.
    pub email: String,
    /// The role on acceptance: MEMBER when absent; at most your own, and
    /// only an OWNER invites an OWNER.
    pub role: Option<Role>,
    /// Teams (`team_` ids) the invitee joins on acceptance.
    pub team_ids: Option<Vec<ID>>,
}

/// A list of invitations to send at once.
#[derive(InputObject)]
pub struct CreateInvitationsInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// 1 to 100 addresses, each at most once. They expire after the
    /// policy's invitation lifetime.
    pub invitations: Vec<InvitationEntryInput>,
}

/// What `createInvitations` did with one address.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationOutcome {
    /// Invited: the invitation was created and its email queued.
    Created,
    /// Not invited: the person is a member already.
    AlreadyMember,
    /// Not invited: a pending invitation to this address exists (resend
    /// it instead).
    AlreadyInvited,
    /// Not invited: the organization's `allowedEmailDomains` leave this
    /// address out.
    RefusedByDomainPolicy,
}

/// The answer for one address of `createInvitations`.
#[derive(SimpleObject)]
pub struct InvitationResult {
    /// The address, as stored (lower-cased).
    pub email: String,
    /// What happened to it.
    pub outcome: InvitationOutcome,
    /// The new invitation when `outcome` is CREATED. Its token travels
    /// only in the email.
    pub invitation: Option<Invitation>,
}

/// The result of `createInvitations`.
#[derive(SimpleObject)]
pub struct CreateInvitationsPayload {
    /// One result per address, in the order given.
    pub results: Vec<InvitationResult>,
}

impl From<(String, invitations::Outcome)> for InvitationResult {
    fn from((email, outcome): (String, invitations::Outcome)) -> Self {
        let (outcome, invitation) = match outcome {
            invitations::Outcome::Created(invitation) => {
                (InvitationOutcome::Created, Some(Invitation(invitation)))
            }
            invitations::Outcome::AlreadyMember => (InvitationOutcome::AlreadyMember, None),
            invitations::Outcome::AlreadyInvited => (InvitationOutcome::AlreadyInvited, None),
            invitations::Outcome::RefusedByDomainPolicy => {
                (InvitationOutcome::RefusedByDomainPolicy, None)
            }
        };
        Self {
            email,
            outcome,
            invitation,
        }
    }
}

/// Which invitation the invitee means: give `token` (from the link) or
/// `invitationId` (from `viewer.pendingInvitations`).
#[derive(InputObject)]
pub struct InvitationResponseInput {
    /// The token from the invitation link.
    pub token: Option<String>,
    /// The invitation (`inv_` id), when listed among the viewer's pending
    /// invitations.
    pub invitation_id: Option<ID>,
}

impl InvitationResponseInput {
    fn reference(&self) -> Result<InvitationRef<'_>, AppError> {
        match (&self.token, &self.invitation_id) {
            (Some(token), None) => Ok(InvitationRef::Token(token)),
            (None, Some(id)) => Ok(InvitationRef::Id(ids::parse_uuid::<
                crate::domain::ids::InvitationId,
            >(id, "invitationId")?)),
            _ => Err(AppError::bad_input(
                "token",
                "give either token or invitationId",
            )),
        }
    }
}

/// The result of `acceptInvitation`.
#[derive(SimpleObject)]
pub struct AcceptInvitationPayload {
    /// The new membership.
    pub member: Member,
    /// The organization joined.
    pub organization: Organization,
}

/// The invitation after the change.
#[derive(SimpleObject)]
pub struct InvitationPayload {
    /// The invitation.
    pub invitation: Invitation,
}

/// An invitation to act on.
#[derive(InputObject)]
pub struct InvitationIdInput {
    /// The invitation (`inv_` id).
    pub invitation_id: ID,
}

/// An invitation to send again.
#[derive(InputObject)]
pub struct ResendInvitationInput {
    /// The invitation (`inv_` id).
    pub invitation_id: ID,
    /// Hours until the new token expires: the policy's invitation lifetime
    /// (24 unless changed) when absent, at most 168.
    pub expires_in_hours: Option<i32>,
}

fn invitation_id(id: &ID) -> Result<crate::domain::ids::InvitationId, AppError> {
    ids::parse::<ids::InvitationId>(id, "invitationId")
}

/// The account a limited operation is counted against: the signed-in user.
pub(super) fn actor_key(actor: &crate::domain::authz::Actor) -> Option<String> {
    actor.user_id().map(|id| id.to_string())
}

#[Object]
impl InvitationMutations {
    /// Invites an email address (members:manage) and emails the link.
    #[graphql(guard = "SignedIn")]
    async fn create_invitation(
        &self,
        ctx: &Context<'_>,
        input: CreateInvitationInput,
    ) -> async_graphql::Result<CreateInvitationPayload> {
        let team_ids = input
            .team_ids
            .unwrap_or_default()
            .iter()
            .map(|id| ids::parse_uuid::<ids::TeamId>(id, "teamIds"))
            .collect::<Result<Vec<_>, _>>()?;
        let issued = invitations::create(
            ctx.db()?,
            ctx.actor()?,
            ctx.data::<Outbox>()?,
            NewInvitation {
                organization_id: ids::parse::<ids::OrganizationId>(
                    &input.organization_id,
                    "organizationId",
                )?,
                email: input.email,
                role: input.role.map(Into::into),
                expires_in_hours: input.expires_in_hours,
                team_ids,
                guest: input.guest.unwrap_or(false),
            },
        )
        .await?;
        Ok(issued.into())
    }

    /// Invites up to 100 addresses at once (members:manage), all or nothing
    /// under the tier's seat limit: one invitation, one audit entry and one
    /// email per new address; members, already-invited addresses and
    /// addresses outside the allowed domains are reported, not invited.
    #[graphql(guard = "SignedIn")]
    async fn create_invitations(
        &self,
        ctx: &Context<'_>,
        input: CreateInvitationsInput,
    ) -> async_graphql::Result<CreateInvitationsPayload> {
        let mut invitees = Vec::with_capacity(input.invitations.len());
        for (i, entry) in input.invitations.into_iter().enumerate() {
            let field = format!("invitations.{i}.teamIds");
            let team_ids = entry
                .team_ids
                .unwrap_or_default()
                .iter()
                .map(|id| ids::parse_uuid::<ids::TeamId>(id, &field))
                .collect::<Result<Vec<_>, _>>()?;
            invitees.push(invitations::Invitee {
                email: entry.email,
                role: entry.role.map(Into::into),
                team_ids,
            });
        }
        let outcomes = invitations::create_many(
            ctx.db()?,
            ctx.actor()?,
            ctx.data::<Outbox>()?,
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?,
            invitees,
        )
        .await?;
        Ok(CreateInvitationsPayload {
            results: outcomes.into_iter().map(Into::into).collect(),
        })
    }

    /// Accepts an invitation addressed to the viewer's email: the viewer
    /// becomes a member with its role. A token works once.
    #[graphql(guard = "Person")]
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: InvitationResponseInput,
    ) -> async_graphql::Result<AcceptInvitationPayload> {
        let actor = ctx.actor()?;
        ctx.rate_limit(Limited::Invitation, actor_key(actor).as_deref())
            .await?;
        let (member, organization) =
            invitations::accept(ctx.db()?, actor, input.reference()?).await?;
        Ok(AcceptInvitationPayload {
            member: member.into(),
            organization: Organization(organization),
        })
    }

    /// Turns down an invitation addressed to the viewer's email.
    #[graphql(guard = "Person")]
    async fn decline_invitation(
        &self,
        ctx: &Context<'_>,
        input: InvitationResponseInput,
    ) -> async_graphql::Result<InvitationPayload> {
        let actor = ctx.actor()?;
        ctx.rate_limit(Limited::Invitation, actor_key(actor).as_deref())
            .await?;
        let invitation = invitations::decline(ctx.db()?, actor, input.reference()?).await?;
        Ok(InvitationPayload {
            invitation: Invitation(invitation),
        })
    }

    /// Withdraws a pending invitation (members:manage).
    #[graphql(guard = "SignedIn")]
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        input: InvitationIdInput,
    ) -> async_graphql::Result<InvitationPayload> {
        let invitation = invitations::revoke(
            ctx.db()?,
            ctx.actor()?,
            invitation_id(&input.invitation_id)?,
        )
        .await?;
        Ok(InvitationPayload {
            invitation: Invitation(invitation),
        })
    }

    /// Sends an invitation again with a new token and expiry; the old
    /// token stops working (members:manage).
    #[graphql(guard = "SignedIn")]
    async fn resend_invitation(
        &self,
        ctx: &Context<'_>,
        input: ResendInvitationInput,
    ) -> async_graphql::Result<CreateInvitationPayload> {
        let issued = invitations::resend(
            ctx.db()?,
            ctx.actor()?,
            ctx.data::<Outbox>()?,
            invitation_id(&input.invitation_id)?,
            input.expires_in_hours,
        )
        .await?;
        Ok(issued.into())
    }
}
