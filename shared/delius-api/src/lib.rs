//! Lambda glue shared by the HTTP functions, kept apart from the data-access
//! crate so that it stays free of HTTP concerns.

pub mod auth;
pub mod body;
pub mod datetime;
pub mod handler;
pub mod problem;
pub mod routes;
pub mod telemetry;
pub mod validate;

pub use auth::{AuthorizerContext, require_role};
pub use problem::{ApiError, FieldError, json_response};

/// A person's or a staff member's name in a response body (`Name` in
/// `docs/openapi.yaml`, shared by the routes that answer with one).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Name {
    pub forename: String,
    pub surname: String,
}
