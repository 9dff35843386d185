//! A stand-in for HMPPS Workload and for the HMPPS Auth client-credentials
//! token endpoint, as one real local HTTP server, for the allocation tests and
//! for `make run`.
//!
//! - `POST /auth/oauth/token` with HTTP Basic [`CLIENT_ID`]:[`CLIENT_SECRET`]
//!   and `grant_type=client_credentials` answers an access token (the same one
//!   for the life of the stand-in) valid for an hour; other credentials get 401.
//! - `GET /allocation/{person|event|requirements|licence-conditions}/{id}` with that bearer token
//!   answers the detail bodies of the `events/sqs` samples
//!   (`events/sqs/details/*.json`, [`SAMPLE_DETAILS`]); a wrong or missing
//!   token gets 401 and an unknown id 404.
//!
//! The samples' `detailUrl`s point at `http://127.0.0.1:8091` ([`SAMPLE_ORIGIN`]):
//! `make run` starts the stand-in there with [`WorkloadStandIn::start_on`];
//! tests start it on a free port and rewrite the origin with
//! [`WorkloadStandIn::rewrite`]. Tests may mount their own mocks on
//! [`WorkloadStandIn::server`]: the stand-in's own mocks have a low priority
//! (10), so any mock of default priority wins.

use wiremock::matchers::{basic_auth, bearer_token, body_string_contains, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The port the `events/sqs` samples point at.
pub const DEFAULT_PORT: u16 = 8091;
/// The origin of the samples' `detailUrl`s.
pub const SAMPLE_ORIGIN: &str = "http://127.0.0.1:8091";
pub const TOKEN_PATH: &str = "/auth/oauth/token";
/// The client credentials the stand-in's token endpoint accepts.
pub const CLIENT_ID: &str = "workforce-allocations-to-delius";
pub const CLIENT_SECRET: &str = "local-workload-client-secret";
/// Lifetime of the stand-in's tokens, in seconds.
pub const TOKEN_LIFETIME: u64 = 3600;

const STAND_IN_PRIORITY: u8 = 10;

/// A Workload detail the stand-in serves: the path and the JSON body.
#[derive(Debug, Clone, Copy)]
pub struct SampleDetail {
    pub path: &'static str,
    pub body: &'static str,
}

macro_rules! sample {
    ($path:literal, $file:literal) => {
        SampleDetail { path: $path, body: include_str!(concat!("../../../events/sqs/details/", $file)) }
    };
}

/// The details behind every `detailUrl` of `events/sqs`.
pub const SAMPLE_DETAILS: &[SampleDetail] = &[
    // person-allocation.json
    sample!("/allocation/person/4880d097-ea80-4492-bdb7-86228cdf29ef", "person-X123456.json"),
    // event-allocation.json
    sample!("/allocation/event/5716275b-127e-4115-971f-0c131bcbf065", "event-X123456-2.json"),
    // requirement-allocation.json
    sample!("/allocation/requirements/6aafe304-861f-4479-8380-fec5f90f6d17", "requirement-9001.json"),
    // historic-allocation.json
    sample!("/allocation/person/1c3f5b8e-7a0d-4c55-9a43-2b1e6f0d9a01", "historic-person-T223456.json"),
    sample!("/allocation/event/2d4a6c9f-8b1e-4d66-8b54-3c2f7a1e0b02", "historic-event-X123456-3.json"),
    sample!("/allocation/requirements/3e5b7d0a-9c2f-4e77-9c65-4d3a8b2f1c03", "historic-requirement-9002.json"),
    // mixed-batch.json
    sample!("/allocation/person/4f6c8e1b-ad30-4f88-ad76-5e4b9c3a2d04", "person-T123456.json"),
    sample!("/allocation/event/5a7d9f2c-be41-4a99-be87-6f5cad4b3e05", "event-X123456-1.json"),
    sample!("/allocation/requirements/6b8e0a3d-cf52-4baa-8f98-7a6dbe5c4f06", "requirement-9003.json"),
    sample!("/allocation/event/7c9f1b4e-d063-4cbb-9a09-8b7ecf6d5a07", "event-X123456-5-unknown-team.json"),
    // licence-condition-allocation.json
    sample!("/allocation/licence-conditions/8d0a2c5f-e174-4dcc-8b1a-9c8f0e7d6b18", "licence-condition-9501.json"),
];

/// The running stand-in. Dropping it stops the server.
pub struct WorkloadStandIn {
    server: MockServer,
    access_token: String,
}

impl WorkloadStandIn {
    /// On a free local port (tests).
    pub async fn start() -> WorkloadStandIn {
        Self::serve(MockServer::start().await).await
    }

    /// On `127.0.0.1:port` (`make run`: [`DEFAULT_PORT`], where the samples point).
    pub async fn start_on(port: u16) -> std::io::Result<WorkloadStandIn> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        Ok(Self::serve(MockServer::builder().listener(listener).start().await).await)
    }

    async fn serve(server: MockServer) -> WorkloadStandIn {
        let access_token = format!("workload-stand-in-{}", uuid::Uuid::new_v4().simple());
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .and(basic_auth(CLIENT_ID, CLIENT_SECRET))
            .and(body_string_contains("grant_type=client_credentials"))
            .respond_with(token_response(&access_token, TOKEN_LIFETIME))
            .with_priority(STAND_IN_PRIORITY)
            .named("token")
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(
                ResponseTemplate::new(401).set_body_json(
                    serde_json::json!({"error": "unauthorized", "error_description": "Bad credentials"}),
                ),
            )
            .with_priority(STAND_IN_PRIORITY + 1)
            .named("token: bad credentials")
            .mount(&server)
            .await;
        for sample in SAMPLE_DETAILS {
            Mock::given(method("GET"))
                .and(path(sample.path))
                .and(bearer_token(access_token.as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_raw(sample.body, "application/json"))
                .with_priority(STAND_IN_PRIORITY)
                .named(sample.path)
                .mount(&server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path_regex("^/allocation/"))
            .and(bearer_token(access_token.as_str()))
            .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({
                "status": 404, "userMessage": "Allocation not found", "developerMessage": "not found for id"
            })))
            .with_priority(STAND_IN_PRIORITY + 1)
            .named("detail: unknown id")
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("^/allocation/"))
            .respond_with(ResponseTemplate::new(401))
            .with_priority(STAND_IN_PRIORITY + 2)
            .named("detail: no valid token")
            .mount(&server)
            .await;
        WorkloadStandIn { server, access_token }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.uri())
    }

    /// The token the stand-in issues and accepts.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The underlying server, for mounting test-specific mocks and reading
    /// the requests received.
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// The allocations function's configuration for this stand-in.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HMPPS_AUTH_TOKEN_URL", self.token_url()),
            ("WORKLOAD_CLIENT_ID", CLIENT_ID.to_string()),
            ("WORKLOAD_CLIENT_SECRET", CLIENT_SECRET.to_string()),
            ("ALLOWED_DETAIL_URLS", self.uri()),
        ]
    }

    /// `text` (a sample event) with the samples' origin replaced by this
    /// stand-in's.
    pub fn rewrite(&self, text: &str) -> String {
        text.replace(SAMPLE_ORIGIN, &self.uri())
    }

    /// Requests received so far to the token endpoint.
    pub async fn token_requests(&self) -> usize {
        self.requests_to(|p| p == TOKEN_PATH).await
    }

    /// Requests received so far for allocation details.
    pub async fn detail_requests(&self) -> usize {
        self.requests_to(|p| p.starts_with("/allocation/")).await
    }

    async fn requests_to(&self, wanted: impl Fn(&str) -> bool) -> usize {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests.iter().filter(|r| wanted(r.url.path())).count()
    }
}

/// An HMPPS Auth style client-credentials token response.
pub fn token_response(access_token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "scope": "read",
        "sub": CLIENT_ID,
        "auth_source": "none",
        "iss": "http://127.0.0.1/auth/issuer",
    }))
}
