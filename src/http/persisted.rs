//! Persisted queries: Apollo's automatic persisted queries (APQ) by
//! default, and trusted documents for production.
//!
//! APQ (<https://www.apollographql.com/docs/apollo-server/performance/apq>):
//! a client first sends only `extensions.persistedQuery.sha256Hash`; an
//! unknown hash answers PERSISTED_QUERY_NOT_FOUND, and the client retries
//! with the query and the hash, which registers it. The cache is per
//! instance and bounded, so a miss only costs that retry.
//!
//! The cache is an LRU bounded by the bytes of its queries
//! (`ORGQL_PERSISTED_QUERIES_CACHE_BYTES`): a full cache makes room by
//! forgetting the queries used longest ago, one at a time, so a client that
//! registers many queries pushes out only what nobody has used since, never
//! everything at once, and the cache never stops learning. Evictions are
//! counted in `/metrics`.
//!
//! Trusted documents enforce an allowlist: only the operations of a manifest
//! the client build produced run (graphql-codegen's `persistedDocuments`
//! output, `{ "<sha256>": "<document>" }`). A client sends the hash, or the
//! full text of a listed document; anything else is refused. Neither
//! registration nor free-form queries are possible in this mode.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use async_graphql::ServerError;
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;
use prometheus_client::metrics::counter::Counter;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::ErrorCode;
use crate::graphql::extensions::coded;

/// Apollo's protocol codes. They belong to the APQ protocol, which clients
/// match on, not to orgql's `ErrorCode`.
const NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
const NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";

pub enum PersistedQueries {
    /// Only full queries; a hash alone is refused as not supported.
    Off,
    /// APQ: hashes are learnt from the clients.
    Automatic(Cache),
    /// Only the documents of the manifest run.
    Trusted(HashMap<String, Arc<str>>),
}

/// The queries APQ has learnt, by the hex SHA-256 of their text.
pub struct Cache {
    queries: moka::sync::Cache<String, Arc<str>>,
}

impl Cache {
    /// A cache holding at most `max_bytes` of query text, least recently
    /// used out first; each query it forgets to make room counts in
    /// `evictions`.
    pub fn new(max_bytes: u64, evictions: Counter) -> Self {
        let queries = moka::sync::Cache::builder()
            // Plain LRU rather than moka's default TinyLFU, whose admission
            // filter may refuse a new query for as long as the cache is full
            // of more popular ones: a client would then miss, register and
            // miss again on every request.
            .eviction_policy(EvictionPolicy::lru())
            .max_capacity(max_bytes)
            .weigher(|_hash: &String, query: &Arc<str>| {
                u32::try_from(query.len()).unwrap_or(u32::MAX)
            })
            .eviction_listener(move |_hash, _query, cause| {
                if cause == RemovalCause::Size {
                    evictions.inc();
                }
            })
            .build();
        Self { queries }
    }

    fn get(&self, hash: &str) -> Option<Arc<str>> {
        self.queries.get(hash)
    }

    /// Learns `query` under `hash` (its SHA-256, already checked).
    fn register(&self, hash: &str, query: &str) {
        let entry = self
            .queries
            .entry_by_ref(hash)
            .or_insert_with(|| Arc::from(query));
        if entry.is_fresh() {
            // moka applies its bound later, in batches. Applying it now
            // keeps the cache within its bytes, and keeps the order of use:
            // the hits recorded since the last registration count before
            // this query joins, so the victim is the query used longest
            // ago. Registrations are rare (one per query and instance), so
            // this costs little.
            self.queries.run_pending_tasks();
        }
    }
}

fn protocol_error(code: &str, message: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    error
}

fn sha256_hex(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

/// The hash a request names in `extensions.persistedQuery`, if any.
fn requested_hash(extensions: Option<&Map<String, Value>>) -> Result<Option<&str>, ServerError> {
    let Some(persisted) = extensions.and_then(|e| e.get("persistedQuery")) else {
        return Ok(None);
    };
    let bad = |message: &str| coded(ErrorCode::BadUserInput, message, None);
    if persisted.get("version").and_then(Value::as_u64) != Some(1) {
        return Err(bad("unsupported persisted query version: only 1 is known"));
    }
    persisted
        .get("sha256Hash")
        .and_then(Value::as_str)
        .map(Some)
        .ok_or_else(|| bad("persistedQuery needs a sha256Hash"))
}

impl PersistedQueries {
    /// APQ with a cache of at most `max_bytes` of query text, counting
    /// what it evicts in `evictions`.
    pub fn automatic(max_bytes: u64, evictions: Counter) -> Self {
        Self::Automatic(Cache::new(max_bytes, evictions))
    }

    /// Trusted documents from a manifest file: a JSON object from each
    /// document's SHA-256 (hex) to its text. Each hash is checked against
    /// its text, so a manifest cannot smuggle in a document under another
    /// document's name.
    pub fn trusted(manifest: &Path) -> Result<Self, String> {
        let shown = manifest.display();
        let text = std::fs::read_to_string(manifest)
            .map_err(|e| format!("cannot read the trusted documents at {shown}: {e}"))?;
        let documents: HashMap<String, String> = serde_json::from_str(&text).map_err(|e| {
            format!("{shown} is not a JSON object from SHA-256 hashes to documents: {e}")
        })?;
        documents
            .into_iter()
            .map(|(hash, document)| {
                let hash = hash
                    .strip_prefix("sha256:")
                    .unwrap_or(&hash)
                    .to_ascii_lowercase();
                if sha256_hex(&document) == hash {
                    Ok((hash, Arc::from(document)))
                } else {
                    Err(format!(
                        "{shown}: {hash} is not the SHA-256 of its document"
                    ))
                }
            })
            .collect::<Result<_, _>>()
            .map(Self::Trusted)
    }

    /// The document a request runs: its `query`, or the persisted document
    /// its hash names. A request with neither is refused, as is, in trusted
    /// mode, a document not on the list.
    pub fn document(
        &self,
        query: Option<String>,
        extensions: Option<&Map<String, Value>>,
    ) -> Result<String, ServerError> {
        let hash = requested_hash(extensions)?;
        match (self, query, hash) {
            (_, None, None) => Err(coded(
                ErrorCode::BadUserInput,
                "the request has no query: send one as the `query` parameter",
                None,
            )),
            (Self::Off, Some(query), _) => Ok(query),
            (Self::Off, None, Some(_)) => {
                Err(protocol_error(NOT_SUPPORTED, "PersistedQueryNotSupported"))
            }
            (Self::Automatic(_), Some(query), None) => Ok(query),
            (Self::Automatic(cache), None, Some(hash)) => cache
                .get(hash)
                .map(|query| query.to_string())
                .ok_or_else(|| protocol_error(NOT_FOUND, "PersistedQueryNotFound")),
            (Self::Automatic(cache), Some(query), Some(hash)) => {
                if sha256_hex(&query) != hash {
                    return Err(coded(
                        ErrorCode::BadUserInput,
                        "provided sha does not match query",
                        None,
                    ));
                }
                cache.register(hash, &query);
                Ok(query)
            }
            (Self::Trusted(documents), query, hash) => {
                let hash = match hash {
                    Some(hash) => hash.to_ascii_lowercase(),
                    None => sha256_hex(query.as_deref().unwrap_or_default()),
                };
                match documents.get(&hash) {
                    Some(document) if query.as_deref().is_none_or(|q| q == &**document) => {
                        Ok(document.to_string())
                    }
                    Some(_) => Err(coded(
                        ErrorCode::BadUserInput,
                        "provided sha does not match query",
                        None,
                    )),
                    None if query.is_none() => {
                        Err(protocol_error(NOT_FOUND, "PersistedQueryNotFound"))
                    }
                    None => Err(coded(
                        ErrorCode::Forbidden,
                        "this server runs only trusted documents, and this one is not among them",
                        None,
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apq(hash: &str) -> Map<String, Value> {
        json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
            .as_object()
            .cloned()
            .unwrap()
    }

    fn code(error: &ServerError) -> String {
        let ext = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .cloned();
        ext.map(|c| c.to_string()).unwrap_or_default()
    }

    fn automatic(max_bytes: u64) -> (PersistedQueries, Counter) {
        let evictions = Counter::default();
        (
            PersistedQueries::automatic(max_bytes, evictions.clone()),
            evictions,
        )
    }

    #[test]
    fn an_unknown_hash_is_not_found_until_registered() {
        let (queries, _) = automatic(1024);
        let query = "{ __typename }";
        let hash = sha256_hex(query);
        let miss = queries.document(None, Some(&apq(&hash))).unwrap_err();
        assert_eq!(code(&miss), "\"PERSISTED_QUERY_NOT_FOUND\"");
        queries
            .document(Some(query.into()), Some(&apq(&hash)))
            .unwrap();
        assert_eq!(queries.document(None, Some(&apq(&hash))).unwrap(), query);
    }

    #[test]
    fn a_hash_that_does_not_match_its_query_is_not_registered() {
        let (queries, _) = automatic(1024);
        let wrong = sha256_hex("{ other }");
        assert!(
            queries
                .document(Some("{ __typename }".into()), Some(&apq(&wrong)))
                .is_err()
        );
        assert!(queries.document(None, Some(&apq(&wrong))).is_err());
    }

    #[test]
    fn a_full_cache_forgets_the_least_recently_used_query_first() {
        // Four queries of the same length, room for three.
        let texts: Vec<String> = (0..4).map(|n| format!("{{ q{n}: __typename }}")).collect();
        let bytes = u64::try_from(texts[0].len()).unwrap();
        let (queries, evictions) = automatic(3 * bytes);
        let register = |text: &String| {
            queries
                .document(Some(text.clone()), Some(&apq(&sha256_hex(text))))
                .unwrap();
        };
        let known = |text: &String| {
            queries
                .document(None, Some(&apq(&sha256_hex(text))))
                .is_ok()
        };
        for text in &texts[..3] {
            register(text);
        }
        // The oldest registration is used again, so the second is now the
        // least recently used.
        assert!(known(&texts[0]));
        register(&texts[3]);
        assert_eq!(evictions.get(), 1);
        assert!(known(&texts[0]), "used recently: kept");
        assert!(!known(&texts[1]), "least recently used: evicted");
        assert!(known(&texts[2]) && known(&texts[3]));
    }

    #[test]
    fn a_full_cache_still_learns_new_queries() {
        let texts: Vec<String> = (0..20)
            .map(|n| format!("{{ q{n:02}: __typename }}"))
            .collect();
        let bytes = u64::try_from(texts[0].len()).unwrap();
        let (queries, evictions) = automatic(2 * bytes);
        for text in &texts {
            queries
                .document(Some(text.clone()), Some(&apq(&sha256_hex(text))))
                .unwrap();
            assert_eq!(
                queries
                    .document(None, Some(&apq(&sha256_hex(text))))
                    .unwrap(),
                *text
            );
        }
        assert_eq!(evictions.get(), 18);
    }

    #[test]
    fn trusted_mode_runs_listed_documents_only() {
        let listed = "query Roles { roles { role } }";
        let queries =
            PersistedQueries::Trusted(HashMap::from([(sha256_hex(listed), Arc::from(listed))]));
        assert_eq!(
            queries
                .document(None, Some(&apq(&sha256_hex(listed))))
                .unwrap(),
            listed
        );
        assert_eq!(queries.document(Some(listed.into()), None).unwrap(), listed);
        let refused = queries
            .document(Some("{ viewer { id } }".into()), None)
            .unwrap_err();
        assert_eq!(code(&refused), "\"FORBIDDEN\"");
    }
}
