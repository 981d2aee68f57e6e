//! Mutation fields, one module per area. Each takes one `input` and returns
//! a payload object.

mod accounts;
mod domains;
mod governance;
mod guests;
mod invitations;
mod members;
mod organizations;
mod policy;
mod sessions;
mod sso;
mod teams;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    accounts::AccountMutations,
    guests::GuestMutations,
    organizations::OrganizationMutations,
    members::MemberMutations,
    invitations::InvitationMutations,
    sessions::SessionMutations,
    governance::GovernanceMutations,
    policy::PolicyMutations,
    domains::DomainMutations,
    sso::SsoMutations,
    teams::TeamMutations,
);
