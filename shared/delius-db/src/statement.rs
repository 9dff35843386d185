//! How statements are sent: the one API every SQL call site uses.
//!
//! Two modes, chosen per deployment (`DB_PREPARED_STATEMENTS`) and carried by
//! each pooled [`Connection`]:
//!
//! - **unnamed** (the default): `query_typed`, Parse/Bind/Execute of the
//!   unnamed statement in one flight. Nothing is left on the server
//!   connection, so a transaction-mode pooler (PgBouncer) may run the next
//!   statement on another server connection, and RDS Proxy does not pin the
//!   session. The price: PostgreSQL parses and plans the statement on every
//!   request.
//! - **prepared**: each statement is prepared (named, with its parameter
//!   types) the first time a connection sends it, kept in the connection's
//!   statement cache, and from then on only bound and executed, so it is
//!   parsed once per connection and PostgreSQL's plan cache applies (custom
//!   plans for the first five executions, then a generic plan when that is not
//!   costlier). Only for connections straight to PostgreSQL, or through a
//!   pooler that tracks prepared statements (PgBouncer 1.21 and later with
//!   `max_prepared_statements`); behind RDS Proxy every connection that
//!   prepares is pinned to its server connection.
//!
//! Pipelining is the same in both modes: a warm statement goes out when its
//! future is first polled, so statements polled together leave in one flight.
//! The first use of a statement on a connection costs one round trip more
//! (the Parse/Describe of the prepare).

use std::ops::{Deref, DerefMut};

use deadpool_postgres::ClientWrapper;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Error, Row};

/// A pooled connection and how it sends statements. Derefs to
/// [`tokio_postgres::Client`], as the pool's connections always did.
#[derive(Debug)]
pub struct Connection {
    client: ClientWrapper,
    prepared: bool,
}

impl Connection {
    /// `prepared`: prepare each statement once on this connection (see the
    /// module documentation), rather than sending it unnamed every time.
    pub fn new(client: ClientWrapper, prepared: bool) -> Connection {
        Connection { client, prepared }
    }

    /// Whether statements are prepared on this connection.
    pub fn prepares_statements(&self) -> bool {
        self.prepared
    }

    /// A transaction of deadpool-postgres, which shares the connection's
    /// statement cache.
    pub async fn transaction(&mut self) -> Result<deadpool_postgres::Transaction<'_>, Error> {
        self.client.transaction().await
    }

    /// Runs `sql` with its typed parameters and returns the rows: a drop-in
    /// for [`tokio_postgres::Client::query_typed`], sent unnamed or as a
    /// prepared statement depending on the connection's mode.
    ///
    /// A prepared statement whose result columns changed under it (a
    /// migration altered a table: "cached plan must not change result type")
    /// is prepared again and run once more, after the connection's whole
    /// statement cache is dropped (a schema change rarely touches one
    /// statement only). Inside a transaction that failure has already aborted
    /// the transaction; the original error is then returned.
    pub async fn query_statement(&self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> Result<Vec<Row>, Error> {
        if !self.prepared {
            return self.client.query_typed(sql, params).await;
        }
        let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        let statement = self.client.prepare_typed_cached(sql, &types).await?;
        match self.client.query(&statement, &values).await {
            Err(e) if is_stale(&e) => {
                tracing::warn!(error = %e, "a prepared statement went stale; the connection's statements are prepared again");
                self.client.statement_cache.clear();
                let statement = self.client.prepare_typed_cached(sql, &types).await?;
                match self.client.query(&statement, &values).await {
                    Err(retry) if retry.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION) => Err(e),
                    other => other,
                }
            }
            other => other,
        }
    }
}

/// PostgreSQL's refusal to run a prepared statement whose result type a
/// schema change altered.
fn is_stale(e: &Error) -> bool {
    e.code() == Some(&SqlState::FEATURE_NOT_SUPPORTED)
        && e.as_db_error().is_some_and(|db| db.message().contains("cached plan must not change result type"))
}

impl Deref for Connection {
    type Target = tokio_postgres::Client;

    fn deref(&self) -> &tokio_postgres::Client {
        &self.client
    }
}

/// Migrations and transactions need the client mutably.
impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut tokio_postgres::Client {
        &mut self.client
    }
}
