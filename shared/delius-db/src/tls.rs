//! TLS to PostgreSQL with rustls (no OpenSSL).
//!
//! The modes are libpq's `sslmode`:
//!
//! | mode | encrypted | certificate chain | host name |
//! |---|---|---|---|
//! | `disable` | never | - | - |
//! | `prefer` | if the server offers it, else clear text | not checked | not checked |
//! | `require` | always | not checked | not checked |
//! | `verify-ca` | always | checked | not checked |
//! | `verify-full` | always | checked | checked |
//!
//! `require`, `verify-ca` and `verify-full` never fall back to clear text: a
//! server without TLS, or a certificate that fails its checks, is an error
//! naming the host and the reason. Certificates are checked against Mozilla's
//! roots (compiled in: RDS Proxy's certificates chain to Amazon's public
//! roots) plus an optional PEM bundle (`DB_CA_BUNDLE`, e.g. the RDS CA bundle
//! for a direct connection to an instance). The rustls configuration is built
//! at the first connection, never at init.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::Socket;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

use crate::config::ConfigError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    /// libpq's default, and ours when nothing is configured: local databases
    /// without TLS keep working.
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(var: &'static str, value: &str) -> Result<SslMode, ConfigError> {
        match value.trim() {
            "disable" => Ok(SslMode::Disable),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(ConfigError::Invalid {
                var,
                reason: format!("expected disable, prefer, require, verify-ca or verify-full, got {other:?}"),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres is told: whether TLS may be skipped.
    pub(crate) fn transport(self) -> tokio_postgres::config::SslMode {
        match self {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
        }
    }
}

/// Extra trusted certificates: a PEM file's path, or the PEM text itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaBundle {
    Path(String),
    Pem(String),
}

impl CaBundle {
    pub fn from_value(value: &str) -> CaBundle {
        if value.trim_start().starts_with("-----BEGIN") {
            CaBundle::Pem(value.to_string())
        } else {
            CaBundle::Path(value.trim().to_string())
        }
    }

    /// The bundle's certificates; `var` names where PEM text came from, for errors.
    fn certificates(&self, var: &str) -> Result<Vec<CertificateDer<'static>>, String> {
        let (pem, origin) = match self {
            CaBundle::Path(path) => {
                (std::fs::read(path).map_err(|e| format!("cannot read the CA bundle {path}: {e}"))?, path.as_str())
            }
            CaBundle::Pem(text) => (text.as_bytes().to_vec(), var),
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

/// Mozilla's roots (compiled in) plus `bundle`'s certificates: the trust of
/// every TLS client of the project (the database, the Delius directory).
/// `var` is the variable the bundle came from, named in errors.
pub fn trusted_roots(bundle: Option<&CaBundle>, var: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(bundle) = bundle {
        for cert in bundle.certificates(var)? {
            roots.add(cert).map_err(|e| format!("a certificate of the CA bundle is unusable: {e}"))?;
        }
    }
    Ok(roots)
}

/// The TLS settings of the database connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsConfig {
    pub mode: SslMode,
    pub ca_bundle: Option<CaBundle>,
}

/// Splits libpq's TLS parameters (`sslmode`, `sslrootcert`) off a PostgreSQL
/// URL: tokio-postgres knows only three of the five modes and no
/// `sslrootcert`. Returns the URL without them and their values.
pub fn split_url(url: &str) -> (String, Option<String>, Option<String>) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), None, None) };
    let (mut mode, mut root_cert, mut kept) = (None, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", v)) => mode = Some(v.to_string()),
            Some(("sslrootcert", v)) => root_cert = Some(percent_decode(v)),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    (url, mode, root_cert)
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&value[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Builds the connector for `config`; `None` for `disable`.
pub(crate) fn connector(config: &TlsConfig) -> Result<Option<RustlsConnect>, String> {
    if config.mode == SslMode::Disable {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match config.mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(EncryptOnly(provider.clone())),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = trusted_roots(config.ca_bundle.as_ref(), "DB_CA_BUNDLE")?;
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("cannot build the certificate verifier: {e}"))?;
            if config.mode == SslMode::VerifyFull { webpki } else { Arc::new(ChainOnly(webpki)) }
        }
    };
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(RustlsConnect { config: Arc::new(client) }))
}

/// `verify-ca`: the chain must lead to a trusted root; the name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name: a name error means the
        // chain was good.
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require`: encrypted, the certificate taken as presented
/// (libpq's meaning of these modes); the handshake signatures are still checked.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// tokio-postgres's hook for TLS, backed by rustls.
#[derive(Clone)]
pub(crate) struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
}

impl MakeTlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnectHost;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnectHost, io::Error> {
        let name = ServerName::try_from(host.to_string()).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{host} is not a TLS server name: {e}"))
        })?;
        Ok(RustlsConnectHost { config: self.config.clone(), name, host: host.to_string() })
    }
}

pub(crate) struct RustlsConnectHost {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    host: String,
}

impl TlsConnect<Socket> for RustlsConnectHost {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream, io::Error>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let connector = tokio_rustls::TlsConnector::from(self.config);
            connector.connect(self.name, stream).await.map(RustlsStream).map_err(|e| {
                // rustls's reason ("invalid peer certificate: UnknownIssuer",
                // "... not valid for name ...") with the host it was about.
                io::Error::new(e.kind(), format!("TLS with {} failed: {e}", self.host))
            })
        })
    }
}

pub(crate) struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl tokio_postgres::tls::TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.cargo/config.toml` builds aws-lc without its CPU jitter entropy
    /// source, which would cost every cold start 40-60 ms at its first TLS
    /// connection. This binary links aws-lc as the functions do: none of the
    /// jitter collector's code may be in it.
    #[test]
    fn aws_lc_is_built_without_the_jitter_entropy_source() {
        let binary = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        // The collector's symbol, joined at run time so that this test's own
        // text does not hold it.
        let collector = ["jent", "entropy", "collector", "alloc"].join("_");
        assert!(
            !binary.windows(collector.len()).any(|w| w == collector.as_bytes()),
            "aws-lc was built with CPU jitter entropy: is AWS_LC_SYS_NO_JITTER_ENTROPY set in .cargo/config.toml?"
        );
    }

    #[test]
    fn tls_parameters_are_split_off_the_url() {
        let (url, mode, root) =
            split_url("postgres://u:p@h:5432/db?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.pem");
        assert_eq!(url, "postgres://u:p@h:5432/db?application_name=x");
        assert_eq!(mode.as_deref(), Some("verify-full"));
        assert_eq!(root.as_deref(), Some("/tmp/ca.pem"));
        assert_eq!(split_url("postgres://h/db"), ("postgres://h/db".into(), None, None));
        assert_eq!(split_url("postgres://h/db?sslmode=disable").0, "postgres://h/db");
    }

    #[test]
    fn modes_parse_and_unknown_ones_are_named() {
        assert_eq!(SslMode::parse("DB_SSLMODE", "verify-ca").unwrap(), SslMode::VerifyCa);
        let err = SslMode::parse("DB_SSLMODE", "allow").unwrap_err();
        assert!(err.to_string().starts_with("DB_SSLMODE is invalid"), "{err}");
    }

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        let config =
            TlsConfig { mode: SslMode::VerifyFull, ca_bundle: Some(CaBundle::Pem("-----BEGIN nothing".into())) };
        assert!(connector(&config).is_err());
    }
}
