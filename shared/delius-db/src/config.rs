//! Configuration from the environment: the variables the README's
//! "Configuration" table lists, shared by every function.

use std::time::Duration;

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
}

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl DatabaseConfig {
    /// Reads `DATABASE_URL` or `DB_SECRET_ARN`, `DB_POOL_SIZE`, `DB_CONNECT_TIMEOUT_MS`
    /// and `DELIUS_USERNAME`, falling back to `default_pool_size` and
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
        let connect_timeout = match non_empty("DB_CONNECT_TIMEOUT_MS") {
            None => DEFAULT_CONNECT_TIMEOUT,
            Some(v) => {
                v.trim().parse::<u64>().ok().filter(|ms| *ms > 0).map(Duration::from_millis).ok_or_else(|| {
                    ConfigError::Invalid {
                        var: "DB_CONNECT_TIMEOUT_MS",
                        reason: format!("expected milliseconds, got {v:?}"),
                    }
                })?
            }
        };
        let delius_username = non_empty("DELIUS_USERNAME").unwrap_or_else(|| default_username.to_string());
        Ok(DatabaseConfig { credentials, pool_size, connect_timeout, delius_username })
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
