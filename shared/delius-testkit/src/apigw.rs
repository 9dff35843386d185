//! API Gateway v2 requests and responses for the HTTP functions' tests.
//!
//! Every response read through [`body`] or [`assert_json`], or passed to
//! [`assert_documented`], is
//! validated against `docs/openapi.yaml` for the route of the last request
//! built with [`parse`] on this thread (a test's requests and responses stay
//! on its thread), so the document cannot drift from what the routes answer.

use std::cell::RefCell;

use lambda_http::{Body, Request, Response};
use serde_json::Value;

thread_local! {
    static ROUTE_KEY: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The request `lambda_http` builds from an API Gateway v2 event; remembers
/// the event's `routeKey` for the response checks.
pub fn parse(event: &Value) -> Request {
    let route_key = event["routeKey"].as_str().or_else(|| event["requestContext"]["routeKey"].as_str());
    ROUTE_KEY.with(|r| *r.borrow_mut() = route_key.map(str::to_string));
    lambda_http::request::from_str(&event.to_string()).expect("API Gateway v2 event")
}

/// As [`parse`], from the event's text.
pub fn parse_str(event: &str) -> Request {
    parse(&serde_json::from_str(event).expect("API Gateway v2 event JSON"))
}

fn json_body(response: &Response<Body>) -> Option<Value> {
    match response.body() {
        Body::Empty => None,
        Body::Text(text) if text.is_empty() => None,
        Body::Text(text) => Some(serde_json::from_str(text).expect("JSON body")),
        Body::Binary(bytes) => Some(serde_json::from_slice(bytes).expect("JSON body")),
        other => panic!("unexpected body {other:?}"),
    }
}

fn route_key() -> String {
    ROUTE_KEY
        .with(|r| r.borrow().clone())
        .expect("build the request with delius_testkit::apigw::parse, so its route is known")
}

/// Validates the response (status and body) against `docs/openapi.yaml` for
/// the route of the last [`parse`]d request.
pub fn assert_documented(response: &Response<Body>) {
    crate::openapi::assert_route_documented(&route_key(), response.status().as_u16(), json_body(response).as_ref());
}

/// A response's JSON body, validated against `docs/openapi.yaml`.
pub fn body(response: &Response<Body>) -> Value {
    let value = json_body(response).unwrap_or_else(|| panic!("no body: {response:?}"));
    crate::openapi::assert_route_documented(&route_key(), response.status().as_u16(), Some(&value));
    value
}

/// Status, JSON content type and body (validated against `docs/openapi.yaml`).
pub fn assert_json(response: &Response<Body>, status: u16, expected: Value) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(body(response), expected);
}
