//! Enumerations stored as short strings, shared by several tables.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A member's role in an organization, highest first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    #[sea_orm(string_value = "OWNER")]
    Owner,
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    #[sea_orm(string_value = "MEMBER")]
    Member,
    #[sea_orm(string_value = "VIEWER")]
    Viewer,
    #[sea_orm(string_value = "BILLING")]
    Billing,
}

/// Whether an organization accepts writes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrganizationStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
}

/// An organization's plan; it sets the limits of DESIGN §6.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Tier {
    #[sea_orm(string_value = "FREE")]
    Free,
    #[sea_orm(string_value = "STARTER")]
    Starter,
    #[sea_orm(string_value = "TEAM")]
    Team,
    #[sea_orm(string_value = "ENTERPRISE")]
    Enterprise,
}

/// Where an invitation stands. A PENDING invitation whose `expires_at` has
/// passed reads as EXPIRED.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvitationStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    #[sea_orm(string_value = "REVOKED")]
    Revoked,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}

/// Where a request that needs an answer stands: ownership transfers and
/// tier upgrade requests.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}

/// A member's role within one team.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TeamRole {
    #[sea_orm(string_value = "MAINTAINER")]
    Maintainer,
    #[sea_orm(string_value = "MEMBER")]
    Member,
}

/// Who performed an audited action.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActorKind {
    #[sea_orm(string_value = "USER")]
    User,
    #[sea_orm(string_value = "API_TOKEN")]
    ApiToken,
    #[sea_orm(string_value = "PLATFORM_ADMIN")]
    PlatformAdmin,
    #[sea_orm(string_value = "SYSTEM")]
    System,
    /// A SCIM directory (issue #25): the actor id is the directory's.
    #[sea_orm(string_value = "DIRECTORY")]
    Directory,
}

/// The protocol of a single sign-on connection.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SsoProtocol {
    #[sea_orm(string_value = "OIDC")]
    Oidc,
    #[sea_orm(string_value = "SAML")]
    Saml,
}

/// Where a single sign-on connection stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SsoStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "INACTIVE")]
    Inactive,
}
