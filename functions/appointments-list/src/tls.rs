//! The trust roots for TLS to the Delius directory (`ldaps://`, StartTLS):
//! Mozilla's roots (compiled in) plus an optional PEM bundle (`LDAP_CA_BUNDLE`,
//! a file path or the PEM text itself), as for the database. The rustls
//! configuration is built on the first TLS connection, never at init, and
//! then reused.

use std::sync::Arc;

pub use delius_db::tls::CaBundle;
use rustls::ClientConfig;

/// A client configuration trusting Mozilla's roots and `bundle`'s certificates.
pub fn client_config(bundle: Option<&CaBundle>) -> Result<Arc<ClientConfig>, String> {
    let roots = delius_db::tls::trusted_roots(bundle, "LDAP_CA_BUNDLE")?;
    // The provider named, not the process default: the build links more than one.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_is_pem_text_or_a_path() {
        assert_eq!(CaBundle::from_value(" /opt/ca.pem "), CaBundle::Path("/opt/ca.pem".into()));
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(CaBundle::from_value(pem), CaBundle::Pem(pem.into()));
    }

    #[test]
    fn unreadable_or_empty_bundles_are_errors_naming_them() {
        let missing = client_config(Some(&CaBundle::Path("/nonexistent/ca.pem".into()))).unwrap_err();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        let empty = client_config(Some(&CaBundle::Pem("-----BEGIN nothing".into()))).unwrap_err();
        assert!(empty.contains("LDAP_CA_BUNDLE"), "{empty}");
        assert!(client_config(None).is_ok());
    }
}
