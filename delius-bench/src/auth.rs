//! The HMPPS Auth stand-in as the authorizer's cold start needs it: its
//! configuration and an authorizer request carrying a token it signed.

use delius_api::routes::{CASE_DETAIL, by_function};
use delius_testkit::hmpps_auth::HmppsAuthStandIn;
use serde_json::{Value, json};

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
