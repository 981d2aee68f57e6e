//! Opaque secrets (refresh tokens, invitation tokens, join codes, API token
//! secrets): 256 random bits, shown once, stored only as their SHA-256.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 random bytes from the OS generator, base64url without padding.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The hex SHA-256 under which a secret is stored and looked up.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `bytes` random bytes as lower-case hex: for secrets embedded in
/// underscore-separated tokens.
pub fn generate_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// Compares two strings in time that depends only on their lengths, so a
/// caller cannot learn a stored value byte by byte from response times.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_equal_strings_compare_equal() {
        let secret = generate_hex(32);
        assert!(constant_time_eq(&secret, &secret.clone()));
        assert!(!constant_time_eq(&secret, &generate_hex(32)));
        assert!(!constant_time_eq(&secret, &secret[1..]));
        assert!(!constant_time_eq("", "a"));
    }
}
