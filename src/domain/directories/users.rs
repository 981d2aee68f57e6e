//! SCIM Users: memberships a directory provisions.
//!
//! The account a SCIM User stands for is fixed when it is created: the
//! account of its address (`userName` when it is an address, else its
//! primary or work email), made when there is none. The address counts
//! only inside a domain the organization has verified, the trust rule of
//! SSO (DESIGN §3): a directory speaks for its organization's people and
//! nobody else. Later changes to `userName` or `emails` are the
//! directory's records and move nothing.
//!
//! Membership follows `active`: an active user is a member (admitted with
//! the directory's role, under the tier's seat limit; their teams
//! restored from their groups), an inactive one is not (their membership,
//! sessions and tokens end at once). DELETE ends the membership and
//! forgets the SCIM User; the account stays, as it may belong to other
//! organizations.

use chrono::Utc;
use entity::{scim_directory, scim_group, scim_group_member, scim_user, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait,
    QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    apply_mapped_roles, begin_provisioning, external_id, find_user, groups_of, join_team,
    name_and_key, refused, role_for,
};
use crate::domain::audit::{AuditAction, Entry};
use crate::domain::authz::Actor;
use crate::domain::authz::access;
use crate::domain::ids::new_id;
use crate::domain::users::{self, Credential, NewUser};
use crate::domain::values::{self, Email};
use crate::domain::write::OrgWrite;
use crate::domain::{domains, members};
use crate::error::{AppError, AppResult, Constraint, ResultExt};

/// A SCIM User as the directory sent it, checked by the protocol edge.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// Its email addresses, as sent.
    pub emails: Vec<EmailRecord>,
    /// A name for a new account (`displayName`, or the formatted name).
    pub display_name: Option<String>,
    /// The rest of the resource, kept as sent.
    pub attributes: Value,
}

/// One of a SCIM User's `emails`.
#[derive(Debug, Clone)]
pub struct EmailRecord {
    pub value: String,
    /// `type: work`.
    pub work: bool,
    pub primary: bool,
}

/// The most a SCIM User's other attributes (names, emails, addresses, …)
/// may take, as JSON: a directory is another party, and what it sends is
/// stored and served back.
const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

/// The record's `userName`, `externalId` and attributes, within bounds.
fn checked(record: UserRecord) -> AppResult<UserRecord> {
    let (user_name, _) = name_and_key("userName", &record.user_name, 320)?;
    let external_id = external_id(record.external_id)?;
    if record.attributes.to_string().len() > MAX_ATTRIBUTES_BYTES {
        return Err(AppError::bad_input(
            "attributes",
            format!("a user's attributes take at most {MAX_ATTRIBUTES_BYTES} bytes of JSON"),
        ));
    }
    Ok(UserRecord {
        user_name,
        external_id,
        ..record
    })
}

/// A userName names one SCIM User of a directory, ignoring case.
const USER_NAME_UNIQUE: Constraint = Constraint {
    name: "uq_scim_users_directory_user_name",
    sqlite: "scim_users.directory_id, scim_users.user_name_key",
};

fn user_name_taken() -> AppError {
    AppError::taken(
        "userName",
        "this directory already has a user with this userName",
    )
}

/// The address that names the account: `userName` when it is one, else
/// the primary email, else a work one, else any; BAD_USER_INPUT when the
/// directory gave none.
fn address_of(record: &UserRecord) -> AppResult<Email> {
    let mut emails: Vec<&EmailRecord> = record.emails.iter().collect();
    emails.sort_by_key(|email| (!email.primary, !email.work));
    std::iter::once(record.user_name.as_str())
        .chain(emails.into_iter().map(|email| email.value.as_str()))
        .find_map(|candidate| Email::parse("userName", candidate).ok())
        .ok_or_else(|| {
            AppError::bad_input(
                "userName",
                "neither userName nor emails holds an email address",
            )
        })
}

/// Creates a SCIM User: the account of its address (made when missing),
/// a member when active. CONFLICT on a taken `userName`, or when the
/// account is already another SCIM User of this directory.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    record: UserRecord,
) -> AppResult<scim_user::Model> {
    let record = checked(record)?;
    let user_name = record.user_name.clone();
    let address = address_of(&record)?;
    let (write, directory) = begin_provisioning(db, actor).await?;
    let organization_id = write.organization_id();
    let domain = address.as_str().rsplit_once('@').map_or("", |(_, d)| d);
    if !domains::is_verified_by(write.txn(), organization_id, domain).await? {
        return Err(AppError::bad_input(
            "userName",
            format!(
                "{domain} is not a verified domain of this organization: a directory provisions addresses in the organization's verified domains only"
            ),
        ));
    }
    let key = user_name.to_lowercase();
    let taken = scim_user::Entity::find()
        .filter(scim_user::Column::DirectoryId.eq(directory.id))
        .filter(scim_user::Column::UserNameKey.eq(key.as_str()))
        .one(write.txn())
        .await?;
    if taken.is_some() {
        return Err(user_name_taken());
    }
    let existing = user::Entity::find()
        .filter(user::Column::Email.eq(address.as_str()))
        .one(write.txn())
        .await?;
    let created_account = existing.is_none();
    let account = match existing {
        Some(account) => account,
        None => {
            let name = record
                .display_name
                .as_deref()
                .and_then(|n| values::text("displayName", n, 200).ok())
                .unwrap_or_else(|| address.as_str().split('@').next().unwrap_or("").to_owned());
            users::create(
                write.txn(),
                NewUser {
                    email: address.as_str(),
                    name,
                    credential: Credential::IdentityProvider,
                    verified: true,
                },
            )
            .await?
        }
    };
    let linked = scim_user::Entity::find()
        .filter(scim_user::Column::DirectoryId.eq(directory.id))
        .filter(scim_user::Column::UserId.eq(account.id))
        .one(write.txn())
        .await?;
    if linked.is_some() {
        return Err(AppError::taken(
            "userName",
            "this directory already provisions the account of this address as another user",
        ));
    }
    let now = Utc::now();
    let scim_user = scim_user::ActiveModel {
        id: Set(new_id()),
        directory_id: Set(directory.id),
        organization_id: Set(organization_id),
        user_id: Set(account.id),
        user_name: Set(user_name),
        user_name_key: Set(key),
        external_id: Set(record.external_id),
        active: Set(record.active),
        attributes: Set(record.attributes),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(write.txn())
    .await
    .on_unique(USER_NAME_UNIQUE, user_name_taken)?;
    let mut entries = vec![Entry::new(
        AuditAction::ScimUserCreated,
        directory.id,
        json!({
            "scimUserId": scim_user.id,
            "userName": scim_user.user_name,
            "userId": account.id,
            "active": scim_user.active,
            "createdAccount": created_account,
        }),
    )];
    follow_active(&write, &directory, &scim_user, &mut entries).await?;
    write.commit_all(entries).await?;
    Ok(scim_user)
}

/// Replaces a SCIM User's attributes (PUT, and PATCH once applied). The
/// account stays the one it was created for; `active` decides the
/// membership.
#[tracing::instrument(skip_all, fields(%scim_user_id))]
pub async fn replace(
    db: &DatabaseConnection,
    actor: &Actor,
    scim_user_id: Uuid,
    record: UserRecord,
) -> AppResult<scim_user::Model> {
    let record = checked(record)?;
    let user_name = record.user_name.clone();
    let attempt = async {
        let (write, directory) = begin_provisioning(db, actor).await?;
        let current = find_user(write.txn(), directory.id, scim_user_id).await?;
        let key = user_name.to_lowercase();
        if key != current.user_name_key {
            let taken = scim_user::Entity::find()
                .filter(scim_user::Column::DirectoryId.eq(directory.id))
                .filter(scim_user::Column::UserNameKey.eq(key.as_str()))
                .one(write.txn())
                .await?;
            if taken.is_some() {
                return Err(user_name_taken());
            }
        }
        let before = json!({ "userName": current.user_name, "active": current.active });
        let mut active: scim_user::ActiveModel = current.into();
        active.user_name = Set(user_name.clone());
        active.user_name_key = Set(key);
        active.external_id = Set(record.external_id.clone());
        active.active = Set(record.active);
        active.attributes = Set(record.attributes.clone());
        active.updated_at = Set(Utc::now());
        let updated = active
            .update(write.txn())
            .await
            .on_unique(USER_NAME_UNIQUE, user_name_taken)?;
        let mut entries = vec![Entry::new(
            AuditAction::ScimUserUpdated,
            directory.id,
            json!({
                "scimUserId": updated.id,
                "userId": updated.user_id,
                "before": before,
                "after": { "userName": updated.user_name, "active": updated.active },
            }),
        )];
        follow_active(&write, &directory, &updated, &mut entries).await?;
        write.commit_all(entries).await?;
        Ok(updated)
    };
    match attempt.await {
        Ok(updated) => Ok(updated),
        Err(error) => refused(db, actor, scim_user_id, error).await,
    }
}

/// Deletes a SCIM User: the membership ends (never the last owner's),
/// the account stays.
#[tracing::instrument(skip_all, fields(%scim_user_id))]
pub async fn delete(db: &DatabaseConnection, actor: &Actor, scim_user_id: Uuid) -> AppResult<()> {
    let attempt = async {
        let (write, directory) = begin_provisioning(db, actor).await?;
        let current = find_user(write.txn(), directory.id, scim_user_id).await?;
        let mut entries = vec![Entry::new(
            AuditAction::ScimUserDeleted,
            directory.id,
            json!({
                "scimUserId": current.id,
                "userName": current.user_name,
                "userId": current.user_id,
            }),
        )];
        deprovision(&write, &directory, &current, &mut entries).await?;
        current.delete(write.txn()).await?;
        write.commit_all(entries).await
    };
    match attempt.await {
        Ok(()) => Ok(()),
        Err(error) => refused(db, actor, scim_user_id, error).await,
    }
}

/// Makes the membership follow `active`: admits an active user who is not
/// a member (then their teams and mapped role follow their groups), ends
/// an inactive user's membership.
async fn follow_active(
    write: &OrgWrite<'_>,
    directory: &scim_directory::Model,
    scim_user: &scim_user::Model,
    entries: &mut Vec<Entry>,
) -> AppResult<()> {
    if !scim_user.active {
        return deprovision(write, directory, scim_user, entries).await;
    }
    let txn = write.txn();
    if access::membership(txn, scim_user.user_id, write.organization_id())
        .await?
        .is_some()
    {
        return Ok(());
    }
    let groups = groups_of(txn, &[scim_user.id]).await?;
    let role = role_for(directory, groups.get(&scim_user.id).map_or(&[][..], |g| g));
    let member = members::admit(txn, write.organization(), scim_user.user_id, role, false).await?;
    entries.push(Entry::new(
        AuditAction::MemberProvisioned,
        member.id,
        json!({
            "userId": member.user_id,
            "directoryId": directory.id,
            "scimUserId": scim_user.id,
            "after": { "role": role },
        }),
    ));
    // Their groups' teams, which they left with their membership.
    let teams = scim_group_member::Entity::find()
        .filter(scim_group_member::Column::ScimUserId.eq(scim_user.id))
        .find_also_related(scim_group::Entity)
        .all(txn)
        .await?;
    for (_, group) in teams {
        if let Some(group) = group
            && let Some(entry) = join_team(txn, group.team_id, &member, directory.id).await?
        {
            entries.push(entry);
        }
    }
    apply_mapped_roles(write, directory, std::slice::from_ref(scim_user), entries).await
}

/// Ends the membership of `scim_user`'s account, if any: LAST_OWNER for
/// the organization's last owner. Sessions there end at once.
async fn deprovision(
    write: &OrgWrite<'_>,
    directory: &scim_directory::Model,
    scim_user: &scim_user::Model,
    entries: &mut Vec<Entry>,
) -> AppResult<()> {
    let Some(member) =
        access::membership(write.txn(), scim_user.user_id, write.organization_id()).await?
    else {
        return Ok(());
    };
    let revoked = members::end_membership(write.txn(), &member).await?;
    entries.push(Entry::new(
        AuditAction::MemberDeprovisioned,
        member.id,
        json!({
            "userId": member.user_id,
            "directoryId": directory.id,
            "scimUserId": scim_user.id,
            "before": { "role": member.role },
            "sessionsRevoked": revoked,
        }),
    ));
    Ok(())
}
