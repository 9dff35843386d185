//! HMPPS Auth's signing keys, fetched lazily and cached for the life of the
//! container.
//!
//! - The first request fetches the JWKS (never the cold start, so an HMPPS
//!   Auth outage costs refusals, not a crashing init).
//! - A token whose `kid` is not cached triggers one refresh (key rotation),
//!   at most once per `min_refresh_interval`, so a flood of made-up kids
//!   cannot hammer HMPPS Auth; a failed fetch is retried after the shorter
//!   `retry_after_failure`.
//! - Keys older than `max_age` are refreshed on the next use, so a key HMPPS
//!   Auth withdraws stops working; if that refresh fails the cached keys
//!   stay in use.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::Refusal;

#[derive(Debug, Clone, Copy)]
pub struct RefreshPolicy {
    pub min_refresh_interval: Duration,
    pub retry_after_failure: Duration,
    pub max_age: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            min_refresh_interval: Duration::from_secs(30),
            retry_after_failure: Duration::from_secs(5),
            max_age: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("HTTP status {0}")]
    Status(u16),
}

#[derive(Default)]
struct State {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
    last_attempt_failed: bool,
}

pub struct Jwks {
    client: reqwest::Client,
    url: String,
    policy: RefreshPolicy,
    // Held across the fetch, so concurrent requests share one refresh.
    state: Mutex<State>,
}

impl Jwks {
    pub fn new(client: reqwest::Client, url: String) -> Jwks {
        Jwks { client, url, policy: RefreshPolicy::default(), state: Mutex::new(State::default()) }
    }

    pub fn set_policy(&mut self, policy: RefreshPolicy) {
        self.policy = policy;
    }

    /// The verification key for `kid`: `UnknownKeyId` if HMPPS Auth does not
    /// publish it, `JwksUnavailable` if its keys could never be fetched.
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, Refusal> {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let fresh = state.fetched_at.is_some_and(|at| now.duration_since(at) < self.policy.max_age);
        if !(fresh && state.keys.contains_key(kid)) && self.may_fetch(&state, now) {
            state.last_attempt = Some(now);
            match self.fetch().await {
                Ok(keys) => {
                    state.keys = keys;
                    state.fetched_at = Some(now);
                    state.last_attempt_failed = false;
                }
                Err(error) => {
                    state.last_attempt_failed = true;
                    tracing::warn!(jwks_url = %self.url, %error, "could not fetch the HMPPS Auth signing keys");
                }
            }
        }
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

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, FetchError> {
        let response = self.client.get(&self.url).header("accept", "application/json").send().await?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let set: RawJwkSet = response.json().await?;
        let keys: HashMap<String, DecodingKey> = set.keys.into_iter().filter_map(rs256_key).collect();
        tracing::info!(jwks_url = %self.url, keys = keys.len(), "fetched the HMPPS Auth signing keys");
        Ok(keys)
    }
}

/// Keys as raw JSON, so one key of a kind `jsonwebtoken` cannot read does not
/// reject the whole set.
#[derive(Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
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

    #[test]
    fn takes_rsa_signing_keys_with_a_kid_only() {
        let rsa = |extra: serde_json::Value| {
            let mut key = json!({"kty": "RSA", "n": N, "e": "AQAB"});
            key.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            key
        };
        assert!(rs256_key(rsa(json!({"kid": "a", "use": "sig", "alg": "RS256"}))).is_some_and(|(kid, _)| kid == "a"));
        assert!(rs256_key(rsa(json!({"kid": "b"}))).is_some());
        assert!(rs256_key(rsa(json!({}))).is_none());
        assert!(rs256_key(rsa(json!({"kid": ""}))).is_none());
        assert!(rs256_key(rsa(json!({"kid": "c", "use": "enc"}))).is_none());
        assert!(rs256_key(rsa(json!({"kid": "d", "alg": "RS512"}))).is_none());
        assert!(rs256_key(json!({"kty": "oct", "kid": "e", "k": "c2VjcmV0"})).is_none());
        assert!(rs256_key(json!({"kty": "XYZ", "kid": "f"})).is_none());
    }
}
