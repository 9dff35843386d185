//! Write transactions that cost no round trip of their own.
//!
//! Between a Lambda function and the database every round trip costs about a
//! millisecond, so neither `BEGIN` nor `COMMIT` is sent on its own: `BEGIN`
//! goes out in the same flight as the work's first statements
//! ([`Transaction::begin`]), `COMMIT` in the same flight as its last ones
//! ([`Transaction::commit_with`]). tokio-postgres sends a request when its
//! future is first polled and pipelines requests polled together; the server
//! runs them in order. Every write transaction (the HTTP writes and the
//! allocations, through [`crate::audit::audited`]) is opened and ended here,
//! in one place.
//!
//! The transaction owns its pooled connection. Should it be dropped while
//! the transaction may still be open on the server (a cancelled request), the
//! connection is taken out of the pool and closed, so the server rolls back
//! and no later request inherits an open transaction.

use std::future::Future;
use std::ops::Deref;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use tokio_postgres::error::SqlState;

use crate::db::Client;
use crate::error::DbError;
use crate::statement::Connection;

/// A data-modifying statement with `RETURNING` (given as a literal) turned
/// into one that fails when it wrote no row: the count of what it returned
/// divides one, so nothing written is a division by zero (SQLSTATE 22012)
/// and the server aborts the transaction. This is how a check that once ran
/// in Rust between a write and `COMMIT` (an optimistic lock lost, a reference
/// row missing) moves into the statement, so the write can go out in the same
/// flight as `COMMIT` ([`nothing_written`] recognises the failure). The count
/// is data, so the planner cannot fold the division away or raise it early.
macro_rules! must_write {
    ($write:expr) => {
        concat!("WITH written AS (", $write, ") SELECT 1 / count(*)::int AS written FROM written")
    };
}
pub(crate) use must_write;

/// The failure of a [`must_write!`] statement that wrote nothing.
pub(crate) fn nothing_written(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::DIVISION_BY_ZERO)
}

pub struct Transaction {
    /// `None` once the connection is handed back.
    client: Option<Client>,
    /// `BEGIN` with the database's `SET LOCAL` bounds on lock and statement
    /// waits ([`crate::Database::begin_statement`]).
    begin: String,
    /// Set when the server has ended the transaction (committed, or rolled
    /// back because a statement of the `COMMIT` flight failed): the
    /// connection is clean. An atomic, not a `Cell`, so `&Transaction` stays
    /// `Send` across awaits.
    ended: AtomicBool,
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
        Transaction { client: Some(client), begin, ended: AtomicBool::new(false) }
    }

    fn connection(&self) -> &Connection {
        self.client.as_deref().expect("the transaction has not handed its connection back")
    }

    /// Whether the server has ended the transaction (see [`Transaction::commit_with`]).
    pub fn has_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Sends the work's last statements and `COMMIT` in one flight, and
    /// answers `work`'s result: `Ok` only when `work` succeeded and `COMMIT`
    /// did too.
    ///
    /// `work` is polled first, once, before `COMMIT` is sent, so every
    /// statement it sends when first polled goes out ahead of `COMMIT`: it
    /// must be a join of statement futures (`futures_util::join!`), never
    /// statements awaited one after another (a later one would run after
    /// `COMMIT`, outside the transaction).
    ///
    /// The server runs the flight in order. When one of its statements fails
    /// the transaction is aborted, the later ones fail too and `COMMIT`
    /// answers with the tag `ROLLBACK`, not an error; so success is judged
    /// from `work`'s own result, never from `COMMIT`'s. That puts `work`
    /// under a rule: it fails exactly when one of its statements failed on
    /// the server. Any check of what a write did belongs in its SQL
    /// ([`must_write!`], a constraint), not in Rust between the write and
    /// `COMMIT`, where it would come too late.
    ///
    /// After an error the server has rolled back, or the connection is lost:
    /// [`Transaction::rollback_then`] writes what must outlive the failure
    /// (with no `ROLLBACK` of its own when the server already ended the
    /// transaction). Send nothing else on the transaction after this.
    pub async fn commit_with<T, E: From<DbError>>(&self, work: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        let mut work = pin!(work);
        // The first poll sends the work's statements. A work that fails
        // before it sent anything must not be followed by COMMIT.
        let first = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await;
        let done = match first {
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Ready(Ok(value)) => {
                // Nothing pending: COMMIT on its own.
                self.connection().batch_execute("COMMIT").await.map_err(|e| E::from(e.into()))?;
                self.ended.store(true, Ordering::Release);
                return Ok(value);
            }
            Poll::Pending => {
                let commit = self.connection().batch_execute("COMMIT");
                tokio::join!(biased; work, commit)
            }
        };
        match done {
            (Ok(value), Ok(())) => {
                self.ended.store(true, Ordering::Release);
                Ok(value)
            }
            // A failed statement aborted the transaction; COMMIT rolled it back.
            (Err(e), Ok(())) => {
                self.ended.store(true, Ordering::Release);
                Err(e)
            }
            // COMMIT itself failed (the server rolled back) or the connection
            // is gone: rollback_then finds out.
            (Ok(_), Err(commit)) => Err(E::from(commit.into())),
            (Err(e), Err(commit)) => {
                tracing::warn!(error = %commit, "commit failed after a failed write");
                Err(e)
            }
        }
    }

    /// Rolls back, then runs `after` on the bare connection in the same
    /// flight (for example the failure audit row, which must outlive the
    /// rollback); when the server has ended the transaction already, only
    /// `after`. A failed rollback is logged; the connection is then closed.
    pub async fn rollback_then<T>(mut self, after: impl AsyncFnOnce(&Connection) -> T) -> T {
        let client = self.connection();
        if self.has_ended() {
            let answer = after(client).await;
            self.end(true);
            return answer;
        }
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

    /// Hands the connection back to the pool once the server has ended the
    /// transaction ([`Transaction::commit_with`]); otherwise closes it.
    pub fn finish(mut self) {
        let clean = self.has_ended();
        self.end(clean);
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
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.connection()
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // Still set: the connection was not handed back.
        let clean = self.has_ended();
        self.end(clean);
    }
}
