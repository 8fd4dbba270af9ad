//! TLS to PostgreSQL, with rustls: managed databases require it.
//!
//! The URL takes libpq's `sslmode` and `sslrootcert`. The `postgres` crate knows only `disable`,
//! `prefer` and `require`, so both are taken out of the URL here and applied to the connection:
//!
//! - `disable`: no TLS;
//! - `prefer` (the default, as in libpq): TLS when the server offers it, without checking its
//!   certificate;
//! - `require`: TLS or no connection, without checking the certificate (encryption only);
//! - `verify-ca`: TLS, and the server's certificate must chain to a root in `sslrootcert`;
//! - `verify-full`: as `verify-ca`, and the certificate must also name the host connected to.
//!
//! `sslrootcert` is a PEM file of root certificates; without it, `verify-*` read libpq's default,
//! `~/.postgresql/root.crt`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres::config::SslMode;
use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{Result, StoreError};

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The TLS settings of a connection URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub mode: Mode,
    pub root_cert: Option<PathBuf>,
}

impl Settings {
    /// What the `postgres` crate is told: whether TLS is tried, and whether it is required.
    pub fn ssl_mode(&self) -> SslMode {
        match self.mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }
}

/// Takes `sslmode` and `sslrootcert` out of a URL (`postgres://…?sslmode=verify-full`) or a
/// key-value string (`host=… sslmode=require`), returning the rest and the settings.
pub(crate) fn split(url: &str) -> Result<(String, Settings)> {
    let mut settings = Settings { mode: Mode::Prefer, root_cert: None };
    let mut take = |key: &str, value: String| -> Result<bool> {
        match key {
            "sslmode" => {
                settings.mode = match value.as_str() {
                    "disable" => Mode::Disable,
                    "allow" | "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(StoreError::Invalid(format!(
                            "the store URL's sslmode {other:?} is not one of disable, prefer, require, verify-ca, verify-full"
                        )));
                    }
                };
                Ok(true)
            }
            "sslrootcert" => {
                settings.root_cert = Some(PathBuf::from(value));
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    if !take(k, percent_decode(v))? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) }
            }
        }
    } else {
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            let (k, v) = word.split_once('=').unwrap_or((word, ""));
            if !take(k, v.trim_matches('\'').to_owned())? {
                kept.push(word);
            }
        }
        kept.join(" ")
    };
    Ok((rest, settings))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The connector for these settings.
pub(crate) fn connector(settings: &Settings) -> Result<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Invalid(format!("TLS setup: {e}")))?;
    let config = match settings.mode {
        Mode::Disable | Mode::Prefer | Mode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly { provider }))
            .with_no_client_auth(),
        Mode::VerifyCa | Mode::VerifyFull => {
            let path = match &settings.root_cert {
                Some(p) => p.clone(),
                None => default_root_cert().ok_or_else(|| {
                    StoreError::Invalid(
                        "sslmode verify-ca and verify-full need the server's root certificate: \
                         add sslrootcert=<PEM file> to the store URL"
                            .into(),
                    )
                })?,
            };
            let roots = Arc::new(read_roots(&path)?);
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| StoreError::Invalid(format!("sslrootcert {}: {e}", path.display())))?;
            let verifier: Arc<dyn ServerCertVerifier> =
                if settings.mode == Mode::VerifyCa { Arc::new(AnyName(webpki)) } else { webpki };
            builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth()
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

/// libpq's default root certificate file, when it exists.
fn default_root_cert() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let path = Path::new(&home).join(".postgresql/root.crt");
    path.exists().then_some(path)
}

fn read_roots(path: &Path) -> Result<rustls::RootCertStore> {
    use rustls::pki_types::pem::PemObject;
    let bad = |e: &dyn std::fmt::Display| StoreError::Invalid(format!("sslrootcert {}: {e}", path.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
        roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    }
    if roots.is_empty() {
        return Err(bad(&"holds no PEM certificate"));
    }
    Ok(roots)
}

/// `prefer` and `require`: the channel is encrypted and the handshake's signatures are checked,
/// but the certificate is not (libpq's meaning of these modes).
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the certificate must chain to a trusted root, whatever host it names.
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(Error::InvalidCertificate(CertificateError::NotValidForName))
            | Err(Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
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

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_settings_leave_the_url_and_keep_the_rest() {
        let (rest, s) =
            split("postgres://u@db:5432/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5")
                .unwrap();
        assert_eq!(rest, "postgres://u@db:5432/app?connect_timeout=5");
        assert_eq!(s, Settings { mode: Mode::VerifyFull, root_cert: Some("/etc/ca.pem".into()) });
        let (rest, s) = split("postgres://u@db/app?sslmode=require").unwrap();
        assert_eq!((rest.as_str(), s.mode), ("postgres://u@db/app", Mode::Require));
        let (rest, s) = split("host=db user=u sslmode=verify-ca sslrootcert=/ca.pem").unwrap();
        assert_eq!(rest, "host=db user=u");
        assert_eq!((s.mode, s.root_cert.as_deref()), (Mode::VerifyCa, Some(Path::new("/ca.pem"))));
        let (rest, s) = split("postgres://u@db/app").unwrap();
        assert_eq!((rest.as_str(), s.mode, s.ssl_mode()), ("postgres://u@db/app", Mode::Prefer, SslMode::Prefer));
        let e = split("postgres://u@db/app?sslmode=verify").unwrap_err().to_string();
        assert!(e.contains("\"verify\"") && e.contains("verify-full"), "{e}");
    }

    #[test]
    fn verifying_modes_need_a_readable_root_certificate() {
        let missing = Settings { mode: Mode::VerifyFull, root_cert: Some("/nonexistent/ca.pem".into()) };
        let e = connector(&missing).err().expect("no such file").to_string();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
        assert!(connector(&Settings { mode: Mode::Require, root_cert: None }).is_ok());
    }
}
