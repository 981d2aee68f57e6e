//! Encryption at rest for secrets the server must read back (TOTP secrets,
//! SSO connections' OIDC client secrets):
//! XChaCha20-Poly1305 (RFC 8439 with extended nonces) with a random nonce
//! per value and the owner's id as associated data, so a ciphertext copied
//! onto another user's row does not open. Hashing would not do: checking a
//! TOTP code needs the secret itself.
//!
//! The key comes from `ORGQL_MFA_ENCRYPTION_KEY`; without it the server
//! generates one and keeps it in the database (like the JWT secret), which
//! still keeps secrets out of backups of single tables and out of logs,
//! but not from someone holding the whole database: set the key in
//! production.
//!
//! Keys rotate (`auth::keyring`): values are sealed under the current key
//! and written as `v2.<key id>.<base64(nonce || ciphertext)>`, so opening
//! picks the key by its id; `ORGQL_MFA_ENCRYPTION_KEY_FALLBACK` keeps the
//! old key opening until `orgql admin rotate-keys` has re-sealed
//! everything under the current one. Values written before key ids,
//! `v1.<base64>`, are tried with every key of the ring, current first.
//! A value whose key is not in the ring does not open: no key is guessed.

use base64::Engine;
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::keyring::Keyring;
use crate::error::AppError;

/// Values written before key ids: `v1.<base64>`.
const V1: &str = "v1.";
/// Values with the id of the key that sealed them: `v2.<kid>.<base64>`.
const V2: &str = "v2.";
/// Labels the sealing keys' ids (`keyring::key_id`).
const KEY_ID_PURPOSE: &str = "orgql sealing key";
const NONCE_LEN: usize = 24;

/// Seals with the current key; opens with any key of the ring.
#[derive(Clone)]
pub struct Sealer {
    ring: Keyring<XChaCha20Poly1305>,
}

/// A cipher whose key is the SHA-256 of `key_material` (a setting of at
/// least 32 characters, or a generated secret).
fn cipher(key_material: &[u8]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&Sha256::digest(key_material))
}

impl Sealer {
    /// A sealer with one key.
    pub fn new(key_material: &[u8]) -> Self {
        Self::with_fallbacks(key_material, [])
    }

    /// A sealer that seals with `current` and also opens what `fallbacks`
    /// sealed.
    pub fn with_fallbacks<'a>(
        current: &[u8],
        fallbacks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Self {
        Self {
            ring: Keyring::new(KEY_ID_PURPOSE, current, fallbacks, cipher),
        }
    }

    /// The id of the key new values are sealed under.
    pub fn current_key_id(&self) -> &str {
        self.ring.current_id()
    }

    /// How many fallback keys open values besides the current one.
    pub fn fallbacks(&self) -> usize {
        self.ring.fallbacks()
    }

    /// How every value sealed under the current key begins, for finding
    /// those that are not (`LIKE '<prefix>%'`: hex digits, dots and
    /// letters, nothing `LIKE` treats specially).
    pub fn current_prefix(&self) -> String {
        format!("{V2}{}.", self.ring.current_id())
    }

    /// Whether `stored` is sealed under the current key.
    pub fn is_current(&self, stored: &str) -> bool {
        stored.starts_with(&self.current_prefix())
    }

    /// `plaintext` encrypted for `owner` under the current key.
    pub fn seal(&self, plaintext: &[u8], owner: &[u8]) -> Result<String, AppError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .ring
            .current()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: owner,
                },
            )
            .map_err(|_| AppError::internal("sealing a secret failed"))?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&ciphertext);
        Ok(format!(
            "{}{}",
            self.current_prefix(),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(stored)
        ))
    }

    /// The plaintext of a value sealed for `owner`; an internal error when
    /// it does not open (a key not in the ring, or tampering).
    pub fn open(&self, stored: &str, owner: &[u8]) -> Result<Vec<u8>, AppError> {
        let (key_id, encoded) = if let Some(rest) = stored.strip_prefix(V2) {
            let (key_id, encoded) = rest.split_once('.').ok_or_else(malformed)?;
            (Some(key_id), encoded)
        } else {
            (None, stored.strip_prefix(V1).ok_or_else(malformed)?)
        };
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded)
            .map_err(|_| malformed())?;
        if bytes.len() < NONCE_LEN {
            return Err(malformed());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| malformed())?;
        let nonce = XNonce::from(nonce);
        let payload = || Payload {
            msg: ciphertext,
            aad: owner,
        };
        self.ring
            .candidates(key_id)
            .find_map(|cipher| cipher.decrypt(&nonce, payload()).ok())
            .ok_or_else(|| match key_id {
                Some(key_id) if !self.ring.knows(key_id) => AppError::internal(format!(
                    "a secret sealed under the key with id {key_id} does not open: that key is \
                     neither ORGQL_MFA_ENCRYPTION_KEY nor ORGQL_MFA_ENCRYPTION_KEY_FALLBACK"
                )),
                _ => AppError::internal(
                    "a sealed secret opens with neither ORGQL_MFA_ENCRYPTION_KEY nor \
                     ORGQL_MFA_ENCRYPTION_KEY_FALLBACK (sealed under another key, or tampered with)",
                ),
            })
    }

    /// `stored` opened and sealed again under the current key.
    pub fn reseal(&self, stored: &str, owner: &[u8]) -> Result<String, AppError> {
        self.seal(&self.open(stored, owner)?, owner)
    }
}

fn malformed() -> AppError {
    AppError::internal("a sealed secret is not in a format this server knows")
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &[u8] = b"the old key, of at least thirty-two bytes";
    const NEW: &[u8] = b"the new key, of at least thirty-two bytes";

    /// A value in the format written before key ids.
    fn sealed_v1(key: &[u8], plaintext: &[u8], owner: &[u8]) -> String {
        let nonce = [7u8; NONCE_LEN];
        let ciphertext = cipher(key)
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: owner,
                },
            )
            .unwrap();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&ciphertext);
        format!(
            "v1.{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
        )
    }

    #[test]
    fn a_sealed_value_opens_for_its_owner_only() {
        let sealer = Sealer::new(b"a key of at least thirty-two bytes!");
        let sealed = sealer.seal(b"secret", b"alice").unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(sealer.open(&sealed, b"alice").unwrap(), b"secret");
        assert!(sealer.open(&sealed, b"bob").is_err());
    }

    #[test]
    fn a_value_sealed_with_another_key_does_not_open() {
        let sealed = Sealer::new(b"one key").seal(b"secret", b"alice").unwrap();
        assert!(Sealer::new(b"another key").open(&sealed, b"alice").is_err());
    }

    #[test]
    fn new_seals_carry_the_current_keys_id() {
        let sealer = Sealer::with_fallbacks(NEW, [OLD]);
        let sealed = sealer.seal(b"secret", b"alice").unwrap();
        let key_id = super::super::keyring::key_id(KEY_ID_PURPOSE, NEW);
        assert!(sealed.starts_with(&format!("v2.{key_id}.")), "{sealed}");
        assert_eq!(sealer.current_key_id(), key_id);
        assert!(sealer.is_current(&sealed));
        // The id is not the key, nor its SHA-256 (the cipher's key).
        assert!(!sealed.contains(&hex::encode(Sha256::digest(NEW))[..16]));
    }

    #[test]
    fn a_value_sealed_under_the_old_key_opens_with_a_ring_of_new_and_old() {
        let sealed = Sealer::new(OLD).seal(b"secret", b"alice").unwrap();
        let ring = Sealer::with_fallbacks(NEW, [OLD]);
        assert!(!ring.is_current(&sealed));
        assert_eq!(ring.open(&sealed, b"alice").unwrap(), b"secret");
        // Still only for its owner.
        assert!(ring.open(&sealed, b"bob").is_err());
    }

    #[test]
    fn a_value_sealed_under_a_key_no_longer_in_the_ring_does_not_open() {
        let sealed = Sealer::new(OLD).seal(b"secret", b"alice").unwrap();
        let error = Sealer::new(NEW).open(&sealed, b"alice").unwrap_err();
        // The log says which key is missing (by id) and where to list it.
        let logged = format!("{error:?}");
        assert!(
            logged.contains(Sealer::new(OLD).current_key_id()),
            "{logged}"
        );
        assert!(
            logged.contains("ORGQL_MFA_ENCRYPTION_KEY_FALLBACK"),
            "{logged}"
        );
    }

    #[test]
    fn a_value_claiming_the_id_of_a_key_in_the_ring_opens_only_with_that_key() {
        // Sealed under OLD but labelled with NEW's id: the ring does not
        // go looking through its other keys.
        let sealed = Sealer::new(OLD).seal(b"secret", b"alice").unwrap();
        let body = sealed.rsplit_once('.').unwrap().1;
        let relabelled = format!("{}{body}", Sealer::new(NEW).current_prefix());
        assert!(
            Sealer::with_fallbacks(NEW, [OLD])
                .open(&relabelled, b"alice")
                .is_err()
        );
    }

    #[test]
    fn values_written_before_key_ids_open_with_any_key_of_the_ring() {
        let sealed = sealed_v1(OLD, b"secret", b"alice");
        assert_eq!(Sealer::new(OLD).open(&sealed, b"alice").unwrap(), b"secret");
        let ring = Sealer::with_fallbacks(NEW, [OLD]);
        assert_eq!(ring.open(&sealed, b"alice").unwrap(), b"secret");
        assert!(!ring.is_current(&sealed));
        assert!(Sealer::new(NEW).open(&sealed, b"alice").is_err());
    }

    #[test]
    fn resealing_moves_a_value_under_the_current_key() {
        let ring = Sealer::with_fallbacks(NEW, [OLD]);
        for old in [
            Sealer::new(OLD).seal(b"secret", b"alice").unwrap(),
            sealed_v1(OLD, b"secret", b"alice"),
        ] {
            let resealed = ring.reseal(&old, b"alice").unwrap();
            assert!(ring.is_current(&resealed));
            assert_eq!(
                Sealer::new(NEW).open(&resealed, b"alice").unwrap(),
                b"secret"
            );
        }
    }

    #[test]
    fn malformed_values_do_not_open() {
        let sealer = Sealer::new(NEW);
        for stored in [
            "",
            "secret",
            "v2.",
            "v2.abc",
            "v2.abc.!!",
            "v1.AAAA",
            "v3.x.y",
        ] {
            assert!(sealer.open(stored, b"alice").is_err(), "{stored}");
        }
    }
}
