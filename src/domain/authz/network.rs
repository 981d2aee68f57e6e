//! The IP allowlist rule: which networks an organization admits, read from
//! its allowlist entries, and the check every access to it passes when its
//! policy turns the allowlist on (`access::decide_for` and the guards).
//! The commands that change the entries are `domain::policy`'s.

use std::net::IpAddr;

use entity::ip_allowlist_entry;
use ipnet::IpNet;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::policy::Policy;
use super::principal::Actor;
use crate::error::{AppError, AppResult};

/// The networks on an organization's allowlist.
pub async fn allowlist<C: ConnectionTrait>(db: &C, organization_id: Uuid) -> AppResult<Vec<IpNet>> {
    Ok(entries(db, organization_id)
        .await?
        .iter()
        .filter_map(|e| e.cidr.parse().ok())
        .collect())
}

/// An organization's allowlist entries, oldest first.
pub async fn entries<C: ConnectionTrait>(
    db: &C,
    organization_id: Uuid,
) -> AppResult<Vec<ip_allowlist_entry::Model>> {
    Ok(ip_allowlist_entry::Entity::find()
        .filter(ip_allowlist_entry::Column::OrganizationId.eq(organization_id))
        .order_by_asc(ip_allowlist_entry::Column::Id)
        .all(db)
        .await?)
}

/// Whether an address lies in one of the networks.
pub fn admits(networks: &[IpNet], client: Option<IpAddr>) -> bool {
    client.is_some_and(|ip| networks.iter().any(|net| net.contains(&ip)))
}

/// Refuses a request from outside the allowlist when the organization's
/// policy turns it on. Platform administrators are not subject to it (they
/// must be able to help an organization that locked itself out); everyone
/// else, API tokens included, is.
pub fn check_network(actor: &Actor, policy: &Policy, networks: &[IpNet]) -> AppResult<()> {
    if policy.ip_allowlist_enabled
        && !actor.is_platform_admin()
        && !admits(networks, actor.meta.client_ip)
    {
        tracing::debug!(target: "orgql::access", client_ip = ?actor.meta.client_ip, "refused by the IP allowlist");
        return Err(AppError::IpNotAllowed);
    }
    Ok(())
}
