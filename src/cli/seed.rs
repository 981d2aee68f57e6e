//! Demo data for the playground and for benchmarks: organizations, users,
//! memberships, teams and an audit trail with its events, inserted in
//! large batches.

use chrono::{DateTime, Duration, Utc};
use entity::{
    audit_entry, event, event_sequence, member, organization, team, team_member, user,
    values::{ActorKind, OrganizationStatus, Role, TeamRole, Tier},
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, TransactionTrait,
};
use serde_json::json;
use uuid::{Timestamp, Uuid};

use crate::auth::PasswordHasher;
use crate::domain::audit::{AuditAction, Entry, counts};
use crate::domain::events::{EventType, public_data};
use crate::domain::ids::new_id;
use crate::error::{AppError, AppResult};

pub const DEMO_EMAIL: &str = "demo@orgql.dev";
pub const DEMO_PASSWORD: &str = "orgql-demo-password";

#[derive(Debug, Clone, Copy)]
pub struct SeedSize {
    pub organizations: usize,
    /// Members per organization, the demo owner included.
    pub members: usize,
    /// Teams per organization (at least 1); every member is in one of
    /// them, in turn.
    pub teams: usize,
    /// Audit entries per organization, each with its event, spread over
    /// the last 30 days (within every tier's retention but FREE's).
    pub audit_entries: usize,
    /// Further organizations with the demo owner alone, so that one person
    /// belongs to many.
    pub owner_only_organizations: usize,
}

impl SeedSize {
    /// `organizations` of `members` each in five teams, no audit trail.
    pub const fn new(organizations: usize, members: usize) -> Self {
        Self {
            organizations,
            members,
            teams: 5,
            audit_entries: 0,
            owner_only_organizations: 0,
        }
    }

    /// An enterprise's size (issue #26): one organization of 100,000
    /// members in 2,000 teams with 1,000,000 audit entries and events, and
    /// its owner in 5,000 organizations.
    pub const ENTERPRISE: SeedSize = SeedSize {
        organizations: 1,
        members: 100_000,
        teams: 2_000,
        audit_entries: 1_000_000,
        owner_only_organizations: 4_999,
    };
}

/// How far back the seeded audit trail reaches.
const AUDIT_SPAN_DAYS: i64 = 30;

/// Rows per INSERT: well under SQLite's 32,766 bound variables.
const BATCH: usize = 2_000;

/// Seeds `size`; `progress` is told how many organizations are done. Every
/// seeded account signs in with [`DEMO_PASSWORD`]; [`DEMO_EMAIL`] owns every
/// seeded organization.
pub async fn seed(
    db: &DatabaseConnection,
    size: SeedSize,
    mut progress: impl FnMut(usize),
) -> AppResult<()> {
    if user::Entity::find()
        .filter(user::Column::Email.eq(DEMO_EMAIL))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "this database is already seeded; point ORGQL_DATABASE_URL at a fresh one",
        ));
    }
    let password_hash = PasswordHasher::new(false, 1).hash(DEMO_PASSWORD).await?;
    let now = Utc::now();
    let new_user = |email: String, name: String| user::ActiveModel {
        id: Set(new_id()),
        email: Set(email),
        name: Set(name),
        password_hash: Set(password_hash.clone()),
        is_platform_admin: Set(false),
        last_organization_id: Set(None),
        mfa_enabled: Set(false),
        // Demo accounts stand for people whose addresses were proven.
        email_verified_at: Set(Some(now)),
        is_guest: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    };

    let demo_id = new_id();
    let mut demo = new_user(DEMO_EMAIL.to_owned(), "Demo Owner".to_owned());
    demo.id = Set(demo_id);
    user::Entity::insert(demo).exec(db).await?;

    let teams_per_organization = size.teams.max(1);
    let orgs_per_txn = (BATCH / size.members.max(1)).max(1);
    let mut done = 0;
    while done < size.organizations {
        let chunk = orgs_per_txn.min(size.organizations - done);
        let txn = db.begin().await?;
        let mut orgs = Vec::with_capacity(chunk);
        let mut users = Vec::with_capacity(chunk * size.members);
        let mut members = Vec::with_capacity(chunk * size.members);
        let mut teams = Vec::with_capacity(chunk * teams_per_organization);
        let mut trails = Vec::with_capacity(chunk);
        let mut placements = Vec::with_capacity(chunk * size.members);
        for i in done..done + chunk {
            let org_id = new_id();
            let mut org = organization(
                org_id,
                format!("Demo Organization {:04}", i + 1),
                format!("demo-{:04}", i + 1),
                Tier::Enterprise,
                now,
            );
            org.industry = Set(Some("Software".to_owned()));
            org.description = Set(Some("Seeded demo data".to_owned()));
            orgs.push(org);
            let owner = membership(org_id, demo_id, Role::Owner, now);
            let team_ids: Vec<Uuid> = (0..teams_per_organization).map(|_| new_id()).collect();
            for (t, team_id) in team_ids.iter().enumerate() {
                teams.push(team::ActiveModel {
                    id: Set(*team_id),
                    organization_id: Set(org_id),
                    parent_team_id: Set(None),
                    name: Set(format!("Team {}", t + 1)),
                    slug: Set(format!("team-{}", t + 1)),
                    description: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
            }
            placements.push(placement(
                team_ids[0],
                *owner.id.as_ref(),
                TeamRole::Maintainer,
                now,
            ));
            trails.push((org_id, *owner.id.as_ref()));
            members.push(owner);
            for j in 1..size.members {
                let user_id = new_id();
                let mut u = new_user(
                    format!("user{:04}-{:03}@seed.orgql.dev", i + 1, j),
                    format!("Seed User {:04}-{:03}", i + 1, j),
                );
                u.id = Set(user_id);
                users.push(u);
                let role = match j {
                    1 => Role::Admin,
                    j if j % 10 == 0 => Role::Viewer,
                    _ => Role::Member,
                };
                let member = membership(org_id, user_id, role, now);
                placements.push(placement(
                    team_ids[j % teams_per_organization],
                    *member.id.as_ref(),
                    TeamRole::Member,
                    now,
                ));
                members.push(member);
            }
        }
        organization::Entity::insert_many(orgs).exec(&txn).await?;
        for batch in users.chunks(BATCH) {
            user::Entity::insert_many(batch.to_vec()).exec(&txn).await?;
        }
        for batch in members.chunks(BATCH) {
            member::Entity::insert_many(batch.to_vec())
                .exec(&txn)
                .await?;
        }
        for batch in teams.chunks(BATCH) {
            team::Entity::insert_many(batch.to_vec()).exec(&txn).await?;
        }
        for batch in placements.chunks(BATCH) {
            team_member::Entity::insert_many(batch.to_vec())
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        for (org_id, owner_member_id) in trails {
            let owner = (demo_id, DEMO_EMAIL, owner_member_id);
            audit_trail(db, org_id, owner, size.audit_entries).await?;
        }
        done += chunk;
        progress(done);
    }
    owner_only_organizations(db, demo_id, size.owner_only_organizations, now).await?;
    settle(db).await?;
    progress(done + size.owner_only_organizations);
    Ok(())
}

/// Leaves a seeded PostgreSQL database as a running one would be: vacuumed
/// and analyzed. Rows inserted in bulk are not yet marked visible to all
/// transactions, so until a vacuum marks their pages an index-only scan
/// (`ix_users_brief`, the members page's covering indexes) still reads the
/// table for every row; autovacuum would get to it in time, or never where
/// it is off. SQLite has no such map.
async fn settle(db: &DatabaseConnection) -> AppResult<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("VACUUM (ANALYZE)").await?;
    }
    Ok(())
}

/// `count` organizations with the demo owner alone, named after the
/// seeded ones.
async fn owner_only_organizations(
    db: &DatabaseConnection,
    demo_id: Uuid,
    count: usize,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut orgs = Vec::with_capacity(count);
    let mut members = Vec::with_capacity(count);
    for i in 0..count {
        let org_id = new_id();
        orgs.push(organization(
            org_id,
            format!("Solo Organization {:05}", i + 1),
            format!("solo-{:05}", i + 1),
            Tier::Free,
            now,
        ));
        members.push(membership(org_id, demo_id, Role::Owner, now));
    }
    let txn = db.begin().await?;
    for batch in orgs.chunks(BATCH) {
        organization::Entity::insert_many(batch.to_vec())
            .exec(&txn)
            .await?;
    }
    for batch in members.chunks(BATCH) {
        member::Entity::insert_many(batch.to_vec())
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// `count` audit entries of `org_id`, oldest first over the last
/// [`AUDIT_SPAN_DAYS`] days, each by the owner (user id, email, member id)
/// about the organization or the owner's membership, with the event each
/// would have (same id, numbered in order after the organization's last)
/// and the daily counts: the shape the write path leaves, in bulk.
pub async fn audit_trail(
    db: &DatabaseConnection,
    org_id: Uuid,
    owner: (Uuid, &str, Uuid),
    count: usize,
) -> AppResult<()> {
    let (owner_id, owner_email, owner_member_id) = owner;
    const ACTIONS: [AuditAction; 3] = [
        AuditAction::MemberRoleUpdated,
        AuditAction::MemberRoleUpdated,
        AuditAction::OrganizationUpdated,
    ];
    let end = Utc::now();
    let step = Duration::days(AUDIT_SPAN_DAYS) / i32::try_from(count.max(1)).unwrap_or(i32::MAX);
    let mut sequence = event_sequence::Entity::find_by_id(org_id)
        .one(db)
        .await?
        .map_or(0, |counter| counter.last_sequence);
    for start in (0..count).step_by(BATCH) {
        let mut entries = Vec::with_capacity(BATCH);
        let mut events = Vec::with_capacity(BATCH);
        let mut counted = Vec::with_capacity(BATCH);
        for i in start..(start + BATCH).min(count) {
            let at = end - Duration::days(AUDIT_SPAN_DAYS) + step * i32::try_from(i).unwrap_or(0);
            let id = id_at(at);
            let action = ACTIONS[i % ACTIONS.len()];
            let (resource, metadata) = match action {
                AuditAction::OrganizationUpdated => (
                    org_id,
                    json!({ "before": { "description": "Seeded" }, "after": { "description": "Seeded demo data" } }),
                ),
                _ => (
                    owner_member_id,
                    json!({ "userId": owner_id, "before": { "role": "MEMBER" }, "after": { "role": "ADMIN" } }),
                ),
            };
            let entry = Entry::new(action, resource, metadata.clone());
            counted.push(counts::Counted {
                organization_id: org_id,
                actor_id: Some(owner_id),
                at,
                action: action.as_str(),
            });
            entries.push(audit_entry::ActiveModel {
                id: Set(id),
                organization_id: Set(Some(org_id)),
                actor_kind: Set(ActorKind::User),
                actor_id: Set(Some(owner_id)),
                actor_email: Set(Some(owner_email.to_owned())),
                action: Set(action.as_str().to_owned()),
                resource_type: Set(action.resource_type().to_owned()),
                resource_id: Set(Some(resource)),
                metadata: Set(metadata),
                ip_address: Set(Some("192.0.2.1".to_owned())),
                user_agent: Set(Some("orgql seed".to_owned())),
                request_id: Set(None),
                created_at: Set(at),
            });
            if let Some(event_type) = EventType::of(&entry) {
                sequence += 1;
                events.push(event::ActiveModel {
                    id: Set(id),
                    organization_id: Set(org_id),
                    sequence: Set(sequence),
                    event_type: Set(event_type.as_str().to_owned()),
                    actor_kind: Set(ActorKind::User),
                    actor_id: Set(Some(owner_id)),
                    actor_email: Set(Some(owner_email.to_owned())),
                    subject_user_id: Set(
                        matches!(action, AuditAction::MemberRoleUpdated).then_some(owner_id)
                    ),
                    subject_email: Set(None),
                    data: Set(public_data(event_type, &entry)),
                    occurred_at: Set(at),
                });
            }
        }
        let txn = db.begin().await?;
        audit_entry::Entity::insert_many(entries).exec(&txn).await?;
        counts::add(&txn, counted).await?;
        if !events.is_empty() {
            event::Entity::insert_many(events).exec(&txn).await?;
            let counter = event_sequence::ActiveModel {
                organization_id: Set(org_id),
                last_sequence: Set(sequence),
            };
            event_sequence::Entity::insert(counter)
                .on_conflict(
                    OnConflict::column(event_sequence::Column::OrganizationId)
                        .update_column(event_sequence::Column::LastSequence)
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
    }
    Ok(())
}

/// A UUIDv7 of the moment `at`, as the write path's ids are of theirs.
fn id_at(at: DateTime<Utc>) -> Uuid {
    let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
    Uuid::new_v7(Timestamp::from_unix(
        uuid::NoContext,
        seconds,
        at.timestamp_subsec_nanos(),
    ))
}

/// An active organization with nothing but its name, slug and tier.
fn organization(
    id: Uuid,
    name: String,
    slug: String,
    tier: Tier,
    now: DateTime<Utc>,
) -> organization::ActiveModel {
    organization::ActiveModel {
        id: Set(id),
        name: Set(name),
        slug: Set(slug),
        domain: Set(None),
        website: Set(None),
        industry: Set(None),
        description: Set(None),
        avatar_url: Set(None),
        status: Set(OrganizationStatus::Active),
        tier: Set(tier),
        jwt_expiry_secs: Set(900),
        policy: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

fn placement(
    team_id: Uuid,
    member_id: Uuid,
    role: TeamRole,
    now: DateTime<Utc>,
) -> team_member::ActiveModel {
    team_member::ActiveModel {
        id: Set(new_id()),
        team_id: Set(team_id),
        member_id: Set(member_id),
        role: Set(role),
        added_at: Set(now),
    }
}

fn membership(org_id: Uuid, user_id: Uuid, role: Role, now: DateTime<Utc>) -> member::ActiveModel {
    member::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(org_id),
        user_id: Set(user_id),
        role: Set(role),
        joined_at: Set(now),
        sessions_revoked_before: Set(None),
    }
}
