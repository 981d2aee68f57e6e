//! Which organizations an actor sees in a list: the access decision
//! (`access::decide_for`, `network::check_network`) stated once more as a
//! SQL condition, because a list cannot ask it row by row. A person lists
//! the organizations they are a member of, an API token its own, a
//! platform administrator all; and nobody but a platform administrator
//! lists an organization whose IP allowlist refuses their address (a
//! single lookup answers IP_NOT_ALLOWED there).

use std::net::IpAddr;

use entity::{ip_allowlist_entry, member, organization};
use ipnet::IpNet;
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, DbBackend};

use super::policy::IP_ALLOWLIST_ENABLED;
use super::principal::Actor;

/// The organizations `actor` may list (a condition on `organizations`).
pub fn listable(backend: DbBackend, actor: &Actor) -> Condition {
    let mut visible = Condition::all().add(network_admits(
        backend,
        actor.is_platform_admin(),
        actor.meta.client_ip,
    ));
    if let Some(grant) = actor.api_token() {
        visible = visible.add(organization::Column::Id.eq(grant.organization_id));
    } else if !actor.is_platform_admin() {
        visible = visible.add(
            organization::Column::Id.in_subquery(
                Query::select()
                    .column(member::Column::OrganizationId)
                    .from(member::Entity)
                    .and_where(member::Column::UserId.eq(actor.user_id()))
                    .to_owned(),
            ),
        );
    }
    visible
}

/// The organizations whose IP allowlist lets a request from `client` in:
/// every one for a platform administrator, as in
/// `network::check_network`.
pub fn network_admits(
    backend: DbBackend,
    is_platform_admin: bool,
    client: Option<IpAddr>,
) -> Condition {
    if is_platform_admin {
        Condition::all()
    } else {
        allowlist_admits(backend, client)
    }
}

/// Organizations whose IP allowlist admits `client`, or that have it off:
/// lists leave out, whole, an organization that refuses the caller's
/// address, as single lookups answer IP_NOT_ALLOWED (`authz::access`).
///
/// Entries are stored canonical (`203.0.113.0/24`, host bits cleared), so
/// "some entry contains the client" is "some entry is one of the client's
/// 33 (IPv4) or 129 (IPv6) supernets": one indexed `IN`, the same on both
/// databases. Only reading the policy's flag differs between them.
fn allowlist_admits(backend: DbBackend, client: Option<IpAddr>) -> Condition {
    let allowlist_on = match backend {
        DbBackend::Postgres => format!(
            "COALESCE((\"organizations\".\"policy\"->>'{IP_ALLOWLIST_ENABLED}')::boolean, false)"
        ),
        _ => format!(
            "COALESCE(json_extract(\"organizations\".\"policy\", '$.{IP_ALLOWLIST_ENABLED}'), 0)"
        ),
    };
    let supernets: Vec<String> = client
        .map(|ip| {
            let bits = if ip.is_ipv4() { 32 } else { 128 };
            (0..=bits)
                .filter_map(|prefix| IpNet::new(ip, prefix).ok())
                .map(|net| net.trunc().to_string())
                .collect()
        })
        .unwrap_or_default();
    let admitted = Query::select()
        .column(ip_allowlist_entry::Column::OrganizationId)
        .from(ip_allowlist_entry::Entity)
        .and_where(ip_allowlist_entry::Column::Cidr.is_in(supernets))
        .to_owned();
    Condition::any()
        .add(Expr::cust(allowlist_on).not())
        .add(organization::Column::Id.in_subquery(admitted))
}
