//! SeaORM entities: one module per table, no logic.
//!
//! These rows never reach the GraphQL schema directly: `graphql/types`
//! converts them, so a column such as a password hash cannot leak by accident.

pub mod account_lockout;
pub mod account_token;
pub mod api_token;
pub mod audit_actor_count;
pub mod audit_entry;
pub mod audit_entry_count;
pub mod event;
pub mod event_sequence;
pub mod guest_sign_up;
pub mod invitation;
pub mod ip_allowlist_entry;
pub mod join_code;
pub mod member;
pub mod mfa_challenge;
pub mod mfa_lockout;
pub mod mfa_recovery_code;
pub mod organization;
pub mod organization_domain;
pub mod organization_member_count;
pub mod outbox_email;
pub mod ownership_transfer;
pub mod refresh_token;
pub mod scim_directory;
pub mod scim_group;
pub mod scim_group_member;
pub mod scim_user;
pub mod server_setting;
pub mod session;
pub mod sign_in_address;
pub mod sso_code;
pub mod sso_connection;
pub mod sso_identity;
pub mod sso_login_state;
pub mod sso_saml_assertion;
pub mod team;
pub mod team_member;
pub mod tier_upgrade_request;
pub mod totp_authenticator;
pub mod user;
pub mod values;
pub mod webhook_delivery;
pub mod webhook_endpoint;
