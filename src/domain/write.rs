//! The one way in for every write.
//!
//! DESIGN §2: every change is one transaction, and its audit entry is
//! written in that same transaction, so there is no change without its
//! entry and no entry without its change. This module is the only place
//! that opens a write transaction and the only place that commits one, and
//! it commits only together with exactly one audit entry per change
//! (`commit`, or `commit_all` for a list of changes made at once):
//!
//! ```text
//! Write::begin(db)                        open (IMMEDIATE on SQLite)
//!   .authorize(actor, org, permission)    lock the organization, decide once
//!                                         (.enter to join, .leave to leave,
//!                                         .authorize_platform_admin)
//!   -> OrgWrite: change rows through .txn(), queue mail with .send()
//!   .commit(Entry::new(action, id, metadata))
//!
//! Write::begin(db)                        a change to an account
//!   .by(actor)  or  .attributed_to(who, meta)
//!   -> AccountWrite: the same, with no organization
//!   .commit(entry)
//! ```
//!
//! Mail travels in the write: `send` queues it in the transaction
//! (`mail::outbox`) and the commit wakes the sender, so an email goes out
//! if and only if its change is kept, and no caller wakes the sender by
//! hand. Dropping a write without committing rolls back.
//!
//! The few statements that must stand outside a change's transaction
//! (counters that outlive a refused request, protocol state, delivery
//! state) are listed, with why, in `domain::bookkeeping`.
//!
//! One kind of write commits with no entry: [`Bookkeeping`], for upkeep
//! that belongs to nobody and changes nothing anyone reads (re-sealing
//! secrets under a new key). It is a type of its own, so that no change
//! made for someone can reach its commit by mistake.

use entity::{organization, values::ActorKind};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use crate::domain::audit::{self, AuditActor, Entry};
use crate::domain::authz::access::{self, Gate, OrgAccess};
use crate::domain::authz::{Actor, Permission, Policy, RequestMeta, Role};
use crate::domain::{events, webhooks};
use crate::error::{AppError, AppResult};
use crate::mail::outbox::{Mail, Outbox};

/// The transaction every write type holds, and whether it queued mail.
struct Transaction {
    txn: DatabaseTransaction,
    /// The outbox whose sender to wake once the mail is committed.
    mail: Option<Outbox>,
}

impl Transaction {
    async fn send(&mut self, outbox: &Outbox, mail: Mail) -> AppResult<()> {
        outbox.enqueue(&self.txn, &mail).await?;
        self.mail = Some(outbox.clone());
        Ok(())
    }

    /// Records one entry per change in the trails they name (the write's
    /// own is `organization_id`), commits, then wakes the sender if mail
    /// was queued. With no entries nothing changed and nothing commits.
    async fn commit(
        self,
        who: &AuditActor,
        meta: &RequestMeta,
        organization_id: Option<Uuid>,
        entries: &[Entry],
    ) -> AppResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut recorded = Vec::with_capacity(entries.len());
        for entry in entries {
            recorded.push(audit::record(&self.txn, who, meta, organization_id, entry).await?);
        }
        let counted = recorded.iter().zip(entries).filter_map(|(row, entry)| {
            Some(audit::counts::Counted {
                organization_id: row.organization_id?,
                actor_id: who.id,
                at: row.at,
                action: entry.action.as_str(),
            })
        });
        audit::counts::add(&self.txn, counted).await?;
        // Events take their organizations' counters in one order (by id),
        // so two writes that each touch several organizations cannot
        // deadlock on them.
        let mut in_order: Vec<_> = recorded
            .iter()
            .zip(entries)
            .filter_map(|(row, entry)| Some((row.organization_id?, row, entry)))
            .collect();
        in_order.sort_by_key(|(organization, ..)| *organization);
        let mut deliveries = false;
        let mut with_events = Vec::new();
        for (organization, row, entry) in in_order {
            if let Some(queued) =
                events::record(&self.txn, row.id, who, organization, entry, row.at).await?
            {
                deliveries |= queued;
                with_events.push(organization);
            }
        }
        // PostgreSQL tells every instance through a trigger; SQLite's
        // subscriptions are told here.
        let told_here = self.txn.get_database_backend() == DbBackend::Sqlite;
        self.txn.commit().await?;
        if let Some(outbox) = self.mail {
            outbox.wake();
        }
        if deliveries {
            webhooks::wake_senders();
        }
        if told_here {
            with_events.dedup();
            with_events
                .into_iter()
                .for_each(events::bus::committed_here);
        }
        Ok(())
    }
}

/// An open write transaction that has not been tied to an organization or
/// an author yet. It may read (to find which organization a target belongs
/// to, or whose account it is), then becomes an [`OrgWrite`] through one
/// of the `authorize`/`enter` calls, or an [`AccountWrite`] through `by` or
/// `attributed_to`.
pub struct Write {
    transaction: Transaction,
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
        Ok(Self {
            transaction: Transaction { txn, mail: None },
        })
    }

    pub fn txn(&self) -> &DatabaseTransaction {
        &self.transaction.txn
    }

    /// A change the actor makes to their own account or sessions: the
    /// entry names them.
    pub fn by(self, actor: &Actor) -> AccountWrite {
        self.attributed_to(AuditActor::of(actor), &actor.meta)
    }

    /// A change to an account made before anyone holds a session (signing
    /// up or in, a mailed link: `AuditActor::account`) or by the server
    /// itself (`AuditActor::system`): the entry names `who`.
    pub fn attributed_to(self, who: AuditActor, meta: &RequestMeta) -> AccountWrite {
        AccountWrite {
            transaction: self.transaction,
            who,
            meta: meta.clone(),
        }
    }

    /// The write, tied to the organization `access` locked, in the name of
    /// `who`.
    fn tied(self, actor: &Actor, who: AuditActor, access: OrgAccess) -> OrgWrite<'_> {
        OrgWrite {
            transaction: self.transaction,
            who,
            actor,
            access,
        }
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
        let txn = &self.transaction.txn;
        let access = access::authorize_write(txn, actor, organization_id, permission).await?;
        Ok(self.tied(actor, AuditActor::of(actor), access))
    }

    /// Locks an organization that a person is entering on the strength of
    /// something they hold (an invitation, a join code): no role is needed,
    /// but the organization's IP allowlist and suspension apply as to any
    /// write. The caller checks what they hold.
    pub async fn enter(self, actor: &Actor, organization_id: Uuid) -> AppResult<OrgWrite<'_>> {
        let txn = &self.transaction.txn;
        let organization = access::lock_organization(txn, organization_id).await?;
        access::ensure_active(&organization)?;
        access::check_network(txn, actor, &organization).await?;
        let access = OrgAccess {
            membership: access::actor_membership(txn, actor, organization_id).await?,
            gate: Gate::of(&organization)?,
            organization,
        };
        Ok(self.tied(actor, AuditActor::of(actor), access))
    }

    /// Locks an organization the actor is leaving. Leaving only reduces
    /// access, so it asks for no more proof than staying (issue #28): no
    /// role, and neither the MFA nor the SSO requirement; NOT_FOUND for
    /// someone who is not a member. The session must still hold there (a
    /// revoked one acts for nobody), and the allowlist and suspension
    /// apply as to any write. The caller keeps the last-owner rule.
    pub async fn leave(self, actor: &Actor, organization_id: Uuid) -> AppResult<OrgWrite<'_>> {
        let txn = &self.transaction.txn;
        let organization = access::lock_organization(txn, organization_id).await?;
        let membership = access::actor_membership(txn, actor, organization_id).await?;
        let (Some(person), Some(member)) = (actor.person(), &membership) else {
            return Err(AppError::NotFound);
        };
        let gate = Gate::of(&organization)?;
        access::ensure_session_holds(person, organization_id, &gate, member)?;
        access::ensure_active(&organization)?;
        access::check_network(txn, actor, &organization).await?;
        Ok(self.tied(
            actor,
            AuditActor::of(actor),
            OrgAccess {
                membership,
                gate,
                organization,
            },
        ))
    }

    /// Locks an organization for platform administration (suspension,
    /// tiers); anyone but a platform administrator learns nothing more than
    /// FORBIDDEN for a member, NOT_FOUND otherwise, and an administrator
    /// acting in an organization that requires MFA must have signed in
    /// with it. The entry names the actor as PLATFORM_ADMIN.
    pub async fn authorize_platform_admin(
        self,
        actor: &Actor,
        organization_id: Uuid,
    ) -> AppResult<OrgWrite<'_>> {
        let txn = &self.transaction.txn;
        let organization = access::lock_organization(txn, organization_id).await?;
        access::require_platform_admin(txn, actor, organization_id).await?;
        let gate = Gate::of(&organization)?;
        if let Some(person) = actor.person() {
            access::ensure_mfa(person, organization_id, &gate)?;
        }
        let access = OrgAccess {
            membership: access::actor_membership(txn, actor, organization_id).await?,
            gate,
            organization,
        };
        Ok(self.tied(
            actor,
            AuditActor {
                kind: ActorKind::PlatformAdmin,
                ..AuditActor::of(actor)
            },
            access,
        ))
    }
}

/// A change to an account (or to sessions), with no organization of its
/// own: its entry names who made it, fixed before the commit. An entry may
/// still join an organization's trail (`Entry::in_organization`).
pub struct AccountWrite {
    transaction: Transaction,
    who: AuditActor,
    meta: RequestMeta,
}

impl AccountWrite {
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.transaction.txn
    }

    /// Queues `mail` in this transaction; it goes out once the write
    /// commits, and never if it does not.
    pub async fn send(&mut self, outbox: &Outbox, mail: Mail) -> AppResult<()> {
        self.transaction.send(outbox, mail).await
    }

    /// Writes the change's one audit entry and commits.
    pub async fn commit(self, entry: Entry) -> AppResult<()> {
        self.commit_all(vec![entry]).await
    }

    /// Commits a change made of several (an account's change and what it
    /// ended in organizations): one entry for each, in this transaction.
    pub async fn commit_all(self, entries: Vec<Entry>) -> AppResult<()> {
        self.transaction
            .commit(&self.who, &self.meta, None, &entries)
            .await
    }
}

/// A write inside one organization, locked and authorized. Change rows
/// through [`OrgWrite::txn`]; [`OrgWrite::commit`] writes the audit entry
/// and commits.
pub struct OrgWrite<'a> {
    transaction: Transaction,
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
        &self.transaction.txn
    }

    /// Queues `mail` in this transaction; it goes out once the write
    /// commits, and never if it does not.
    pub async fn send(&mut self, outbox: &Outbox, mail: Mail) -> AppResult<()> {
        self.transaction.send(outbox, mail).await
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

    /// The organization's policy, as read when the write began.
    pub fn policy(&self) -> &Policy {
        &self.access.gate.policy
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
        self.commit_all(vec![entry]).await
    }

    /// Commits a change made of several changes of the same kind (a list
    /// of invitations): one audit entry for each, in this one transaction.
    /// With no entries nothing changed, and nothing is committed.
    pub async fn commit_all(self, entries: Vec<Entry>) -> AppResult<()> {
        let organization_id = Some(self.access.organization.id);
        self.transaction
            .commit(&self.who, &self.actor.meta, organization_id, &entries)
            .await
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
