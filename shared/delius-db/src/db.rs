//! The connection pool. Nothing here touches the network until the first
//! [`Database::client`] call.

use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_postgres::ClientWrapper;
use tokio::sync::OnceCell;
use tokio_postgres::NoTls;

use crate::config::{CredentialSource, DatabaseConfig};
use crate::error::DbError;
use crate::secrets;

/// A pooled connection: derefs to [`tokio_postgres::Client`] and offers
/// `prepare_cached`.
pub type Client = managed::Object<DeliusManager>;

/// Opens connections on demand, resolving the credentials (and fetching the
/// secret) once, the first time a connection is needed.
pub struct DeliusManager {
    source: CredentialSource,
    connect_timeout: Duration,
    resolved: OnceCell<tokio_postgres::Config>,
}

impl DeliusManager {
    async fn pg_config(&self) -> Result<&tokio_postgres::Config, DbError> {
        self.resolved
            .get_or_try_init(|| async {
                let mut config = match &self.source {
                    CredentialSource::Url(url) => url.parse::<tokio_postgres::Config>().map_err(|e| {
                        DbError::Credentials(format!("DATABASE_URL is not a valid PostgreSQL URL: {e}"))
                    })?,
                    CredentialSource::SecretsManager { secret_arn } => {
                        secrets::secret_json::<secrets::RdsSecret>(secret_arn).await?.to_pg_config()
                    }
                };
                config.connect_timeout(self.connect_timeout);
                Ok(config)
            })
            .await
    }
}

impl managed::Manager for DeliusManager {
    type Type = ClientWrapper;
    type Error = DbError;

    async fn create(&self) -> Result<ClientWrapper, DbError> {
        let timeout = self.connect_timeout;
        let connect = async {
            let config = self.pg_config().await?;
            config.connect(NoTls).await.map_err(DbError::Connect)
        };
        let (client, connection) =
            tokio::time::timeout(timeout, connect).await.map_err(|_| DbError::ConnectTimeout(timeout))??;
        let driver = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "database connection closed");
            }
        });
        Ok(ClientWrapper::new(client, driver))
    }

    async fn recycle(&self, client: &mut ClientWrapper, _: &Metrics) -> RecycleResult<DbError> {
        if client.is_closed() {
            return Err(RecycleError::message("connection closed"));
        }
        Ok(())
    }
}

/// The Delius database of one function container.
pub struct Database {
    pool: managed::Pool<DeliusManager>,
    delius_username: String,
    service_user_id: OnceCell<i64>,
}

impl Database {
    /// Builds the pool. No connection is opened and no secret is read here.
    pub fn new(config: DatabaseConfig) -> Result<Self, DbError> {
        let manager = DeliusManager {
            source: config.credentials,
            connect_timeout: config.connect_timeout,
            resolved: OnceCell::new(),
        };
        let pool = managed::Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(deadpool::Runtime::Tokio1)
            // Waiting for a free connection is bounded too.
            .wait_timeout(Some(config.connect_timeout * 2))
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        Ok(Database { pool, delius_username: config.delius_username, service_user_id: OnceCell::new() })
    }

    /// A connection from the pool, opened now if none is idle.
    pub async fn client(&self) -> Result<Client, DbError> {
        self.pool.get().await.map_err(|e| match e {
            managed::PoolError::Backend(e) => e,
            managed::PoolError::Timeout(_) => DbError::Pool("timed out waiting for a connection".into()),
            other => DbError::Pool(other.to_string()),
        })
    }

    /// `user_.user_id` of the service's own Delius user, looked up once per container.
    pub async fn service_user_id(&self, client: &tokio_postgres::Client) -> Result<i64, DbError> {
        self.service_user_id
            .get_or_try_init(|| async {
                let row = client
                    .query_opt("SELECT user_id FROM user_ WHERE distinguished_name = $1", &[&self.delius_username])
                    .await?;
                row.map(|r| r.get::<_, i64>(0))
                    .ok_or_else(|| DbError::NotFound(format!("Delius user {} not found", self.delius_username)))
            })
            .await
            .copied()
    }

    pub fn delius_username(&self) -> &str {
        &self.delius_username
    }

    /// Connections currently open (idle or in use).
    pub fn open_connections(&self) -> usize {
        self.pool.status().size
    }
}
