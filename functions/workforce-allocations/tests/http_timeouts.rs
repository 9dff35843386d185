//! The token call and the Workload detail call are bounded separately, each by
//! its own configured timeout, against real HTTP servers (wiremock) that hang.

use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workforce_allocations::config::Settings;
use workforce_allocations::error::AllocationError;
use workforce_allocations::workload::WorkloadClient;

const HANG: Duration = Duration::from_secs(30);

/// HMPPS Auth and Workload on one server; `token_delay` and `detail_delay` hold their answers.
async fn servers(token_delay: Duration, detail_delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "t", "token_type": "bearer", "expires_in": 3600}))
                .set_delay(token_delay),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/allocation/person/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})).set_delay(detail_delay))
        .mount(&server)
        .await;
    server
}

fn settings(server: &MockServer, timeouts: &[(&str, &str)]) -> Settings {
    let mut env = vec![
        ("HMPPS_AUTH_TOKEN_URL".to_string(), format!("{}/auth/oauth/token", server.uri())),
        ("WORKLOAD_CLIENT_ID".to_string(), "workforce-allocations".to_string()),
        ("WORKLOAD_CLIENT_SECRET".to_string(), "s3cret".to_string()),
        ("ALLOWED_DETAIL_URLS".to_string(), server.uri()),
    ];
    env.extend(timeouts.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::from_lookup(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap()
}

#[tokio::test]
async fn a_hanging_token_endpoint_fails_within_the_token_timeout() {
    let server = servers(HANG, Duration::ZERO).await;
    let settings = settings(&server, &[("HMPPS_AUTH_TOKEN_TIMEOUT_MS", "300"), ("WORKLOAD_TIMEOUT_MS", "20000")]);
    let client = WorkloadClient::new(&settings).unwrap();
    let started = Instant::now();
    let result = client.fetch_detail(&format!("{}/allocation/person/1", server.uri())).await;
    let took = started.elapsed();
    assert!(matches!(&result, Err(AllocationError::Token(message)) if message.contains("timed out")), "{result:?}");
    assert!(took < Duration::from_secs(3), "bounded by the token timeout, took {took:?}");
}

#[tokio::test]
async fn a_hanging_detail_fails_within_the_workload_timeout() {
    let server = servers(Duration::ZERO, HANG).await;
    let settings = settings(&server, &[("HMPPS_AUTH_TOKEN_TIMEOUT_MS", "20000"), ("WORKLOAD_TIMEOUT_MS", "300")]);
    let client = WorkloadClient::new(&settings).unwrap();
    let started = Instant::now();
    let result = client.fetch_detail(&format!("{}/allocation/person/1", server.uri())).await;
    let took = started.elapsed();
    assert!(matches!(&result, Err(AllocationError::Workload(message)) if message.contains("timed out")), "{result:?}");
    assert!(took < Duration::from_secs(3), "bounded by the Workload timeout, took {took:?}");
}

#[tokio::test]
async fn within_their_timeouts_both_calls_answer() {
    let server = servers(Duration::from_millis(100), Duration::from_millis(100)).await;
    let settings = settings(&server, &[("HMPPS_AUTH_TOKEN_TIMEOUT_MS", "5000"), ("WORKLOAD_TIMEOUT_MS", "5000")]);
    let client = WorkloadClient::new(&settings).unwrap();
    let body = client.fetch_detail(&format!("{}/allocation/person/1", server.uri())).await.unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap(), json!({"id": 1}));
}
