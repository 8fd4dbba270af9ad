//! PostgreSQL over TLS against the local test server. The test makes a CA and a certificate for
//! `localhost`, installs them on the server (`ALTER SYSTEM`, then a reload: it writes the key into
//! the server's data directory, so it needs to run as root on the server's machine, as `.ci/run`
//! does) and puts the server's own settings back afterwards, even when it fails.
//!
//! Without `ACCORD_TEST_POSTGRES_URL` it is skipped; when the server is not local or its data
//! directory cannot be written it is skipped too, saying why, unless `ACCORD_REQUIRE_POSTGRES_TLS=1`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use accord_store::Store;
use accord_store::postgres::PgStore;
use postgres::{Client, NoTls};

use crate::pg;

/// Skips, or fails when the TLS test is required.
fn skip(why: &str) {
    let required = std::env::var("ACCORD_REQUIRE_POSTGRES_TLS").is_ok_and(|v| v == "1");
    assert!(!required, "the PostgreSQL TLS test cannot run: {why}, and ACCORD_REQUIRE_POSTGRES_TLS=1");
    eprintln!("skipping the PostgreSQL TLS test: {why}");
}

/// The server's TLS settings, put back (and the installed files removed) when dropped.
struct Installed {
    server: String,
    dir: PathBuf,
}

impl Drop for Installed {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&self.server, NoTls) {
            for setting in ["ssl_cert_file", "ssl_key_file", "ssl"] {
                let _ = admin.batch_execute(&format!("ALTER SYSTEM RESET {setting}"));
            }
            let _ = admin.batch_execute("SELECT pg_reload_conf()");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Certificates {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
}

/// A CA, and a server certificate it signs for `localhost` only.
fn certificates(ca_name: &str) -> Certificates {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, ca_name);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &issuer).unwrap();
    Certificates { ca_pem: ca_cert.pem(), server_pem: cert.pem(), server_key_pem: key.serialize_pem() }
}

fn install(server: &str, certs: &Certificates) -> Result<Installed, String> {
    let mut admin = Client::connect(server, NoTls).map_err(|e| e.to_string())?;
    let data: String = admin.query_one("SHOW data_directory", &[]).map_err(|e| e.to_string())?.get(0);
    let owner = std::fs::metadata(&data).map_err(|e| format!("{data}: {e}"))?;
    let dir = Path::new(&data).join(format!("accord-test-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
    let installed = Installed { server: server.to_owned(), dir: dir.clone() };
    let (crt, key) = (dir.join("server.crt"), dir.join("server.key"));
    std::fs::write(&crt, &certs.server_pem).map_err(|e| e.to_string())?;
    std::fs::write(&key, &certs.server_key_pem).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
    for path in [&dir, &crt, &key] {
        std::os::unix::fs::chown(path, Some(owner.uid()), Some(owner.gid()))
            .map_err(|e| format!("cannot give {} to the server's user: {e}", path.display()))?;
    }
    for (setting, value) in [
        ("ssl_cert_file", crt.display().to_string()),
        ("ssl_key_file", key.display().to_string()),
        ("ssl", "on".into()),
    ] {
        admin.batch_execute(&format!("ALTER SYSTEM SET {setting} = '{value}'")).map_err(|e| e.to_string())?;
    }
    admin.batch_execute("SELECT pg_reload_conf()").map_err(|e| e.to_string())?;
    Ok(installed)
}

/// Whether the store's own connections are encrypted, seen from the server.
fn encrypted(server: &str, application: &str) -> bool {
    let mut admin = Client::connect(server, NoTls).unwrap();
    let n: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = $1 AND s.ssl",
            &[&application],
        )
        .unwrap()
        .get(0);
    n > 0
}

#[test]
fn postgres_over_tls_checks_the_certificate_as_libpq_does() {
    let Some(server) = pg::server() else { return };
    if !server.contains("@127.0.0.1") && !server.contains("@localhost") {
        return skip("ACCORD_TEST_POSTGRES_URL is not a local server");
    }
    let certs = certificates("accord test CA");
    let _installed = match install(&server, &certs) {
        Ok(i) => i,
        Err(why) => return skip(&why),
    };
    let files = tempfile::tempdir().unwrap();
    let (ca, other_ca) = (files.path().join("ca.pem"), files.path().join("other-ca.pem"));
    std::fs::write(&ca, &certs.ca_pem).unwrap();
    std::fs::write(&other_ca, certificates("someone else's CA").ca_pem).unwrap();
    let schema = pg::Schema::create(&server);
    let at = |host: &str, params: &str| {
        let url = schema.url.replace("@127.0.0.1", &format!("@{host}")).replace("@localhost", &format!("@{host}"));
        format!("{url}{}{params}", if url.contains('?') { '&' } else { '?' })
    };
    let root = |path: &Path| format!("sslrootcert={}", path.display());

    // The reload reaches new connections within moments: wait for the new certificate.
    let verified = at("localhost", &format!("sslmode=verify-full&{}&application_name=accord-tls-test", root(&ca)));
    let deadline = Instant::now() + Duration::from_secs(10);
    let store = loop {
        match PgStore::connect(&verified) {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for the server to load the certificate: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("verify-full with the right CA and host: {e}"),
        }
    };
    store.migrate().unwrap();
    assert!(encrypted(&server, "accord-tls-test"), "the store's connection is encrypted");
    drop(store);

    // The certificate names localhost, not 127.0.0.1: verify-full refuses, verify-ca accepts.
    let e = PgStore::connect(&at("127.0.0.1", &format!("sslmode=verify-full&{}", root(&ca)))).err();
    let e = e.expect("verify-full must refuse a certificate for another name").to_string();
    assert!(e.contains("certificate") && e.contains("127.0.0.1"), "{e}");
    assert!(PgStore::connect(&at("127.0.0.1", &format!("sslmode=verify-ca&{}", root(&ca)))).is_ok());
    // Another CA: refused even by verify-ca.
    let e = PgStore::connect(&at("localhost", &format!("sslmode=verify-ca&{}", root(&other_ca)))).err();
    assert!(e.expect("an unknown issuer must be refused").to_string().contains("certificate"));
    // require encrypts without checking the certificate.
    let require = at("127.0.0.1", "sslmode=require&application_name=accord-tls-require");
    let store = PgStore::connect(&require).unwrap();
    assert_eq!(store.record_counts("A").unwrap().len(), 0);
    assert!(encrypted(&server, "accord-tls-require"));
}
