//! HMPPS Auth's signing keys, fetched lazily and cached for the life of the
//! container.
//!
//! - The first request fetches the JWKS (never the cold start, so an HMPPS
//!   Auth outage costs refusals, not a crashing init; the HTTP client and its
//!   certificate store are built then too).
//! - A token whose `kid` is not cached triggers one refresh (key rotation),
//!   at most once per `min_refresh_interval`, so a flood of made-up kids
//!   cannot hammer HMPPS Auth; a failed fetch is retried after the shorter
//!   `retry_after_failure`.
//! - Keys older than `max_age` are refreshed on the next use, so a key HMPPS
//!   Auth withdraws stops working; a request whose key is cached is answered
//!   with it meanwhile, and the refresh runs behind it.
//! - Only a usable answer replaces the cached keys: a failed request, a
//!   redirect (never followed: the keys come from the configured URL or from
//!   nowhere), an error status, a body that is not a JWKS, a set with no
//!   RS256 signing key, or one naming the same `kid` for two keys, is logged
//!   and changes nothing.
//! - One fetch at a time, made outside the cache's lock: while it is in
//!   flight, a request whose key is cached is answered from the cache at once;
//!   only requests that need the answer wait for it, and never longer than the
//!   fetch's own timeout.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use serde::Deserialize;

use crate::Refusal;

#[derive(Debug, Clone, Copy)]
pub struct RefreshPolicy {
    pub min_refresh_interval: Duration,
    pub retry_after_failure: Duration,
    pub max_age: Duration,
    /// Bounds one JWKS request end to end, and so any wait for one.
    pub fetch_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            min_refresh_interval: Duration::from_secs(30),
            retry_after_failure: Duration::from_secs(5),
            max_age: Duration::from_secs(3600),
            // Well inside API Gateway's 10 s authorizer timeout.
            fetch_timeout: Duration::from_secs(4),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// Why an answer of the JWKS endpoint was not taken.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("no usable RS256 signing key among {0} entries")]
    NoUsableKey(usize),
    #[error("key id {0:?} names more than one signing key")]
    DuplicateKeyId(String),
}

#[derive(Default)]
struct State {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
    last_attempt_failed: bool,
}

/// The key cache, shared with a background refresh.
pub struct Jwks(Arc<Inner>);

struct Inner {
    /// Built on the first fetch: loading the certificate store is not cold-start work.
    client: OnceLock<reqwest::Client>,
    url: String,
    policy: RefreshPolicy,
    /// Held only to read or swap the keys, never across a fetch.
    state: Mutex<State>,
    /// Held for the whole fetch: one fetch at a time.
    fetching: Arc<tokio::sync::Mutex<()>>,
}

impl Jwks {
    pub fn new(url: String) -> Jwks {
        Jwks::with_policy(url, RefreshPolicy::default())
    }

    fn with_policy(url: String, policy: RefreshPolicy) -> Jwks {
        Jwks(Arc::new(Inner {
            client: OnceLock::new(),
            url,
            policy,
            state: Mutex::new(State::default()),
            fetching: Arc::new(tokio::sync::Mutex::new(())),
        }))
    }

    /// Before first use only: starts afresh with `policy`.
    pub fn set_policy(&mut self, policy: RefreshPolicy) {
        *self = Jwks::with_policy(self.0.url.clone(), policy);
    }

    pub fn policy(&self) -> RefreshPolicy {
        self.0.policy
    }

    /// The verification key for `kid`: `UnknownKeyId` if HMPPS Auth does not
    /// publish it, `JwksUnavailable` if its keys could never be fetched.
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, Refusal> {
        let inner = &self.0;
        let cached = {
            let state = inner.state();
            let fresh = state.fetched_at.is_some_and(|at| at.elapsed() < inner.policy.max_age);
            match state.keys.get(kid) {
                Some(key) if fresh => return Ok(key.clone()),
                cached => cached.cloned(),
            }
        };
        let fetching = match (inner.fetching.clone().try_lock_owned(), cached) {
            // Keys past their age, this one among them: answer with it now and
            // refresh behind the answer, so no genuine request waits for HMPPS Auth.
            (Ok(fetching), Some(key)) => {
                if inner.begin_attempt() {
                    let inner = inner.clone();
                    tokio::spawn(async move {
                        inner.refresh().await;
                        drop(fetching);
                    });
                }
                return Ok(key);
            }
            (Ok(fetching), None) => fetching,
            // Another request is fetching: a cached key is answered now.
            (Err(_), Some(key)) => return Ok(key),
            // Without one, wait for that fetch's answer; it is bounded by its
            // timeout, and so is this wait.
            (Err(_), None) => {
                let _ = tokio::time::timeout(inner.policy.fetch_timeout, inner.fetching.lock()).await;
                return inner.lookup(&inner.state(), kid);
            }
        };
        // Rate-limited, or just answered by the fetch this request waited behind.
        if inner.begin_attempt() {
            inner.refresh().await;
        }
        drop(fetching);
        inner.lookup(&inner.state(), kid)
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state is replaced whole under the lock, so a panic elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a fetch may start now (and if so, it counts as attempted).
    fn begin_attempt(&self) -> bool {
        let mut state = self.state();
        let now = Instant::now();
        if !self.may_fetch(&state, now) {
            return false;
        }
        state.last_attempt = Some(now);
        true
    }

    /// One fetch; only a usable answer replaces the keys.
    async fn refresh(&self) {
        let fetched = self.fetch().await;
        let mut state = self.state();
        match fetched {
            Ok(keys) => {
                tracing::info!(jwks_url = %self.url, keys = keys.len(), "fetched the HMPPS Auth signing keys");
                state.keys = keys;
                state.fetched_at = Some(Instant::now());
                state.last_attempt_failed = false;
            }
            Err(error) => {
                state.last_attempt_failed = true;
                tracing::warn!(
                    jwks_url = %self.url,
                    %error,
                    cached_keys = state.keys.len(),
                    "refused the HMPPS Auth JWKS answer; the cached signing keys stay in use"
                );
            }
        }
    }

    fn lookup(&self, state: &State, kid: &str) -> Result<DecodingKey, Refusal> {
        match state.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if state.fetched_at.is_none() => Err(Refusal::JwksUnavailable),
            None => Err(Refusal::UnknownKeyId),
        }
    }

    fn may_fetch(&self, state: &State, now: Instant) -> bool {
        let wait =
            if state.last_attempt_failed { self.policy.retry_after_failure } else { self.policy.min_refresh_interval };
        state.last_attempt.is_none_or(|at| now.duration_since(at) >= wait)
    }

    fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(self.policy.fetch_timeout)
                .connect_timeout(self.policy.connect_timeout)
                // A redirect could hand the choice of keys to another server.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|error| {
                    // Only a broken TLS backend fails here; reqwest's defaults still time out.
                    tracing::error!(%error, "JWKS client settings refused; using reqwest's defaults");
                    reqwest::Client::new()
                })
        })
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, FetchError> {
        let response = self.client().get(&self.url).header("accept", "application/json").send().await?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let set: RawJwkSet = response.json().await?;
        signing_keys(set.keys)
    }
}

/// Keys as raw JSON, so one key of a kind `jsonwebtoken` cannot read does not
/// reject the whole set.
#[derive(Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

/// The RS256 signing keys of a JWKS answer by `kid`; an error when there are
/// none or when one `kid` names two of them (which one signed a token
/// would be a guess).
fn signing_keys(entries: Vec<serde_json::Value>) -> Result<HashMap<String, DecodingKey>, FetchError> {
    let count = entries.len();
    let mut keys = HashMap::new();
    for (kid, key) in entries.into_iter().filter_map(rs256_key) {
        match keys.entry(kid) {
            Entry::Vacant(slot) => {
                slot.insert(key);
            }
            Entry::Occupied(slot) => return Err(FetchError::DuplicateKeyId(slot.key().clone())),
        }
    }
    if keys.is_empty() {
        return Err(FetchError::NoUsableKey(count));
    }
    Ok(keys)
}

/// A key usable for RS256 signatures, by its `kid`.
fn rs256_key(raw: serde_json::Value) -> Option<(String, DecodingKey)> {
    let jwk: Jwk = serde_json::from_value(raw).ok()?;
    let kid = jwk.common.key_id.clone().filter(|k| !k.is_empty())?;
    if !matches!(jwk.algorithm, AlgorithmParameters::RSA(_))
        || jwk.common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature)
        || jwk.common.key_algorithm.is_some_and(|a| a != KeyAlgorithm::RS256)
    {
        return None;
    }
    Some((kid, DecodingKey::from_jwk(&jwk).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";

    fn rsa(extra: serde_json::Value) -> serde_json::Value {
        let mut key = json!({"kty": "RSA", "n": N, "e": "AQAB"});
        key.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        key
    }

    #[test]
    fn takes_rsa_signing_keys_with_a_kid_only() {
        assert!(rs256_key(rsa(json!({"kid": "a", "use": "sig", "alg": "RS256"}))).is_some_and(|(kid, _)| kid == "a"));
        assert!(rs256_key(rsa(json!({"kid": "b"}))).is_some());
        assert!(rs256_key(rsa(json!({}))).is_none());
        assert!(rs256_key(rsa(json!({"kid": ""}))).is_none());
        assert!(rs256_key(rsa(json!({"kid": "c", "use": "enc"}))).is_none());
        assert!(rs256_key(rsa(json!({"kid": "d", "alg": "RS512"}))).is_none());
        assert!(rs256_key(json!({"kty": "oct", "kid": "e", "k": "c2VjcmV0"})).is_none());
        assert!(rs256_key(json!({"kty": "XYZ", "kid": "f"})).is_none());
    }

    #[test]
    fn a_set_without_a_usable_key_or_with_a_duplicate_kid_is_refused() {
        assert!(matches!(signing_keys(vec![]), Err(FetchError::NoUsableKey(0))));
        let unusable = vec![rsa(json!({"kid": "c", "use": "enc"})), json!({"kty": "oct", "kid": "e", "k": "c2VjcmV0"})];
        assert!(matches!(signing_keys(unusable), Err(FetchError::NoUsableKey(2))));
        let twice = vec![rsa(json!({"kid": "a"})), rsa(json!({"kid": "b"})), rsa(json!({"kid": "a"}))];
        assert!(matches!(signing_keys(twice), Err(FetchError::DuplicateKeyId(kid)) if kid == "a"));
        // An encryption key may share a signing key's kid: only signing keys compete.
        let shared = vec![rsa(json!({"kid": "a", "use": "sig"})), rsa(json!({"kid": "a", "use": "enc"}))];
        assert_eq!(signing_keys(shared).unwrap().len(), 1);
    }
}
