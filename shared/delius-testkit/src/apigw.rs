//! API Gateway v2 requests and responses for the HTTP functions' tests.

use lambda_http::{Body, Request, Response};
use serde_json::Value;

/// The request `lambda_http` builds from an API Gateway v2 event.
pub fn parse(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).expect("API Gateway v2 event")
}

/// A response's JSON body.
pub fn body(response: &Response<Body>) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    }
}

/// Status, JSON content type and body.
pub fn assert_json(response: &Response<Body>, status: u16, expected: Value) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(body(response), expected);
}
