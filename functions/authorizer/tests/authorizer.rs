//! The authorizer against a real HMPPS Auth stand-in: a JWKS served over HTTP
//! and RS256 tokens signed with a key generated for the test.

use std::sync::Arc;
use std::time::Duration;

use authorizer::{Authorizer, AuthorizerConfig, Refusal};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use delius_api::auth::AuthorizerContext;
use delius_api::routes::{APPOINTMENT_RW, CASE_DETAIL, ROUTES, Route};
use delius_testkit::hmpps_auth::{HmppsAuthStandIn, SigningKey, hs256_token, unsigned_token};
use serde_json::{Value, json};

const CLIENT_ID: &str = "hmpps-resettlement-passport-api";

fn sample(file: &str) -> Value {
    let path = format!("{}/../../events/authorizer/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// `event` with its `Authorization` header (and identity source) replaced, or removed.
fn with_authorization(mut event: Value, authorization: Option<&str>) -> ApiGatewayV2CustomAuthorizerV2Request {
    let headers = event["headers"].as_object_mut().unwrap();
    headers.retain(|name, _| !name.eq_ignore_ascii_case("authorization"));
    match authorization {
        Some(value) => {
            headers.insert("authorization".into(), json!(value));
            event["identitySource"] = json!([value]);
        }
        None => {
            event.as_object_mut().unwrap().remove("identitySource");
        }
    }
    serde_json::from_value(event).unwrap()
}

/// The authorizer request API Gateway sends for `route`, concrete path X123123.
fn route_event(route: &Route, authorization: Option<&str>) -> ApiGatewayV2CustomAuthorizerV2Request {
    let path: String = route
        .path
        .split('/')
        .map(|segment| if segment.starts_with('{') { "X123123" } else { segment })
        .collect::<Vec<_>>()
        .join("/");
    let mut event = sample("case-detail.json");
    event["routeKey"] = json!(route.route_key());
    event["requestContext"]["routeKey"] = json!(route.route_key());
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(route.method);
    with_authorization(event, authorization)
}

fn case_detail(authorization: Option<&str>) -> ApiGatewayV2CustomAuthorizerV2Request {
    with_authorization(sample("case-detail.json"), authorization)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn config(auth: &HmppsAuthStandIn) -> AuthorizerConfig {
    AuthorizerConfig::from_lookup(|name| auth.env().into_iter().find(|(k, _)| *k == name).map(|(_, v)| v)).unwrap()
}

async fn setup() -> (HmppsAuthStandIn, Authorizer) {
    let auth = HmppsAuthStandIn::start().await;
    let authorizer = Authorizer::new(config(&auth));
    (auth, authorizer)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Both the reason and the response: refused, with an empty context.
async fn assert_refused(authorizer: &Authorizer, request: &ApiGatewayV2CustomAuthorizerV2Request, refusal: Refusal) {
    assert_eq!(authorizer.decide(request).await, Err(refusal));
    let response = authorizer.authorize(request).await;
    assert!(!response.is_authorized, "{refusal:?} should refuse");
    assert_eq!(response.context, json!({}));
}

#[tokio::test]
async fn allows_each_route_with_its_role_and_refuses_it_with_the_other() {
    let (auth, authorizer) = setup().await;
    for route in &ROUTES {
        let other = if route.role == CASE_DETAIL { APPOINTMENT_RW } else { CASE_DETAIL };

        let token = auth.token(CLIENT_ID, None, &[route.role]);
        let response = authorizer.authorize(&route_event(route, Some(&bearer(&token)))).await;
        assert!(response.is_authorized, "{} with {}", route.route_key(), route.role);
        assert_eq!(response.context, json!({"clientId": CLIENT_ID, "roles": route.role}), "{}", route.route_key());

        let token = auth.token(CLIENT_ID, None, &[other]);
        assert_refused(&authorizer, &route_event(route, Some(&bearer(&token))), Refusal::MissingRole).await;
    }
    assert_eq!(auth.jwks_requests().await, 1);
}

#[tokio::test]
async fn falls_back_to_method_and_path_when_the_route_key_is_not_a_route() {
    let (auth, authorizer) = setup().await;
    let token = auth.token(CLIENT_ID, None, &[APPOINTMENT_RW]);
    let mut event = sample("appointment-create.json");
    event["routeKey"] = json!("$default");
    let request = with_authorization(event, Some(&bearer(&token)));
    assert!(authorizer.authorize(&request).await.is_authorized);

    // Same token and path, but GET (the listing) needs CASE_DETAIL.
    let mut event = sample("appointment-create.json");
    event["routeKey"] = json!("$default");
    event["requestContext"]["http"]["method"] = json!("GET");
    assert_refused(&authorizer, &with_authorization(event, Some(&bearer(&token))), Refusal::MissingRole).await;
}

#[tokio::test]
async fn context_carries_client_id_user_name_and_roles_without_prefix() {
    let (auth, authorizer) = setup().await;
    let mut claims = auth.claims(CLIENT_ID, Some("AUTH_ADM"), &[CASE_DETAIL, APPOINTMENT_RW]);
    claims["authorities"].as_array_mut().unwrap().push(json!("SCOPE_read"));
    let response = authorizer.authorize(&case_detail(Some(&bearer(&auth.sign(&claims))))).await;
    assert!(response.is_authorized);
    let roles = format!("{CASE_DETAIL},{APPOINTMENT_RW}");
    assert_eq!(response.context, json!({"clientId": CLIENT_ID, "userName": "AUTH_ADM", "roles": roles}));

    // As API Gateway serialises it, and as the functions read it back.
    let serialized = serde_json::to_value(&response).unwrap();
    assert_eq!(serialized["isAuthorized"], json!(true));
    let mut proxy_event: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/../../events/apigw/appointment-create.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap(),
    )
    .unwrap();
    proxy_event["requestContext"]["authorizer"] = json!({"lambda": serialized["context"]});
    let request = lambda_http::request::from_str(&proxy_event.to_string()).unwrap();
    let context = AuthorizerContext::from_request(&request).unwrap();
    assert_eq!(context.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(context.user_name.as_deref(), Some("AUTH_ADM"));
    assert_eq!(context.roles, vec![CASE_DETAIL.to_string(), APPOINTMENT_RW.to_string()]);
    assert!(context.has_role(APPOINTMENT_RW));

    let response =
        authorizer.authorize(&case_detail(Some(&bearer(&auth.token("other-client", None, &[CASE_DETAIL]))))).await;
    assert!(response.is_authorized);
    assert_eq!(response.context, json!({"clientId": "other-client", "roles": CASE_DETAIL}));
    assert!(response.context.get("userName").is_none());
}

#[tokio::test]
async fn sample_events_are_refused_as_shipped_and_decided_with_a_fresh_token() {
    let (auth, authorizer) = setup().await;
    // The samples' placeholder token names a key HMPPS Auth does not publish.
    let shipped: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_value(sample("case-detail.json")).unwrap();
    assert_refused(&authorizer, &shipped, Refusal::UnknownKeyId).await;

    let token = auth.token(CLIENT_ID, None, &[CASE_DETAIL]);
    let allowed = with_authorization(sample("case-detail.json"), Some(&bearer(&token)));
    let response = authorizer.authorize(&allowed).await;
    assert!(response.is_authorized);
    assert_eq!(response.context, json!({"clientId": CLIENT_ID, "roles": CASE_DETAIL}));
    // Creating an appointment needs APPOINTMENT_RW.
    let refused = with_authorization(sample("appointment-create.json"), Some(&bearer(&token)));
    assert_refused(&authorizer, &refused, Refusal::MissingRole).await;
}

#[tokio::test]
async fn header_name_and_scheme_are_case_insensitive() {
    let (auth, authorizer) = setup().await;
    let token = auth.token(CLIENT_ID, None, &[CASE_DETAIL]);
    let mut event = sample("case-detail.json");
    let headers = event["headers"].as_object_mut().unwrap();
    headers.remove("authorization");
    headers.insert("Authorization".into(), json!(format!("bearer {token}")));
    let request: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_value(event).unwrap();
    assert!(authorizer.authorize(&request).await.is_authorized);
}

#[tokio::test]
async fn refuses_without_an_authorization_header() {
    let (auth, authorizer) = setup().await;
    assert_refused(&authorizer, &case_detail(None), Refusal::MissingHeader).await;
    assert_eq!(auth.jwks_requests().await, 0);
}

#[tokio::test]
async fn refuses_a_malformed_header_or_token() {
    let (auth, authorizer) = setup().await;
    let token = auth.token(CLIENT_ID, None, &[CASE_DETAIL]);
    assert_refused(&authorizer, &case_detail(Some(&format!("Basic {token}"))), Refusal::MalformedHeader).await;
    assert_refused(&authorizer, &case_detail(Some(&token)), Refusal::MalformedHeader).await;
    assert_refused(
        &authorizer,
        &case_detail(Some(&format!("Bearer {token}, Bearer {token}"))),
        Refusal::MalformedHeader,
    )
    .await;
    assert_refused(&authorizer, &case_detail(Some("Bearer not-a-jwt")), Refusal::MalformedToken).await;
    let (head, _) = token.rsplit_once('.').unwrap();
    assert_refused(&authorizer, &case_detail(Some(&bearer(head))), Refusal::MalformedToken).await;
    assert_eq!(auth.jwks_requests().await, 0);
}

#[tokio::test]
async fn refuses_alg_none() {
    let (auth, authorizer) = setup().await;
    let claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL]);
    let token = unsigned_token(Some(auth.kid()), &claims);
    assert_refused(&authorizer, &case_detail(Some(&bearer(&token))), Refusal::UnsupportedAlgorithm).await;
    // Even with the stand-in's real signature appended.
    let signed = auth.sign(&claims);
    let forged = format!("{token}{}", signed.rsplit_once('.').unwrap().1);
    assert_refused(&authorizer, &case_detail(Some(&bearer(&forged))), Refusal::UnsupportedAlgorithm).await;
    assert_eq!(auth.jwks_requests().await, 0, "no key lookup for an unaccepted algorithm");
}

#[tokio::test]
async fn refuses_hs256_and_other_algorithms() {
    let (auth, authorizer) = setup().await;
    let claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL]);
    // The classic confusion: HMAC keyed with the published public key.
    let modulus = auth.jwk()["n"].as_str().unwrap().to_string();
    let hs256 = hs256_token(Some(auth.kid()), &claims, modulus.as_bytes());
    assert_refused(&authorizer, &case_detail(Some(&bearer(&hs256))), Refusal::UnsupportedAlgorithm).await;
    // An RS256 signature under a header claiming another algorithm.
    let key = SigningKey::generate(auth.kid());
    for alg in ["RS384", "RS512", "PS256", "ES256", "rs256"] {
        let token = key.sign_with_header(&json!({"alg": alg, "kid": auth.kid()}), &claims);
        assert_refused(&authorizer, &case_detail(Some(&bearer(&token))), Refusal::UnsupportedAlgorithm).await;
    }
    assert_eq!(auth.jwks_requests().await, 0);
}

#[tokio::test]
async fn refuses_a_token_without_kid() {
    let (auth, authorizer) = setup().await;
    let key = SigningKey::generate(auth.kid());
    let token =
        key.sign_with_header(&json!({"alg": "RS256", "typ": "JWT"}), &auth.claims(CLIENT_ID, None, &[CASE_DETAIL]));
    assert_refused(&authorizer, &case_detail(Some(&bearer(&token))), Refusal::MissingKeyId).await;
}

#[tokio::test]
async fn refuses_a_token_signed_by_another_key() {
    let (auth, authorizer) = setup().await;
    let claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL]);
    let stranger = SigningKey::generate("someone-elses-key");
    assert_refused(&authorizer, &case_detail(Some(&bearer(&stranger.sign(&claims)))), Refusal::UnknownKeyId).await;
    // Same kid as HMPPS Auth's key, different key.
    let impostor = SigningKey::generate(auth.kid());
    assert_refused(&authorizer, &case_detail(Some(&bearer(&impostor.sign(&claims)))), Refusal::BadSignature).await;
    // The genuine token still passes: the refusals were about the signature.
    assert!(authorizer.authorize(&case_detail(Some(&bearer(&auth.sign(&claims))))).await.is_authorized);
}

#[tokio::test]
async fn refuses_a_token_whose_claims_were_altered() {
    let (auth, authorizer) = setup().await;
    let token = auth.token(CLIENT_ID, None, &[CASE_DETAIL]);
    let mut claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL, APPOINTMENT_RW]);
    claims["jti"] = json!("altered");
    let altered = auth.sign(&claims);
    // The original header and signature around altered claims.
    let parts: Vec<&str> = token.split('.').collect();
    let altered_payload = altered.split('.').nth(1).unwrap();
    let tampered = format!("{}.{altered_payload}.{}", parts[0], parts[2]);
    assert_refused(&authorizer, &case_detail(Some(&bearer(&tampered))), Refusal::BadSignature).await;
}

#[tokio::test]
async fn refuses_an_expired_token_beyond_the_leeway() {
    let (auth, authorizer) = setup().await;
    let mut claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL]);
    claims["iat"] = json!(now() - 3700);
    claims["exp"] = json!(now() - 100);
    assert_refused(&authorizer, &case_detail(Some(&bearer(&auth.sign(&claims)))), Refusal::Expired).await;
    // Within the leeway for clock differences.
    claims["exp"] = json!(now() - 5);
    assert!(authorizer.authorize(&case_detail(Some(&bearer(&auth.sign(&claims))))).await.is_authorized);
    // Just beyond it.
    claims["exp"] = json!(now() - authorizer::LEEWAY_SECONDS as i64 - 5);
    assert_refused(&authorizer, &case_detail(Some(&bearer(&auth.sign(&claims)))), Refusal::Expired).await;
    claims["exp"] = json!(now() + 60);
    assert!(authorizer.authorize(&case_detail(Some(&bearer(&auth.sign(&claims))))).await.is_authorized);
}

#[tokio::test]
async fn refuses_a_token_not_valid_yet() {
    let (auth, authorizer) = setup().await;
    let mut claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL]);
    claims["nbf"] = json!(now() + 120);
    assert_refused(&authorizer, &case_detail(Some(&bearer(&auth.sign(&claims)))), Refusal::NotYetValid).await;
    claims["nbf"] = json!(now() + 5);
    assert!(authorizer.authorize(&case_detail(Some(&bearer(&auth.sign(&claims))))).await.is_authorized);
}

#[tokio::test]
async fn refuses_another_issuer() {
    let (auth, authorizer) = setup().await;
    let mut claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL]);
    claims["iss"] = json!("https://sign-in.hmpps.service.justice.gov.uk/auth/issuer");
    assert_refused(&authorizer, &case_detail(Some(&bearer(&auth.sign(&claims)))), Refusal::WrongIssuer).await;
    claims["iss"] = json!(format!("{}/", auth.issuer()));
    assert_refused(&authorizer, &case_detail(Some(&bearer(&auth.sign(&claims)))), Refusal::WrongIssuer).await;
    // An issuer array containing the right one is not "equal to" it.
    claims["iss"] = json!([auth.issuer(), "https://elsewhere/issuer"]);
    assert_refused(&authorizer, &case_detail(Some(&bearer(&auth.sign(&claims)))), Refusal::InvalidClaims).await;
    claims.as_object_mut().unwrap().remove("iss");
    assert_refused(&authorizer, &case_detail(Some(&bearer(&auth.sign(&claims)))), Refusal::InvalidClaims).await;
}

#[tokio::test]
async fn refuses_tokens_missing_required_claims() {
    let (auth, authorizer) = setup().await;
    for claim in ["exp", "client_id"] {
        let mut claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL]);
        claims.as_object_mut().unwrap().remove(claim);
        assert_refused(&authorizer, &case_detail(Some(&bearer(&auth.sign(&claims)))), Refusal::InvalidClaims).await;
    }
    let mut claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL]);
    claims["authorities"] = json!("ROLE_PROBATION_API__RESETTLEMENT_PASSPORT__CASE_DETAIL");
    assert_refused(&authorizer, &case_detail(Some(&bearer(&auth.sign(&claims)))), Refusal::InvalidClaims).await;
}

#[tokio::test]
async fn refuses_a_token_without_the_role() {
    let (auth, authorizer) = setup().await;
    let token = auth.token(CLIENT_ID, None, &[]);
    assert_refused(&authorizer, &case_detail(Some(&bearer(&token))), Refusal::MissingRole).await;
    // The role name without `ROLE_` is an authority, not the role.
    let mut claims = auth.claims(CLIENT_ID, None, &[]);
    claims["authorities"] = json!([CASE_DETAIL]);
    assert_refused(&authorizer, &case_detail(Some(&bearer(&auth.sign(&claims)))), Refusal::MissingRole).await;
    claims.as_object_mut().unwrap().remove("authorities");
    assert_refused(&authorizer, &case_detail(Some(&bearer(&auth.sign(&claims)))), Refusal::MissingRole).await;
}

#[tokio::test]
async fn refuses_unknown_routes() {
    let (auth, authorizer) = setup().await;
    let token = bearer(&auth.token(CLIENT_ID, None, &[CASE_DETAIL, APPOINTMENT_RW]));
    for (route_key, method, path) in [
        ("GET /health", "GET", "/health"),
        ("$default", "DELETE", "/appointments/X123123"),
        ("$default", "GET", "/probation-cases"),
    ] {
        let mut event = sample("case-detail.json");
        event["routeKey"] = json!(route_key);
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["method"] = json!(method);
        event["requestContext"]["http"]["path"] = json!(path);
        assert_refused(&authorizer, &with_authorization(event, Some(&token)), Refusal::UnknownRoute).await;
    }
    assert_eq!(auth.jwks_requests().await, 0);
}

#[tokio::test]
async fn fetches_the_jwks_once_for_many_requests() {
    let (auth, authorizer) = setup().await;
    assert_eq!(auth.jwks_requests().await, 0, "nothing fetched before the first request");
    for i in 0..25 {
        let token = auth.token(&format!("client-{i}"), None, &[CASE_DETAIL]);
        assert!(authorizer.authorize(&case_detail(Some(&bearer(&token)))).await.is_authorized);
    }
    assert_eq!(auth.jwks_requests().await, 1);
}

#[tokio::test]
async fn concurrent_first_requests_share_one_fetch() {
    let (auth, authorizer) = setup().await;
    let authorizer = Arc::new(authorizer);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let authorizer = authorizer.clone();
        let request = case_detail(Some(&bearer(&auth.token(CLIENT_ID, None, &[CASE_DETAIL]))));
        tasks.spawn(async move { authorizer.authorize(&request).await.is_authorized });
    }
    while let Some(allowed) = tasks.join_next().await {
        assert!(allowed.unwrap());
    }
    assert_eq!(auth.jwks_requests().await, 1);
}

#[tokio::test]
async fn refreshes_once_on_an_unknown_kid_and_accepts_the_rotated_key() {
    let auth = HmppsAuthStandIn::start().await;
    let authorizer =
        // Wide enough that a loaded CI machine stays inside it for the first part.
        Authorizer::new(config(&auth)).with_refresh_limits(Duration::from_secs(3), Duration::from_secs(5));
    let claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL]);
    assert!(authorizer.authorize(&case_detail(Some(&bearer(&auth.sign(&claims))))).await.is_authorized);
    assert_eq!(auth.jwks_requests().await, 1);

    let rotated = SigningKey::generate("rotated-key");
    auth.publish(&rotated);
    let token = bearer(&rotated.sign(&claims));
    // Within the refresh interval: no new fetch, so still unknown.
    assert_refused(&authorizer, &case_detail(Some(&token)), Refusal::UnknownKeyId).await;
    assert_eq!(auth.jwks_requests().await, 1);

    tokio::time::sleep(Duration::from_millis(3100)).await;
    let response = authorizer.authorize(&case_detail(Some(&token))).await;
    assert!(response.is_authorized);
    assert_eq!(response.context, json!({"clientId": CLIENT_ID, "roles": CASE_DETAIL}));
    assert_eq!(auth.jwks_requests().await, 2, "one refresh for the unknown kid");

    // Both keys now cached: no further fetches.
    for _ in 0..5 {
        assert!(authorizer.authorize(&case_detail(Some(&token))).await.is_authorized);
        assert!(authorizer.authorize(&case_detail(Some(&bearer(&auth.sign(&claims))))).await.is_authorized);
    }
    assert_eq!(auth.jwks_requests().await, 2);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_does_not_hammer_hmpps_auth() {
    let (auth, authorizer) = setup().await;
    let claims = auth.claims(CLIENT_ID, None, &[CASE_DETAIL]);
    assert!(authorizer.authorize(&case_detail(Some(&bearer(&auth.sign(&claims))))).await.is_authorized);
    let stranger = SigningKey::generate("unused");
    for i in 0..50 {
        let token = stranger.sign_with_header(&json!({"alg": "RS256", "kid": format!("random-{i}")}), &claims);
        assert_refused(&authorizer, &case_detail(Some(&bearer(&token))), Refusal::UnknownKeyId).await;
    }
    assert_eq!(auth.jwks_requests().await, 1, "default: at most one refresh per 30 s");
    assert!(authorizer.authorize(&case_detail(Some(&bearer(&auth.sign(&claims))))).await.is_authorized);
}

#[tokio::test]
async fn refuses_when_the_jwks_is_unreachable() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let auth = HmppsAuthStandIn::start().await;
    let authorizer = Authorizer::new(AuthorizerConfig {
        jwks_url: format!("http://127.0.0.1:{port}/auth/.well-known/jwks.json"),
        issuer: auth.issuer(),
    });
    let token = auth.token(CLIENT_ID, None, &[CASE_DETAIL]);
    assert_refused(&authorizer, &case_detail(Some(&bearer(&token))), Refusal::JwksUnavailable).await;
}

#[tokio::test]
async fn refuses_while_hmpps_auth_is_down_and_recovers_after() {
    let auth = HmppsAuthStandIn::start().await;
    auth.set_available(false);
    let authorizer =
        // A retry wait wide enough that a loaded CI machine stays inside it.
        Authorizer::new(config(&auth)).with_refresh_limits(Duration::from_secs(30), Duration::from_secs(3));
    let token = bearer(&auth.token(CLIENT_ID, None, &[CASE_DETAIL]));
    assert_refused(&authorizer, &case_detail(Some(&token)), Refusal::JwksUnavailable).await;
    assert_eq!(auth.jwks_requests().await, 1, "one attempt; the retry waits");

    auth.set_available(true);
    assert_refused(&authorizer, &case_detail(Some(&token)), Refusal::JwksUnavailable).await;
    assert_eq!(auth.jwks_requests().await, 1);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert!(authorizer.authorize(&case_detail(Some(&token))).await.is_authorized);
    assert_eq!(auth.jwks_requests().await, 2);
}
