//! Fresh, migrated and seeded databases for tests.
//!
//! The server comes from `DATABASE_URL` (`scripts/with-postgres.sh` starts a
//! throwaway one when it is unset). The first test to need a database builds a
//! template database (migrations, reference data, both dev datasets) under an
//! advisory lock, so parallel test processes build it once; every test then
//! gets its own copy, `CREATE DATABASE … TEMPLATE …`, which takes milliseconds
//! and keeps tests from seeing each other's rows.

use delius_db::migrate::{self, Seed};
use std::time::Duration;

use delius_db::{CredentialSource, Database, DatabaseConfig};
use tokio_postgres::NoTls;

const TEMPLATE_LOCK: i64 = 0x00de_11a5_0000;

/// The server URL the harness works against.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!("DATABASE_URL is not set: run the tests with `make test` (scripts/with-postgres.sh starts PostgreSQL)")
    })
}

/// `url` with its database name replaced.
pub fn url_for_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("DATABASE_URL is a URL");
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test database server: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// The Delius user the Resettlement Passport functions act as (their
/// `DELIUS_USERNAME` default).
pub const RESETTLEMENT_PASSPORT_USER: &str = "ResettlementPassportAndDelius";

/// What a Resettlement Passport route's handler is given, over a fresh test
/// database: the pool a function builds (one connection, acting as the
/// service's Delius user). Keep the [`TestDb`] while the pool is in use:
/// dropping it removes the database.
pub async fn route_database() -> (TestDb, Database) {
    let test_db = TestDb::new().await;
    let db = test_db.database(RESETTLEMENT_PASSPORT_USER, 1);
    (test_db, db)
}

/// A Resettlement Passport function's database configuration with these
/// credentials and connect deadline, and the defaults otherwise (one
/// connection, no TLS settings, the default timeouts).
pub fn config_with(credentials: CredentialSource, connect_timeout: Duration) -> DatabaseConfig {
    DatabaseConfig {
        credentials,
        pool_size: 1,
        connect_timeout,
        delius_username: RESETTLEMENT_PASSPORT_USER.into(),
        tls: Default::default(),
        timeouts: Default::default(),
        host_override: None,
        prepared_statements: false,
    }
}

/// Which data a test database starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// No tables at all.
    Empty,
    /// Migrated, with reference data and both dev datasets.
    DevData,
}

/// A database of a test's own, dropped when the value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    server_url: String,
}

impl TestDb {
    /// A fresh copy of the migrated and seeded template.
    pub async fn new() -> TestDb {
        Self::with(Contents::DevData).await
    }

    /// An empty database (for migration tests).
    pub async fn empty() -> TestDb {
        Self::with(Contents::Empty).await
    }

    pub async fn with(contents: Contents) -> TestDb {
        let server_url = server_url();
        let admin = connect(&server_url).await;
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        match contents {
            Contents::Empty => {
                admin.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
            }
            Contents::DevData => {
                let template = ensure_template(&admin, &server_url).await;
                admin
                    .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
                    .await
                    .expect("copy the template database");
            }
        }
        let url = url_for_database(&server_url, &name);
        TestDb { name, url, server_url }
    }

    /// A plain connection, for arranging rows and asserting on them.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }

    /// The data-access crate's pool over this database, as a function would
    /// build it, acting as the Delius user `username`.
    pub fn database(&self, username: &str, pool_size: usize) -> Database {
        Database::new(self.config(username, pool_size)).expect("pool")
    }

    /// `DB_PREPARED_STATEMENTS=true` in the tests' environment has every
    /// such pool prepare its statements, so that a crate's tests can be run
    /// in that mode too.
    pub fn config(&self, username: &str, pool_size: usize) -> DatabaseConfig {
        // The URL's own sslmode/sslrootcert apply, as they would in a function.
        let mut config = DatabaseConfig::for_url(&self.url, pool_size, username).expect("a valid test database URL");
        config.prepared_statements = std::env::var("DB_PREPARED_STATEMENTS").is_ok_and(|v| v == "true");
        config
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs outside async code; a short-lived runtime on its own thread
        // removes the database so a long test run does not fill the server.
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok((client, connection)) = tokio_postgres::connect(&server_url, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

/// Builds the template database once per schema, seeds and day (the dev data
/// is dated relative to today), and returns its name.
async fn ensure_template(admin: &tokio_postgres::Client, server_url: &str) -> String {
    let day = delius_db::time::london_today().format("%Y%m%d");
    let template = format!("delius_tpl_{:016x}_{day}", migrate::fingerprint());
    admin.execute("SELECT pg_advisory_lock($1)", &[&TEMPLATE_LOCK]).await.expect("lock");
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .expect("look up template")
        .is_some();
    if !exists {
        let building = format!("{template}_building");
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).await.expect("drop");
        admin.batch_execute(&format!("CREATE DATABASE {building}")).await.expect("create template");
        {
            let mut client = connect(&url_for_database(server_url, &building)).await;
            migrate::migrate(&mut client).await.expect("migrate template");
            for seed in Seed::ALL {
                migrate::load_seed(&client, seed).await.unwrap_or_else(|e| panic!("seed {seed:?}: {e}"));
            }
        }
        // Publish under the final name only once complete; FORCE ends the
        // builder's connection if it is still closing.
        admin
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{building}'; \
                 ALTER DATABASE {building} RENAME TO {template}"
            ))
            .await
            .expect("publish template");
    }
    admin.execute("SELECT pg_advisory_unlock($1)", &[&TEMPLATE_LOCK]).await.expect("unlock");
    template
}
