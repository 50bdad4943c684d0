//! HTTPS through rustls with the `ring` crypto provider: the platform's certificate
//! verifier, or only the private CA certificates given.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use rustls_platform_verifier::BuilderVerifierExt;

use crate::client::ClientError;

/// The TLS settings of the client: the platform verifier when `ca_pem` is `None`, else
/// only the certificates in `ca_pem` are trusted. No process-wide provider is installed.
pub(crate) fn client_config(ca_pem: Option<&[u8]>) -> Result<ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls {
            reason: e.to_string(),
        })?;
    let Some(pem) = ca_pem else {
        let builder = builder
            .with_platform_verifier()
            .map_err(|e| ClientError::Tls {
                reason: format!("the platform's certificate verifier: {e}"),
            })?;
        return Ok(builder.with_no_client_auth());
    };
    let invalid = |reason: String| ClientError::InvalidCaCertificate { reason };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| invalid(e.to_string()))?;
        roots.add(cert).map_err(|e| invalid(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(invalid("no `BEGIN CERTIFICATE` block in it".to_owned()));
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}
