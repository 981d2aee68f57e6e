//! Business rules. The authorization kernel ([`authz`]) decides who may do
//! what; the write path ([`write`](mod@write)) is the one way in for every
//! change; the aggregates (one module each) hold the rules of their
//! commands. Functions here take the actor and a database connection and
//! know nothing of GraphQL, so the same rule serves a mutation, the CLI and
//! a test.

pub mod accounts;
pub mod api_tokens;
pub mod audit;
pub mod authz;
pub mod billing;
pub mod bookkeeping;
pub mod clock;
pub mod directories;
pub mod domain_joins;
pub mod domains;
pub mod events;
pub mod guest_access;
pub mod ids;
pub mod invitations;
pub mod join_codes;
pub mod key_rotation;
pub mod members;
pub mod organizations;
pub mod outbound;
pub mod ownership;
pub mod policy;
pub mod rate_limits;
pub mod revocation;
pub mod sessions;
pub mod sso;
pub mod staff_reads;
pub mod teams;
pub mod tiers;
pub mod users;
pub mod values;
pub mod webhooks;
pub mod write;
