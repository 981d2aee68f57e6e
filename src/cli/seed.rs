//! Demo data for the playground and for benchmarks: organizations, users,
//! memberships and teams, inserted in large batches.

use chrono::Utc;
use entity::{
    member, organization, team, team_member, user,
    values::{OrganizationStatus, Role, TeamRole, Tier},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use crate::auth::PasswordHasher;
use crate::domain::ids::new_id;
use crate::error::{AppError, AppResult};

pub const DEMO_EMAIL: &str = "demo@orgql.dev";
pub const DEMO_PASSWORD: &str = "orgql-demo-password";

#[derive(Debug, Clone, Copy)]
pub struct SeedSize {
    pub organizations: usize,
    /// Members per organization, the demo owner included.
    pub members: usize,
}

/// Teams per seeded organization; every member is in one of them.
const TEAMS_PER_ORGANIZATION: usize = 5;

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

    let orgs_per_txn = (BATCH / size.members.max(1)).max(1);
    let mut done = 0;
    while done < size.organizations {
        let chunk = orgs_per_txn.min(size.organizations - done);
        let txn = db.begin().await?;
        let mut orgs = Vec::with_capacity(chunk);
        let mut users = Vec::with_capacity(chunk * size.members);
        let mut members = Vec::with_capacity(chunk * size.members);
        let mut teams = Vec::with_capacity(chunk * TEAMS_PER_ORGANIZATION);
        let mut placements = Vec::with_capacity(chunk * size.members);
        for i in done..done + chunk {
            let org_id = new_id();
            orgs.push(organization::ActiveModel {
                id: Set(org_id),
                name: Set(format!("Demo Organization {:04}", i + 1)),
                slug: Set(format!("demo-{:04}", i + 1)),
                domain: Set(None),
                website: Set(None),
                industry: Set(Some("Software".to_owned())),
                description: Set(Some("Seeded demo data".to_owned())),
                avatar_url: Set(None),
                status: Set(OrganizationStatus::Active),
                tier: Set(Tier::Enterprise),
                jwt_expiry_secs: Set(900),
                policy: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            });
            let owner = membership(org_id, demo_id, Role::Owner, now);
            let team_ids: Vec<Uuid> = (0..TEAMS_PER_ORGANIZATION).map(|_| new_id()).collect();
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
                    team_ids[j % TEAMS_PER_ORGANIZATION],
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
        team::Entity::insert_many(teams).exec(&txn).await?;
        for batch in placements.chunks(BATCH) {
            team_member::Entity::insert_many(batch.to_vec())
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        done += chunk;
        progress(done);
    }
    Ok(())
}

fn placement(
    team_id: Uuid,
    member_id: Uuid,
    role: TeamRole,
    now: chrono::DateTime<Utc>,
) -> team_member::ActiveModel {
    team_member::ActiveModel {
        id: Set(new_id()),
        team_id: Set(team_id),
        member_id: Set(member_id),
        role: Set(role),
        added_at: Set(now),
    }
}

fn membership(
    org_id: Uuid,
    user_id: Uuid,
    role: Role,
    now: chrono::DateTime<Utc>,
) -> member::ActiveModel {
    member::ActiveModel {
        id: Set(new_id()),
        organization_id: Set(org_id),
        user_id: Set(user_id),
        role: Set(role),
        joined_at: Set(now),
        sessions_revoked_before: Set(None),
    }
}
