//! The caller's identity as the authorizer passed it on, and the fail-closed
//! role check every function makes itself: a route deployed without the
//! authorizer is refused, not open.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

use crate::problem::ApiError;

/// Context keys the authorizer sets (simple responses allow only flat values,
/// so the roles travel as one comma-separated string).
pub const CONTEXT_CLIENT_ID: &str = "clientId";
pub const CONTEXT_USER_NAME: &str = "userName";
pub const CONTEXT_ROLES: &str = "roles";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthorizerContext {
    pub client_id: Option<String>,
    pub user_name: Option<String>,
    /// Roles without the `ROLE_` prefix.
    pub roles: Vec<String>,
}

impl AuthorizerContext {
    /// Reads the Lambda authorizer context of an API Gateway v2 request.
    pub fn from_request(request: &Request) -> Option<AuthorizerContext> {
        let RequestContext::ApiGatewayV2(ctx) = request.request_context_ref()? else {
            return None;
        };
        let fields = &ctx.authorizer.as_ref()?.fields;
        let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_owned);
        let roles = match fields.get(CONTEXT_ROLES) {
            Some(Value::String(s)) => s.split(',').map(str::trim).filter(|r| !r.is_empty()).map(normalise).collect(),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(normalise).collect(),
            _ => Vec::new(),
        };
        Some(AuthorizerContext { client_id: text(CONTEXT_CLIENT_ID), user_name: text(CONTEXT_USER_NAME), roles })
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

fn normalise(role: &str) -> String {
    role.strip_prefix("ROLE_").unwrap_or(role).to_string()
}

/// The caller's context if it carries `role`; 403 otherwise.
pub fn require_role(request: &Request, role: &str) -> Result<AuthorizerContext, ApiError> {
    match AuthorizerContext::from_request(request) {
        Some(ctx) if ctx.has_role(role) => Ok(ctx),
        _ => Err(ApiError::Forbidden("Access Denied".to_string())),
    }
}
