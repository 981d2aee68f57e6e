//! Field guards: each guarded field names the permission it needs, in the
//! organization it belongs to. The check goes through the request's
//! membership loader (one batched query however many fields ask) and the
//! kernel's one decision (`domain::authz::decide_for`); guards decide
//! nothing themselves.

use async_graphql::{
    Context, ContextBase, Guard,
    dataloader::{DataLoader, HashMapCache},
};
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::domain::authz::access::decide_for;
use crate::domain::authz::matrix::Permission;
use crate::domain::authz::network::check_network;
use crate::domain::staff_reads::{self, StaffReads};
use crate::error::AppError;
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::{IpAllowlistLoader, ViewerAccess, ViewerMembershipLoader};

/// Requires `permission` in organization `organization_id`.
pub struct PermissionGuard {
    permission: Permission,
    organization_id: Uuid,
}

impl PermissionGuard {
    pub fn new(permission: Permission, organization_id: Uuid) -> Self {
        Self {
            permission,
            organization_id,
        }
    }
}

/// The guards a request has passed, by organization and permission. A
/// guard's answer depends only on the request's actor, the organization as
/// the request first read it (the membership loader's cache) and the
/// permission, so a field guarded on every row of a page (a member's
/// `teams`) is decided once, not once per row. Refusals are not kept: they
/// are errors, decided anew each time.
#[derive(Default)]
pub struct PassedGuards(Mutex<Vec<(Uuid, Permission)>>);

impl PassedGuards {
    fn contains(&self, key: (Uuid, Permission)) -> bool {
        self.0.lock().is_ok_and(|passed| passed.contains(&key))
    }

    fn add(&self, key: (Uuid, Permission)) {
        if let Ok(mut passed) = self.0.lock()
            && !passed.contains(&key)
        {
            passed.push(key);
        }
    }
}

impl Guard for PermissionGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let key = (self.organization_id, self.permission);
        let passed = ctx.data_opt::<PassedGuards>();
        if passed.is_some_and(|passed| passed.contains(key)) {
            return Ok(());
        }
        self.decide(ctx).await?;
        if let Some(passed) = passed {
            passed.add(key);
        }
        Ok(())
    }
}

impl PermissionGuard {
    /// Whether this guard has already passed in this request: a field
    /// answered without its resolver (`graphql::plain`) may be answered
    /// only then, and is left to its resolver, guard and all, otherwise.
    pub fn passed<T>(&self, ctx: &ContextBase<'_, T>) -> bool {
        ctx.data_opt::<PassedGuards>()
            .is_some_and(|passed| passed.contains((self.organization_id, self.permission)))
    }

    async fn decide(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let actor = ctx.actor()?;
        let access = ctx
            .data::<DataLoader<ViewerMembershipLoader, HashMapCache>>()?
            .load_one(self.organization_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let gate = access.gate()?;
        // The kernel's decision, converted once (NOT_FOUND for a stranger,
        // who so learns nothing, not even that an allowlist exists), then
        // the allowlist: the order of the write path (`authorize_write`).
        decide_for(
            actor,
            self.organization_id,
            gate,
            access.membership.as_ref(),
            self.permission,
        )?
        .into_result()?;
        if gate.policy.ip_allowlist_enabled {
            let networks = ctx
                .data::<DataLoader<IpAllowlistLoader, HashMapCache>>()?
                .load_one(self.organization_id)
                .await?
                .unwrap_or_default();
            check_network(actor, &gate.policy, &networks)?;
        }
        note_if_audited(ctx, &access, self.organization_id, self.permission)
    }
}

/// A platform administrator reading where they are no member: noted, for
/// the request's end to audit (`domain::staff_reads`).
fn note_if_audited(
    ctx: &Context<'_>,
    access: &ViewerAccess,
    organization_id: Uuid,
    permission: Permission,
) -> async_graphql::Result<()> {
    if staff_reads::is_audited(ctx.actor()?, access.membership.as_ref()) {
        ctx.data::<Arc<StaffReads>>()?
            .note(organization_id, permission);
    }
    Ok(())
}

/// Notes a read by a platform administrator of something `permission`
/// guards in `organization_id`, found without a guard (a `node` lookup),
/// when they are no member there: the request's end audits it
/// (`domain::staff_reads`), as the guard does for fields.
pub async fn note_staff_read(
    ctx: &Context<'_>,
    organization_id: Uuid,
    permission: Permission,
) -> async_graphql::Result<()> {
    if !ctx.actor()?.is_platform_admin() {
        return Ok(());
    }
    match ctx
        .data::<DataLoader<ViewerMembershipLoader, HashMapCache>>()?
        .load_one(organization_id)
        .await?
    {
        Some(access) => note_if_audited(ctx, &access, organization_id, permission),
        None => Ok(()),
    }
}

/// Requires a signed-in user.
pub struct SignedIn;

impl Guard for SignedIn {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        ctx.actor().map(|_| ())
    }
}

/// Requires a person signed in with a session: account operations (joining,
/// leaving, creating organizations, sessions) are not for API tokens.
pub struct Person;

impl Guard for Person {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        ctx.actor()?.require_person()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_guard_is_kept_for_its_organization_and_permission_only() {
        let passed = PassedGuards::default();
        let (here, elsewhere) = (Uuid::now_v7(), Uuid::now_v7());
        passed.add((here, Permission::MembersView));
        assert!(passed.contains((here, Permission::MembersView)));
        assert!(!passed.contains((here, Permission::AuditView)));
        assert!(!passed.contains((elsewhere, Permission::MembersView)));
    }
}
