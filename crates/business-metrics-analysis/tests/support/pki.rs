//! A private CA and a server certificate for 127.0.0.1, generated for one test (the
//! approach of the exporter's `otlp_on_the_wire` tests).

use std::path::PathBuf;

use business_metrics_test_support::TempDir;

/// `ca.pem`, `server.pem`, `server.key` in a temporary directory, and a second,
/// unrelated CA, `other-ca.pem`.
pub struct Pki {
    dir: TempDir,
}

impl Pki {
    pub fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let dir = TempDir::new("bizmetrics-tls");
        let write = |name: &str, pem: String| std::fs::write(dir.path().join(name), pem).unwrap();
        let ca = |name: &str, file: &str| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            write(file, params.self_signed(&key).unwrap().pem());
            Issuer::new(params, key)
        };
        let issuer = ca("bizmetrics test CA", "ca.pem");
        ca("another test CA", "other-ca.pem");
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        write("server.pem", params.signed_by(&key, &issuer).unwrap().pem());
        write("server.key", key.serialize_pem());
        Self { dir }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
