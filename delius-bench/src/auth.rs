//! The authorizer: the HMPPS Auth stand-in as its cold start needs it (its
//! configuration and an authorizer request carrying a token it signed), and
//! its per-request cost, in process, which sizes API Gateway's cache of its
//! decisions (`ReauthorizeEvery`).
//!
//! The time a token works after it expires is that cache's TTL plus the
//! authorizer's `exp` leeway; it must stay within [`WINDOW_TARGET_S`].

use std::time::Instant;

use authorizer::{Authorizer, AuthorizerConfig, LEEWAY_SECONDS};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use delius_api::routes::{CASE_DETAIL, by_function};
use delius_testkit::hmpps_auth::HmppsAuthStandIn;
use serde::Serialize;
use serde_json::{Value, json};

use crate::stats::{ms, percentile};
use crate::{Options, progress};

/// At most a minute of use after expiry, as the original service's clock-skew allowance.
pub const WINDOW_TARGET_S: u64 = 60;

#[derive(Debug, Clone, Serialize)]
pub struct AuthCost {
    pub requests: usize,
    /// The first request: the HTTP client built, the JWKS fetched, the token verified.
    pub first_request_ms: Option<f64>,
    /// Every later request (keys cached): header, signature, claims, role, decision log and metric.
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    /// `ReauthorizeEvery` in template.yaml.
    pub cache_ttl_s: Option<u64>,
    pub leeway_s: u64,
    /// cache TTL + leeway.
    pub window_s: Option<u64>,
    pub errors: Vec<String>,
}

/// `ReauthorizeEvery` as template.yaml sets it.
pub fn template_cache_ttl() -> Option<u64> {
    let template = std::fs::read_to_string(crate::workspace_dir().join("template.yaml")).ok()?;
    template.lines().find_map(|line| line.trim().strip_prefix("ReauthorizeEvery:")).and_then(|v| v.trim().parse().ok())
}

/// The authorizer's own cost per request, in this process: `options.warm_requests`
/// decisions after the first, each on a freshly signed token.
pub async fn cost(options: &Options) -> AuthCost {
    progress("auth: per-request cost");
    let cache_ttl_s = template_cache_ttl();
    let mut result = AuthCost {
        requests: 0,
        first_request_ms: None,
        p50_us: None,
        p99_us: None,
        cache_ttl_s,
        leeway_s: LEEWAY_SECONDS,
        window_s: cache_ttl_s.map(|ttl| ttl + LEEWAY_SECONDS),
        errors: Vec::new(),
    };
    let stand_in = HmppsAuthStandIn::start().await;
    let authorizer = Authorizer::new(AuthorizerConfig { jwks_url: stand_in.jwks_url(), issuer: stand_in.issuer() });
    let stand_in = AuthStandIn { stand_in };
    // Signed up front: signing is the stand-in's cost, not the authorizer's.
    let requests: Vec<ApiGatewayV2CustomAuthorizerV2Request> =
        (0..=options.warm_requests).filter_map(|_| serde_json::from_value(stand_in.authorizer_event()).ok()).collect();
    let mut micros = Vec::with_capacity(requests.len());
    for (i, request) in requests.iter().enumerate() {
        let started = Instant::now();
        let allowed = authorizer.authorize(request).await.is_authorized;
        let took = started.elapsed();
        if !allowed && result.errors.len() < 3 {
            result.errors.push(format!("request {i} refused"));
        }
        if i == 0 {
            result.first_request_ms = Some(ms(took));
        } else {
            micros.push(took.as_secs_f64() * 1e6);
        }
    }
    result.requests = micros.len();
    result.p50_us = percentile(&micros, 50.0);
    result.p99_us = percentile(&micros, 99.0);
    if cache_ttl_s.is_none() {
        result.errors.push("no ReauthorizeEvery in template.yaml".into());
    }
    result
}

pub struct AuthStandIn {
    stand_in: HmppsAuthStandIn,
}

impl AuthStandIn {
    pub async fn start() -> Option<AuthStandIn> {
        Some(AuthStandIn { stand_in: HmppsAuthStandIn::start().await })
    }

    pub fn env(&self) -> Vec<(String, String)> {
        self.stand_in.env().into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// An API Gateway HTTP API (payload 2.0) authorizer request for the
    /// person detail route, with a valid client-credentials token.
    pub fn authorizer_event(&self) -> Value {
        let route =
            by_function("probation-case-detail").map_or("GET /probation-cases/{crn}".to_string(), |r| r.route_key());
        let token = self.stand_in.token("hmpps-resettlement-passport-api", None, &[CASE_DETAIL]);
        let bearer = format!("Bearer {token}");
        json!({
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": "arn:aws:execute-api:eu-west-2:123456789012:r4nd0m1d/$default/GET/probation-cases/X123123",
            "identitySource": [bearer],
            "routeKey": route,
            "rawPath": "/probation-cases/X123123",
            "rawQueryString": "",
            "headers": {
                "authorization": bearer,
                "accept": "application/json",
                "host": "resettlement-passport-and-delius.hmpps.service.justice.gov.uk",
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "r4nd0m1d",
                "domainName": "resettlement-passport-and-delius.hmpps.service.justice.gov.uk",
                "domainPrefix": "resettlement-passport-and-delius",
                "http": {
                    "method": "GET",
                    "path": "/probation-cases/X123123",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "10.26.12.31",
                    "userAgent": "delius-bench",
                },
                "requestId": "bench-authorizer",
                "routeKey": route,
                "stage": "$default",
                "time": "22/Nov/2026:12:00:00 +0000",
                "timeEpoch": 1_795_521_600_000_i64,
            },
            "pathParameters": {"crn": "X123123"},
        })
    }
}
