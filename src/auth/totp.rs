//! Time-based one-time passwords: HOTP (RFC 4226) over HMAC-SHA-1 and TOTP
//! (RFC 6238) with 30-second steps, the parameters every authenticator app
//! supports. Written out here (it is a dozen lines over the RustCrypto
//! `hmac` and `sha1` crates) because replay protection needs the time step
//! a code matched, which off-the-shelf checkers do not return; the RFC 6238
//! test vectors below pin it.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

/// Seconds per time step (RFC 6238 §4.1, X = 30).
pub const STEP_SECS: i64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that still count, for clocks that drift and
/// people who type slowly (RFC 6238 §5.2 recommends at most one).
pub const SKEW_STEPS: i64 = 1;

/// A fresh 160-bit secret, the length RFC 4226 §4 recommends.
pub fn generate_secret() -> Vec<u8> {
    random_bytes(20)
}

/// `len` bytes from the OS generator.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// The secret as authenticator apps take it: base32 without padding.
pub fn encode_secret(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// HOTP(K, C) truncated to `digits` decimal digits (RFC 4226 §5.3).
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(digits),
        width = digits as usize
    )
}

/// The time step of a Unix time (RFC 6238 §4.2, T0 = 0).
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The step whose code `code` is, within the allowed skew of `now`, and
/// later than `after` (the last step used: a code works once). Every
/// candidate is compared in constant time.
pub fn matching_step(secret: &[u8], code: &str, now_unix: i64, after: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(now_unix);
    let mut found = None;
    for step in now - SKEW_STEPS..=now + SKEW_STEPS {
        let Ok(counter) = u64::try_from(step) else {
            continue;
        };
        let expected = hotp(secret, counter, DIGITS);
        if super::secrets::constant_time_eq(&expected, code) && after.is_none_or(|last| step > last)
        {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows: the secret is the ASCII string
    /// "12345678901234567890", codes have 8 digits.
    #[test]
    fn the_rfc_6238_sha1_test_vectors_hold() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let step = u64::try_from(step_at(time)).unwrap();
            assert_eq!(hotp(secret, step, 8), code, "T = {time}");
        }
    }

    /// RFC 4226 Appendix D: the first HOTP values of the same secret.
    #[test]
    fn the_rfc_4226_hotp_test_vectors_hold() {
        let secret = b"12345678901234567890";
        let expected = ["755224", "287082", "359152", "969429", "338314"];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(secret, counter as u64, 6), *code);
        }
    }

    #[test]
    fn a_code_matches_its_step_and_not_again() {
        let secret = generate_secret();
        let now = 1_700_000_000;
        let code = hotp(&secret, step_at(now) as u64, DIGITS);
        let step = matching_step(&secret, &code, now, None);
        assert_eq!(step, Some(step_at(now)));
        assert_eq!(matching_step(&secret, &code, now, step), None);
    }

    #[test]
    fn a_code_from_two_steps_ago_is_refused() {
        let secret = generate_secret();
        let now = 1_700_000_000;
        let old = hotp(&secret, (step_at(now) - 2) as u64, DIGITS);
        assert_eq!(matching_step(&secret, &old, now, None), None);
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = generate_secret();
        for code in ["", "12345", "1234567", "12a456"] {
            assert_eq!(matching_step(&secret, code, 1_700_000_000, None), None);
        }
    }
}
