//! Black-box tests: each spawns the real router on a fresh database (SQLite
//! by default, PostgreSQL when `ORGQL_TEST_DATABASE_URL` is set) and speaks
//! GraphQL over HTTP as a client would. One crate, so one binary to build.

mod account_abuse;
mod accounts;
mod api_tokens;
mod audit_coverage;
mod batch_authentication;
mod binary;
mod brute_force;
mod bulk_invitations;
mod conflicts;
mod dns_server;
mod domain_joins;
mod domains;
mod edge_hardening;
mod governance;
mod graphql_over_http;
mod guest_limits;
mod guests;
mod hardening;
mod helpers;
mod idp;
mod introspection;
mod invitations;
mod isolation;
mod join_codes;
mod key_rotation;
mod layers;
mod listener_reconnect;
mod mail;
mod mail_dir;
mod members;
mod mfa;
mod names;
mod organizations;
mod outage;
mod password_hashing;
mod passwords;
mod plain_answers;
mod policy;
mod refusals;
mod reliability;
// SAML through a real IdP: the `saml` build only (`cargo test --features
// saml`). Without it, `saml_not_built` shows that SAML is refused.
#[cfg(feature = "saml")]
mod saml;
#[cfg(not(feature = "saml"))]
mod saml_not_built;
#[cfg(feature = "saml")]
mod saml_prescan;
mod schema;
mod scim;
mod secrets_in_logs;
mod serving;
mod session_cache;
mod sessions;
mod shared_limits;
mod shutdown;
mod sso;
mod sso_csrf;
mod sso_discovery;
mod sso_trust;
mod statements;
mod subscriber;
mod subscriptions;
mod teams;
mod verification;
mod webhook_receiver;
mod webhooks;
