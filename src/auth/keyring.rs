//! Key rings, so that keys can be rotated without downtime: the current
//! key, the only one that seals or signs, and the fallback keys, which
//! still open and verify what older (or, during a rolling restart, newer)
//! instances sealed and signed.
//!
//! Every key is known by a key id derived from the key itself, so that
//! nobody has to name keys and two instances given the same key agree on
//! its id. The id is written beside every sealed value (`v2.<kid>.…`) and
//! into every access token's header (`kid`, RFC 7515 §4.1.4), so it is
//! public: it is the first 64 bits of SHA-256 over a purpose label and the
//! key, which tells nothing about the key that a ciphertext or a signature
//! made with it does not already tell. The label keeps one secret used for
//! both purposes from showing the same id in both places. With 64 bits, two
//! keys of one ring sharing an id is not a practical concern; should it
//! happen, both are tried.

use sha2::{Digest, Sha256};

/// The id of `key` for `purpose`: 16 lower-case hex digits.
pub fn key_id(purpose: &str, key: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(purpose.as_bytes());
    hash.update([0]);
    hash.update(key);
    hex::encode(&hash.finalize()[..8])
}

/// The current key and the fallbacks, each made into what uses it (a
/// cipher, a verification key) and filed under its id.
#[derive(Clone)]
pub struct Keyring<K> {
    /// The current key first, then the fallbacks in the order given, with
    /// repeats dropped.
    keys: Vec<(String, K)>,
}

impl<K> Keyring<K> {
    /// A ring whose current key is `current`; `fallbacks` repeating the
    /// current key or each other are dropped, so an operator mid-rotation
    /// who lists a key twice gets what they meant.
    pub fn new<'a>(
        purpose: &str,
        current: &[u8],
        fallbacks: impl IntoIterator<Item = &'a [u8]>,
        make: impl Fn(&[u8]) -> K,
    ) -> Self {
        let mut seen: Vec<&[u8]> = vec![current];
        let mut keys = vec![(key_id(purpose, current), make(current))];
        for key in fallbacks {
            if !seen.contains(&key) {
                seen.push(key);
                keys.push((key_id(purpose, key), make(key)));
            }
        }
        Self { keys }
    }

    /// The current key's id.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    /// The current key.
    pub fn current(&self) -> &K {
        &self.keys[0].1
    }

    /// The keys to try for a value that names the key `id`: those filed
    /// under it (normally one; none for an id the ring does not know). For
    /// a value that names none (written before key ids), every key, the
    /// current one first.
    pub fn candidates<'s>(&'s self, id: Option<&'s str>) -> impl Iterator<Item = &'s K> + 's {
        self.keys
            .iter()
            .filter(move |(kid, _)| id.is_none_or(|id| kid == id))
            .map(|(_, key)| key)
    }

    /// Whether a key of the ring has the id `id`.
    pub fn knows(&self, id: &str) -> bool {
        self.keys.iter().any(|(kid, _)| kid == id)
    }

    /// How many fallback keys there are (repeats dropped).
    pub fn fallbacks(&self) -> usize {
        self.keys.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_id_depends_on_the_key_and_the_purpose_and_does_not_show_the_key() {
        let id = key_id("seal", b"a key of at least thirty-two bytes!");
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, key_id("seal", b"a key of at least thirty-two bytes!"));
        assert_ne!(id, key_id("seal", b"another key of thirty-two bytes!!"));
        assert_ne!(id, key_id("jwt", b"a key of at least thirty-two bytes!"));
    }

    #[test]
    fn the_current_key_comes_first_and_repeated_fallbacks_are_dropped() {
        let ring = Keyring::new(
            "test",
            b"new",
            [&b"old"[..], b"new", b"old", b"older"],
            |k: &[u8]| k.to_vec(),
        );
        assert_eq!(ring.current(), b"new");
        assert_eq!(ring.current_id(), key_id("test", b"new"));
        assert_eq!(ring.fallbacks(), 2);
        let all: Vec<_> = ring.candidates(None).cloned().collect();
        assert_eq!(
            all,
            vec![b"new".to_vec(), b"old".to_vec(), b"older".to_vec()]
        );
        let old = key_id("test", b"old");
        assert!(ring.knows(&old));
        assert_eq!(
            ring.candidates(Some(&old)).collect::<Vec<_>>(),
            vec![b"old"]
        );
        assert!(!ring.knows("0000000000000000"));
        assert_eq!(ring.candidates(Some("0000000000000000")).count(), 0);
    }
}
