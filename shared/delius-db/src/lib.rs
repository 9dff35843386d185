//! Data access to the Delius database, shared by every function.
//!
//! Building a [`Database`] touches neither the network nor Secrets Manager: the
//! credentials are resolved and the first connection opened on first use, so a
//! cold start stays cheap and a database outage fails requests, not the init.
//! All SQL of the project lives in this crate.

pub mod allocations;
pub mod audit;
pub mod case_detail;
pub mod config;
pub mod contact_log;
pub mod db;
pub mod error;
pub mod migrate;
pub mod secrets;
pub mod statement;
pub mod time;
pub mod tls;
pub mod transaction;

pub use config::{ConfigError, CredentialSource, DatabaseConfig, Timeouts};
pub use db::{Client, Database};
pub use error::DbError;
pub use statement::Connection;
pub use transaction::Transaction;
