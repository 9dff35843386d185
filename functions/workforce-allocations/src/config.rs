//! The function's configuration, read once in `main`.

use std::time::Duration;

use delius_db::ConfigError;

/// Where the Workload client credentials come from.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// `WORKLOAD_CLIENT_ID` and `WORKLOAD_CLIENT_SECRET`.
    Direct { client_id: String, client_secret: String },
    /// `WORKLOAD_CLIENT_SECRET_ARN`: a secret `{clientId, clientSecret}`, read
    /// once, on the first token request.
    SecretsManager { secret_arn: String },
}

// Never print the secret.
impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientCredentials::Direct { client_id, .. } => {
                f.debug_struct("Direct").field("client_id", client_id).field("client_secret", &"<redacted>").finish()
            }
            ClientCredentials::SecretsManager { secret_arn } => {
                f.debug_struct("SecretsManager").field("secret_arn", secret_arn).finish()
            }
        }
    }
}

/// In-process retries of transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    /// Attempt `n` failing waits `backoff * n²` before the next one.
    pub backoff: Duration,
}

impl RetryPolicy {
    pub const DEFAULT: RetryPolicy = RetryPolicy { attempts: 3, backoff: Duration::from_millis(100) };

    pub fn delay_after(&self, attempt: u32) -> Duration {
        self.backoff * attempt.saturating_mul(attempt)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `HMPPS_AUTH_TOKEN_URL`: the OAuth2 client-credentials token endpoint.
    pub token_url: String,
    pub credentials: ClientCredentials,
    /// `ALLOWED_DETAIL_URLS`, as origins (`scheme://host[:port]`).
    pub allowed_detail_origins: Vec<String>,
    /// `PRODUCE_SPOD03_CONTACT`: the allocation-decision contact is SPOD03
    /// (true, the default) or CADE.
    pub produce_spod03_contact: bool,
    /// Bounds the Workload detail request, end to end (`WORKLOAD_TIMEOUT_MS`).
    pub http_timeout: Duration,
    /// Bounds connecting to Workload (`WORKLOAD_CONNECT_TIMEOUT_MS`).
    pub connect_timeout: Duration,
    /// Bounds the HMPPS Auth token request, end to end (`HMPPS_AUTH_TOKEN_TIMEOUT_MS`).
    pub token_timeout: Duration,
    /// Bounds connecting to HMPPS Auth (`HMPPS_AUTH_TOKEN_CONNECT_TIMEOUT_MS`).
    pub token_connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Messages of a batch processed at the same time; at most the pool size.
    pub concurrency: usize,
}

pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_TOKEN_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// No timeout may be zero (nothing could succeed) or beyond the function's own 180 s timeout.
const MAX_TIMEOUT_MS: u64 = 180_000;

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let non_empty = |name: &str| var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let token_url = non_empty("HMPPS_AUTH_TOKEN_URL").ok_or(ConfigError::Missing("HMPPS_AUTH_TOKEN_URL"))?;
        url::Url::parse(&token_url)
            .map_err(|e| ConfigError::Invalid { var: "HMPPS_AUTH_TOKEN_URL", reason: format!("not a URL: {e}") })?;
        let credentials = match (
            non_empty("WORKLOAD_CLIENT_ID"),
            non_empty("WORKLOAD_CLIENT_SECRET"),
            non_empty("WORKLOAD_CLIENT_SECRET_ARN"),
        ) {
            (Some(client_id), Some(client_secret), _) => ClientCredentials::Direct { client_id, client_secret },
            (_, _, Some(secret_arn)) => ClientCredentials::SecretsManager { secret_arn },
            (Some(_), None, None) => return Err(ConfigError::Missing("WORKLOAD_CLIENT_SECRET")),
            _ => {
                return Err(ConfigError::Missing(
                    "WORKLOAD_CLIENT_ID and WORKLOAD_CLIENT_SECRET, or WORKLOAD_CLIENT_SECRET_ARN",
                ));
            }
        };
        let allowed = non_empty("ALLOWED_DETAIL_URLS").ok_or(ConfigError::Missing("ALLOWED_DETAIL_URLS"))?;
        let allowed_detail_origins = allowed
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                origin_of(entry).ok_or_else(|| ConfigError::Invalid {
                    var: "ALLOWED_DETAIL_URLS",
                    reason: format!("{entry:?} is not an http(s) origin"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let produce_spod03_contact = match non_empty("PRODUCE_SPOD03_CONTACT") {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    var: "PRODUCE_SPOD03_CONTACT",
                    reason: format!("expected true or false, got {v:?}"),
                });
            }
        };
        let millis = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            match non_empty(name) {
                None => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => Ok(Duration::from_millis(ms)),
                    _ => Err(ConfigError::Invalid {
                        var: name,
                        reason: format!("expected milliseconds from 1 to {MAX_TIMEOUT_MS}, got {v:?}"),
                    }),
                },
            }
        };
        Ok(Settings {
            token_url,
            credentials,
            allowed_detail_origins,
            produce_spod03_contact,
            http_timeout: millis("WORKLOAD_TIMEOUT_MS", DEFAULT_HTTP_TIMEOUT)?,
            connect_timeout: millis("WORKLOAD_CONNECT_TIMEOUT_MS", DEFAULT_CONNECT_TIMEOUT)?,
            token_timeout: millis("HMPPS_AUTH_TOKEN_TIMEOUT_MS", DEFAULT_TOKEN_TIMEOUT)?,
            token_connect_timeout: millis("HMPPS_AUTH_TOKEN_CONNECT_TIMEOUT_MS", DEFAULT_TOKEN_CONNECT_TIMEOUT)?,
            retry: RetryPolicy::DEFAULT,
            concurrency: 2,
        })
    }
}

/// `scheme://host[:port]` of an http(s) URL, lower-cased, default port left
/// out; `None` for anything else.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    parsed.host_str()?;
    Some(parsed.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    const BASE: [(&str, &str); 4] = [
        ("HMPPS_AUTH_TOKEN_URL", "http://127.0.0.1:8091/auth/oauth/token"),
        ("WORKLOAD_CLIENT_ID", "workforce-allocations"),
        ("WORKLOAD_CLIENT_SECRET", "s3cret"),
        ("ALLOWED_DETAIL_URLS", " http://127.0.0.1:8091 , HTTPS://Workload.Example.org:443/ "),
    ];

    #[test]
    fn reads_everything_with_defaults() {
        let s = Settings::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(s.token_url, "http://127.0.0.1:8091/auth/oauth/token");
        assert_eq!(
            s.credentials,
            ClientCredentials::Direct { client_id: "workforce-allocations".into(), client_secret: "s3cret".into() }
        );
        assert_eq!(s.allowed_detail_origins, vec!["http://127.0.0.1:8091", "https://workload.example.org"]);
        assert!(s.produce_spod03_contact);
        assert_eq!(s.retry, RetryPolicy::DEFAULT);
        assert_eq!(s.concurrency, 2);
        assert!(!format!("{:?}", s.credentials).contains("s3cret"));
        assert_eq!((s.http_timeout, s.connect_timeout), (DEFAULT_HTTP_TIMEOUT, DEFAULT_CONNECT_TIMEOUT));
        assert_eq!((s.token_timeout, s.token_connect_timeout), (DEFAULT_TOKEN_TIMEOUT, DEFAULT_TOKEN_CONNECT_TIMEOUT));
    }

    #[test]
    fn each_call_has_its_own_timeouts() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("WORKLOAD_TIMEOUT_MS", "8000"),
            ("WORKLOAD_CONNECT_TIMEOUT_MS", "1500"),
            ("HMPPS_AUTH_TOKEN_TIMEOUT_MS", "2500"),
            ("HMPPS_AUTH_TOKEN_CONNECT_TIMEOUT_MS", "1000"),
        ]);
        let s = Settings::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(s.http_timeout, Duration::from_millis(8000));
        assert_eq!(s.connect_timeout, Duration::from_millis(1500));
        assert_eq!(s.token_timeout, Duration::from_millis(2500));
        assert_eq!(s.token_connect_timeout, Duration::from_millis(1000));
        for bad in ["0", "-1", "soon", "180001"] {
            let mut pairs = BASE.to_vec();
            pairs.push(("HMPPS_AUTH_TOKEN_TIMEOUT_MS", bad));
            assert!(
                matches!(
                    Settings::from_lookup(lookup(&pairs)).unwrap_err(),
                    ConfigError::Invalid { var: "HMPPS_AUTH_TOKEN_TIMEOUT_MS", .. }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn secret_arn_and_flag_off() {
        let mut pairs = vec![BASE[0], BASE[3]];
        pairs.push(("WORKLOAD_CLIENT_SECRET_ARN", "arn:aws:secretsmanager:eu-west-2:1:secret:workload"));
        pairs.push(("PRODUCE_SPOD03_CONTACT", "FALSE"));
        let s = Settings::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(
            s.credentials,
            ClientCredentials::SecretsManager {
                secret_arn: "arn:aws:secretsmanager:eu-west-2:1:secret:workload".into()
            }
        );
        assert!(!s.produce_spod03_contact);
    }

    #[test]
    fn missing_or_invalid_values_are_named() {
        let err = Settings::from_lookup(lookup(&BASE[..3])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("ALLOWED_DETAIL_URLS"));
        let err = Settings::from_lookup(lookup(&[BASE[0], BASE[1], BASE[3]])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("WORKLOAD_CLIENT_SECRET"));
        let err = Settings::from_lookup(lookup(&[BASE[0], BASE[3]])).unwrap_err();
        assert!(matches!(err, ConfigError::Missing(v) if v.contains("WORKLOAD_CLIENT_SECRET_ARN")));
        let mut pairs = BASE.to_vec();
        pairs[3] = ("ALLOWED_DETAIL_URLS", "ftp://files.example.org");
        assert!(matches!(
            Settings::from_lookup(lookup(&pairs)).unwrap_err(),
            ConfigError::Invalid { var: "ALLOWED_DETAIL_URLS", .. }
        ));
        let mut pairs = BASE.to_vec();
        pairs.push(("PRODUCE_SPOD03_CONTACT", "yes"));
        assert!(matches!(
            Settings::from_lookup(lookup(&pairs)).unwrap_err(),
            ConfigError::Invalid { var: "PRODUCE_SPOD03_CONTACT", .. }
        ));
        assert_eq!(
            Settings::from_lookup(lookup(&BASE[1..])).unwrap_err(),
            ConfigError::Missing("HMPPS_AUTH_TOKEN_URL")
        );
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(origin_of("http://127.0.0.1:8091/allocation/person/x").as_deref(), Some("http://127.0.0.1:8091"));
        assert_eq!(origin_of("https://a.example.org:443/x").as_deref(), Some("https://a.example.org"));
        assert_eq!(origin_of("https://user:pw@a.example.org/x").as_deref(), Some("https://a.example.org"));
        assert_eq!(origin_of("http://127.0.0.1:8092/x").as_deref(), Some("http://127.0.0.1:8092"));
        assert_eq!(origin_of("file:///etc/passwd"), None);
        assert_eq!(origin_of("not a url"), None);
    }

    #[test]
    fn backoff_grows_with_the_square_of_the_attempt() {
        assert_eq!(RetryPolicy::DEFAULT.delay_after(1), Duration::from_millis(100));
        assert_eq!(RetryPolicy::DEFAULT.delay_after(2), Duration::from_millis(400));
    }
}
