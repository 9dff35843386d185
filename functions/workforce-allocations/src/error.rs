//! Why a message was not recorded, and what that means for it.

use delius_db::DbError;

/// The outcome of a message that is not a plain success.
///
/// [`AllocationError::is_transient`] errors are retried in-process; an
/// [`AllocationError::Ignorable`] one consumes the message; everything else
/// reports the message as failed, so SQS redelivers it and finally sends it to
/// the dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum AllocationError {
    /// The SNS envelope or the domain event in it cannot be read.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The detail URL is not in `ALLOWED_DETAIL_URLS`; no request is made.
    #[error("Unexpected detail URL: {0}")]
    DetailUrlNotAllowed(String),
    /// The detail GET failed: an HTTP error status (404 included), a timeout
    /// or a connection failure.
    #[error("allocation detail request failed: {0}")]
    Workload(String),
    /// No client-credentials token could be had from HMPPS Auth.
    #[error("token request failed: {0}")]
    Token(String),
    /// The detail has none of the keys that identify an allocation kind.
    #[error("Unexpected response from allocation service.")]
    UnexpectedDetail,
    /// The detail has the shape of a kind but not its fields.
    #[error("Unexpected response from allocation service: {0}")]
    InvalidDetail(String),
    #[error("No CRN available in person reference")]
    MissingCrn,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotActive(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    StaffNotInTeam(String),
    /// A business reason to drop the message: it is consumed, not retried.
    #[error("{reason}")]
    Ignorable { reason: String, properties: Vec<(&'static str, String)> },
    /// A row changed under us (its `row_version` moved on).
    #[error("{0}")]
    OptimisticLock(String),
    #[error(transparent)]
    Db(DbError),
}

impl AllocationError {
    /// Worth another attempt in this invocation.
    pub fn is_transient(&self) -> bool {
        match self {
            AllocationError::Workload(_) | AllocationError::Token(_) | AllocationError::OptimisticLock(_) => true,
            AllocationError::Db(e) => e.is_transient(),
            _ => false,
        }
    }

    pub fn ignorable(reason: &str, properties: Vec<(&'static str, String)>) -> Self {
        AllocationError::Ignorable { reason: reason.to_string(), properties }
    }
}

impl From<DbError> for AllocationError {
    fn from(e: DbError) -> Self {
        match e {
            // Missing reference data (contact type, business interaction...).
            DbError::NotFound(message) => AllocationError::NotFound(message),
            other => AllocationError::Db(other),
        }
    }
}

impl From<tokio_postgres::Error> for AllocationError {
    fn from(e: tokio_postgres::Error) -> Self {
        AllocationError::Db(DbError::Postgres(e))
    }
}
