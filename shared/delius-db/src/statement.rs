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
//! Pipelining is the same in both modes: every statement goes out when its
//! future is first polled, so statements polled together leave in one flight
//! and a write transaction can send `COMMIT` right behind its last writes. The
//! first time a connection meets a statement it runs it unnamed and prepares
//! it in the same flight (no round trip of its own); from the next time on the
//! prepared statement is only bound and executed.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use deadpool_postgres::ClientWrapper;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Error, Row, Statement};

/// A pooled connection and how it sends statements. Derefs to
/// [`tokio_postgres::Client`], as the pool's connections always did.
#[derive(Debug)]
pub struct Connection {
    client: ClientWrapper,
    prepared: bool,
    /// The statements prepared on this connection, by SQL text.
    statements: Mutex<HashMap<String, (Vec<Type>, Statement)>>,
}

impl Connection {
    /// `prepared`: prepare each statement once on this connection (see the
    /// module documentation), rather than sending it unnamed every time.
    pub fn new(client: ClientWrapper, prepared: bool) -> Connection {
        Connection { client, prepared, statements: Mutex::default() }
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
    /// prepared statement depending on the connection's mode. Whatever the
    /// mode, the statement is sent on the first poll.
    ///
    /// A prepared statement whose result columns changed under it (a
    /// migration altered a table: "cached plan must not change result type")
    /// is forgotten with every other statement of the connection (a schema
    /// change rarely touches one statement only), and run once more as on
    /// first use. Inside a transaction that failure has already aborted the
    /// transaction; the original error is then returned.
    pub async fn query_statement(&self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> Result<Vec<Row>, Error> {
        if !self.prepared {
            return self.client.query_typed(sql, params).await;
        }
        let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
        let Some(statement) = self.prepared_statement(sql, &types) else {
            return self.run_and_prepare(sql, &types, params).await;
        };
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        match self.client.query(&statement, &values).await {
            Err(e) if is_stale(&e) => {
                tracing::warn!(error = %e, "a prepared statement went stale; the connection's statements are prepared again");
                lock(&self.statements).clear();
                match self.run_and_prepare(sql, &types, params).await {
                    Err(retry) if retry.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION) => Err(e),
                    other => other,
                }
            }
            other => other,
        }
    }

    fn prepared_statement(&self, sql: &str, types: &[Type]) -> Option<Statement> {
        lock(&self.statements).get(sql).filter(|(known, _)| known.as_slice() == types).map(|(_, s)| s.clone())
    }

    /// First use on this connection: the statement runs unnamed and is
    /// prepared in the same flight (both are sent on the first poll), so
    /// preparing costs no round trip; the prepared statement serves the next
    /// uses.
    async fn run_and_prepare(
        &self,
        sql: &str,
        types: &[Type],
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, Error> {
        let (prepared, rows) =
            tokio::join!(self.client.prepare_typed(sql, types), self.client.query_typed(sql, params));
        if let Ok(statement) = prepared {
            lock(&self.statements).insert(sql.to_owned(), (types.to_vec(), statement));
        }
        rows
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
