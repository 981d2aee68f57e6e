use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use crate::domain::authz::policy::PolicyPatch;
use crate::domain::authz::policy::RoleOverride;
use crate::domain::ids;
use crate::domain::policy;
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::guards::SignedIn;
use crate::graphql::types::policy::{IpAllowlistEntry, Policy, RolePermissionOverrideInput};

#[derive(Default)]
pub struct PolicyMutations;

/// Changes to a policy; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdatePolicyInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// Hours after which sessions are refused here (1 to 2,160); null for
    /// no limit.
    pub session_timeout_hours: MaybeUndefined<i32>,
    /// Default invitation lifetime, 1 to 168 hours.
    pub invitation_ttl_hours: Option<i32>,
    /// Email domains admitted by invitations and joins; empty admits all.
    pub allowed_email_domains: Option<Vec<String>>,
    /// Turns the IP allowlist on or off; turning it on is refused unless
    /// your own address is on it.
    pub ip_allowlist_enabled: Option<bool>,
    /// Replaces every role's grants and withdrawals.
    pub role_permissions: Option<Vec<RolePermissionOverrideInput>>,
    /// The longest lifetime of new API tokens, 1 to 365 days; null for the
    /// server's cap.
    pub api_key_max_age_days: MaybeUndefined<i32>,
    /// Requires members to sign in with multi-factor authentication.
    /// Turning it on is MFA_REQUIRED unless your own session passed MFA,
    /// so you cannot shut yourself out.
    pub require_mfa: Option<bool>,
    /// Requires members (not OWNERs) to sign in through the organization's
    /// single sign-on. Needs an ACTIVE connection (CONFLICT otherwise);
    /// turning it on is SSO_REQUIRED unless you are an OWNER or signed in
    /// through it, so you cannot shut yourself out.
    pub sso_required: Option<bool>,
    /// Admits guests (guest invitations and guest links). Turning it off
    /// ends every guest's membership and sessions here at once, and
    /// revokes pending guest invitations and guest links.
    pub guest_access_enabled: Option<bool>,
    /// Replaces the domains whose people may join by their verified
    /// address; each must be a verified domain of this organization.
    pub auto_join_domains: Option<Vec<String>>,
    /// The role people who join by domain get: VIEWER or MEMBER.
    pub default_role: Option<crate::graphql::types::enums::Role>,
    /// Adds people at `autoJoinDomains` automatically when they sign in or
    /// verify their address.
    pub auto_join_on_sign_in: Option<bool>,
}

/// The result of `updatePolicy`.
#[derive(SimpleObject)]
pub struct UpdatePolicyPayload {
    /// The policy as it is now.
    pub policy: Policy,
}

/// A network to allow.
#[derive(InputObject)]
pub struct AddIpAllowlistEntryInput {
    /// The organization (`org_` id).
    pub organization_id: ID,
    /// IPv4 or IPv6 CIDR (a bare address means just that address).
    pub cidr: String,
    /// What the network is.
    pub description: Option<String>,
}

/// The result of `addIpAllowlistEntry`.
#[derive(SimpleObject)]
pub struct AddIpAllowlistEntryPayload {
    /// The new entry.
    pub entry: IpAllowlistEntry,
}

/// An entry to remove.
#[derive(InputObject)]
pub struct RemoveIpAllowlistEntryInput {
    /// The entry (`ip_` id).
    pub entry_id: ID,
}

/// The result of `removeIpAllowlistEntry`.
#[derive(SimpleObject)]
pub struct RemoveIpAllowlistEntryPayload {
    /// The id the entry had.
    pub removed_entry_id: ID,
}

fn hours(value: i32, field: &str) -> Result<u32, AppError> {
    u32::try_from(value).map_err(|_| AppError::bad_input(field, "must not be negative"))
}

fn optional(value: MaybeUndefined<i32>, field: &str) -> Result<Option<Option<u32>>, AppError> {
    Ok(match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(hours(v, field)?)),
    })
}

#[Object]
impl PolicyMutations {
    /// Changes the organization's policy (policies:manage).
    #[graphql(guard = "SignedIn")]
    async fn update_policy(
        &self,
        ctx: &Context<'_>,
        input: UpdatePolicyInput,
    ) -> async_graphql::Result<UpdatePolicyPayload> {
        let patch = PolicyPatch {
            session_timeout_hours: optional(input.session_timeout_hours, "sessionTimeoutHours")?,
            invitation_ttl_hours: input
                .invitation_ttl_hours
                .map(|h| hours(h, "invitationTtlHours"))
                .transpose()?,
            allowed_email_domains: input.allowed_email_domains,
            ip_allowlist_enabled: input.ip_allowlist_enabled,
            role_permissions: input.role_permissions.map(|list| {
                list.into_iter()
                    .map(|o| {
                        (
                            o.role.into(),
                            RoleOverride {
                                grant: o.grant.into_iter().map(Into::into).collect(),
                                withdraw: o.withdraw.into_iter().map(Into::into).collect(),
                            },
                        )
                    })
                    .collect()
            }),
            api_key_max_age_days: optional(input.api_key_max_age_days, "apiKeyMaxAgeDays")?,
            require_mfa: input.require_mfa,
            sso_required: input.sso_required,
            guest_access_enabled: input.guest_access_enabled,
            auto_join_domains: input.auto_join_domains,
            default_role: input.default_role.map(Into::into),
            auto_join_on_sign_in: input.auto_join_on_sign_in,
        };
        let organization_id =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        let policy = policy::update(ctx.db()?, ctx.actor()?, organization_id, patch).await?;
        Ok(UpdatePolicyPayload {
            policy: Policy(policy),
        })
    }

    /// Adds a network to the IP allowlist (policies:manage).
    #[graphql(guard = "SignedIn")]
    async fn add_ip_allowlist_entry(
        &self,
        ctx: &Context<'_>,
        input: AddIpAllowlistEntryInput,
    ) -> async_graphql::Result<AddIpAllowlistEntryPayload> {
        let organization_id =
            ids::parse::<ids::OrganizationId>(&input.organization_id, "organizationId")?;
        let entry = policy::add_entry(
            ctx.db()?,
            ctx.actor()?,
            organization_id,
            &input.cidr,
            input.description,
        )
        .await?;
        Ok(AddIpAllowlistEntryPayload {
            entry: IpAllowlistEntry(entry),
        })
    }

    /// Removes a network from the IP allowlist (policies:manage); refused
    /// if it would shut your own address out.
    #[graphql(guard = "SignedIn")]
    async fn remove_ip_allowlist_entry(
        &self,
        ctx: &Context<'_>,
        input: RemoveIpAllowlistEntryInput,
    ) -> async_graphql::Result<RemoveIpAllowlistEntryPayload> {
        let id = ids::parse::<ids::IpAllowlistEntryId>(&input.entry_id, "entryId")?;
        policy::remove_entry(ctx.db()?, ctx.actor()?, id).await?;
        Ok(RemoveIpAllowlistEntryPayload {
            removed_entry_id: input.entry_id,
        })
    }
}
