//! The PEM files of [`TlsFiles`], read and checked when the pipeline starts.
//! Their contents never reach a message: errors name the file and the problem.

use std::fmt;
use std::path::Path;

use crate::config::TlsFiles;
use crate::error::InitError;

/// PEM contents, checked to hold what they should.
#[derive(Clone, Default)]
pub(crate) struct LoadedTls {
    /// One or more certificates to trust instead of the web PKI roots.
    pub(crate) ca_pem: Option<Vec<u8>>,
    /// The client's certificate chain and private key.
    pub(crate) identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl fmt::Debug for LoadedTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedTls")
            .field("ca", &self.ca_pem.is_some())
            .field("identity", &self.identity.is_some())
            .finish()
    }
}

pub(crate) fn load(files: &TlsFiles) -> Result<LoadedTls, InitError> {
    let ca_pem = files
        .ca_certificate
        .as_deref()
        .map(|p| read(p, "CA certificate", Holds::Certificates))
        .transpose()?;
    let identity = match (&files.client_certificate, &files.client_key) {
        (Some(cert), Some(key)) => Some((
            read(cert, "client certificate", Holds::Certificates)?,
            read(key, "client key", Holds::PrivateKey)?,
        )),
        (None, None) => None,
        (Some(p), None) | (None, Some(p)) => {
            return Err(tls_error(
                p,
                "client certificate",
                "a client certificate needs both a certificate file and a key file",
            ))
        }
    };
    Ok(LoadedTls { ca_pem, identity })
}

#[derive(Clone, Copy)]
enum Holds {
    Certificates,
    PrivateKey,
}

fn tls_error(path: &Path, what: &'static str, reason: impl Into<String>) -> InitError {
    InitError::TlsFile {
        what,
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn read(path: &Path, what: &'static str, holds: Holds) -> Result<Vec<u8>, InitError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    let bytes = std::fs::read(path).map_err(|e| tls_error(path, what, e.to_string()))?;
    match holds {
        Holds::Certificates => {
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(&bytes) {
                cert.map_err(|_| tls_error(path, what, "is not valid PEM"))?;
                n += 1;
            }
            if n == 0 {
                return Err(tls_error(
                    path,
                    what,
                    "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                ));
            }
        }
        Holds::PrivateKey => {
            PrivateKeyDer::from_pem_slice(&bytes).map_err(|_| {
                tls_error(
                    path,
                    what,
                    "holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
                )
            })?;
        }
    }
    Ok(bytes)
}
