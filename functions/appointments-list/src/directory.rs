//! Staff e-mail and telephone from the Delius LDAP directory.
//!
//! Entries live one level under `LDAP_BASE` (default `ou=Users,dc=moj,dc=com`)
//! as `inetOrgPerson`s whose `cn` is the staff member's
//! `user_.distinguished_name`; `mail` and `telephoneNumber` are read. One
//! connection and bind per request, one search per distinct staff member, all
//! under short timeouts. The directory is optional: any failure leaves the
//! fields out and never fails the request.
//!
//! `ldaps://`, or `ldap://` with StartTLS (`LDAP_STARTTLS=true`), verify the
//! server's certificate and host name against Mozilla's roots plus the
//! optional `LDAP_CA_BUNDLE`; a failed verification is a failed lookup (the
//! fields are left out), never a fallback to clear text. Plain `ldap://` (and
//! `ldapi://`) stay available for a directory reached inside the VPC.

use std::collections::HashMap;
use std::time::Duration;

use std::sync::{Arc, OnceLock};

use delius_db::ConfigError;
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use tokio::sync::OnceCell;

use crate::tls::CaBundle;

/// Where the Delius users are.
pub const DEFAULT_BASE: &str = "ou=Users,dc=moj,dc=com";
/// Connecting, and each operation, must answer within this.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_millis(1500);
/// The whole lookup of one request, secret fetch included.
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_millis(2500);

/// A staff member's contact details from their directory entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactDetails {
    pub email: Option<String>,
    pub telephone: Option<String>,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// Anonymous, or a bind DN with an empty password.
    None,
    Value(String),
    /// A Secrets Manager secret: the password itself, or JSON with a `password` field.
    Secret {
        arn: String,
    },
}

// The password must never reach a log line.
impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Password::None => f.write_str("None"),
            Password::Value(_) => f.write_str("Value(<redacted>)"),
            Password::Secret { arn } => f.debug_struct("Secret").field("arn", arn).finish(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryConfig {
    pub url: String,
    pub bind_dn: Option<String>,
    pub password: Password,
    pub base: String,
    /// `LDAP_STARTTLS=true`: upgrade an `ldap://` connection before binding.
    pub starttls: bool,
    /// `LDAP_CA_BUNDLE`: CA certificates trusted beside Mozilla's roots.
    pub ca_bundle: Option<CaBundle>,
    pub operation_timeout: Duration,
    pub total_timeout: Duration,
}

impl DirectoryConfig {
    /// Whether the connection is encrypted (`ldaps://` or StartTLS).
    pub fn uses_tls(&self) -> bool {
        self.starttls || self.url.get(..8).is_some_and(|scheme| scheme.eq_ignore_ascii_case("ldaps://"))
    }
}

impl DirectoryConfig {
    /// `LDAP_URL` (none: no directory), `LDAP_BIND_DN`, `LDAP_BIND_PASSWORD`
    /// or `LDAP_SECRET_ARN`, `LDAP_BASE`, `LDAP_STARTTLS`, `LDAP_CA_BUNDLE`.
    pub fn from_env() -> Result<Option<DirectoryConfig>, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Option<DirectoryConfig>, ConfigError> {
        let non_empty = |name: &str| var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let Some(url) = non_empty("LDAP_URL") else {
            return Ok(None);
        };
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let starttls = match non_empty("LDAP_STARTTLS") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    var: "LDAP_STARTTLS",
                    reason: format!("expected true or false, got {v:?}"),
                });
            }
        };
        match scheme.as_deref() {
            Some("ldap") => {}
            Some("ldaps") | Some("ldapi") if starttls => {
                return Err(ConfigError::Invalid {
                    var: "LDAP_STARTTLS",
                    reason: "StartTLS upgrades an ldap:// connection; LDAP_URL is not one".into(),
                });
            }
            Some("ldaps") | Some("ldapi") => {}
            _ => {
                return Err(ConfigError::Invalid {
                    var: "LDAP_URL",
                    reason: format!("expected ldap://host:port or ldaps://host:port, got {url:?}"),
                });
            }
        }
        let password = match (var("LDAP_BIND_PASSWORD").filter(|v| !v.is_empty()), non_empty("LDAP_SECRET_ARN")) {
            (Some(value), _) => Password::Value(value),
            (None, Some(arn)) => Password::Secret { arn },
            (None, None) => Password::None,
        };
        Ok(Some(DirectoryConfig {
            url,
            bind_dn: non_empty("LDAP_BIND_DN"),
            password,
            base: non_empty("LDAP_BASE").unwrap_or_else(|| DEFAULT_BASE.to_string()),
            starttls,
            ca_bundle: var("LDAP_CA_BUNDLE").filter(|v| !v.trim().is_empty()).map(|v| CaBundle::from_value(&v)),
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            total_timeout: DEFAULT_TOTAL_TIMEOUT,
        }))
    }
}

#[derive(Debug, thiserror::Error)]
enum DirectoryError {
    #[error("LDAP: {0}")]
    Ldap(#[from] ldap3::LdapError),
    #[error("LDAP bind password: {0}")]
    Secret(String),
    #[error("LDAP lookup did not finish within {0:?}")]
    Timeout(Duration),
    #[error("LDAP TLS: {0}")]
    Tls(String),
}

/// The directory of one function container. Building it touches nothing; a
/// secret password is fetched on first use and kept.
pub struct StaffDirectory {
    config: DirectoryConfig,
    secret_password: OnceCell<String>,
    /// Built on the first TLS connection; a bundle that cannot be read fails
    /// every lookup the same way, and is not read again.
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

impl StaffDirectory {
    pub fn new(config: DirectoryConfig) -> StaffDirectory {
        StaffDirectory { config, secret_password: OnceCell::new(), tls: OnceLock::new() }
    }

    /// The directory configured in the environment, if any.
    pub fn from_env() -> Result<Option<StaffDirectory>, ConfigError> {
        Ok(DirectoryConfig::from_env()?.map(StaffDirectory::new))
    }

    pub fn config(&self) -> &DirectoryConfig {
        &self.config
    }

    /// Contact details for each of `names` (distinguished names) that has
    /// exactly one entry. Failures are logged and give an empty map.
    pub async fn contact_details(&self, names: &[String]) -> HashMap<String, ContactDetails> {
        if names.is_empty() {
            return HashMap::new();
        }
        let total = self.config.total_timeout;
        // Boxed: ldap3's futures are deep enough to exceed the compiler's type depth limit in callers.
        let result = match tokio::time::timeout(total, Box::pin(self.look_up(names))).await {
            Ok(result) => result,
            Err(_) => Err(DirectoryError::Timeout(total)),
        };
        result.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "staff directory unavailable: e-mail and telephone left out");
            delius_api::telemetry::count("StaffDirectoryUnavailable", &[("Function", "appointments-list")]);
            HashMap::new()
        })
    }

    async fn password(&self) -> Result<Option<&str>, DirectoryError> {
        match &self.config.password {
            Password::None => Ok(None),
            Password::Value(value) => Ok(Some(value)),
            Password::Secret { arn } => {
                let value = self
                    .secret_password
                    .get_or_try_init(|| async {
                        let text = delius_db::secrets::secret_string(arn)
                            .await
                            .map_err(|e| DirectoryError::Secret(e.to_string()))?;
                        Ok::<_, DirectoryError>(password_from_secret(text))
                    })
                    .await?;
                Ok(Some(value))
            }
        }
    }

    async fn look_up(&self, names: &[String]) -> Result<HashMap<String, ContactDetails>, DirectoryError> {
        let timeout = self.config.operation_timeout;
        let password = self.password().await?;
        let mut settings = LdapConnSettings::new().set_conn_timeout(timeout);
        if self.config.uses_tls() {
            let tls = self.tls.get_or_init(|| crate::tls::client_config(self.config.ca_bundle.as_ref()));
            let tls = tls.clone().map_err(DirectoryError::Tls)?;
            settings = settings.set_config(tls).set_starttls(self.config.starttls);
        }
        let (connection, mut ldap) = LdapConnAsync::with_settings(settings, &self.config.url).await?;
        ldap3::drive!(connection);
        if let Some(bind_dn) = &self.config.bind_dn {
            ldap.with_timeout(timeout).simple_bind(bind_dn, password.unwrap_or_default()).await?.success()?;
        }
        // One connection, the searches in flight together.
        let searches = names.iter().map(|name| {
            let mut ldap = ldap.clone();
            let filter =
                format!("(&(objectClass=inetOrgPerson)(objectClass=top)(cn={}))", ldap3::ldap_escape(name.as_str()));
            async move {
                let found = ldap
                    .with_timeout(timeout)
                    .search(&self.config.base, Scope::OneLevel, &filter, vec!["mail", "telephoneNumber"])
                    .await
                    .and_then(|result| result.success());
                (name, found)
            }
        });
        let mut details = HashMap::new();
        for (name, found) in futures_util::future::join_all(searches).await {
            let (entries, _) = found?;
            // No entry, or an ambiguous name: nothing is known.
            if let [entry] = entries.as_slice() {
                let entry = SearchEntry::construct(entry.clone());
                let first = |attribute: &str| entry.attrs.get(attribute).and_then(|values| values.first()).cloned();
                details
                    .insert(name.clone(), ContactDetails { email: first("mail"), telephone: first("telephoneNumber") });
            }
        }
        let _ = ldap.unbind().await;
        Ok(details)
    }
}

fn password_from_secret(text: String) -> String {
    #[derive(serde::Deserialize)]
    struct Secret {
        password: String,
    }
    serde_json::from_str::<Secret>(&text).map(|s| s.password).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn no_url_means_no_directory() {
        assert_eq!(DirectoryConfig::from_lookup(lookup(&[])).unwrap(), None);
        assert_eq!(DirectoryConfig::from_lookup(lookup(&[("LDAP_URL", " ")])).unwrap(), None);
    }

    #[test]
    fn full_configuration_and_defaults() {
        let c = DirectoryConfig::from_lookup(lookup(&[
            ("LDAP_URL", "ldap://ldap.example:389"),
            ("LDAP_BIND_DN", "cn=admin,dc=moj,dc=com"),
            ("LDAP_BIND_PASSWORD", "pw"),
            ("LDAP_SECRET_ARN", "arn:ignored"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.url, "ldap://ldap.example:389");
        assert_eq!(c.bind_dn.as_deref(), Some("cn=admin,dc=moj,dc=com"));
        assert_eq!(c.password, Password::Value("pw".into()));
        assert_eq!(c.base, DEFAULT_BASE);
        let printed = format!("{c:?}");
        assert!(printed.contains("Value(<redacted>)") && !printed.contains("\"pw\""), "{printed}");

        let c = DirectoryConfig::from_lookup(lookup(&[
            ("LDAP_URL", "ldap://ldap.example"),
            ("LDAP_SECRET_ARN", "arn:aws:secretsmanager:eu-west-2:1:secret:ldap"),
            ("LDAP_BASE", "ou=Other,dc=moj,dc=com"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.password, Password::Secret { arn: "arn:aws:secretsmanager:eu-west-2:1:secret:ldap".into() });
        assert_eq!(c.base, "ou=Other,dc=moj,dc=com");
        assert_eq!(c.bind_dn, None);
    }

    #[test]
    fn unusable_urls_are_configuration_errors() {
        for url in ["http://ldap.example", "ldap.example:389", "ldapx://ldap.example"] {
            let err = DirectoryConfig::from_lookup(move |name| (name == "LDAP_URL").then(|| url.to_string()));
            assert!(matches!(err, Err(ConfigError::Invalid { var: "LDAP_URL", .. })), "{url}");
        }
    }

    #[test]
    fn ldaps_and_starttls() {
        let c = DirectoryConfig::from_lookup(lookup(&[("LDAP_URL", "ldaps://ldap.example:636")])).unwrap().unwrap();
        assert!(c.uses_tls() && !c.starttls);
        assert_eq!(c.ca_bundle, None);
        let c = DirectoryConfig::from_lookup(lookup(&[
            ("LDAP_URL", "ldap://ldap.example:389"),
            ("LDAP_STARTTLS", "TRUE"),
            ("LDAP_CA_BUNDLE", "/opt/delius-ca.pem"),
        ]))
        .unwrap()
        .unwrap();
        assert!(c.uses_tls() && c.starttls);
        assert_eq!(c.ca_bundle, Some(CaBundle::Path("/opt/delius-ca.pem".into())));
        let plain = DirectoryConfig::from_lookup(lookup(&[("LDAP_URL", "ldap://ldap.example")])).unwrap().unwrap();
        assert!(!plain.uses_tls());
        for (url, starttls) in [("ldaps://ldap.example", "true"), ("ldap://ldap.example", "yes")] {
            let err = DirectoryConfig::from_lookup(move |name| match name {
                "LDAP_URL" => Some(url.to_string()),
                "LDAP_STARTTLS" => Some(starttls.to_string()),
                _ => None,
            });
            assert!(matches!(err, Err(ConfigError::Invalid { var: "LDAP_STARTTLS", .. })), "{url} {starttls}");
        }
    }

    #[test]
    fn secret_is_the_password_or_json_holding_it() {
        assert_eq!(password_from_secret("plain".into()), "plain");
        assert_eq!(password_from_secret(r#"{"password":"inside","user":"x"}"#.into()), "inside");
    }
}
