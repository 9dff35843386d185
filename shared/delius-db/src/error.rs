use std::time::Duration;

use tokio_postgres::error::SqlState;

use crate::config::ConfigError;

/// Errors from the data-access layer. Messages never carry credentials.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not read the database credentials: {0}")]
    Credentials(String),
    #[error("could not connect to the database within {0:?}")]
    ConnectTimeout(Duration),
    /// `reason` is the whole chain of causes (e.g. the TLS verification's).
    #[error("could not connect to the database at {host}: {reason}")]
    Connect {
        host: String,
        reason: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("TLS to the database is misconfigured: {0}")]
    Tls(String),
    #[error("the database did not finish within the deadline of {0:?}")]
    Deadline(Duration),
    #[error("no database connection available: {0}")]
    Pool(String),
    #[error("database error: {}", server_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{0}")]
    NotFound(String),
    /// A write that had to change a row changed none (a row changed or went
    /// meanwhile): its statement failed, so the transaction rolled back.
    #[error("{0}")]
    NothingWritten(String),
    /// Another transaction took what this one needed at the same moment;
    /// the whole transaction may well succeed if tried again.
    #[error("{0}")]
    Contended(String),
    #[error("migration failed: {0}")]
    Migration(String),
}

/// tokio-postgres says only "db error" for what the server reported: its
/// SQLSTATE and message are what a log reader needs.
fn server_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

impl DbError {
    /// A failed connection to `host`, with every cause spelled out:
    /// tokio-postgres's own message ("error performing TLS handshake", "db
    /// error") says little without them.
    pub fn connect(host: String, source: tokio_postgres::Error) -> DbError {
        let mut reason = source.to_string();
        let mut cause = std::error::Error::source(&source);
        while let Some(e) = cause {
            reason.push_str(": ");
            reason.push_str(&e.to_string());
            cause = e.source();
        }
        DbError::Connect { host, reason, source }
    }

    /// Failures that may well succeed if the same work is tried again:
    /// serialization and lock conflicts, lock waits and statements that
    /// reached their timeout, lost or unavailable connections, deadlines.
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::ConnectTimeout(_)
            | DbError::Connect { .. }
            | DbError::Pool(_)
            | DbError::Deadline(_)
            | DbError::Contended(_) => true,
            DbError::Postgres(e) => {
                if e.is_closed() {
                    return true;
                }
                matches!(
                    e.code(),
                    Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                        || *c == SqlState::T_R_DEADLOCK_DETECTED
                        || *c == SqlState::LOCK_NOT_AVAILABLE
                        || *c == SqlState::QUERY_CANCELED
                        || *c == SqlState::ADMIN_SHUTDOWN
                        || *c == SqlState::CANNOT_CONNECT_NOW
                        || *c == SqlState::TOO_MANY_CONNECTIONS
                )
            }
            _ => false,
        }
    }

    /// A unique constraint refused the row (for example a concurrent insert won).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Postgres(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION))
    }
}
