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
