//! Guests (issue #13): people who join an organization with nothing but a
//! proven email address, and sign in by a link mailed to it.
//!
//! Security rules enforced here:
//! - A guest is an identity kind (`users.is_guest`), not a role: it holds
//!   memberships and nothing else. It has no password (its stored hash is
//!   not a hash, so no password ever matches), creates no organization,
//!   holds no API token and is promoted by no one: the kernel
//!   (`authz::access::decide_for`) gives it the read permissions of its
//!   role only, and it becomes a full account only when the person sets a
//!   password ([`convert`]). Converting ends its guest memberships: an
//!   organization that admitted a guest did not consent to a full member
//!   (security review M3), so it invites the person again if it wants one.
//! - A guest link admits guests only (`join_codes::redeem`).
//! - The sign-in link is a one-time secret (`one_time`): 256 bits, mailed
//!   once, stored as its SHA-256, working once and for 15 minutes. It signs
//!   in guests only: a full account is never signed in by email alone
//!   (that would bypass its password and MFA), so an address that belongs
//!   to one gets a notice instead of a link, and the caller learns nothing
//!   from the answer, which is the same for every address.
//! - A guest invitation's own link proves the mailbox as any invitation's
//!   does; a guest link (a join code marked guest) needs the mailed
//!   sign-in link first, so nobody joins as an address they do not read.
//!   Asking for that link makes no account (security review L2): it is
//!   kept in `guest_sign_ups`, and the guest account is made when the
//!   link is used.
//! - A guest account never blocks the real person: a password reset on it
//!   is its claim ([`claim_with_reset`]), and signing up with its address
//!   mails them the link to do so ([`claim_for_sign_up`]).
//! - Guest access exists only while the organization's policy
//!   `guestAccessEnabled` says so; turning it off ends it
//!   (`policy::update` calls `guest_access::end`).
//!
//! (Long because a guest's whole life is here, in the order it happens:
//! the link asked for, the sign-in, joining, converting, and the claims a
//! guest account's owner makes; the rules above cut across all of it.)

use chrono::{Duration, Utc};
use entity::{guest_sign_up, invitation, join_code, member, user, values::InvitationStatus};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::one_time::{self, Purpose};
use crate::auth::{AuthConfig, secrets};
use crate::domain::audit::{AuditAction, AuditActor, Entry};
use crate::domain::authz::{Actor, Authentication, RequestMeta};
use crate::domain::ids::new_id;
use crate::domain::sessions::{self, IssuedTokens, SignInWrite};
use crate::domain::users::{self, Credential, NewUser};
use crate::domain::values::{self, Email};
use crate::domain::write::Write;
use crate::error::{AppError, AppResult};
use crate::mail::outbox::{Mail, Outbox};
use crate::mail::render;

/// How long a mailed sign-in link works.
pub const SIGN_IN_TTL: Duration = Duration::minutes(15);

fn sign_in_url(outbox: &Outbox, token: &str) -> String {
    format!("{}/guest/sign-in?token={token}", outbox.public_url)
}

/// The sign-in link's email: to join `code`'s organization, or to sign in.
async fn link_mail<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    to: &str,
    token: &str,
    code: Option<&join_code::Model>,
) -> AppResult<Mail> {
    let joining = match code {
        Some(code) => {
            let organization = entity::organization::Entity::find_by_id(code.organization_id)
                .one(txn)
                .await?
                .ok_or(AppError::JoinCodeInvalid)?;
            format!(
                "Open this link to join {} on orgql as a guest",
                render::inline(&organization.name)
            )
        }
        None => "Open this link to sign in to orgql as a guest".to_owned(),
    };
    Ok(Mail::new(
        to,
        "Your orgql sign-in link",
        format!(
            "{joining}: {}\n\nThe link works once and expires in {} minutes. If you did not ask for it, ignore this email.\n",
            sign_in_url(outbox, token),
            SIGN_IN_TTL.num_minutes(),
        ),
    ))
}

/// Keeps a guest link's sign-in link for an address with no account
/// (`guest_sign_ups`) and returns its secret, to be mailed. Earlier unused
/// links for the address stop working.
async fn pending_sign_up<C: ConnectionTrait>(
    txn: &C,
    email: &Email,
    join_code_id: Uuid,
) -> AppResult<String> {
    let now = Utc::now();
    guest_sign_up::Entity::update_many()
        .col_expr(guest_sign_up::Column::UsedAt, Expr::value(now))
        .filter(guest_sign_up::Column::Email.eq(email.as_str()))
        .filter(guest_sign_up::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    let secret = secrets::generate();
    guest_sign_up::ActiveModel {
        id: Set(new_id()),
        email: Set(email.as_str().to_owned()),
        token_hash: Set(secrets::digest(&secret)),
        join_code_id: Set(join_code_id),
        created_at: Set(now),
        expires_at: Set(now + SIGN_IN_TTL),
        used_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(secret)
}

/// Uses up a pending guest sign-up's link (once, before it expires; of two
/// concurrent uses one wins) and makes the guest account it was asked
/// for, its address proven by the link. None when `token` is no live
/// pending sign-up. An address that got a full account meanwhile is never
/// signed in by email: the link is refused.
async fn redeem_pending_sign_up<C: ConnectionTrait>(
    txn: &C,
    token: &str,
) -> AppResult<Option<(user::Model, Uuid)>> {
    let now = Utc::now();
    let Some(pending) = guest_sign_up::Entity::find()
        .filter(guest_sign_up::Column::TokenHash.eq(secrets::digest(token)))
        .one(txn)
        .await?
        .filter(|p| p.used_at.is_none() && p.expires_at > now)
    else {
        return Ok(None);
    };
    let won = guest_sign_up::Entity::update_many()
        .col_expr(guest_sign_up::Column::UsedAt, Expr::value(now))
        .filter(guest_sign_up::Column::Id.eq(pending.id))
        .filter(guest_sign_up::Column::UsedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected;
    if won != 1 {
        return Ok(None);
    }
    let email = Email::parse("token", &pending.email)?;
    match guest_for(txn, &email, true).await? {
        Ok((user, _)) => Ok(Some((user, pending.join_code_id))),
        Err(_full_account) => Ok(None),
    }
}

/// The guest account for `email`: the existing one, or a new one. A full
/// account with that address is `Err(user)`: it signs in with its password.
async fn guest_for<C: ConnectionTrait>(
    txn: &C,
    email: &Email,
    verified: bool,
) -> AppResult<Result<(user::Model, bool), user::Model>> {
    if let Some(found) = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(txn)
        .await?
    {
        return Ok(if found.is_guest {
            Ok((found, false))
        } else {
            Err(found)
        });
    }
    let name = email
        .as_str()
        .split_once('@')
        .map_or(email.as_str(), |(local, _)| local)
        .to_owned();
    let created = users::create(
        txn,
        NewUser {
            email: email.as_str(),
            name,
            credential: Credential::GuestLinks,
            verified,
        },
    )
    .await?;
    Ok(Ok((created, true)))
}

/// The caller a guest acts as while their session is being made (the
/// organization's allowlist and the audit entry need one); their address
/// was just proven by the link.
fn as_actor(user: &user::Model, meta: &RequestMeta) -> Actor {
    let proven = user::Model {
        email_verified_at: Some(user.email_verified_at.unwrap_or_else(Utc::now)),
        ..user.clone()
    };
    crate::domain::domain_joins::actor_for(&proven, Uuid::nil(), meta, Authentication::EmailLink)
}

/// Accepts a guest invitation with the token from its email (no session
/// needed: the token proves the mailbox). The person becomes a guest (a
/// new guest account unless they have one), joins as VIEWER and is signed
/// in. An address that has a full account signs in and uses
/// `acceptInvitation` instead (CONFLICT).
#[tracing::instrument(skip_all)]
pub async fn accept_invitation(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    meta: &RequestMeta,
    token: &str,
) -> AppResult<IssuedTokens> {
    let write = Write::begin(db).await?;
    let found = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(secrets::digest(token.trim())))
        .one(write.txn())
        .await?
        .filter(|i| i.guest)
        .ok_or(AppError::InvitationInvalid)?;
    match crate::domain::invitations::status_at(&found, Utc::now()) {
        InvitationStatus::Pending => {}
        InvitationStatus::Expired => return Err(AppError::InvitationExpired),
        _ => return Err(AppError::InvitationInvalid),
    }
    let email = Email::parse("token", &found.email)?;
    let (user, created) = guest_for(write.txn(), &email, true).await?.map_err(|_| {
        AppError::conflict(
            "an account with this email exists: sign in and accept the invitation with acceptInvitation",
        )
    })?;
    users::mark_verified(write.txn(), user.id).await?;
    let actor = as_actor(&user, meta);
    let write = write.enter(&actor, found.organization_id).await?;
    let (membership, teams) =
        crate::domain::invitations::redeem(write.txn(), write.access(), &actor, &found).await?;
    let entry = Entry::new(
        AuditAction::InvitationAccepted,
        found.id,
        json!({
            "memberId": membership.id,
            "role": membership.role,
            "teamIds": teams,
            "guest": true,
            "guestAccountCreated": created,
        }),
    );
    sessions::sign_in(
        SignInWrite::Joined(write),
        auth,
        meta,
        user,
        Authentication::EmailLink,
        |_| entry,
    )
    .await
}

/// Mails a sign-in link to a guest: a returning guest (no code), or a
/// person joining through a guest link (`code`; they become a guest and
/// join when they open the link). The answer is the same whatever the
/// address; an address with a full account gets a notice, not a link. A
/// code that is not a live guest link of an organization that admits
/// guests is JOIN_CODE_INVALID.
#[tracing::instrument(skip_all)]
pub async fn request_sign_in_link(
    db: &DatabaseConnection,
    outbox: &Outbox,
    meta: &RequestMeta,
    email: &str,
    code: Option<&str>,
) -> AppResult<()> {
    let email = Email::parse("email", email)?;
    let write = Write::begin(db).await?;
    let join_code = match code {
        Some(code) => Some(crate::domain::join_codes::live_guest_link(write.txn(), code).await?),
        None => None,
    };
    let existing = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(write.txn())
        .await?;
    let user = match (existing, &join_code) {
        (Some(found), _) if found.is_guest => found,
        (Some(full), Some(_)) => {
            // A full account signs in with its password; it is told so
            // and gets no link.
            let mut write = write.attributed_to(AuditActor::account(&full), meta);
            let mail = Mail::new(
                &full.email,
                "Sign in to orgql with your password",
                "Someone asked for a guest sign-in link for this address. You have an orgql account: sign in with your password, then join with the code you were given.\n\nIf this was not you, ignore this email.\n".to_owned(),
            );
            write.send(outbox, mail).await?;
            return write
                .commit(Entry::new(
                    AuditAction::UserSignInLinkRefused,
                    full.id,
                    json!({ "email": full.email }),
                ))
                .await;
        }
        (Some(_), None) | (None, None) => {
            tracing::debug!(target: "orgql::auth", "sign-in link asked for an address that is no guest");
            return Ok(());
        }
        (None, Some(code)) => {
            // No account is made for an address nobody has proven
            // (security review L2): the link is kept aside, and the guest
            // account is made when it is used.
            let token = pending_sign_up(write.txn(), &email, code.id).await?;
            let mail = link_mail(write.txn(), outbox, email.as_str(), &token, Some(code)).await?;
            let mut write = write.attributed_to(AuditActor::system(), meta);
            write.send(outbox, mail).await?;
            let entry = Entry::new(
                AuditAction::JoinCodeGuestLinkMailed,
                code.id,
                json!({ "email": email.as_str(), "lastFour": code.last_four }),
            );
            return write
                .commit(entry.in_organization(code.organization_id))
                .await;
        }
    };
    let token = one_time::issue_for_join(
        write.txn(),
        user.id,
        Purpose::GuestSignIn,
        Some(&user.email),
        SIGN_IN_TTL,
        join_code.as_ref().map(|c| c.id),
    )
    .await?;
    let mail = link_mail(write.txn(), outbox, &user.email, &token, join_code.as_ref()).await?;
    let mut write = write.attributed_to(AuditActor::account(&user), meta);
    write.send(outbox, mail).await?;
    write
        .commit(Entry::new(
            AuditAction::UserSignInLinkSent,
            user.id,
            json!({ "email": user.email, "joinCodeId": join_code.as_ref().map(|c| c.id) }),
        ))
        .await
}

/// Signs a guest in with a mailed link (once, within 15 minutes), proving
/// their address; a link asked for with a guest link also joins its
/// organization as VIEWER.
#[tracing::instrument(skip_all)]
pub async fn sign_in_with_link(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    meta: &RequestMeta,
    token: &str,
) -> AppResult<IssuedTokens> {
    let write = Write::begin(db).await?;
    let invalid = || AppError::bad_input("token", "this link is invalid, already used or expired");
    // A returning guest's link, or the link of someone joining through a
    // guest link whose account is made now (security review L2).
    let (user, join_code_id) = match redeem_pending_sign_up(write.txn(), token.trim()).await? {
        Some((user, join_code_id)) => (user, Some(join_code_id)),
        None => {
            let found =
                one_time::find_live(write.txn(), Purpose::GuestSignIn, token.trim(), "token")
                    .await?;
            one_time::consume(write.txn(), &found, "token").await?;
            let user = user::Entity::find_by_id(found.user_id)
                .one(write.txn())
                .await?
                .filter(|u| u.is_guest && found.email.as_deref() == Some(u.email.as_str()))
                .ok_or_else(invalid)?;
            (user, found.join_code_id)
        }
    };
    users::mark_verified(write.txn(), user.id).await?;
    let actor = as_actor(&user, meta);
    let Some(join_code_id) = join_code_id else {
        let entry = Entry::new(
            AuditAction::UserLoggedIn,
            user.id,
            json!({ "amr": "email" }),
        );
        return sessions::sign_in(
            SignInWrite::Account(write),
            auth,
            meta,
            user,
            Authentication::EmailLink,
            |_| entry,
        )
        .await;
    };
    let code = join_code::Entity::find_by_id(join_code_id)
        .one(write.txn())
        .await?
        .ok_or(AppError::JoinCodeInvalid)?;
    let write = write.enter(&actor, code.organization_id).await?;
    let person = actor.require_person()?;
    let joined =
        crate::domain::join_codes::redeem(write.txn(), write.access(), person, &code).await?;
    let entry = match joined {
        Some(membership) => Entry::new(
            AuditAction::JoinCodeUsed,
            code.id,
            json!({ "memberId": membership.id, "role": membership.role, "lastFour": code.last_four, "guest": true }),
        ),
        None => Entry::new(
            AuditAction::UserLoggedIn,
            person.user_id,
            json!({ "amr": "email" }),
        ),
    };
    sessions::sign_in(
        SignInWrite::Joined(write),
        auth,
        meta,
        user,
        Authentication::EmailLink,
        |_| entry,
    )
    .await
}

/// A guest becomes a full account by setting a password (and, if they
/// like, their name): from then on they sign in with it, create
/// organizations and hold API tokens. Their sessions go on.
///
/// Converting is the person's own choice, but what an organization gave
/// a guest was a guest's view (security review M3): a full member reads
/// every address and may be promoted. So the guest memberships end here,
/// in the same transaction, each audited in its organization
/// (`member.left`, reason `guestConverted`); an organization that wants
/// the person as a full member says so with an invitation. No guest
/// membership ever outlives its account's guest status, which is what
/// lets turning guest access off (`guest_access::end`) find them all.
#[tracing::instrument(skip_all)]
pub async fn convert(
    db: &DatabaseConnection,
    auth: &AuthConfig,
    actor: &Actor,
    password: &str,
    name: Option<&str>,
) -> AppResult<user::Model> {
    let person = actor.require_person()?;
    if !person.is_guest {
        return Err(AppError::conflict("this account is not a guest account"));
    }
    let name = name.map(|n| values::text("name", n, 200)).transpose()?;
    values::password("password", password, &[person.email.as_str()])?;
    let password_hash = auth.passwords.hash(password).await?;
    let write = Write::begin(db).await?;
    let found = user::Entity::find_by_id(person.user_id)
        .one(write.txn())
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // Read again in the transaction: a concurrent conversion wins once.
    if !found.is_guest {
        return Err(AppError::conflict("this account is not a guest account"));
    }
    let (user, ended) = make_full(write.txn(), found, password_hash, name).await?;
    let converted = Entry::new(
        AuditAction::UserGuestConverted,
        user.id,
        json!({ "email": user.email, "guestMembershipsEnded": ended.len() }),
    );
    write
        .by(actor)
        .commit_all([ended, vec![converted]].concat())
        .await?;
    Ok(user)
}

/// Turns a guest account into a full one with `password_hash` and ends its
/// guest memberships; returns the account and, per organization, the
/// `member.left` entry for each membership that ended.
async fn make_full<C: ConnectionTrait>(
    txn: &C,
    guest: user::Model,
    password_hash: String,
    name: Option<String>,
) -> AppResult<(user::Model, Vec<Entry>)> {
    let ended = end_guest_memberships(txn, guest.id).await?;
    let mut active: user::ActiveModel = guest.into();
    active.password_hash = Set(password_hash);
    active.is_guest = Set(false);
    if let Some(name) = name {
        active.name = Set(name);
    }
    active.updated_at = Set(Utc::now());
    Ok((active.update(txn).await?, ended))
}

/// Ends every membership of a guest account (all of them are guest
/// memberships); returns, per organization, the `member.left` entry for
/// each.
async fn end_guest_memberships<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
) -> AppResult<Vec<Entry>> {
    // In organization order: each deletion takes its organization's kept
    // member count's row lock (migration 37), and two accounts ending
    // memberships in the same organizations take them in the same order.
    let memberships = member::Entity::find()
        .filter(member::Column::UserId.eq(user_id))
        .order_by_asc(member::Column::OrganizationId)
        .all(txn)
        .await?;
    let mut ended = Vec::with_capacity(memberships.len());
    for membership in memberships {
        member::Entity::delete_by_id(membership.id)
            .exec(txn)
            .await?;
        ended.push(
            Entry::new(
                AuditAction::MemberLeft,
                membership.id,
                json!({
                    "userId": membership.user_id,
                    "before": { "role": membership.role, "guest": true },
                    "reason": "guestConverted",
                }),
            )
            .in_organization(membership.organization_id),
        );
    }
    Ok(ended)
}

/// Sign-up with a guest account's address (security review L2): a guest
/// account never blocks the real person, who claims it. Signing up proves
/// no mailbox, so it does not take the account over: the address gets a
/// link (a password-reset link, see [`claim_with_reset`]) that sets a
/// password and makes the account a full one. Returns `write` untouched
/// when `email` is no guest account's, so sign-up goes on; `None` when the
/// link was mailed and committed, and sign-up answers as for any address
/// that has an account.
pub async fn claim_for_sign_up(
    write: Write,
    outbox: &Outbox,
    meta: &RequestMeta,
    email: &Email,
) -> AppResult<Option<Write>> {
    let Some(guest) = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::IsGuest.eq(true))
        .one(write.txn())
        .await?
    else {
        return Ok(Some(write));
    };
    let token = one_time::issue(
        write.txn(),
        guest.id,
        Purpose::ResetPassword,
        Some(&guest.email),
        one_time::RESET_TTL,
    )
    .await?;
    let mut write = write.attributed_to(AuditActor::system(), meta);
    let mail = Mail::new(
        &guest.email,
        "Claim your orgql account",
        format!(
            "Someone tried to sign up to orgql with this address, which has a guest account. To set a password and make it a full account, open: {}/reset-password?token={token}\n\nThe link works once and expires in one hour. Your guest memberships end when you do: organizations that want you as a full member invite you again. If this was not you, ignore this email.\n",
            outbox.public_url,
        ),
    );
    write.send(outbox, mail).await?;
    write
        .commit(Entry::new(
            AuditAction::UserPasswordResetRequested,
            guest.id,
            json!({ "claim": "signUp" }),
        ))
        .await?;
    Ok(None)
}

/// A password reset on a guest account is its claim (security review L2):
/// the link came to the mailbox, so the person may make the account a full
/// one. Call after the new password is set: the account stops being a
/// guest, and its guest memberships end as in [`convert`]; returns their
/// `member.left` entries, per organization (none for a full account).
pub async fn claim_with_reset<C: ConnectionTrait>(
    txn: &C,
    user: &user::Model,
) -> AppResult<Vec<Entry>> {
    if !user.is_guest {
        return Ok(Vec::new());
    }
    let ended = end_guest_memberships(txn, user.id).await?;
    user::Entity::update_many()
        .col_expr(user::Column::IsGuest, Expr::value(false))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(user.id))
        .exec(txn)
        .await?;
    Ok(ended)
}
