//! The trust roots for TLS to the Delius directory (`ldaps://`, StartTLS):
//! Mozilla's roots (compiled in) plus an optional PEM bundle (`LDAP_CA_BUNDLE`,
//! a file path or the PEM text itself), as for the database. The rustls
//! configuration is built on the first TLS connection, never at init, and
//! then reused.
//!
//! (A CA-bundle loader shared with the database belongs in a shared crate; it
//! lives here until that exists.)

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

/// Where extra CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaBundle {
    Path(String),
    Pem(String),
}

impl CaBundle {
    /// PEM text when it looks like PEM, else a file path.
    pub fn from_value(value: &str) -> CaBundle {
        if value.trim_start().starts_with("-----BEGIN") {
            CaBundle::Pem(value.to_string())
        } else {
            CaBundle::Path(value.trim().to_string())
        }
    }

    fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, String> {
        let (pem, origin) = match self {
            CaBundle::Path(path) => {
                (std::fs::read(path).map_err(|e| format!("cannot read the CA bundle {path}: {e}"))?, path.as_str())
            }
            CaBundle::Pem(text) => (text.as_bytes().to_vec(), "LDAP_CA_BUNDLE"),
        };
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("the CA bundle {origin} is not valid PEM: {e}"))?;
        if certs.is_empty() {
            return Err(format!("the CA bundle {origin} holds no certificate"));
        }
        Ok(certs)
    }
}

/// A client configuration trusting Mozilla's roots and `bundle`'s certificates.
pub fn client_config(bundle: Option<&CaBundle>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(bundle) = bundle {
        for cert in bundle.certificates()? {
            roots.add(cert).map_err(|e| format!("a certificate of the CA bundle is unusable: {e}"))?;
        }
    }
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
