//! A PostgreSQL that speaks TLS only, with a certificate from a test CA made
//! on the spot (rcgen): `ssl = on`, and `pg_hba.conf` lets TCP clients in only
//! over `hostssl` (the admin connection uses the Unix socket). The server
//! certificate names `localhost` only, so `127.0.0.1` is a wrong host name.
//! It holds one database, `delius`, migrated and seeded like the template of
//! [`crate::testing::TestDb`]. Dropping the value stops the server and removes
//! its folder; the server also dies with its owner process.

use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use delius_db::migrate::{self, Seed};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use crate::process::{self, Output, OwnedChild, ScratchDir};

const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A certificate authority for tests.
pub struct TestCa {
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa { cert_pem: cert.pem(), issuer: Issuer::new(params, key) }
    }

    /// A server certificate for `names` (host names, or IP addresses, which
    /// become IP subject alternative names), and its key, both PEM.
    pub fn server_certificate(&self, names: &[&str]) -> (String, String) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("names");
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &self.issuer).expect("server certificate");
        (cert.pem(), key.serialize_pem())
    }
}

pub struct TlsPostgres {
    pub port: u16,
    pub ca: TestCa,
    /// The test CA's certificate as a file (for `sslrootcert` / `DB_CA_BUNDLE`).
    pub ca_file: PathBuf,
    server: Option<OwnedChild>,
    dir: ScratchDir,
}

impl TlsPostgres {
    pub async fn start() -> io::Result<TlsPostgres> {
        let bin = pg_bin()?;
        let dir = ScratchDir::for_server("tls-pg")?;
        let data = dir.path().join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb.args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"]).arg(&data);
        process::as_server_user(&mut initdb);
        process::run(initdb, &dir.path().join("initdb.log"))?;
        let ca = TestCa::new("Delius test CA");
        let (cert, key) = ca.server_certificate(&["localhost"]);
        let cert_file = dir.write("server.crt", &cert, 0o644)?;
        let key_file = dir.write("server.key", &key, 0o600)?;
        let ca_file = dir.write("ca.crt", &ca.cert_pem, 0o644)?;
        dir.write(
            "data/pg_hba.conf",
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
            0o600,
        )?;
        let log = dir.path().join("server.log");
        let mut last_error = None;
        for _ in 0..5 {
            let port = process::free_port()?;
            let mut postgres = Command::new(bin.join("postgres"));
            postgres
                .arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-c", "listen_addresses=localhost", "-c", "fsync=off"])
                .args(["-c", "ssl=on", "-c"])
                .arg(format!("ssl_cert_file={}", cert_file.display()))
                .arg("-c")
                .arg(format!("ssl_key_file={}", key_file.display()))
                .arg("-c")
                .arg(format!("unix_socket_directories={}", dir.path().display()));
            process::as_server_user(&mut postgres);
            let mut child = OwnedChild::spawn(postgres, Output::Log(log.clone()))?;
            match process::wait_for_port(&mut child, port, &log, START_TIMEOUT) {
                Ok(()) => {
                    let server = TlsPostgres { port, ca, ca_file, server: Some(child), dir };
                    server.create_delius().await?;
                    return Ok(server);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("postgres did not start")))
    }

    /// A superuser connection over the Unix socket (no TLS needed there).
    pub async fn admin(&self, database: &str) -> io::Result<tokio_postgres::Client> {
        let config = format!("host={} port={} user=postgres dbname={database}", self.dir.path().display(), self.port);
        let (client, connection) =
            tokio_postgres::connect(&config, tokio_postgres::NoTls).await.map_err(io::Error::other)?;
        tokio::spawn(connection);
        Ok(client)
    }

    async fn create_delius(&self) -> io::Result<()> {
        // Listening is not ready: "the database system is starting up" first.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let admin = loop {
            match self.admin("postgres").await {
                Ok(client) => break client,
                Err(e) if std::time::Instant::now() > deadline => return Err(e),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        admin.batch_execute("CREATE DATABASE delius").await.map_err(io::Error::other)?;
        let mut client = self.admin("delius").await?;
        migrate::migrate(&mut client).await.map_err(io::Error::other)?;
        for seed in Seed::ALL {
            migrate::load_seed(&client, seed).await.map_err(io::Error::other)?;
        }
        Ok(())
    }

    /// The `delius` database's URL, reached as `host` with `query` (e.g.
    /// `sslmode=verify-full&sslrootcert=...`).
    pub fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/delius?{query}", self.port)
    }

    /// A PEM file in the server's folder (e.g. another CA's certificate).
    pub fn write_pem(&self, name: &str, pem: &str) -> io::Result<PathBuf> {
        self.dir.write(name, pem, 0o644)
    }

    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(OwnedChild::id)
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        // The server goes before its folder.
        self.server.take();
    }
}

fn pg_bin() -> io::Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().ok_or_else(|| io::Error::other("no PostgreSQL under /usr/lib/postgresql"))
}
