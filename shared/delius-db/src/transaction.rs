//! Write transactions that cost no round trip of their own.
//!
//! Between a Lambda function and the database every round trip costs about a
//! millisecond, so `BEGIN` is not sent on its own: it goes out in the same flight as the work's first statements ([`Transaction::begin`]; tokio-postgres sends
//! a request when its future is first polled and pipelines requests polled
//! together; the server runs them in order). Every write transaction (the
//! HTTP writes and the allocations, through [`crate::audit::audited`]) is
//! opened here, in one place.
//!
//! The transaction owns its pooled connection. Should it be dropped before
//! `COMMIT` or `ROLLBACK` went out (a cancelled request), the connection is
//! taken out of the pool and closed, so the server rolls back and no later
//! request inherits an open transaction.

use std::future::Future;
use std::ops::Deref;

use crate::db::Client;
use crate::error::DbError;

pub struct Transaction {
    /// `None` once the transaction has ended (the connection is handed back).
    client: Option<Client>,
    /// `BEGIN` with the database's `SET LOCAL` bounds on lock and statement
    /// waits ([`crate::Database::begin_statement`]).
    begin: String,
}

impl Transaction {
    /// Opens the transaction: poll this together with the work's first
    /// statements (`tokio::join!(biased; tx.begin(), work)`) so that `BEGIN`
    /// goes out first, in the same flight.
    pub fn begin(&self) -> impl Future<Output = Result<(), DbError>> + '_ {
        let sent = self.connection().batch_execute(&self.begin);
        async move { sent.await.map_err(DbError::from) }
    }

    /// A transaction on `client`, opened by `begin` (see
    /// [`crate::Database::begin_statement`]); nothing is sent until
    /// [`Transaction::begin`].
    pub fn new(client: Client, begin: String) -> Transaction {
        Transaction { client: Some(client), begin }
    }

    fn connection(&self) -> &tokio_postgres::Client {
        self.client.as_deref().map(|wrapper| &**wrapper).expect("the transaction has not ended")
    }

    /// Commits; the connection is free again. When `COMMIT` fails the server
    /// has rolled the transaction back: the connection stays with the
    /// transaction, for [`Transaction::rollback_then`] to write what must
    /// outlive the failure.
    pub async fn commit(&mut self) -> Result<(), DbError> {
        self.connection().batch_execute("COMMIT").await?;
        self.end(true);
        Ok(())
    }

    /// Rolls back, then runs `after` on the bare connection in the same
    /// flight (for example the failure audit row, which must outlive the
    /// rollback). A failed rollback is logged; the connection is then closed.
    pub async fn rollback_then<T>(mut self, after: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
        let client = self.connection();
        let rollback = client.batch_execute("ROLLBACK");
        let (rolled_back, answer) = tokio::join!(biased; rollback, after(client));
        if let Err(e) = &rolled_back {
            tracing::warn!(error = %e, "rollback failed");
        }
        self.end(rolled_back.is_ok());
        answer
    }

    /// Rolls back (nothing of the work is kept).
    pub async fn rollback(self) {
        self.rollback_then(async |_| {}).await
    }

    /// Hands the connection back to the pool, or closes it when the
    /// transaction may still be open on it.
    fn end(&mut self, clean: bool) {
        if let Some(client) = self.client.take()
            && !clean
        {
            drop(deadpool::managed::Object::take(client));
        }
    }
}

impl Deref for Transaction {
    type Target = tokio_postgres::Client;

    fn deref(&self) -> &tokio_postgres::Client {
        self.connection()
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // Still set: neither COMMIT nor ROLLBACK went out.
        self.end(false);
    }
}
