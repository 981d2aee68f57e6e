//! Mutation fields, one module per area. Each takes one `input` and returns
//! a payload object. `mutation/<x>.rs` serves `domain::<x>`.

mod accounts;
mod billing;
mod directories;
mod domain_joins;
mod domains;
mod guests;
mod invitations;
mod join_codes;
mod members;
mod organizations;
mod ownership;
mod policy;
mod sessions;
mod sso;
mod teams;
mod webhooks;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    accounts::AccountMutations,
    guests::GuestMutations,
    organizations::OrganizationMutations,
    members::MemberMutations,
    invitations::InvitationMutations,
    join_codes::JoinCodeMutations,
    domain_joins::DomainJoinMutations,
    sessions::SessionMutations,
    ownership::OwnershipMutations,
    billing::BillingMutations,
    policy::PolicyMutations,
    domains::DomainMutations,
    sso::SsoMutations,
    directories::DirectoryMutations,
    teams::TeamMutations,
    webhooks::WebhookMutations,
);
