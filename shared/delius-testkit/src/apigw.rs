//! API Gateway v2 requests and responses for the HTTP functions' tests.
//!
//! Every response read through [`body`] or [`assert_json`], or passed to
//! [`assert_documented`], is
//! validated against `docs/openapi.yaml` for the route of the last request
//! built with [`parse`] on this thread (a test's requests and responses stay
//! on its thread), so the document cannot drift from what the routes answer.

use std::cell::RefCell;

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

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

/// A sample event of `events/apigw/` (what the real client sends, through
/// API Gateway and the authorizer), rewritten for a test. Built with
/// [`SampleEvent::request`], it goes through [`parse`].
#[derive(Debug, Clone)]
pub struct SampleEvent(pub Value);

impl SampleEvent {
    /// `events/apigw/<file>`.
    pub fn load(file: &str) -> SampleEvent {
        let path = crate::repo_root().join("events/apigw").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        SampleEvent(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    /// The path parameter `name` set to `value`, and the path rebuilt from
    /// the route key with every path parameter, as API Gateway would send it.
    pub fn path_param(mut self, name: &str, value: &str) -> SampleEvent {
        self.0["pathParameters"][name] = json!(value);
        let route_key = self.0["routeKey"].as_str().expect("the sample's routeKey").to_string();
        let template = route_key.split_once(' ').map_or(route_key.as_str(), |(_, path)| path);
        let path: Vec<String> = template
            .split('/')
            .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => self.0["pathParameters"][param].as_str().unwrap_or_default().to_string(),
                None => segment.to_string(),
            })
            .collect();
        self.raw_path(&path.join("/"))
    }

    /// The path as sent (`rawPath` and `requestContext.http.path`), e.g.
    /// percent-encoded; the path parameters stay as they are.
    pub fn raw_path(mut self, path: &str) -> SampleEvent {
        self.0["rawPath"] = json!(path);
        self.0["requestContext"]["http"]["path"] = json!(path);
        self
    }

    /// The query string, raw and as parameters (`a=1&b=2`).
    pub fn query(mut self, query: &str) -> SampleEvent {
        self.0["rawQueryString"] = json!(query);
        let params: serde_json::Map<String, Value> =
            query.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), json!(v))).collect();
        self.0["queryStringParameters"] = Value::Object(params);
        self
    }

    /// The body, with its `content-length`.
    pub fn body(mut self, body: &str) -> SampleEvent {
        self.0["body"] = json!(body);
        self.0["headers"]["content-length"] = json!(body.len().to_string());
        self
    }

    /// The roles the authorizer put in the context (comma-separated).
    pub fn roles(mut self, roles: &str) -> SampleEvent {
        self.0["requestContext"]["authorizer"]["lambda"]["roles"] = json!(roles);
        self
    }

    /// No authorizer context at all.
    pub fn without_authorizer(mut self) -> SampleEvent {
        self.0["requestContext"].as_object_mut().expect("requestContext").remove("authorizer");
        self
    }

    /// The request `lambda_http` builds from it (see [`parse`]).
    pub fn request(&self) -> Request {
        parse(&self.0)
    }
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

/// `event` with `other_roles` in its authorizer context, and with no
/// authorizer context at all, is refused by `handle` with 403 `Access Denied`.
pub async fn assert_forbidden_without_role(
    event: &SampleEvent,
    other_roles: &str,
    handle: impl AsyncFn(Request) -> Response<Body>,
) {
    let forbidden = json!({"status": 403, "message": "Access Denied"});
    assert_json(&handle(event.clone().roles(other_roles).request()).await, 403, forbidden.clone());
    assert_json(&handle(event.clone().without_authorizer().request()).await, 403, forbidden);
}

/// Status, JSON content type and body (validated against `docs/openapi.yaml`).
pub fn assert_json(response: &Response<Body>, status: u16, expected: Value) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(body(response), expected);
}
