//! The API Gateway HTTP API Lambda authorizer (REQUEST type, payload format
//! 2.0, simple responses) in front of every Resettlement Passport route.
//!
//! It allows a request when its bearer token is an HMPPS Auth JWT (RS256 only,
//! signed by a key of HMPPS Auth's JWKS, within `exp`/`nbf`, issued by
//! `HMPPS_AUTH_ISSUER`) whose `authorities` include `ROLE_<the route's role>`
//! from the route table. It passes the caller on as the context the functions
//! read (`clientId`, `userName`, `roles`). Everything else is a refusal,
//! never a handler error: API Gateway answers 403 either way, and an error
//! would only turn that into a 500.
//!
//! Tokens are never logged; each decision is logged with the route key, the
//! client id (once known) and a short reason code.

pub mod bearer;
mod jwks;

use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request};
use delius_api::auth::{CONTEXT_CLIENT_ID, CONTEXT_ROLES, CONTEXT_USER_NAME};
use delius_api::routes::{self, Route};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::jwks::{Jwks, RefreshPolicy};

/// Allowed clock difference with HMPPS Auth for `exp` and `nbf`. With API
/// Gateway's cache of the decision (`ReauthorizeEvery` in template.yaml) it
/// bounds how long a token works after it expires: the two together are at
/// most 60 s, what the original service allows for clock skew. Both clocks
/// are NTP-disciplined, so 10 s is ample, and leaves the cache the rest.
pub const LEEWAY_SECONDS: u64 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerConfig {
    /// Where HMPPS Auth publishes its signing keys.
    pub jwks_url: String,
    /// The exact `iss` to accept.
    pub issuer: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0} is not set")]
pub struct ConfigError(pub &'static str);

impl AuthorizerConfig {
    pub fn from_env() -> Result<AuthorizerConfig, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From the variables `var` looks up (empty counts as unset).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<AuthorizerConfig, ConfigError> {
        let required = |name: &'static str| var(name).filter(|v| !v.trim().is_empty()).ok_or(ConfigError(name));
        Ok(AuthorizerConfig { jwks_url: required("HMPPS_AUTH_JWKS_URL")?, issuer: required("HMPPS_AUTH_ISSUER")? })
    }
}

/// Why a request is refused. [`Refusal::reason`] is what gets logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no route for the request")]
    UnknownRoute,
    #[error("no Authorization header")]
    MissingHeader,
    #[error("the Authorization header is not one Bearer token")]
    MalformedHeader,
    #[error("the token is not a well-formed JWT")]
    MalformedToken,
    #[error("the token's algorithm is not RS256")]
    UnsupportedAlgorithm,
    #[error("the token names a critical header extension the authorizer does not implement")]
    UnsupportedCritical,
    #[error("the token names no key id")]
    MissingKeyId,
    #[error("HMPPS Auth publishes no key with the token's key id")]
    UnknownKeyId,
    #[error("HMPPS Auth's signing keys could not be fetched")]
    JwksUnavailable,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was not issued by HMPPS Auth")]
    WrongIssuer,
    #[error("the token's claims are missing or malformed")]
    InvalidClaims,
    #[error("the token lacks the route's role")]
    MissingRole,
}

impl Refusal {
    /// Short, stable code for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::UnknownRoute => "unknown_route",
            Refusal::MissingHeader => "missing_header",
            Refusal::MalformedHeader => "malformed_header",
            Refusal::MalformedToken => "malformed_token",
            Refusal::UnsupportedAlgorithm => "unsupported_alg",
            Refusal::UnsupportedCritical => "unsupported_crit",
            Refusal::MissingKeyId => "missing_kid",
            Refusal::UnknownKeyId => "unknown_kid",
            Refusal::JwksUnavailable => "jwks_unavailable",
            Refusal::BadSignature => "bad_signature",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::WrongIssuer => "wrong_issuer",
            Refusal::InvalidClaims => "invalid_claims",
            Refusal::MissingRole => "missing_role",
        }
    }
}

impl From<jsonwebtoken::errors::Error> for Refusal {
    fn from(error: jsonwebtoken::errors::Error) -> Refusal {
        match error.kind() {
            ErrorKind::InvalidSignature => Refusal::BadSignature,
            ErrorKind::ExpiredSignature => Refusal::Expired,
            ErrorKind::ImmatureSignature => Refusal::NotYetValid,
            ErrorKind::InvalidIssuer => Refusal::WrongIssuer,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
                Refusal::UnsupportedAlgorithm
            }
            ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) | ErrorKind::Json(_) => {
                Refusal::InvalidClaims
            }
            _ => Refusal::MalformedToken,
        }
    }
}

/// A refusal, with the client id when the token got far enough to tell it.
struct Denial {
    refusal: Refusal,
    client_id: Option<String>,
}

impl From<Refusal> for Denial {
    fn from(refusal: Refusal) -> Denial {
        Denial { refusal, client_id: None }
    }
}

/// The HMPPS Auth claims the authorizer reads.
#[derive(Deserialize)]
struct Claims {
    /// A string: an array holding the issuer among others is not "equal" to it.
    iss: String,
    client_id: String,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    authorities: Vec<String>,
}

/// The verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub client_id: String,
    pub user_name: Option<String>,
    /// Roles without the `ROLE_` prefix.
    pub roles: Vec<String>,
}

impl Caller {
    fn from_claims(claims: Claims) -> Caller {
        // As Spring's hasRole: only `ROLE_` authorities are roles.
        let roles = claims.authorities.iter().filter_map(|a| a.strip_prefix("ROLE_")).map(str::to_owned).collect();
        Caller { client_id: claims.client_id, user_name: claims.user_name.filter(|u| !u.is_empty()), roles }
    }

    /// The authorizer context the functions read (`delius_api::auth`).
    pub fn context(&self) -> Value {
        let mut context = Map::new();
        context.insert(CONTEXT_CLIENT_ID.into(), Value::String(self.client_id.clone()));
        if let Some(user_name) = &self.user_name {
            context.insert(CONTEXT_USER_NAME.into(), Value::String(user_name.clone()));
        }
        context.insert(CONTEXT_ROLES.into(), Value::String(self.roles.join(",")));
        Value::Object(context)
    }
}

/// The authorizer: one per container, holding the (lazily built) HTTP client
/// and the cached signing keys.
pub struct Authorizer {
    jwks: Jwks,
    validation: Validation,
    issuer: String,
}

impl Authorizer {
    /// Touches no network and no certificate store: the HTTP client is built
    /// and the keys are fetched on the first request that needs them.
    pub fn new(config: AuthorizerConfig) -> Authorizer {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // HMPPS Auth's audiences are not something this API is configured with.
        validation.validate_aud = false;
        validation.set_issuer(&[&config.issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        Authorizer { jwks: Jwks::new(config.jwks_url), validation, issuer: config.issuer }
    }

    /// How often the JWKS may be fetched again for an unknown `kid` (default
    /// 30 s) and after a failed fetch (default 5 s).
    pub fn with_refresh_limits(mut self, min_refresh_interval: Duration, retry_after_failure: Duration) -> Authorizer {
        self.jwks.set_policy(RefreshPolicy { min_refresh_interval, retry_after_failure, ..self.jwks.policy() });
        self
    }

    /// How long fetched keys are used before they are fetched again (default 1 h).
    pub fn with_max_age(mut self, max_age: Duration) -> Authorizer {
        self.jwks.set_policy(RefreshPolicy { max_age, ..self.jwks.policy() });
        self
    }

    /// How long one JWKS request may take, end to end (default 4 s, well
    /// inside API Gateway's 10 s authorizer timeout); requests waiting for
    /// that answer wait no longer.
    pub fn with_fetch_timeout(mut self, fetch_timeout: Duration) -> Authorizer {
        self.jwks.set_policy(RefreshPolicy { fetch_timeout, ..self.jwks.policy() });
        self
    }

    /// The decision for one authorizer request. Never fails: every problem is
    /// a refusal.
    pub async fn authorize(
        &self,
        request: &ApiGatewayV2CustomAuthorizerV2Request,
    ) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
        let route_key = request.route_key.as_deref().unwrap_or("-");
        let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
        match self.evaluate(request).await {
            Ok(caller) => {
                tracing::info!(route_key, client_id = %caller.client_id, decision = "allow", "authorized");
                delius_api::telemetry::count("AuthorizerDecisions", &[("Decision", "allow"), ("Reason", "ok")]);
                response.is_authorized = true;
                response.context = caller.context();
            }
            Err(Denial { refusal, client_id }) => {
                let reason = refusal.reason();
                tracing::info!(
                    route_key,
                    client_id = client_id.as_deref().unwrap_or("-"),
                    decision = "deny",
                    reason,
                    "refused"
                );
                delius_api::telemetry::count("AuthorizerDecisions", &[("Decision", "deny"), ("Reason", reason)]);
                response.is_authorized = false;
                response.context = Value::Object(Map::new());
            }
        }
        response
    }

    /// The decision with its reason, unlogged (what [`authorize`](Self::authorize) answers from).
    pub async fn decide(&self, request: &ApiGatewayV2CustomAuthorizerV2Request) -> Result<Caller, Refusal> {
        self.evaluate(request).await.map_err(|denial| denial.refusal)
    }

    async fn evaluate(&self, request: &ApiGatewayV2CustomAuthorizerV2Request) -> Result<Caller, Denial> {
        let route = route_of(request).ok_or(Refusal::UnknownRoute)?;
        let token = bearer::bearer_token(&request.headers)?;
        let caller = self.verify(token).await?;
        if !caller.roles.iter().any(|r| r == route.role) {
            return Err(Denial { refusal: Refusal::MissingRole, client_id: Some(caller.client_id) });
        }
        Ok(caller)
    }

    async fn verify(&self, token: &str) -> Result<Caller, Refusal> {
        let header = bearer::jose_header(token)?;
        // Checked before any key lookup: `none`, HS256 (keyed with the public
        // key) and the like never reach a verifier.
        if header.alg != "RS256" {
            return Err(Refusal::UnsupportedAlgorithm);
        }
        // RFC 7515 §4.1.11: an extension the recipient must understand, and this one understands none.
        if header.unsupported_critical().is_some() {
            return Err(Refusal::UnsupportedCritical);
        }
        let kid = header.kid.filter(|k| !k.is_empty()).ok_or(Refusal::MissingKeyId)?;
        let key = self.jwks.key(&kid).await?;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &self.validation)?.claims;
        // Already checked by the validation; kept explicit as the rule that matters.
        if claims.iss != self.issuer {
            return Err(Refusal::WrongIssuer);
        }
        Ok(Caller::from_claims(claims))
    }
}

/// The route by API Gateway's route key; by method and path when the key is
/// not one of the table's (e.g. `$default`).
fn route_of(request: &ApiGatewayV2CustomAuthorizerV2Request) -> Option<&'static Route> {
    request.route_key.as_deref().and_then(routes::by_route_key).or_else(|| {
        let method = request.request_context.http.method.as_str();
        let path = request.raw_path.as_deref().or(request.request_context.http.path.as_deref())?;
        routes::resolve(method, path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_needs_both_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert_eq!(
            AuthorizerConfig::from_lookup(env(&[
                ("HMPPS_AUTH_JWKS_URL", "http://a/jwks"),
                ("HMPPS_AUTH_ISSUER", "http://a/i")
            ])),
            Ok(AuthorizerConfig { jwks_url: "http://a/jwks".into(), issuer: "http://a/i".into() })
        );
        assert_eq!(
            AuthorizerConfig::from_lookup(env(&[("HMPPS_AUTH_ISSUER", "http://a/i")])),
            Err(ConfigError("HMPPS_AUTH_JWKS_URL"))
        );
        assert_eq!(
            AuthorizerConfig::from_lookup(env(&[("HMPPS_AUTH_JWKS_URL", "http://a/jwks"), ("HMPPS_AUTH_ISSUER", " ")])),
            Err(ConfigError("HMPPS_AUTH_ISSUER"))
        );
    }

    #[test]
    fn roles_are_the_role_authorities_without_prefix() {
        let caller = Caller::from_claims(Claims {
            iss: "i".into(),
            client_id: "c".into(),
            user_name: Some(String::new()),
            authorities: vec!["ROLE_A".into(), "SCOPE_read".into(), "B".into(), "ROLE_C".into()],
        });
        assert_eq!(caller.roles, vec!["A", "C"]);
        assert_eq!(caller.user_name, None);
        assert_eq!(caller.context(), serde_json::json!({"clientId": "c", "roles": "A,C"}));
    }

    #[test]
    fn finds_the_route_by_key_then_by_path() {
        let request = |route_key: &str, method: &str, path: &str| -> ApiGatewayV2CustomAuthorizerV2Request {
            serde_json::from_value(serde_json::json!({
                "type": "REQUEST", "routeKey": route_key, "rawPath": path,
                "requestContext": {"http": {"method": method, "path": path}}
            }))
            .unwrap()
        };
        let function = |r: &ApiGatewayV2CustomAuthorizerV2Request| route_of(r).map(|route| route.function);
        assert_eq!(function(&request("GET /appointments/{crn}", "GET", "/appointments/X1")), Some("appointments-list"));
        assert_eq!(function(&request("$default", "POST", "/appointments/X1")), Some("appointment-create"));
        assert_eq!(function(&request("$default", "GET", "/probation-cases/X1/mappa")), Some("probation-case-mappa"));
        assert_eq!(function(&request("$default", "DELETE", "/appointments/X1")), None);
        assert_eq!(function(&request("GET /health", "GET", "/health")), None);
    }
}
