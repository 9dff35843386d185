//! Configuration from the environment: the variables the README's
//! "Configuration" table lists, shared by every function.

use std::time::Duration;

use crate::tls::{CaBundle, SslMode, TlsConfig};

/// A configuration value that is missing or malformed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// Where the database credentials come from.
#[derive(Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// A PostgreSQL URL (local runs and tests).
    Url(String),
    /// A Secrets Manager secret in the RDS format, fetched once per container.
    SecretsManager { secret_arn: String },
}

// The URL holds a password: never print it.
impl std::fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Url(_) => f.write_str("Url(<redacted>)"),
            CredentialSource::SecretsManager { secret_arn } => {
                f.debug_struct("SecretsManager").field("secret_arn", secret_arn).finish()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    pub credentials: CredentialSource,
    pub pool_size: usize,
    /// Bounds opening one connection, secret fetch included; well under any
    /// function timeout so an unreachable database fails fast.
    pub connect_timeout: Duration,
    /// `user_.distinguished_name` of the service's own Delius user.
    pub delius_username: String,
    /// `sslmode` and extra trusted certificates.
    pub tls: TlsConfig,
    /// Bounds on every other wait for the database.
    pub timeouts: Timeouts,
    /// `DB_HOST`: connect here instead of the secret's `host` (an RDS Proxy
    /// endpoint in front of the instance the secret describes).
    pub host_override: Option<String>,
    /// `DB_PREPARED_STATEMENTS`: prepare each statement once per connection
    /// instead of sending it unnamed every time (see [`crate::statement`]).
    /// Only straight to PostgreSQL, or through a pooler that tracks prepared
    /// statements; off by default.
    pub prepared_statements: bool,
}

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Bounds on waiting for the database, client and server side. The defaults
/// fit the HTTP functions (10 s Lambda timeout): connect 5 s, then the work
/// 8 s, leaving time to answer 503. `template.yaml` sets each function's
/// values from its own timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for a free pooled connection (`DB_CHECKOUT_TIMEOUT_MS`).
    pub checkout: Duration,
    /// `SET LOCAL lock_timeout` of every transaction (`DB_LOCK_TIMEOUT_MS`).
    pub lock: Duration,
    /// `SET LOCAL statement_timeout` of every transaction (`DB_STATEMENT_TIMEOUT_MS`).
    pub statement: Duration,
    /// Client-side deadline of one request's or record's database work
    /// (`DB_WORK_TIMEOUT_MS`): the server-side timeouts cannot help when the
    /// server (or the path to it) is gone.
    pub work: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            checkout: Duration::from_secs(5),
            lock: Duration::from_secs(2),
            statement: Duration::from_secs(5),
            work: Duration::from_secs(8),
        }
    }
}

impl DatabaseConfig {
    /// Reads `DATABASE_URL` or `DB_SECRET_ARN`, `DB_POOL_SIZE`, `DB_CONNECT_TIMEOUT_MS`,
    /// `DELIUS_USERNAME` and the other `DB_` variables, falling back to `default_pool_size` and
    /// `default_username` where unset.
    pub fn from_env(default_pool_size: usize, default_username: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok(), default_pool_size, default_username)
    }

    /// As [`DatabaseConfig::from_env`], with the variables looked up by `var`.
    pub fn from_lookup(
        var: impl Fn(&str) -> Option<String>,
        default_pool_size: usize,
        default_username: &str,
    ) -> Result<Self, ConfigError> {
        let non_empty = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let credentials = match (non_empty("DATABASE_URL"), non_empty("DB_SECRET_ARN")) {
            (Some(url), _) => CredentialSource::Url(url),
            (None, Some(secret_arn)) => CredentialSource::SecretsManager { secret_arn },
            (None, None) => return Err(ConfigError::Missing("DATABASE_URL or DB_SECRET_ARN")),
        };
        let pool_size = match non_empty("DB_POOL_SIZE") {
            None => default_pool_size,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => {
                    return Err(ConfigError::Invalid {
                        var: "DB_POOL_SIZE",
                        reason: format!("expected a number from 1 to 100, got {v:?}"),
                    });
                }
            },
        };
        let millis = |name: &'static str, default: Duration| match non_empty(name) {
            None => Ok(default),
            Some(v) => {
                v.trim().parse::<u64>().ok().filter(|ms| *ms > 0).map(Duration::from_millis).ok_or_else(|| {
                    ConfigError::Invalid { var: name, reason: format!("expected milliseconds, got {v:?}") }
                })
            }
        };
        let connect_timeout = millis("DB_CONNECT_TIMEOUT_MS", DEFAULT_CONNECT_TIMEOUT)?;
        let defaults = Timeouts::default();
        let timeouts = Timeouts {
            checkout: millis("DB_CHECKOUT_TIMEOUT_MS", defaults.checkout)?,
            lock: millis("DB_LOCK_TIMEOUT_MS", defaults.lock)?,
            statement: millis("DB_STATEMENT_TIMEOUT_MS", defaults.statement)?,
            work: millis("DB_WORK_TIMEOUT_MS", defaults.work)?,
        };
        let delius_username = non_empty("DELIUS_USERNAME").unwrap_or_else(|| default_username.to_string());
        let tls = tls_config(&credentials, non_empty("DB_SSLMODE"), non_empty("DB_CA_BUNDLE"))?;
        let host_override = non_empty("DB_HOST").map(|h| h.trim().to_string());
        let prepared_statements = match non_empty("DB_PREPARED_STATEMENTS").as_deref().map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "DB_PREPARED_STATEMENTS",
                    reason: format!("expected true or false, got {other:?}"),
                });
            }
        };
        Ok(DatabaseConfig {
            credentials,
            pool_size,
            connect_timeout,
            delius_username,
            tls,
            timeouts,
            host_override,
            prepared_statements,
        })
    }
}

/// The URL's `sslmode`/`sslrootcert` win over `DB_SSLMODE`/`DB_CA_BUNDLE`.
fn tls_config(
    credentials: &CredentialSource,
    sslmode: Option<String>,
    ca_bundle: Option<String>,
) -> Result<TlsConfig, ConfigError> {
    let (url_mode, url_root) = match credentials {
        CredentialSource::Url(url) => {
            let (_, mode, root) = crate::tls::split_url(url);
            (mode, root)
        }
        CredentialSource::SecretsManager { .. } => (None, None),
    };
    let mode = match (url_mode, sslmode) {
        (Some(m), _) => SslMode::parse("DATABASE_URL sslmode", &m)?,
        (None, Some(m)) => SslMode::parse("DB_SSLMODE", &m)?,
        (None, None) => SslMode::default(),
    };
    let ca_bundle = url_root.or(ca_bundle).map(|v| CaBundle::from_value(&v));
    Ok(TlsConfig { mode, ca_bundle })
}

impl DatabaseConfig {
    /// A configuration for `url` with every other value at its default.
    pub fn for_url(url: &str, pool_size: usize, delius_username: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| (name == "DATABASE_URL").then(|| url.to_string()), pool_size, delius_username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn url_wins_over_secret_and_defaults_apply() {
        let c = DatabaseConfig::from_lookup(
            lookup(&[("DATABASE_URL", "postgres://u:p@h/db"), ("DB_SECRET_ARN", "arn:x")]),
            2,
            "HMPPSAllocations",
        )
        .unwrap();
        assert_eq!(c.credentials, CredentialSource::Url("postgres://u:p@h/db".into()));
        assert_eq!(c.pool_size, 2);
        assert_eq!(c.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(c.delius_username, "HMPPSAllocations");
        assert_eq!(c.tls, TlsConfig::default());
        assert_eq!(c.timeouts, Timeouts::default());
        assert!(!c.prepared_statements, "statements are unnamed unless asked for");
    }

    #[test]
    fn prepared_statements_are_true_or_false() {
        let read = |value: &str| {
            DatabaseConfig::from_lookup(
                lookup(&[("DATABASE_URL", "postgres://h/db"), ("DB_PREPARED_STATEMENTS", value)]),
                1,
                "x",
            )
        };
        assert!(read("true").unwrap().prepared_statements);
        assert!(!read("false").unwrap().prepared_statements);
        assert!(!read("").unwrap().prepared_statements, "empty is unset");
        for bad in ["TRUE", "yes", "1", "on"] {
            let err = read(bad).unwrap_err();
            assert_eq!(
                err,
                ConfigError::Invalid {
                    var: "DB_PREPARED_STATEMENTS",
                    reason: format!("expected true or false, got {bad:?}")
                }
            );
            assert!(err.to_string().starts_with("DB_PREPARED_STATEMENTS is invalid"), "{err}");
        }
    }

    #[test]
    fn tls_and_timeouts_are_read() {
        let c = DatabaseConfig::from_lookup(
            lookup(&[
                ("DB_SECRET_ARN", "arn:x"),
                ("DB_SSLMODE", "verify-full"),
                ("DB_CA_BUNDLE", "/opt/rds-ca.pem"),
                ("DB_LOCK_TIMEOUT_MS", "1500"),
                ("DB_STATEMENT_TIMEOUT_MS", "4000"),
                ("DB_WORK_TIMEOUT_MS", "9000"),
                ("DB_CHECKOUT_TIMEOUT_MS", "700"),
                ("DB_HOST", "proxy.example"),
            ]),
            1,
            "x",
        )
        .unwrap();
        assert_eq!(c.tls.mode, SslMode::VerifyFull);
        assert_eq!(c.host_override.as_deref(), Some("proxy.example"));
        assert_eq!(c.tls.ca_bundle, Some(CaBundle::Path("/opt/rds-ca.pem".into())));
        assert_eq!(
            c.timeouts,
            Timeouts {
                checkout: Duration::from_millis(700),
                lock: Duration::from_millis(1500),
                statement: Duration::from_millis(4000),
                work: Duration::from_millis(9000),
            }
        );
        // The URL's own sslmode wins.
        let c = DatabaseConfig::from_lookup(
            lookup(&[("DATABASE_URL", "postgres://h/db?sslmode=verify-ca"), ("DB_SSLMODE", "disable")]),
            1,
            "x",
        )
        .unwrap();
        assert_eq!(c.tls.mode, SslMode::VerifyCa);
        let err = DatabaseConfig::from_lookup(lookup(&[("DATABASE_URL", "postgres://h/db?sslmode=allow")]), 1, "x")
            .unwrap_err();
        assert!(err.to_string().contains("sslmode"), "{err}");
    }

    #[test]
    fn secret_arn_pool_size_timeout_and_username() {
        let c = DatabaseConfig::from_lookup(
            lookup(&[
                ("DB_SECRET_ARN", "arn:aws:secretsmanager:eu-west-2:1:secret:db"),
                ("DB_POOL_SIZE", "3"),
                ("DB_CONNECT_TIMEOUT_MS", "750"),
                ("DELIUS_USERNAME", "Someone"),
            ]),
            1,
            "x",
        )
        .unwrap();
        assert_eq!(
            c.credentials,
            CredentialSource::SecretsManager { secret_arn: "arn:aws:secretsmanager:eu-west-2:1:secret:db".into() }
        );
        assert_eq!(c.pool_size, 3);
        assert_eq!(c.connect_timeout, Duration::from_millis(750));
        assert_eq!(c.delius_username, "Someone");
    }

    #[test]
    fn missing_and_invalid_values_are_named() {
        assert_eq!(
            DatabaseConfig::from_lookup(lookup(&[]), 1, "x").unwrap_err(),
            ConfigError::Missing("DATABASE_URL or DB_SECRET_ARN")
        );
        let err =
            DatabaseConfig::from_lookup(lookup(&[("DATABASE_URL", "postgres://h/db"), ("DB_POOL_SIZE", "0")]), 1, "x")
                .unwrap_err();
        assert!(err.to_string().starts_with("DB_POOL_SIZE is invalid"), "{err}");
    }

    #[test]
    fn debug_output_hides_the_url() {
        let c = CredentialSource::Url("postgres://u:secret-password@h/db".into());
        assert!(!format!("{c:?}").contains("secret-password"));
    }
}
