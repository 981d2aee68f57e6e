//! Database migrations, one file per change. Constraint names are stable:
//! `AppError`'s constraint helper maps unique ones (`uq_…`) to CONFLICT.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_accounts;
mod m20261123_000002_create_organizations;
mod m20261123_000003_create_audit_entries;
mod m20261123_000004_create_teams;
mod m20261123_000005_create_invitations_and_join_codes;
mod m20261123_000006_create_api_tokens_and_session_controls;
mod m20261123_000007_create_ownership_transfers_and_tier_requests;
mod m20261123_000008_create_policies_and_ip_allowlist;
mod m20261130_000009_member_session_cutoffs;
mod m20261130_000010_unverified_domains;
mod m20261130_000011_email_verification_and_passwords;
mod m20261130_000012_totp;
mod m20261130_000013_account_lockouts;
mod m20261130_000014_create_organization_domains;
mod m20261130_000015_create_sso;
mod m20261130_000018_guests;
mod m20261130_000022_session_change_notices;
mod m20261130_000023_keyset_page_indexes;
mod m20261130_000024_saml;
mod m20261204_000026_sign_in_lockouts;
mod m20261204_000027_guest_sign_ups;
mod m20261204_000028_rate_limits;
mod m20261204_000029_sso_login_browser;
mod m20261204_000030_sso_test_ticket;
mod m20261204_000031_drop_organization_session_cutoff;
mod m20261204_000032_scim_directories;
mod m20261204_000033_events_and_webhooks;
mod m20261205_000034_enterprise_size_indexes;
mod m20261205_000035_member_search_index;
mod m20261205_000036_audit_entry_counts;
mod m20261205_000037_member_counts;
mod m20261205_000038_members_page_covering_indexes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_accounts::Migration),
            Box::new(m20261123_000002_create_organizations::Migration),
            Box::new(m20261123_000003_create_audit_entries::Migration),
            Box::new(m20261123_000004_create_teams::Migration),
            Box::new(m20261123_000005_create_invitations_and_join_codes::Migration),
            Box::new(m20261123_000006_create_api_tokens_and_session_controls::Migration),
            Box::new(m20261123_000007_create_ownership_transfers_and_tier_requests::Migration),
            Box::new(m20261123_000008_create_policies_and_ip_allowlist::Migration),
            Box::new(m20261130_000009_member_session_cutoffs::Migration),
            Box::new(m20261130_000010_unverified_domains::Migration),
            Box::new(m20261130_000011_email_verification_and_passwords::Migration),
            Box::new(m20261130_000012_totp::Migration),
            Box::new(m20261130_000013_account_lockouts::Migration),
            Box::new(m20261130_000014_create_organization_domains::Migration),
            Box::new(m20261130_000015_create_sso::Migration),
            Box::new(m20261130_000018_guests::Migration),
            Box::new(m20261130_000022_session_change_notices::Migration),
            Box::new(m20261130_000023_keyset_page_indexes::Migration),
            Box::new(m20261130_000024_saml::Migration),
            Box::new(m20261204_000026_sign_in_lockouts::Migration),
            Box::new(m20261204_000027_guest_sign_ups::Migration),
            Box::new(m20261204_000028_rate_limits::Migration),
            Box::new(m20261204_000029_sso_login_browser::Migration),
            Box::new(m20261204_000030_sso_test_ticket::Migration),
            Box::new(m20261204_000031_drop_organization_session_cutoff::Migration),
            Box::new(m20261204_000032_scim_directories::Migration),
            Box::new(m20261204_000033_events_and_webhooks::Migration),
            Box::new(m20261205_000034_enterprise_size_indexes::Migration),
            Box::new(m20261205_000035_member_search_index::Migration),
            Box::new(m20261205_000036_audit_entry_counts::Migration),
            Box::new(m20261205_000037_member_counts::Migration),
            Box::new(m20261205_000038_members_page_covering_indexes::Migration),
        ]
    }
}
