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

use base64::Engine;
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// Stored values start with this, so a later format can be told apart.
const VERSION: &str = "v1.";

/// Seals and opens values with one key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    /// A sealer whose key is the SHA-256 of `key_material` (a setting of at
    /// least 32 characters, or a generated secret).
    pub fn new(key_material: &[u8]) -> Self {
        let key = Sha256::digest(key_material);
        Self {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    /// `plaintext` encrypted for `owner`.
    pub fn seal(&self, plaintext: &[u8], owner: &[u8]) -> Result<String, AppError> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
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
            "{VERSION}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(stored)
        ))
    }

    /// The plaintext of a value sealed for `owner`; an internal error when
    /// it does not open (another key, or tampering).
    pub fn open(&self, stored: &str, owner: &[u8]) -> Result<Vec<u8>, AppError> {
        let fail = || {
            AppError::internal(
                "a sealed secret does not open: was ORGQL_MFA_ENCRYPTION_KEY changed?",
            )
        };
        let encoded = stored.strip_prefix(VERSION).ok_or_else(fail)?;
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded)
            .map_err(|_| fail())?;
        if bytes.len() < 24 {
            return Err(fail());
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| fail())?;
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner,
                },
            )
            .map_err(|_| fail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
