use async_graphql::Enum;

/// A member's role in an organization. OWNER, ADMIN, MEMBER and VIEWER are
/// ranked, highest first; BILLING is a side role for billing only.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::values::Role")]
pub enum Role {
    /// Full control, including deletion and ownership transfer.
    Owner,
    /// Manages settings, members, teams and policies.
    Admin,
    /// Sees the organization and its members; creates teams.
    Member,
    /// Read-only access to the organization and its members.
    Viewer,
    /// Sees and manages billing and tiers only.
    Billing,
}

/// Whether an organization accepts changes.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::values::OrganizationStatus")]
pub enum OrganizationStatus {
    /// In normal use.
    Active,
    /// Suspended by a platform administrator: read-only for its members.
    Suspended,
}

/// An organization's plan, which sets its limits.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::values::Tier")]
pub enum Tier {
    /// 2 members, 3 teams.
    Free,
    /// 10 members, 10 teams.
    Starter,
    /// 50 members, 50 teams.
    Team,
    /// No limits; audit log kept two years.
    Enterprise,
}

/// A member's role within one team.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::values::TeamRole")]
pub enum TeamRole {
    /// Manages the team: its settings and who is in it.
    Maintainer,
    /// Belongs to the team.
    Member,
}

/// Where an invitation stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::values::InvitationStatus")]
pub enum InvitationStatus {
    /// Waiting for the invitee.
    Pending,
    /// The invitee joined.
    Accepted,
    /// The invitee said no.
    Declined,
    /// Withdrawn by the organization.
    Revoked,
    /// Its time ran out; resend it to try again.
    Expired,
}

/// A permission of the role matrix (DESIGN §4). Roles hold them, an
/// organization's policy grants and withdraws them per role, and API
/// tokens are scoped to them. Stored and documented as `area:verb`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::authz::Permission")]
pub enum Permission {
    /// `org:view`: see the organization.
    OrgView,
    /// `org:manage`: change the organization's settings.
    OrgManage,
    /// `org:delete`: delete the organization (OWNER only, people only).
    OrgDelete,
    /// `ownership:transfer`: hand the ownership over (OWNER only).
    OwnershipTransfer,
    /// `members:view`: see the members.
    MembersView,
    /// `members:manage`: invite, create join codes, change roles, remove.
    MembersManage,
    /// `teams:view`: see the teams.
    TeamsView,
    /// `teams:create`: start a team.
    TeamsCreate,
    /// `teams:manage`: change any team.
    TeamsManage,
    /// `policies:manage`: the policy, the IP allowlist and verified
    /// domains.
    PoliciesManage,
    /// `sso:manage`: single sign-on connections (OIDC and SAML): create,
    /// change, test, activate, deactivate, delete and list them.
    SsoManage,
    /// `directory:manage`: SCIM directories (directory sync): connect,
    /// configure, rotate or revoke their tokens, disconnect, list them.
    DirectoryManage,
    /// `webhooks:manage`: webhook endpoints: add, change, rotate their
    /// secrets, disable, delete, list them with their deliveries, and
    /// redeliver.
    WebhooksManage,
    /// `audit:view`: read the audit log.
    AuditView,
    /// `billing:view`: see usage and the tier.
    BillingView,
    /// `billing:manage`: request tier upgrades.
    BillingManage,
    /// `tokens:manage`: create and revoke organization API tokens.
    TokensManage,
}

/// Where an ownership transfer or a tier upgrade request stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::values::RequestStatus")]
pub enum RequestStatus {
    /// Waiting for an answer.
    Pending,
    /// Accepted (a transfer) or approved (a tier request).
    Accepted,
    /// Declined (a transfer) or rejected (a tier request).
    Declined,
    /// Withdrawn by whoever made it.
    Cancelled,
    /// Not answered in time.
    Expired,
}
