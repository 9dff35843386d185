//! The connection pool. Nothing here touches the network until the first
//! [`Database::client`] call.
//!
//! Behind a transaction-mode pooler (PgBouncer, RDS Proxy) consecutive
//! transactions of one connection may run on different server connections, so
//! by default nothing here leaves state behind a transaction: every statement
//! is typed and unnamed, nothing is prepared, and the timeouts are `SET LOCAL`
//! (see [`crate::transaction`]). Connected straight to PostgreSQL, a
//! deployment may have statements prepared once per connection instead
//! (`DB_PREPARED_STATEMENTS`, see [`crate::statement`]).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_postgres::ClientWrapper;
use tokio::sync::OnceCell;
use tokio_postgres::NoTls;
use tokio_postgres::types::Type;

use crate::config::{CredentialSource, DatabaseConfig, Timeouts};
use crate::error::DbError;
use crate::secrets;
use crate::statement::Connection;
use crate::tls::{self, RustlsConnect, TlsConfig};

/// A pooled connection: derefs to [`Connection`] (which sends statements in
/// the deployment's mode) and through it to [`tokio_postgres::Client`].
pub type Client = managed::Object<DeliusManager>;

/// Opens connections on demand, resolving the credentials (and fetching the
/// secret) once, the first time a connection is needed.
pub struct DeliusManager {
    source: CredentialSource,
    host_override: Option<String>,
    tls: TlsConfig,
    connect_timeout: Duration,
    /// `DB_PREPARED_STATEMENTS`: every connection opened prepares its statements.
    prepared_statements: bool,
    resolved: OnceCell<(tokio_postgres::Config, Option<RustlsConnect>)>,
    /// When work was last abandoned at its deadline (see [`Database::within_deadline`]).
    abandoned: Arc<Mutex<Option<Instant>>>,
}

impl DeliusManager {
    async fn pg_config(&self) -> Result<&(tokio_postgres::Config, Option<RustlsConnect>), DbError> {
        self.resolved
            .get_or_try_init(|| async {
                let mut config = match &self.source {
                    CredentialSource::Url(url) => {
                        let (url, _, _) = tls::split_url(url);
                        url.parse::<tokio_postgres::Config>().map_err(|e| {
                            DbError::Credentials(format!("DATABASE_URL is not a valid PostgreSQL URL: {e}"))
                        })?
                    }
                    CredentialSource::SecretsManager { secret_arn } => {
                        secrets::secret_json::<secrets::RdsSecret>(secret_arn).await?.to_pg_config()
                    }
                };
                if let Some(host) = &self.host_override {
                    // Same port, user and database: RDS Proxy takes the instance's.
                    let port = config.get_ports().first().copied().unwrap_or(5432);
                    let mut proxied = tokio_postgres::Config::new();
                    proxied.host(host).port(port);
                    if let Some(user) = config.get_user() {
                        proxied.user(user);
                    }
                    if let Some(password) = config.get_password() {
                        proxied.password(password);
                    }
                    if let Some(dbname) = config.get_dbname() {
                        proxied.dbname(dbname);
                    }
                    config = proxied;
                }
                config.connect_timeout(self.connect_timeout);
                config.ssl_mode(self.tls.mode.transport());
                // Built here, at the first connection, not at init: cold start matters.
                let connector = tls::connector(&self.tls).map_err(DbError::Tls)?;
                Ok((config, connector))
            })
            .await
    }
}

impl managed::Manager for DeliusManager {
    type Type = Connection;
    type Error = DbError;

    async fn create(&self) -> Result<Connection, DbError> {
        let timeout = self.connect_timeout;
        // Boxed: the connect (credentials, TLS handshake) is a future of many
        // kilobytes, and without the box every `Database::client()` future,
        // and every handler future holding one, carries it and is copied
        // whole as it moves, on every request, for a path taken once per
        // connection.
        let connect = Box::pin(async {
            let (config, connector) = self.pg_config().await?;
            let host = hosts(config);
            // Two arms: the connection's type depends on the stream's.
            match connector {
                Some(tls) => {
                    let (client, connection) =
                        config.connect(tls.clone()).await.map_err(|e| DbError::connect(host, e))?;
                    Ok::<_, DbError>((client, tokio::spawn(drive(connection))))
                }
                None => {
                    let (client, connection) = config.connect(NoTls).await.map_err(|e| DbError::connect(host, e))?;
                    Ok((client, tokio::spawn(drive(connection))))
                }
            }
        });
        let (client, driver) =
            tokio::time::timeout(timeout, connect).await.map_err(|_| DbError::ConnectTimeout(timeout))??;
        Ok(Connection::new(ClientWrapper::new(client, driver), self.prepared_statements))
    }

    async fn recycle(&self, client: &mut Connection, metrics: &Metrics) -> RecycleResult<DbError> {
        if client.is_closed() {
            return Err(RecycleError::message("connection closed"));
        }
        // Work abandoned at its deadline may have left a query in flight on
        // this connection (a stalled server or path): never reuse a connection
        // that was checked out when that happened.
        let last_checkout = metrics.recycled.unwrap_or(metrics.created);
        let abandoned = *self.abandoned.lock().unwrap_or_else(|e| e.into_inner());
        if abandoned.is_some_and(|at| at >= last_checkout) {
            return Err(RecycleError::message("connection was in use when work was abandoned"));
        }
        Ok(())
    }
}

async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(e) = connection.await {
        tracing::warn!(error = %e, "database connection closed");
    }
}

fn hosts(config: &tokio_postgres::Config) -> String {
    let names: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    names.join(",")
}

/// The Delius database of one function container.
pub struct Database {
    pool: managed::Pool<DeliusManager>,
    delius_username: String,
    service_user_id: OnceCell<i64>,
    timeouts: Timeouts,
    set_local: String,
    abandoned: Arc<Mutex<Option<Instant>>>,
}

impl Database {
    /// Builds the pool. No connection is opened and no secret is read here.
    pub fn new(config: DatabaseConfig) -> Result<Self, DbError> {
        let abandoned = Arc::new(Mutex::new(None));
        let manager = DeliusManager {
            source: config.credentials,
            host_override: config.host_override,
            tls: config.tls,
            connect_timeout: config.connect_timeout,
            prepared_statements: config.prepared_statements,
            resolved: OnceCell::new(),
            abandoned: abandoned.clone(),
        };
        let pool = managed::Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(deadpool::Runtime::Tokio1)
            // Waiting for a free connection is bounded too.
            .wait_timeout(Some(config.timeouts.checkout))
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        let set_local = format!(
            "SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {}",
            config.timeouts.lock.as_millis(),
            config.timeouts.statement.as_millis()
        );
        Ok(Database {
            pool,
            delius_username: config.delius_username,
            service_user_id: OnceCell::new(),
            timeouts: config.timeouts,
            set_local,
            abandoned,
        })
    }

    /// A connection from the pool, opened now if none is idle.
    pub async fn client(&self) -> Result<Client, DbError> {
        self.pool.get().await.map_err(|e| match e {
            managed::PoolError::Backend(e) => e,
            managed::PoolError::Timeout(_) => {
                DbError::Pool(format!("timed out after {:?} waiting for a connection", self.timeouts.checkout))
            }
            other => DbError::Pool(other.to_string()),
        })
    }

    /// `BEGIN` followed by the `SET LOCAL` bounds, as one simple-query batch:
    /// for transactions that send it pipelined with their first statements.
    pub fn begin_statement(&self) -> String {
        format!("BEGIN; {}", self.set_local)
    }

    /// Runs one request's or record's database work under its client-side
    /// deadline (`DB_WORK_TIMEOUT_MS`). When it passes, the work is abandoned:
    /// a transient [`DbError::Deadline`] (503, or a retryable record), a log
    /// line, and every connection that was in use is replaced rather than
    /// reused, since it may still hold the abandoned query.
    pub async fn within_deadline<T, E: From<DbError>>(&self, work: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        match tokio::time::timeout(self.timeouts.work, work).await {
            Ok(result) => result,
            Err(_) => {
                *self.abandoned.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                tracing::warn!(
                    deadline_ms = self.timeouts.work.as_millis() as u64,
                    "database work abandoned at its deadline; its connection will be replaced"
                );
                Err(DbError::Deadline(self.timeouts.work).into())
            }
        }
    }

    /// `user_.user_id` of the service's own Delius user, looked up once per container.
    pub async fn service_user_id(&self, client: &Connection) -> Result<i64, DbError> {
        self.service_user_id
            .get_or_try_init(|| async {
                let rows = client
                    .query_statement(
                        "SELECT user_id FROM user_ WHERE distinguished_name = $1",
                        &[(&self.delius_username, Type::VARCHAR)],
                    )
                    .await?;
                rows.first()
                    .map(|r| r.get::<_, i64>(0))
                    .ok_or_else(|| DbError::NotFound(format!("Delius user {} not found", self.delius_username)))
            })
            .await
            .copied()
    }

    pub fn delius_username(&self) -> &str {
        &self.delius_username
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Connections currently open (idle or in use).
    pub fn open_connections(&self) -> usize {
        self.pool.status().size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every handler awaits `client()`; its future is part of theirs and is
    /// copied as they move. The connect path is boxed to keep it small
    /// (unboxed it was 13.7 kB).
    #[test]
    fn the_client_future_stays_small() {
        let config = DatabaseConfig {
            credentials: CredentialSource::Url("postgres://delius@127.0.0.1/delius".into()),
            pool_size: 1,
            connect_timeout: Duration::from_secs(1),
            delius_username: "delius".into(),
            tls: Default::default(),
            timeouts: Default::default(),
            host_override: None,
            prepared_statements: false,
        };
        let db = Database::new(config).unwrap();
        let future = db.client();
        let size = std::mem::size_of_val(&future);
        assert!(size <= 2048, "Database::client() future: {size} bytes");
    }
}
