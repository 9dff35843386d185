//! The frame every HTTP function runs its work in: the fail-closed role
//! check, error mapping in one place, and the request outcome metric.

use std::future::Future;

use delius_db::DbError;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::auth::{AuthorizerContext, require_role};
use crate::problem::ApiError;
use crate::routes;
use crate::telemetry;

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        if e.is_transient() { ApiError::Unavailable(e.to_string()) } else { ApiError::Internal(e.to_string()) }
    }
}

/// Runs `work` for the function `function` (its crate name in the route
/// table): refuses with 403 unless the authorizer context carries the route's
/// role, turns errors into problem JSON, and counts the outcome.
pub async fn serve<F, Fut>(function: &'static str, request: Request, work: F) -> Response<Body>
where
    F: FnOnce(Request, AuthorizerContext) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let response = match routes::by_function(function) {
        None => ApiError::Internal(format!("{function} is not in the route table")).into_response(),
        Some(route) => match require_role(&request, route.role) {
            Err(e) => e.into_response(),
            Ok(caller) => work(request, caller).await.unwrap_or_else(ApiError::into_response),
        },
    };
    telemetry::request_outcome(function, response.status().as_u16());
    response
}

/// A path parameter, or 400 when it is missing or blank.
pub fn path_param(request: &Request, name: &str) -> Result<String, ApiError> {
    request
        .path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::BadRequest(format!("Missing path parameter {name}")))
}

/// An optional query string parameter.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request.query_string_parameters_ref().and_then(|q| q.first(name)).map(str::to_owned)
}
