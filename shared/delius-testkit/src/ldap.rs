//! A real OpenLDAP server standing in for the Delius directory, for the
//! appointment listing's tests and for local runs.
//!
//! [`LdapServer::start`] writes a `slapd.conf` into a fresh temporary
//! directory (an `mdb` database with suffix `dc=moj,dc=com`, the core, cosine
//! and inetOrgPerson schemas), loads the LDIF fixture
//! `shared/delius-testkit/fixtures/delius.ldif` with `slapadd`, and runs `slapd` in the
//! foreground on a free port of 127.0.0.1. Nothing outside the temporary
//! directory is written, so no root-only path is needed. Only a bound user can
//! read entries (anonymous searches are refused), so the tests prove the bind.
//! Dropping the value stops the server and removes the directory.
//!
//! [`LdapServer::start_tls`] also serves TLS: a test CA and a server
//! certificate for `localhost` and `127.0.0.1` are made on the spot (rcgen),
//! and slapd listens on `ldaps://` beside `ldap://` (where StartTLS is offered).
//!
//! The binaries default to `/usr/sbin/slapd` and `/usr/sbin/slapadd`
//! (`SLAPD`, `SLAPADD` override them), the schemas to `/etc/ldap/schema`
//! (`LDAP_SCHEMA_DIR`) and the modules to `/usr/lib/ldap` (`LDAP_MODULE_DIR`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{self, Output, OwnedChild, ScratchDir, free_port};
use crate::tls::TestCa;

/// The directory's suffix.
pub const SUFFIX: &str = "dc=moj,dc=com";
/// Where the Delius users are (the listing's default `LDAP_BASE`).
pub const USERS_BASE: &str = "ou=Users,dc=moj,dc=com";
/// The DN the functions bind as (the server's root DN).
pub const BIND_DN: &str = "cn=admin,dc=moj,dc=com";
/// The fixture: `ou=Users`, `cn=john-smith` (mail `john.smith@moj.gov.uk`,
/// telephoneNumber `07321165373`) and the service user without either.
pub const FIXTURE: &str = include_str!("../fixtures/delius.ldif");

const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running slapd. Dropping it stops the server.
pub struct LdapServer {
    /// `ldap://127.0.0.1:<port>/`
    pub url: String,
    pub port: u16,
    /// `ldaps://127.0.0.1:<port>/`, when started with TLS.
    pub ldaps_url: Option<String>,
    /// The test CA's certificate (PEM file) that signed the server's, when started with TLS.
    pub ca_file: Option<PathBuf>,
    pub bind_dn: String,
    pub bind_password: String,
    pub base: String,
    child: Option<OwnedChild>,
    /// Declared after `child`: the server stops before its folder goes.
    dir: ScratchDir,
}

impl LdapServer {
    /// The server with the fixture loaded. Panics if it cannot start.
    pub fn start() -> LdapServer {
        Self::start_with(FIXTURE).unwrap_or_else(|e| panic!("cannot start slapd: {e}"))
    }

    /// The server with `ldif` loaded (it must create `dc=moj,dc=com` itself).
    pub fn start_with(ldif: &str) -> io::Result<LdapServer> {
        Self::start_with_tls(ldif, false)
    }

    /// The server with the fixture loaded, serving `ldap://` (with StartTLS)
    /// and `ldaps://` with a certificate from a fresh test CA. Panics if it
    /// cannot start.
    pub fn start_tls() -> LdapServer {
        Self::start_with_tls(FIXTURE, true).unwrap_or_else(|e| panic!("cannot start slapd with TLS: {e}"))
    }

    fn start_with_tls(ldif: &str, tls: bool) -> io::Result<LdapServer> {
        let dir = ScratchDir::new("slapd")?;
        fs::create_dir_all(dir.path().join("data"))?;
        let mut server = LdapServer {
            url: String::new(),
            port: 0,
            ldaps_url: None,
            ca_file: None,
            bind_dn: BIND_DN.to_string(),
            bind_password: uuid::Uuid::new_v4().simple().to_string(),
            base: USERS_BASE.to_string(),
            dir,
            child: None,
        };
        let config = server.dir.path().join("slapd.conf");
        let mut conf = slapd_conf(server.dir.path(), &server.bind_password);
        if tls {
            let files = write_tls_files(&server.dir.path().join("tls"))?;
            conf = format!("{}{conf}", files.slapd_directives());
            server.ca_file = Some(files.ca);
        }
        fs::write(&config, conf)?;
        let fixture = server.dir.path().join("fixture.ldif");
        fs::write(&fixture, ldif)?;
        let mut slapadd = Command::new(env_or("SLAPADD", "/usr/sbin/slapadd"));
        slapadd.arg("-f").arg(&config).arg("-l").arg(&fixture);
        process::run(slapadd, &server.dir.path().join("slapadd.log"))?;
        // The free port may be taken between finding it and slapd binding it: try again.
        let mut last_error = None;
        for _ in 0..5 {
            match server.launch(&config) {
                Ok(()) => return Ok(server),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("slapd did not start")))
    }

    fn launch(&mut self, config: &Path) -> io::Result<()> {
        let port = free_port()?;
        let url = format!("ldap://127.0.0.1:{port}/");
        let ldaps = match self.ca_file {
            Some(_) => Some(free_port()?),
            None => None,
        };
        let ldaps_url = ldaps.map(|port| format!("ldaps://127.0.0.1:{port}/"));
        let listen = ldaps_url.as_ref().map_or_else(|| url.clone(), |ldaps_url| format!("{url} {ldaps_url}"));
        // `-d` keeps slapd in the foreground, so it is this process's child
        // (and ends with it); level 256 (stats) logs each operation, which tests may count.
        let mut command = Command::new(env_or("SLAPD", "/usr/sbin/slapd"));
        command.arg("-f").arg(config).arg("-h").arg(&listen).arg("-d").arg("256");
        let log = self.dir.path().join("slapd.log");
        let mut child = OwnedChild::spawn(command, Output::Log(log.clone()))?;
        process::wait_for_port(&mut child, port, &log, START_TIMEOUT)?;
        if let Some(ldaps) = ldaps {
            process::wait_for_port(&mut child, ldaps, &log, START_TIMEOUT)?;
        }
        self.port = port;
        self.url = url;
        self.ldaps_url = ldaps_url;
        self.child = Some(child);
        Ok(())
    }

    /// The listing's configuration for this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LDAP_URL", self.url.clone()),
            ("LDAP_BIND_DN", self.bind_dn.clone()),
            ("LDAP_BIND_PASSWORD", self.bind_password.clone()),
            ("LDAP_BASE", self.base.clone()),
        ]
    }

    /// The listing's configuration for `ldaps://`, trusting the test CA.
    pub fn ldaps_env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.tls_env();
        env[0] = ("LDAP_URL", self.ldaps_url.clone().expect("started with LdapServer::start_tls"));
        env
    }

    /// The listing's configuration for StartTLS on `ldap://`, trusting the test CA.
    pub fn starttls_env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.tls_env();
        env.push(("LDAP_STARTTLS", "true".into()));
        env
    }

    fn tls_env(&self) -> Vec<(&'static str, String)> {
        let ca = self.ca_file.as_ref().expect("started with LdapServer::start_tls");
        let mut env = self.env();
        env.push(("LDAP_CA_BUNDLE", ca.display().to_string()));
        env
    }

    /// The server's operation log so far (`conn=… op=… BIND …`, `SRCH …`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    /// The searches made so far, as logged: `base="…" scope=… filter="…"`.
    pub fn searches(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| line.split_once(" SRCH ").map(|(_, search)| search.to_string()))
            .filter(|search| search.starts_with("base="))
            .collect()
    }

    /// slapd's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(OwnedChild::id)
    }

    /// Stops the server now (an outage); the value stays usable for its URL.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
        }
    }
}

impl Drop for LdapServer {
    fn drop(&mut self) {
        // The server goes before its folder (dropped with the value).
        self.stop();
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}

fn slapd_conf(dir: &Path, root_password: &str) -> String {
    let schema = env_or("LDAP_SCHEMA_DIR", "/etc/ldap/schema");
    let modules = env_or("LDAP_MODULE_DIR", "/usr/lib/ldap");
    // Builds with mdb compiled in have no module to load.
    let module = if Path::new(&modules).join("back_mdb.so").exists() {
        format!("modulepath {modules}\nmoduleload back_mdb\n")
    } else {
        String::new()
    };
    let dir = dir.display();
    format!(
        "include {schema}/core.schema\n\
         include {schema}/cosine.schema\n\
         include {schema}/inetorgperson.schema\n\
         {module}\
         pidfile {dir}/slapd.pid\n\
         argsfile {dir}/slapd.args\n\
         database mdb\n\
         maxsize 16777216\n\
         suffix \"{SUFFIX}\"\n\
         rootdn \"{BIND_DN}\"\n\
         rootpw {root_password}\n\
         directory {dir}/data\n\
         access to * by anonymous auth by users read by * none\n"
    )
}

/// The TLS files slapd reads: a fresh test CA and a server certificate for
/// `localhost` and `127.0.0.1` signed by it.
struct TlsFiles {
    ca: PathBuf,
    certificate: PathBuf,
    key: PathBuf,
}

impl TlsFiles {
    /// slapd.conf's global TLS directives (its `olcTLS*` attributes in cn=config).
    fn slapd_directives(&self) -> String {
        format!(
            "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
            self.ca.display(),
            self.certificate.display(),
            self.key.display()
        )
    }
}

fn write_tls_files(dir: &Path) -> io::Result<TlsFiles> {
    fs::create_dir_all(dir)?;
    let ca = TestCa::new("Delius directory test CA");
    let (certificate, key) = ca.server_certificate(&["localhost", "127.0.0.1"]);
    let files = TlsFiles { ca: dir.join("ca.pem"), certificate: dir.join("server.pem"), key: dir.join("server.key") };
    fs::write(&files.ca, &ca.cert_pem)?;
    fs::write(&files.certificate, certificate)?;
    fs::write(&files.key, key)?;
    Ok(files)
}
