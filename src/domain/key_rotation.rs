//! Re-sealing every sealed secret under the current key: what
//! `orgql admin rotate-keys` does, the second half of rotating the key
//! that seals TOTP secrets, OIDC client secrets and webhook signing
//! secrets (`auth::sealing`). Once
//! it has run with nothing left it could not open, no value needs the old
//! key, and the old key can leave `ORGQL_MFA_ENCRYPTION_KEY_FALLBACK`.
//!
//! Safe while servers run. Rows not sealed under the current key are read
//! in batches, in primary-key order (keyset, so a row that cannot be opened
//! is passed over rather than read again), opened and sealed anew outside
//! any transaction, then written back in one transaction per batch, each
//! row by a conditional update that changes it only if its sealed value is
//! still the one that was read. A value replaced meanwhile (someone
//! enrolled anew, an administrator set a new client secret) is left as it
//! is: whoever replaced it sealed it anew. Running it again is harmless and
//! finds nothing to do, unless an instance still sealing with an older key
//! wrote since.
//!
//! Outside the audited write path on purpose (ARCHITECTURE.md, "Writes";
//! `write::Bookkeeping`): it is the operator's upkeep of the server, not
//! an act of anyone in an organization or on an account; every secret
//! means the same afterwards (same plaintext, same owner); and an entry per
//! row would bury every organization's trail and every person's history
//! under entries nobody acted for. The command prints what it did.

use entity::{sso_connection, totp_authenticator, webhook_endpoint};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, sea_query::Expr,
};
use uuid::Uuid;

use crate::auth::Sealer;
use crate::domain::write::Bookkeeping;
use crate::error::AppResult;

/// Rows per batch, and per transaction, unless the caller says otherwise.
pub const DEFAULT_BATCH: u64 = 500;

/// What was re-sealed in one kind of row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Sealed anew under the current key.
    pub resealed: u64,
    /// Replaced by someone between the read and the write, so left alone.
    pub replaced_meanwhile: u64,
    /// The owners (user ids, connection ids) of values that no key of the
    /// ring opens: sealed under a key that is not configured, or damaged.
    pub unopened: Vec<Uuid>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resealed {
    /// TOTP authenticators' secrets (owner: the user).
    pub totp_secrets: Tally,
    /// OIDC connections' client secrets (owner: the connection).
    pub oidc_client_secrets: Tally,
    /// Webhook endpoints' signing secrets (owner: the endpoint).
    pub webhook_secrets: Tally,
}

impl Resealed {
    /// Whether every value found is now under the current key (or was
    /// replaced by someone who sealed it anew).
    pub fn complete(&self) -> bool {
        self.totp_secrets.unopened.is_empty()
            && self.oidc_client_secrets.unopened.is_empty()
            && self.webhook_secrets.unopened.is_empty()
    }
}

/// How many sealed values are not under the current key.
pub async fn pending(db: &DatabaseConnection, sealer: &Sealer) -> AppResult<u64> {
    let totp = not_current::<totp_authenticator::Entity>(
        totp_authenticator::Column::SecretEncrypted,
        sealer,
    )
    .count(db)
    .await?;
    let oidc =
        not_current::<sso_connection::Entity>(sso_connection::Column::ClientSecretSealed, sealer)
            .count(db)
            .await?;
    let webhooks =
        not_current::<webhook_endpoint::Entity>(webhook_endpoint::Column::SecretSealed, sealer)
            .count(db)
            .await?;
    Ok(totp + oidc + webhooks)
}

/// Re-seals every sealed value under `sealer`'s current key, `batch` rows
/// to a transaction; `progress` hears how many rows each batch read.
#[tracing::instrument(skip_all, fields(kid = sealer.current_key_id()))]
pub async fn reseal_all(
    db: &DatabaseConnection,
    sealer: &Sealer,
    batch: u64,
    mut progress: impl FnMut(u64),
) -> AppResult<Resealed> {
    let batch = batch.max(1);
    Ok(Resealed {
        totp_secrets: reseal::<totp_authenticator::Entity>(
            db,
            sealer,
            batch,
            totp_authenticator::Column::UserId,
            totp_authenticator::Column::SecretEncrypted,
            &mut progress,
        )
        .await?,
        oidc_client_secrets: reseal::<sso_connection::Entity>(
            db,
            sealer,
            batch,
            sso_connection::Column::Id,
            sso_connection::Column::ClientSecretSealed,
            &mut progress,
        )
        .await?,
        webhook_secrets: reseal::<webhook_endpoint::Entity>(
            db,
            sealer,
            batch,
            webhook_endpoint::Column::Id,
            webhook_endpoint::Column::SecretSealed,
            &mut progress,
        )
        .await?,
    })
}

/// Rows of `E` whose `sealed` column holds a value not under the current
/// key (an empty value, a SAML connection's, holds nothing).
fn not_current<E: EntityTrait>(sealed: E::Column, sealer: &Sealer) -> Select<E> {
    E::find()
        .filter(sealed.ne(""))
        .filter(sealed.not_like(format!("{}%", sealer.current_prefix())))
}

/// Re-seals the `sealed` column of `E`, whose owner (the associated data)
/// is its primary key `id`.
async fn reseal<E: EntityTrait>(
    db: &DatabaseConnection,
    sealer: &Sealer,
    batch: u64,
    id: E::Column,
    sealed: E::Column,
    progress: &mut impl FnMut(u64),
) -> AppResult<Tally> {
    let mut tally = Tally::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut page = not_current::<E>(sealed, sealer);
        if let Some(after) = after {
            page = page.filter(id.gt(after));
        }
        let rows: Vec<(Uuid, String)> = page
            .select_only()
            .column(id)
            .column(sealed)
            .order_by_asc(id)
            .limit(batch)
            .into_tuple()
            .all(db)
            .await?;
        let Some(&(last, _)) = rows.last() else {
            break;
        };
        after = Some(last);
        let mut resealed = Vec::with_capacity(rows.len());
        for (owner, stored) in &rows {
            match sealer.reseal(stored, owner.as_bytes()) {
                Ok(anew) => resealed.push((owner, stored, anew)),
                Err(error) => {
                    tracing::warn!(target: "orgql::keys", %owner, ?error, "a sealed secret does not open");
                    tally.unopened.push(*owner);
                }
            }
        }
        let write = Bookkeeping::begin(db).await?;
        for (owner, stored, anew) in resealed {
            let written = E::update_many()
                .col_expr(sealed, Expr::value(anew))
                .filter(id.eq(*owner))
                .filter(sealed.eq(stored.as_str()))
                .exec(write.txn())
                .await?
                .rows_affected;
            if written == 1 {
                tally.resealed += 1;
            } else {
                tally.replaced_meanwhile += 1;
            }
        }
        write.commit().await?;
        progress(rows.len() as u64);
    }
    Ok(tally)
}
