//! API Gateway and the Lambda Invoke API, emulated over real HTTP.
//!
//! An API request becomes the HTTP API (payload 2.0) authorizer event, goes to
//! the real authorizer code, then, if allowed, becomes the route's proxy event
//! carrying the authorizer context and goes to the real function code; the
//! function's proxy response becomes the HTTP response. `POST
//! /2015-03-31/functions/{name}/invocations` sends any event to any function
//! and returns its JSON response, as `sam local start-lambda` does.

use std::convert::Infallible;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use delius_api::routes::{self, Route};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::functions::{Functions, InvokeError};
use crate::{LOCAL_CLIENT_ID, Stack, TOKEN_PATH};

const INVOKE_PREFIX: &str = "/2015-03-31/functions/";

/// Serves until the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, stack: Arc<Stack>) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let stack = stack.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let stack = stack.clone();
                async move { Ok::<_, Infallible>(handle(&stack, request).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
        });
    }
}

async fn handle(stack: &Stack, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let functions = &stack.functions;
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain(StatusCode::BAD_REQUEST, json!({"message": "Bad Request"})),
    };
    let path = parts.uri.path().to_string();
    if path == TOKEN_PATH && parts.method == hyper::Method::GET {
        return mint_token(stack, parts.uri.query().unwrap_or(""));
    }
    if let Some(rest) = path.strip_prefix(INVOKE_PREFIX) {
        return invoke_api(functions, parts.method.as_str(), rest, &body).await;
    }
    let Some(route) = routes::resolve(parts.method.as_str(), &path) else {
        return plain(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    };
    api_request(functions, route, &parts, &body).await
}

async fn invoke_api(functions: &Functions, method: &str, rest: &str, body: &Bytes) -> Response<Full<Bytes>> {
    let Some(name) = rest.strip_suffix("/invocations").filter(|n| !n.contains('/')) else {
        return plain(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    };
    if method != "POST" {
        return plain(StatusCode::METHOD_NOT_ALLOWED, json!({"message": "Method Not Allowed"}));
    }
    let payload: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    json!({"Type": "User", "message": format!("Could not parse request body into json: {e}")}),
                );
            }
        }
    };
    match functions.invoke(name, payload).await {
        Ok(output) => plain(StatusCode::OK, output),
        Err(InvokeError::UnknownFunction) => {
            plain(StatusCode::NOT_FOUND, json!({"Type": "User", "message": format!("Function not found: {name}")}))
        }
        // Lambda answers 200 with the error document and X-Amz-Function-Error.
        Err(InvokeError::Failed(message)) => {
            let mut response = plain(StatusCode::OK, json!({"errorType": "Unhandled", "errorMessage": message}));
            response.headers_mut().insert("x-amz-function-error", "Unhandled".parse().expect("static header"));
            response
        }
    }
}

async fn api_request(
    functions: &Functions,
    route: &Route,
    parts: &hyper::http::request::Parts,
    body: &Bytes,
) -> Response<Full<Bytes>> {
    let event = proxy_event(route, parts, body);
    // The identity source is the Authorization header: API Gateway answers
    // 401 itself when it is missing, without calling the authorizer.
    let Some(authorization) = parts.headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return plain(StatusCode::UNAUTHORIZED, json!({"message": "Unauthorized"}));
    };
    let authorizer_event = authorizer_event(&event, authorization);
    let decision = match functions.invoke("authorizer", authorizer_event).await {
        Ok(decision) => decision,
        Err(_) => return plain(StatusCode::INTERNAL_SERVER_ERROR, json!({"message": "Internal Server Error"})),
    };
    if decision.get("isAuthorized") != Some(&Value::Bool(true)) {
        return plain(StatusCode::FORBIDDEN, json!({"message": "Forbidden"}));
    }
    let mut event = event;
    let context = decision.get("context").cloned().unwrap_or_else(|| json!({}));
    event["requestContext"]["authorizer"] = json!({ "lambda": context });
    match functions.invoke(route.function, event).await {
        Ok(output) => proxy_response(&output),
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, json!({"message": "Internal Server Error"})),
    }
}

/// `GET /local/token?roles=A,B[&user=name]`: a token signed by the local
/// HMPPS Auth stand-in, with both Resettlement Passport roles by default.
fn mint_token(stack: &Stack, query: &str) -> Response<Full<Bytes>> {
    let Some(hmpps_auth) = &stack.hmpps_auth else {
        return plain(
            StatusCode::NOT_FOUND,
            json!({"message": "HMPPS_AUTH_JWKS_URL is set: tokens come from that HMPPS Auth, not from the local stack"}),
        );
    };
    let parameters = query_pairs(query);
    let roles: Vec<String> = match parameters.iter().find(|(k, _)| k == "roles") {
        Some((_, v)) if !v.trim().is_empty() => {
            v.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_string).collect()
        }
        _ => vec![routes::CASE_DETAIL.to_string(), routes::APPOINTMENT_RW.to_string()],
    };
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    let user = parameters.iter().find(|(k, _)| k == "user").map(|(_, v)| v.as_str());
    let token = hmpps_auth.token(LOCAL_CLIENT_ID, user, &roles);
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from(token)))
        .expect("static response parts are valid")
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The HTTP API payload 2.0 event API Gateway sends to a route's function.
pub fn proxy_event(route: &Route, parts: &hyper::http::request::Parts, body: &Bytes) -> Value {
    let path = parts.uri.path();
    let raw_query = parts.uri.query().unwrap_or("");
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    let mut query = Map::new();
    for (k, v) in query_pairs(raw_query) {
        match query.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let mut path_parameters = Map::new();
    for (t, a) in route.path.trim_matches('/').split('/').zip(path.trim_matches('/').split('/')) {
        if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            path_parameters.insert(name.to_string(), Value::String(decode(a)));
        }
    }
    let now = chrono::Utc::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.route_key(),
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": parts.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": parts.headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route.route_key(),
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !body.is_empty() {
        event["body"] = Value::String(String::from_utf8_lossy(body).into_owned());
    }
    event
}

/// The payload 2.0 REQUEST authorizer event for a proxy event.
pub fn authorizer_event(event: &Value, authorization: &str) -> Value {
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:eu-west-2:000000000000:local/$default/{}",
            event["routeKey"].as_str().unwrap_or_default().replacen(' ', "", 1)),
        "identitySource": [authorization],
        "routeKey": event["routeKey"],
        "rawPath": event["rawPath"],
        "rawQueryString": event["rawQueryString"],
        "headers": event["headers"],
        "queryStringParameters": event.get("queryStringParameters").cloned().unwrap_or(Value::Null),
        "pathParameters": event["pathParameters"],
        "requestContext": event["requestContext"],
    })
}

/// A function's payload 2.0 response as HTTP.
fn proxy_response(output: &Value) -> Response<Full<Bytes>> {
    let status = output.get("statusCode").and_then(Value::as_u64).unwrap_or(200);
    let mut builder = Response::builder().status(status as u16);
    if let Some(headers) = output.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            if let Some(v) = value.as_str() {
                builder = builder.header(name, v);
            }
        }
    }
    let body = output.get("body").and_then(Value::as_str).unwrap_or("");
    let bytes = if output.get("isBase64Encoded") == Some(&Value::Bool(true)) {
        base64::engine::general_purpose::STANDARD.decode(body).unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    builder
        .body(Full::new(Bytes::from(bytes)))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, json!({"message": "Internal Server Error"})))
}

fn plain(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts are valid")
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
