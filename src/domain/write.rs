//! The one way in for every write.
//!
//! DESIGN §2: every change is one transaction, and its audit entry is
//! written in that same transaction, so there is no change without its
//! entry and no entry without its change. This module is the only place
//! that opens a write transaction and the only place that commits one, and
//! it commits only together with exactly one audit entry per change (one,
//! or one each for a list of changes made at once, `commit_each`):
//!
//! ```text
//! Write::begin(db)                       open (IMMEDIATE on SQLite)
//!   .authorize(actor, org, permission)   lock the organization, decide once
//!   -> OrgWrite: change rows through .txn()
//!   .commit(Entry::new(action, id, metadata))
//! ```
//!
//! Dropping a `Write` or an `OrgWrite` without committing rolls back.
//!
//! One kind of write commits with no entry: [`Bookkeeping`], for upkeep
//! that belongs to nobody and changes nothing anyone reads (re-sealing
//! secrets under a new key). It is a type of its own, so that no change
//! made for someone can reach its commit by mistake.

use entity::{organization, values::ActorKind};
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use uuid::Uuid;

use crate::domain::audit::{self, AuditActor, Entry};
use crate::domain::authz::access::{self, Gate, OrgAccess};
use crate::domain::authz::{Actor, Permission, RequestMeta, Role};
use crate::error::{AppError, AppResult};

/// An open write transaction that has not been tied to an organization
/// yet. It may read (to find which organization a target belongs to), then
/// becomes an [`OrgWrite`] through one of the `authorize`/`enter` calls, or
/// commits an account-level change with [`Write::commit`].
pub struct Write {
    txn: DatabaseTransaction,
}

impl Write {
    /// Starts a transaction that will write. On SQLite it begins IMMEDIATE,
    /// so writers queue on the database lock (busy timeout) instead of
    /// failing when a read snapshot cannot be upgraded; on PostgreSQL the
    /// organization row is locked by [`Write::authorize`].
    pub async fn begin(db: &DatabaseConnection) -> AppResult<Self> {
        let txn = db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        Ok(Self { txn })
    }

    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Locks the organization and decides, once, whether the actor may use
    /// `permission` there: NOT_FOUND for a stranger, FORBIDDEN without the
    /// permission, the allowlist and suspension applied.
    pub async fn authorize(
        self,
        actor: &Actor,
        organization_id: Uuid,
        permission: Permission,
    ) -> AppResult<OrgWrite<'_>> {
        let access = access::authorize_write(&self.txn, actor, organization_id, permission).await?;
        Ok(OrgWrite {
            txn: self.txn,
            who: AuditActor::of(actor),
            actor,
            access,
        })
    }

    /// Locks an organization that a person is entering on the strength of
    /// something they hold (an invitation, a join code): no role is needed,
    /// but the organization's IP allowlist and suspension apply as to any
    /// write. The caller checks what they hold.
    pub async fn enter(self, actor: &Actor, organization_id: Uuid) -> AppResult<OrgWrite<'_>> {
        let organization = access::lock_organization(&self.txn, organization_id).await?;
        access::ensure_active(&organization)?;
        access::check_network(&self.txn, actor, &organization).await?;
        let access = OrgAccess {
            membership: access::actor_membership(&self.txn, actor, organization_id).await?,
            gate: Gate::of(&organization)?,
            organization,
        };
        Ok(OrgWrite {
            txn: self.txn,
            who: AuditActor::of(actor),
            actor,
            access,
        })
    }

    /// Locks an organization for platform administration (suspension,
    /// tiers); anyone but a platform administrator learns nothing more than
    /// FORBIDDEN for a member, NOT_FOUND otherwise. The entry names the
    /// actor as PLATFORM_ADMIN.
    pub async fn authorize_platform_admin(
        self,
        actor: &Actor,
        organization_id: Uuid,
    ) -> AppResult<OrgWrite<'_>> {
        let organization = access::lock_organization(&self.txn, organization_id).await?;
        access::require_platform_admin(&self.txn, actor, organization_id).await?;
        let access = OrgAccess {
            membership: access::actor_membership(&self.txn, actor, organization_id).await?,
            gate: Gate::of(&organization)?,
            organization,
        };
        Ok(OrgWrite {
            txn: self.txn,
            who: AuditActor {
                kind: ActorKind::PlatformAdmin,
                ..AuditActor::of(actor)
            },
            actor,
            access,
        })
    }

    /// Commits a change the actor made to their own account or sessions
    /// (no organization) with its one audit entry.
    pub async fn commit_as(self, actor: &Actor, entry: Entry) -> AppResult<()> {
        self.commit(AuditActor::of(actor), &actor.meta, None, entry)
            .await
    }

    /// Commits a change to an account that also ended something in
    /// organizations (a guest's memberships, when the guest becomes a full
    /// account): the account's entry, plus one entry in each
    /// organization's trail for what ended there.
    pub async fn commit_with(
        self,
        who: AuditActor,
        meta: &RequestMeta,
        entry: Entry,
        in_organizations: Vec<(Uuid, Entry)>,
    ) -> AppResult<()> {
        for (organization_id, entry) in &in_organizations {
            audit::record(&self.txn, &who, meta, Some(*organization_id), entry).await?;
        }
        self.commit(who, meta, None, entry).await
    }

    /// Commits a change that belongs to no organization (accounts,
    /// sessions) with its one audit entry.
    pub async fn commit(
        self,
        who: AuditActor,
        meta: &RequestMeta,
        organization_id: Option<Uuid>,
        entry: Entry,
    ) -> AppResult<()> {
        audit::record(&self.txn, &who, meta, organization_id, &entry).await?;
        self.txn.commit().await?;
        Ok(())
    }
}

/// A write inside one organization, locked and authorized. Change rows
/// through [`OrgWrite::txn`]; [`OrgWrite::commit`] writes the audit entry
/// and commits.
pub struct OrgWrite<'a> {
    txn: DatabaseTransaction,
    actor: &'a Actor,
    who: AuditActor,
    access: OrgAccess,
}

impl<'a> OrgWrite<'a> {
    /// Begins and authorizes in one step, for changes whose organization is
    /// known up front.
    pub async fn begin(
        db: &DatabaseConnection,
        actor: &'a Actor,
        organization_id: Uuid,
        permission: Permission,
    ) -> AppResult<Self> {
        Write::begin(db)
            .await?
            .authorize(actor, organization_id, permission)
            .await
    }

    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub fn actor(&self) -> &'a Actor {
        self.actor
    }

    pub fn access(&self) -> &OrgAccess {
        &self.access
    }

    /// The organization, as locked at the start of the write.
    pub fn organization(&self) -> &organization::Model {
        &self.access.organization
    }

    pub fn organization_id(&self) -> Uuid {
        self.access.organization.id
    }

    /// Whether the actor also holds `permission` here.
    pub fn allows(&self, permission: Permission) -> bool {
        self.access.allows(self.actor, permission)
    }

    /// The role the actor acts with where rank rules apply, or FORBIDDEN
    /// when they hold none here.
    pub fn acting_role(&self) -> AppResult<Role> {
        self.access
            .acting_role(self.actor)
            .ok_or(AppError::Forbidden(
                "only members of this organization may do this",
            ))
    }

    /// Writes the change's one audit entry and commits.
    pub async fn commit(self, entry: Entry) -> AppResult<()> {
        let organization_id = self.access.organization.id;
        self.finish(Some(organization_id), entry).await
    }

    /// Commits a change made of several changes of the same kind (a list
    /// of invitations): one audit entry for each, in this one transaction.
    /// With no entries nothing changed, and nothing is committed.
    pub async fn commit_each(self, entries: Vec<Entry>) -> AppResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let organization_id = Some(self.access.organization.id);
        for entry in &entries {
            audit::record(
                &self.txn,
                &self.who,
                &self.actor.meta,
                organization_id,
                entry,
            )
            .await?;
        }
        self.txn.commit().await?;
        Ok(())
    }

    /// Commits the deletion of the organization itself: its entry is kept
    /// outside the organization, whose own trail goes with it.
    pub async fn commit_deletion(self, entry: Entry) -> AppResult<()> {
        self.finish(None, entry).await
    }

    async fn finish(self, organization_id: Option<Uuid>, entry: Entry) -> AppResult<()> {
        audit::record(
            &self.txn,
            &self.who,
            &self.actor.meta,
            organization_id,
            &entry,
        )
        .await?;
        self.txn.commit().await?;
        Ok(())
    }
}

/// A transaction for the server's own upkeep: changes that no actor made,
/// that belong to no organization or account history, and after which
/// every value reads the same. Today only re-sealing secrets under the
/// current key (`orgql admin rotate-keys`, [`super::key_rotation`]), a
/// batch per transaction. It commits with no audit entry; the command
/// prints what it did. Begins IMMEDIATE on SQLite, like [`Write::begin`].
pub struct Bookkeeping {
    txn: DatabaseTransaction,
}

impl Bookkeeping {
    pub async fn begin(db: &DatabaseConnection) -> AppResult<Self> {
        let txn = db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        Ok(Self { txn })
    }

    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub async fn commit(self) -> AppResult<()> {
        self.txn.commit().await?;
        Ok(())
    }
}
