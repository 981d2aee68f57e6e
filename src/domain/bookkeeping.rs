//! Bookkeeping: the writes that stand outside the audited write path, and
//! why.
//!
//! Every change a person or a token makes goes through `domain::write`: one
//! transaction, one audit entry per change, mail queued in it. The
//! statements below are the only others that write. Each is a single
//! statement (or a short batch that is safe to repeat) that commits on its
//! own, for one of four reasons: it must outlive the request's own rollback
//! (a refused sign-in still counts), it is protocol state that belongs to no
//! one yet (a sign-in in flight), it is the delivery or retention machinery
//! itself, or it changes nothing a person owns (a last-used time). None of
//! them changes what an audit entry would describe.
//!
//! `layers::bookkeeping_is_the_only_write_outside_the_write_path` (in the
//! API tests) holds this list: a statement that writes on a plain
//! connection (`db`) anywhere else in `src/` fails it.
//!
//! | File | Function | What it writes, and why it stands outside |
//! |---|---|---|
//! | `src/app.rs` | `stored_secret` | the first start's generated JWT secret and sealing key, `ON CONFLICT DO NOTHING`: bootstrap, before anyone acts |
//! | `src/mail/outbox.rs` | `claim_due` | delivery state: the sender claims due mail with a conditional update, so two instances never send one twice |
//! | `src/mail/outbox.rs` | `mark_sent` | delivery state: the sender's own |
//! | `src/mail/outbox.rs` | `mark_failed` | delivery state: the sender's own |
//! | `src/mail/outbox.rs` | `enqueue` | queues mail: in a write's transaction (its `send`), or on its own for `send_mail` |
//! | `src/domain/webhooks/deliveries.rs` | `claim` | delivery state: the webhook sender claims a due delivery with a conditional update, so two instances never make one attempt twice |
//! | `src/domain/webhooks/deliveries.rs` | `record` | delivery state: an attempt's outcome and the endpoint's failure clock (disabling the endpoint is a change, written through `domain::write`) |
//! | `src/domain/webhooks/deliveries.rs` | `release` | delivery state: gives back an attempt whose endpoint was disabled meanwhile |
//! | `src/domain/bookkeeping.rs` | `send_mail` | mail that belongs to no change (see below) |
//! | `src/domain/sessions/authenticate.rs` | `touch` | a session's `last_used_at`, at most once a minute: nobody's change |
//! | `src/domain/api_tokens.rs` | `authenticate` | a token's `last_used_at`: nobody's change |
//! | `src/domain/accounts/lockout.rs` | `record_failure` | the wrong-password counter: it must outlive the refused request (the lock it may set is a change, written through `domain::write`) |
//! | `src/domain/accounts/lockout.rs` | `record_success` | the address's counter reset and "signed in from here": part of a sign-in, whose own entry is the session's |
//! | `src/domain/accounts/lockout.rs` | `clear` | lifts locks; in the reset's transaction, which is audited |
//! | `src/domain/accounts/mfa_lockout.rs` | `count_wrong_code` | the wrong-code counter: it must outlive the refused attempt (in the attempt's transaction when there is one) |
//! | `src/domain/accounts/mfa_lockout.rs` | `forget_wrong_codes` | the counter reset, in the sign-in's transaction |
//! | `src/domain/sso/connections.rs` | `store_flight` | a sign-in in flight (state, nonce, PKCE verifier): protocol state that belongs to no one yet; in the audited write when an administrator starts a test |
//! | `src/domain/sso/sign_in.rs` | `open_test_link` | binds a test sign-in to the browser that opened its link: protocol state, one conditional update |
//! | `src/domain/sso/sign_in.rs` | `take` | consumes a sign-in in flight (replay protection): protocol state |
//! | `src/domain/sso/sign_in.rs` | `first_use` | the assertion replay cache: protocol state |
//! | `src/domain/sso/sign_in.rs` | `purge_expired` | drops expired sign-ins in flight and replay entries |
//! | `src/read/paging.rs` | `query_all` | nothing: a read in a transaction of its own, so that `SET LOCAL plan_cache_mode` (a search planned for its text) lasts for that one statement |
//! | `src/domain/audit/retention.rs` | `purge` | audit retention: the only deleter of entries |
//! | `src/domain/audit/counts.rs` | `purged_before` | audit retention: drops the daily counts of the days it emptied and recounts the day it cut into (called only by `purge`) |
//! | `src/domain/key_rotation.rs` | `reseal` | re-seals secrets under the current key (`orgql admin rotate-keys`), a batch per `write::Bookkeeping` transaction, each row by a conditional update: nobody acted, and every secret reads the same afterwards |
//! | `src/domain/rate_limits.rs` | `spend` | rate-limit buckets shared by every instance: a refused request must still spend |
//! | `src/domain/rate_limits.rs` | `purge_refilled` | drops full rate-limit buckets |
//!
//! The seed command (`cli::seed`) inserts demo data directly; it is no part
//! of the server.

use sea_orm::DatabaseConnection;

use crate::error::AppResult;
use crate::mail::outbox::{Mail, Outbox};

/// Queues mail that belongs to no change, and wakes the sender: the answer
/// to a request that changed nothing but must not tell the caller so (a
/// password reset or a sign-up for an address, where the address's owner
/// learns what happened instead). There is nothing to audit, and so no
/// write transaction to carry it.
pub async fn send_mail(db: &DatabaseConnection, outbox: &Outbox, mail: Mail) -> AppResult<()> {
    outbox.enqueue(db, &mail).await?;
    outbox.wake();
    Ok(())
}
