//! The authorization kernel: everything that decides who may do what.
//!
//! - [`principal`]: who is calling (a person with a session, or an
//!   organization API token) and from where.
//! - [`matrix`]: the permissions, the role → permission matrix of DESIGN §4
//!   and the rank rules; [`Decision`] and its one conversion to an error.
//! - [`guests`]: what a guest account may do (read, and only that).
//! - [`policy`]: an organization's typed governance policy, which adjusts
//!   the matrix, and the rules for changing it ([`Policy::apply`]).
//! - [`network`]: the IP allowlist: the networks an organization admits
//!   and the check against them.
//! - [`visibility`]: the same decision as a SQL condition, for lists.
//! - [`access`]: the one access decision ([`decide_for`]) and the loads
//!   that go with it ([`authorize`], [`authorize_write`]).
//!
//! Nothing outside this module decides access: GraphQL guards and domain
//! functions call into it. Every decision denies unless something grants,
//! and every denial is logged at debug to the `orgql::access` target.

pub mod access;
pub mod guests;
pub mod matrix;
pub mod network;
pub mod policy;
pub mod principal;
pub mod visibility;

pub use access::{OrgAccess, authorize, authorize_write, decide_for, may_read};
pub use matrix::{Decision, Permission, Role};
pub use policy::Policy;
pub use principal::{Actor, Authentication, Person, Principal, RequestMeta, TokenGrant};

#[cfg(test)]
pub(crate) mod tests {
    use entity::{organization, values};

    /// An organization row for unit tests.
    pub fn organization() -> organization::Model {
        let now = chrono::Utc::now();
        organization::Model {
            id: uuid::Uuid::now_v7(),
            name: "Acme".into(),
            slug: "acme".into(),
            domain: None,
            website: None,
            industry: None,
            description: None,
            avatar_url: None,
            status: values::OrganizationStatus::Active,
            tier: values::Tier::Free,
            jwt_expiry_secs: 900,
            policy: None,
            created_at: now,
            updated_at: now,
        }
    }
}
