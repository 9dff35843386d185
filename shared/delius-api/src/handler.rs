//! The frame every HTTP function runs its work in: the fail-closed role
//! check, the body size limit, the database deadline, error mapping in one
//! place, panic containment and the request outcome metric.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use delius_db::case_detail::CaseDetailError;
use delius_db::{Database, DbError};
use futures_util::FutureExt;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::auth::require_role;
use crate::body;
use crate::problem::{ApiError, json_response};
use crate::routes;
use crate::telemetry;
use crate::validate::{TextKind, check_text};

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        if e.is_transient() { ApiError::Unavailable(e.to_string()) } else { ApiError::Internal(e.to_string()) }
    }
}

/// Several rows where Delius should hold one (two people with one NOMS
/// number, two active managers...) is a Delius data problem: 500.
impl From<CaseDetailError> for ApiError {
    fn from(e: CaseDetailError) -> Self {
        match e {
            CaseDetailError::Db(e) => e.into(),
            CaseDetailError::NotUnique(detail) => ApiError::Internal(detail),
        }
    }
}

/// Runs `work` for the function `function` (its crate name in the route
/// table): refuses with 403 unless the authorizer context carries the route's
/// role and with 413 a body over [`body::MAX_BODY_BYTES`], turns errors into
/// problem JSON, and counts the outcome.
///
/// `work` runs under `db`'s deadline ([`Database::within_deadline`]): here
/// rather than in each handler so that no route can forget it. Past it the
/// work is abandoned and the answer is a 503.
///
/// A panic in `work` is caught here and answered as a 500 (logged, and
/// counted as `Panics`): on Lambda an uncaught panic would fail the
/// invocation with no answer, and the same container serves the next request.
pub async fn serve<F, Fut>(function: &'static str, db: &Database, request: Request, work: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let response = match routes::by_function(function) {
        None => ApiError::Internal(format!("{function} is not in the route table")).into_response(),
        Some(route) => match require_role(&request, route.role).and_then(|_| body::check_size(request.body())) {
            Err(e) => e.into_response(),
            Ok(()) => match AssertUnwindSafe(db.within_deadline(work(request))).catch_unwind().await {
                Ok(result) => result.unwrap_or_else(ApiError::into_response),
                Err(panic) => {
                    let reason = panic_message(panic.as_ref());
                    telemetry::count("Panics", &[("Function", function)]);
                    ApiError::Internal(format!("handler panicked: {reason}")).into_response()
                }
            },
        },
    };
    telemetry::request_outcome(function, response.status().as_u16());
    response
}

/// [`serve`] for a GET of one thing named by one path parameter: the
/// parameter `name` (at most `max` characters, see [`path_param`]) is given
/// to `find`, and its answer is the 200 JSON body.
pub async fn serve_lookup<T: Serialize>(
    function: &'static str,
    db: &Database,
    request: Request,
    (name, max): (&str, usize),
    find: impl AsyncFnOnce(&Database, &str) -> Result<T, ApiError>,
) -> Response<Body> {
    serve(function, db, request, |request| async move {
        let value = path_param(&request, name, max)?;
        Ok(json_response(StatusCode::OK, &find(db, &value).await?))
    })
    .await
}

/// The text a panic was raised with, when it has one.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// A path parameter, or 400 when it is missing, blank, holds a control
/// character or is longer than `max` (the length of its Delius column).
pub fn path_param(request: &Request, name: &str, max: usize) -> Result<String, ApiError> {
    let value = request
        .path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("Missing path parameter {name}")))?;
    check_text(name, value, TextKind::Line, Some(max))?;
    Ok(value.to_owned())
}

/// An optional query string parameter, or 400 when it holds a control
/// character.
pub fn query_param(request: &Request, name: &str) -> Result<Option<String>, ApiError> {
    let value = request.query_string_parameters_ref().and_then(|q| q.first(name).map(str::to_owned));
    if let Some(value) = &value {
        check_text(name, value, TextKind::Line, None)?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::StatusCode;
    use serde_json::{Value, json};

    use crate::json_response;

    /// A request to the CRN route, as API Gateway sends it, with the read role.
    fn request(noms_id: &str, body: Option<&str>) -> Request {
        let event = json!({
            "version": "2.0",
            "routeKey": "GET /probation-cases/{nomsId}/crn",
            "rawPath": "/probation-cases/x/crn",
            "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "authorizer": {"lambda": {"roles": "PROBATION_API__RESETTLEMENT_PASSPORT__CASE_DETAIL"}},
                "domainName": "localhost",
                "domainPrefix": "localhost",
                "http": {"method": "GET", "path": "/probation-cases/x/crn", "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "test"},
                "requestId": "id",
                "routeKey": "GET /probation-cases/{nomsId}/crn",
                "stage": "$default",
                "time": "15/Apr/2024:13:32:00 +0000",
                "timeEpoch": 1713187920000u64
            },
            "pathParameters": {"nomsId": noms_id},
            "body": body,
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("API Gateway v2 event")
    }

    fn problem(response: &Response<Body>) -> Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
            other => panic!("unexpected body {other:?}"),
        }
    }

    /// A pool that never connects (nothing here asks it for a connection),
    /// with a work deadline of 200 ms.
    fn database() -> Database {
        let mut config = delius_db::DatabaseConfig::for_url("postgres://postgres@127.0.0.1:9/none", 1, "service")
            .expect("a database URL");
        config.timeouts.work = std::time::Duration::from_millis(200);
        Database::new(config).expect("pool")
    }

    async fn echo(request: Request) -> Response<Body> {
        serve("probation-case-crn", &database(), request, |request| async move {
            let noms_id = path_param(&request, "nomsId", crate::validate::NOMS_NUMBER_LENGTH)?;
            match noms_id.as_str() {
                "PANIC" => panic!("a bug in the handler"),
                // Work that waits on the database longer than its deadline.
                "SLOW" => tokio::time::sleep(std::time::Duration::from_secs(30)).await,
                _ => {}
            }
            Ok(json_response(StatusCode::OK, &json!({ "nomsId": noms_id })))
        })
        .await
    }

    #[tokio::test]
    async fn work_past_the_database_deadline_is_a_503_problem() {
        let started = std::time::Instant::now();
        let response = echo(request("SLOW", None)).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "answered at the deadline, not at the end");
        assert_eq!(response.status(), 503);
        assert_eq!(problem(&response), json!({"status": 503, "message": "Service temporarily unavailable"}));
        assert_eq!(echo(request("A1234YZ", None)).await.status(), 200);
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_next_request_is_served() {
        let response = echo(request("PANIC", None)).await;
        assert_eq!(response.status(), 500);
        assert_eq!(problem(&response), json!({"status": 500, "message": "Internal server error"}));
        let response = echo(request("A1234YZ", None)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(problem(&response), json!({"nomsId": "A1234YZ"}));
    }

    #[tokio::test]
    async fn path_parameters_with_control_characters_or_too_long_are_400() {
        let response = echo(request("A1234\u{0}", None)).await;
        assert_eq!(
            problem(&response),
            json!({"status": 400, "message": "'nomsId' must not contain control characters (found U+0000)"})
        );
        let response = echo(request("A1234YZ8", None)).await;
        assert_eq!(problem(&response), json!({"status": 400, "message": "'nomsId' must be at most 7 characters"}));
    }

    #[tokio::test]
    async fn an_oversized_body_is_413() {
        let big = "x".repeat(crate::body::MAX_BODY_BYTES + 1);
        let response = echo(request("A1234YZ", Some(&big))).await;
        assert_eq!(response.status(), 413);
        assert_eq!(problem(&response), json!({"status": 413, "message": "Request body must be at most 65536 bytes"}));
        let fits = "x".repeat(crate::body::MAX_BODY_BYTES);
        assert_eq!(echo(request("A1234YZ", Some(&fits))).await.status(), 200);
    }
}
