//! Every function of the system in one process, each built from the
//! configuration it would read on Lambda, and invoked with the JSON event
//! Lambda would give it: the event goes through the same deserialisation and
//! the response through the same serialisation as on AWS.

use std::collections::HashMap;

use appointments_list::StaffDirectory;
use appointments_list::directory::DirectoryConfig;
use authorizer::{Authorizer, AuthorizerConfig};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use aws_lambda_events::sqs::SqsEvent;
use base64::Engine;
use delius_db::{Database, DatabaseConfig};
use lambda_http::{Body, Request, Response};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Map, Value, json};
use workforce_allocations::Allocations;
use workforce_allocations::config::Settings;

/// The Delius user each service writes as (its function's default).
const RESETTLEMENT_USER: &str = "ResettlementPassportAndDelius";
const ALLOCATIONS_USER: &str = "HMPPSAllocations";

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("no function of that name")]
    UnknownFunction,
    /// What Lambda reports as an unhandled function error.
    #[error("{0}")]
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
#[error("{function}: {reason}")]
pub struct BuildError {
    pub function: &'static str,
    pub reason: String,
}

/// The function names, as deployed (crate and binary names).
pub const NAMES: [&str; 10] = [
    "authorizer",
    "probation-case-crn",
    "probation-case-mappa",
    "probation-case-community-manager",
    "probation-case-detail",
    "duty-to-refer-nsi",
    "appointments-list",
    "appointment-create",
    "nomis-case-note-create",
    "workforce-allocations",
];

pub struct Functions {
    resettlement: Database,
    directory: Option<StaffDirectory>,
    authorizer: Authorizer,
    allocations_db: Database,
    allocations: Allocations,
}

impl Functions {
    /// Builds every function from the variables `var` looks up, as each
    /// function's `main` does from its environment.
    pub fn build(var: impl Fn(&str) -> Option<String>) -> Result<Functions, BuildError> {
        let config =
            DatabaseConfig::from_lookup(&var, 1, RESETTLEMENT_USER).map_err(failed("resettlement functions"))?;
        let resettlement = Database::new(config).map_err(failed("resettlement functions"))?;
        let directory =
            DirectoryConfig::from_lookup(&var).map_err(failed("appointments-list"))?.map(StaffDirectory::new);
        let authorizer = Authorizer::new(AuthorizerConfig::from_lookup(&var).map_err(failed("authorizer"))?);
        let config = DatabaseConfig::from_lookup(&var, 2, ALLOCATIONS_USER).map_err(failed("workforce-allocations"))?;
        let mut settings = Settings::from_lookup(&var).map_err(failed("workforce-allocations"))?;
        settings.concurrency = config.pool_size;
        let allocations_db = Database::new(config).map_err(failed("workforce-allocations"))?;
        let allocations = Allocations::new(&settings).map_err(failed("workforce-allocations"))?;
        Ok(Functions { resettlement, directory, authorizer, allocations_db, allocations })
    }

    /// Invokes function `name` with `payload`, as the Lambda Invoke API does.
    pub async fn invoke(&self, name: &str, payload: Value) -> Result<Value, InvokeError> {
        if !NAMES.contains(&name) {
            return Err(InvokeError::UnknownFunction);
        }
        match name {
            "authorizer" => {
                let request: ApiGatewayV2CustomAuthorizerV2Request = deserialize(payload)?;
                serialize(&self.authorizer.authorize(&request).await)
            }
            "workforce-allocations" => {
                let event: SqsEvent = deserialize(payload)?;
                let event = LambdaEvent::new(event, Context::default());
                let response = workforce_allocations::handle(&self.allocations_db, &self.allocations, event)
                    .await
                    .map_err(|e| InvokeError::Failed(e.to_string()))?;
                serialize(&response)
            }
            http => {
                let request = http_request(&payload)?;
                let db = &self.resettlement;
                let response = match http {
                    "probation-case-crn" => probation_case_crn::handle(db, request).await,
                    "probation-case-mappa" => probation_case_mappa::handle(db, request).await,
                    "probation-case-community-manager" => probation_case_community_manager::handle(db, request).await,
                    "probation-case-detail" => probation_case_detail::handle(db, request).await,
                    "duty-to-refer-nsi" => duty_to_refer_nsi::handle(db, request).await,
                    "appointments-list" => appointments_list::handle(db, self.directory.as_ref(), request).await,
                    "appointment-create" => appointment_create::handle(db, request).await,
                    "nomis-case-note-create" => nomis_case_note_create::handle(db, request).await,
                    _ => return Err(InvokeError::UnknownFunction),
                };
                Ok(proxy_response(response))
            }
        }
    }
}

fn failed<E: std::fmt::Display>(function: &'static str) -> impl Fn(E) -> BuildError {
    move |e| BuildError { function, reason: e.to_string() }
}

fn deserialize<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, InvokeError> {
    serde_json::from_value(payload).map_err(|e| InvokeError::Failed(format!("failed to deserialize the event: {e}")))
}

fn serialize<T: serde::Serialize>(value: &T) -> Result<Value, InvokeError> {
    serde_json::to_value(value).map_err(|e| InvokeError::Failed(format!("failed to serialize the response: {e}")))
}

/// The request `lambda_http` builds from an API Gateway event.
fn http_request(payload: &Value) -> Result<Request, InvokeError> {
    lambda_http::request::from_str(&payload.to_string())
        .map_err(|e| InvokeError::Failed(format!("failed to deserialize the event: {e}")))
}

/// A function's response as the payload 2.0 JSON API Gateway receives.
pub fn proxy_response(response: Response<Body>) -> Value {
    let (parts, body) = response.into_parts();
    let mut headers: Map<String, Value> = Map::new();
    let mut joined: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in &parts.headers {
        joined.entry(name.as_str().to_string()).or_default().push(String::from_utf8_lossy(value.as_bytes()).into());
    }
    for (name, values) in joined {
        headers.insert(name, Value::String(values.join(",")));
    }
    let (body, base64) = match body {
        Body::Empty => (String::new(), false),
        Body::Text(text) => (text, false),
        Body::Binary(bytes) => (base64::engine::general_purpose::STANDARD.encode(bytes), true),
        _ => (String::new(), false),
    };
    json!({
        "statusCode": parts.status.as_u16(),
        "headers": headers,
        "body": body,
        "isBase64Encoded": base64,
        "cookies": [],
    })
}
