//! Errors as `{"status", "message"[, "fields"]}` JSON, mapped in this one place.

use lambda_http::http::{StatusCode, header::CONTENT_TYPE};
use lambda_http::{Body, Response};
use serde::Serialize;

/// One bean-validation style field failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Constraint name, e.g. `NotBlank`.
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    pub field: String,
}

/// Everything an HTTP function can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("Validation failure")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Unexpected failures. The detail is logged, never sent to the caller.
    #[error("{0}")]
    Internal(String),
    /// The database or another dependency could not be reached in time.
    #[error("{0}")]
    Unavailable(String),
}

#[derive(Serialize)]
struct Problem<'a> {
    status: u16,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a [FieldError]>,
}

impl ApiError {
    pub fn not_found(entity: &str, field: &str, value: impl std::fmt::Display) -> Self {
        ApiError::NotFound(format!("{entity} with {field} of {value} not found"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                "Internal server error".to_string()
            }
            ApiError::Unavailable(detail) => {
                tracing::error!(error = %detail, "dependency unavailable");
                "Service temporarily unavailable".to_string()
            }
            other => other.to_string(),
        };
        let fields = match &self {
            ApiError::Validation(fields) => Some(fields.as_slice()),
            _ => None,
        };
        json_response(status, &Problem { status: status.as_u16(), message: &message, fields })
    }
}

/// A JSON response with `Content-Type: application/json`.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| String::from("{}"));
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::Text(text))
        .expect("static response parts are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response<Body>) -> serde_json::Value {
        match r.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn problems_carry_status_message_and_fields() {
        let r = ApiError::not_found("Person", "crn", "X1").into_response();
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(body(&r), serde_json::json!({"status":404,"message":"Person with crn of X1 not found"}));

        let r = ApiError::Validation(vec![FieldError {
            kind: "NotBlank".into(),
            message: "must not be blank".into(),
            field: "notes".into(),
        }])
        .into_response();
        assert_eq!(
            body(&r),
            serde_json::json!({"status":400,"message":"Validation failure",
                "fields":[{"type":"NotBlank","message":"must not be blank","field":"notes"}]})
        );
    }

    #[test]
    fn internal_detail_is_not_sent() {
        let r = ApiError::Internal("relation \"contact\" does not exist".into()).into_response();
        assert_eq!(r.status(), 500);
        assert_eq!(body(&r), serde_json::json!({"status":500,"message":"Internal server error"}));
    }
}
