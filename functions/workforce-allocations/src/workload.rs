//! The Workload detail fetch, with an HMPPS Auth client-credentials token.
//!
//! Built once per container in `main`, touching nothing: each HTTP client
//! (and with it the platform's certificate store) is built on its first use
//! and reused, so the cold start does no TLS work. The token call and the
//! detail call each have their own connect and total timeouts. The token is
//! cached until shortly before it expires and reused across invocations.
//! Tokens and secrets are never logged.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::{Mutex, OnceCell};

use crate::config::{ClientCredentials, Settings, origin_of};
use crate::error::AllocationError;

pub struct WorkloadClient {
    http: LazyClient,
    allowed_origins: Vec<String>,
    tokens: TokenSource,
}

/// A reqwest client built on first use with fixed timeouts; redirects are
/// never followed (a detail URL is allow-listed, its redirect target is not;
/// a token endpoint that redirects is misconfigured).
struct LazyClient {
    client: OnceLock<reqwest::Client>,
    timeout: Duration,
    connect_timeout: Duration,
}

impl LazyClient {
    fn new(timeout: Duration, connect_timeout: Duration) -> LazyClient {
        LazyClient { client: OnceLock::new(), timeout, connect_timeout }
    }

    fn get(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_else(|error| {
                    // Only a TLS backend that cannot start fails here; say so, and keep the bounds.
                    tracing::error!(%error, "HTTP client settings refused; building a plain one with the same timeouts");
                    reqwest::Client::builder()
                        .timeout(self.timeout)
                        .redirect(reqwest::redirect::Policy::none())
                        .build()
                        .unwrap_or_default()
                })
        })
    }
}

impl WorkloadClient {
    /// No request is made, no secret read and no HTTP client built here:
    /// all on first use. (Never fails; the `Result` keeps callers unchanged.)
    pub fn new(settings: &Settings) -> Result<WorkloadClient, reqwest::Error> {
        Ok(WorkloadClient {
            http: LazyClient::new(settings.http_timeout, settings.connect_timeout),
            allowed_origins: settings.allowed_detail_origins.clone(),
            tokens: TokenSource {
                http: LazyClient::new(settings.token_timeout, settings.token_connect_timeout),
                token_url: settings.token_url.clone(),
                credentials: settings.credentials.clone(),
                resolved: OnceCell::new(),
                current: Mutex::new(None),
            },
        })
    }

    /// Fails, with no request made, unless the URL's origin is allowed.
    pub fn check_allowed(&self, detail_url: &str) -> Result<(), AllocationError> {
        match origin_of(detail_url) {
            Some(origin) if self.allowed_origins.contains(&origin) => Ok(()),
            Some(origin) => Err(AllocationError::DetailUrlNotAllowed(origin)),
            None => Err(AllocationError::DetailUrlNotAllowed(detail_url.to_string())),
        }
    }

    /// GETs the allocation detail. Any HTTP error status (404 included), a
    /// timeout or a connection failure is [`AllocationError::Workload`].
    pub async fn fetch_detail(&self, detail_url: &str) -> Result<Vec<u8>, AllocationError> {
        self.check_allowed(detail_url)?;
        let token = self.tokens.token().await?;
        let response = self
            .http
            .get()
            .get(detail_url)
            .bearer_auth(&token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| AllocationError::Workload(describe(&e)))?;
        let status = response.status();
        if !status.is_success() {
            if status == reqwest::StatusCode::UNAUTHORIZED {
                // A revoked or rotated token: fetch a fresh one next time.
                self.tokens.forget(&token).await;
            }
            return Err(AllocationError::Workload(format!("{status} from the allocation detail")));
        }
        let body = response.bytes().await.map_err(|e| AllocationError::Workload(describe(&e)))?;
        Ok(body.to_vec())
    }
}

// reqwest's messages may carry the URL, never a header: the token stays out.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    match e.url() {
        Some(url) => format!("{kind}: {}", url.as_str()),
        None => kind.to_string(),
    }
}

struct TokenSource {
    http: LazyClient,
    token_url: String,
    credentials: ClientCredentials,
    /// Client id and secret, read from Secrets Manager at most once.
    resolved: OnceCell<(String, String)>,
    current: Mutex<Option<CachedToken>>,
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientSecret {
    client_id: String,
    client_secret: String,
}

/// Without `expires_in`, assume the usual HMPPS Auth lifetime is not known
/// and keep the token for a short while only.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

impl TokenSource {
    /// A valid token: the cached one, or a new one (one request at a time).
    async fn token(&self) -> Result<String, AllocationError> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(token.value.clone());
        }
        let (client_id, client_secret) = self.credentials().await?;
        let fetched_at = Instant::now();
        let response = self
            .http
            .get()
            .post(&self.token_url)
            .basic_auth(client_id, Some(client_secret))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body("grant_type=client_credentials")
            .send()
            .await
            .map_err(|e| AllocationError::Token(describe(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(AllocationError::Token(format!("{status} from the token endpoint")));
        }
        let body: TokenResponse = response
            .json()
            .await
            .map_err(|_| AllocationError::Token("the token response is not the expected JSON".into()))?;
        let lifetime = body.expires_in.map(Duration::from_secs).unwrap_or(DEFAULT_LIFETIME);
        // Renew a little before expiry: a fifth of the lifetime, at most a minute.
        let margin = (lifetime / 5).min(Duration::from_secs(60));
        *current = Some(CachedToken { value: body.access_token.clone(), refresh_at: fetched_at + lifetime - margin });
        tracing::debug!(expires_in = lifetime.as_secs(), "client-credentials token fetched");
        Ok(body.access_token)
    }

    /// Drops the cached token if it is still `token`.
    async fn forget(&self, token: &str) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|t| t.value == token) {
            *current = None;
        }
    }

    async fn credentials(&self) -> Result<(&str, &str), AllocationError> {
        match &self.credentials {
            ClientCredentials::Direct { client_id, client_secret } => Ok((client_id, client_secret)),
            ClientCredentials::SecretsManager { secret_arn } => {
                let (id, secret) = self
                    .resolved
                    .get_or_try_init(|| async {
                        let secret: ClientSecret = delius_db::secrets::secret_json(secret_arn)
                            .await
                            .map_err(|e| AllocationError::Token(e.to_string()))?;
                        Ok::<_, AllocationError>((secret.client_id, secret.client_secret))
                    })
                    .await?;
                Ok((id, secret))
            }
        }
    }
}
