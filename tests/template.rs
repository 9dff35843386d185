//! Checks `template.yaml` for what cfn-lint and the SAM transform let through
//! (neither validates property values inside SAM events): the authorizer and SQS settings that silently change
//! behaviour when mistyped or missing, the route table, the configuration
//! contract, least-privilege secrets access, log groups, the dashboard JSON and
//! the alarms. `scripts/lint-template.sh` does the schema-level linting.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use delius_api::routes::ROUTES;
use serde_yaml_ng::{Mapping, Value};

const AUTHORIZER: &str = "authorizer";
const ALLOCATIONS: &str = "workforce-allocations";

/// Environment variable names of the configuration contract (the README's
/// "Configuration" table).
const CONTRACT: &[&str] = &[
    "DATABASE_URL",
    "DB_SECRET_ARN",
    "DB_POOL_SIZE",
    "DB_CONNECT_TIMEOUT_MS",
    "DB_CHECKOUT_TIMEOUT_MS",
    "DB_LOCK_TIMEOUT_MS",
    "DB_STATEMENT_TIMEOUT_MS",
    "DB_WORK_TIMEOUT_MS",
    "DB_SSLMODE",
    "DB_CA_BUNDLE",
    "DB_HOST",
    "DB_PREPARED_STATEMENTS",
    "DELIUS_USERNAME",
    "HMPPS_AUTH_JWKS_URL",
    "HMPPS_AUTH_ISSUER",
    "HMPPS_AUTH_TOKEN_URL",
    "WORKLOAD_CLIENT_ID",
    "WORKLOAD_CLIENT_SECRET",
    "WORKLOAD_CLIENT_SECRET_ARN",
    "ALLOWED_DETAIL_URLS",
    "PRODUCE_SPOD03_CONTACT",
    "LDAP_URL",
    "LDAP_BIND_DN",
    "LDAP_BIND_PASSWORD",
    "LDAP_SECRET_ARN",
    "LDAP_BASE",
    "LDAP_STARTTLS",
    "LDAP_CA_BUNDLE",
    "AWS_ENDPOINT_URL",
];

const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
    "AWS::NotificationARNs",
];

fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let path = delius_testkit::repo_root().join("template.yaml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        serde_yaml_ng::from_str(&text).expect("template.yaml is YAML")
    })
}

// ---------------------------------------------------------------------------
// Reading YAML with CloudFormation intrinsics (short `!Ref` or long `Ref:` form)
// ---------------------------------------------------------------------------

/// `v` at a dotted path of mapping keys; `Null` where anything is missing.
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    path.split('.').try_fold(v, |v, key| v.get(key)).unwrap_or(&NULL)
}

fn mapping<'a>(v: &'a Value, what: &str) -> &'a Mapping {
    v.as_mapping().unwrap_or_else(|| panic!("{what} is not a mapping: {v:?}"))
}

fn string<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str().unwrap_or_else(|| panic!("{what} is not a string: {v:?}"))
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_mapping().map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence().map(|s| s.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// An intrinsic function call: its name without `!`/`Fn::`, and its argument.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((t.tag.to_string().trim_start_matches('!').to_owned(), &t.value)),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k.starts_with("Fn::")).then(|| (k.trim_start_matches("Fn::").to_owned(), arg))
        }
        _ => None,
    }
}

/// The target of `!Ref X`.
fn ref_to(v: &Value) -> Option<&str> {
    match intrinsic(v)? {
        (name, arg) if name == "Ref" => arg.as_str(),
        _ => None,
    }
}

/// `(resource, attribute)` of `!GetAtt R.A` or `Fn::GetAtt: [R, A]`.
fn get_att(v: &Value) -> Option<(String, String)> {
    match intrinsic(v)? {
        (name, arg) if name == "GetAtt" => get_att_arg(arg),
        _ => None,
    }
}

fn get_att_arg(arg: &Value) -> Option<(String, String)> {
    match arg {
        Value::String(s) => s.split_once('.').map(|(r, a)| (r.to_owned(), a.to_owned())),
        Value::Sequence(s) if s.len() == 2 => Some((s[0].as_str()?.to_owned(), s[1].as_str()?.to_owned())),
        _ => None,
    }
}

/// The string of `!Sub "..."` (or of `!Sub ["...", {...}]`).
fn sub_string(v: &Value) -> Option<&str> {
    match intrinsic(v)? {
        (name, Value::String(s)) if name == "Sub" => Some(s),
        (name, Value::Sequence(s)) if name == "Sub" => s.first()?.as_str(),
        _ => None,
    }
}

/// The `${...}` variables of a `!Sub` string (`${!Literal}` escapes excluded).
fn sub_variables(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').expect("unterminated ${ in !Sub");
        if !after.starts_with('!') {
            out.push(&after[..end]);
        }
        rest = &after[end + 1..];
    }
    out
}

/// Every intrinsic call anywhere under `v`.
fn walk_intrinsics<'a>(v: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    if let Some((name, arg)) = intrinsic(v) {
        out.push((name, arg));
    }
    match v {
        Value::Tagged(t) => walk_intrinsics(&t.value, out),
        Value::Mapping(m) => m.values().for_each(|v| walk_intrinsics(v, out)),
        Value::Sequence(s) => s.iter().for_each(|v| walk_intrinsics(v, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// The template's parts
// ---------------------------------------------------------------------------

fn resources() -> &'static Mapping {
    mapping(at(template(), "Resources"), "Resources")
}

fn resource(logical_id: &str) -> &'static Value {
    resources().get(logical_id).unwrap_or_else(|| panic!("no resource {logical_id}"))
}

fn resources_of_type(ty: &str) -> Vec<(&'static str, &'static Value)> {
    resources()
        .iter()
        .filter(|(_, r)| at(r, "Type").as_str() == Some(ty))
        .map(|(id, r)| (id.as_str().expect("logical id"), r))
        .collect()
}

fn parameter(name: &str) -> &'static Value {
    at(template(), "Parameters").get(name).unwrap_or_else(|| panic!("no parameter {name}"))
}

/// A deployed function: its logical id and resource.
struct Function {
    id: &'static str,
    resource: &'static Value,
}

impl Function {
    fn props(&self) -> &'static Value {
        at(self.resource, "Properties")
    }

    /// A property of the function, falling back to `Globals.Function`.
    fn effective(&self, key: &str) -> &'static Value {
        match self.props().get(key) {
            Some(v) => v,
            None => at(template(), &format!("Globals.Function.{key}")),
        }
    }

    /// A nested property: SAM merges maps of the function with `Globals.Function`'s.
    fn effective_at(&self, path: &str) -> &'static Value {
        match at(self.props(), path) {
            Value::Null => at(template(), &format!("Globals.Function.{path}")),
            v => v,
        }
    }

    fn env(&self) -> BTreeMap<String, &'static Value> {
        let vars = at(self.props(), "Environment.Variables");
        mapping(vars, &format!("{} environment", self.id))
            .iter()
            .map(|(k, v)| (k.as_str().expect("variable name").to_owned(), v))
            .collect()
    }

    fn events(&self) -> Vec<(&'static str, &'static Value)> {
        at(self.props(), "Events")
            .as_mapping()
            .map(|m| m.iter().map(|(k, v)| (k.as_str().expect("event name"), v)).collect())
            .unwrap_or_default()
    }
}

/// Functions by binary (= crate) name.
fn functions() -> BTreeMap<&'static str, Function> {
    let mut out = BTreeMap::new();
    for (id, resource) in resources_of_type("AWS::Serverless::Function") {
        let binary = string(at(resource, "Metadata.BuildProperties.Binary"), &format!("{id} Binary"));
        assert!(out.insert(binary, Function { id, resource }).is_none(), "two functions build the binary {binary}");
    }
    out
}

fn function(binary: &str) -> Function {
    functions().remove(binary).unwrap_or_else(|| panic!("no function builds {binary}"))
}

/// The function crates of the workspace (`functions/<name>/Cargo.toml`).
fn workspace_functions() -> BTreeSet<String> {
    let dir = delius_testkit::repo_root().join("functions");
    std::fs::read_dir(&dir)
        .expect("functions/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// The one HttpApi: its logical id and resource.
fn http_api() -> (&'static str, &'static Value) {
    let apis = resources_of_type("AWS::Serverless::HttpApi");
    assert_eq!(apis.len(), 1, "exactly one HttpApi");
    apis[0]
}

/// The queue the allocations function consumes: its SQS event and the queue's logical id.
fn allocations_sqs_event() -> (&'static Value, String) {
    let f = function(ALLOCATIONS);
    let events = f.events();
    assert_eq!(events.len(), 1, "the allocations function has one trigger: {events:?}");
    let (_, event) = events[0];
    assert_eq!(at(event, "Type").as_str(), Some("SQS"));
    let (queue, attr) = get_att(at(event, "Properties.Queue")).expect("Queue: !GetAtt <queue>.Arn");
    assert_eq!(attr, "Arn");
    assert_eq!(at(resource(&queue), "Type").as_str(), Some("AWS::SQS::Queue"));
    (event, queue)
}

fn int(v: &Value, what: &str) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("{what} is not an integer: {v:?}"))
}

fn assert_no_unknown_keys(v: &Value, allowed: &[&str], what: &str) {
    let unknown: Vec<String> = keys(v).into_iter().filter(|k| !allowed.contains(&k.as_str())).collect();
    assert!(unknown.is_empty(), "{what}: unknown keys {unknown:?} (a typo is silently ignored by SAM)");
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn every_function_crate_is_deployed_and_built_by_cargo_lambda() {
    let deployed: BTreeSet<String> = functions().keys().map(|b| b.to_string()).collect();
    assert_eq!(deployed, workspace_functions(), "every crate in functions/ is one function of the template");
    let mut expected: BTreeSet<String> = ROUTES.iter().map(|r| r.function.to_owned()).collect();
    expected.extend([AUTHORIZER.to_owned(), ALLOCATIONS.to_owned()]);
    assert_eq!(deployed, expected);

    for (binary, f) in functions() {
        assert_eq!(at(f.resource, "Metadata.BuildMethod").as_str(), Some("rust-cargolambda"), "{binary}");
        assert_eq!(f.effective("CodeUri").as_str(), Some("."), "{binary}: CodeUri is the workspace root");
        assert_eq!(f.effective("Runtime").as_str(), Some("provided.al2023"), "{binary}");
        assert_eq!(f.effective("Handler").as_str(), Some("bootstrap"), "{binary}");
        assert_eq!(f.effective("Tracing").as_str(), Some("Active"), "{binary}");
        assert_eq!(f.effective_at("LoggingConfig.LogFormat").as_str(), Some("JSON"), "{binary}");
        let arch = f.effective("Architectures").as_sequence().expect("Architectures");
        assert_eq!(arch.len(), 1);
        assert_eq!(ref_to(&arch[0]), Some("Architecture"), "{binary}: architecture from the parameter");
        let timeout = int(f.effective("Timeout"), "Timeout");
        assert!((1..=900).contains(&timeout), "{binary}: Timeout {timeout}");
        if ROUTES.iter().any(|r| r.function == binary) || binary == AUTHORIZER {
            assert!(timeout <= 29, "{binary}: API Gateway gives up after 30 s, Timeout {timeout}");
        }
    }
    let arch = parameter("Architecture");
    assert_eq!(at(arch, "Default").as_str(), Some("arm64"));
    assert_eq!(strings(at(arch, "AllowedValues")), ["arm64", "x86_64"]);
}

#[test]
fn the_api_authorizes_every_route_with_the_lambda_authorizer() {
    let (_, api) = http_api();
    let auth = at(api, "Properties.Auth");
    let default = string(at(auth, "DefaultAuthorizer"), "DefaultAuthorizer");
    let authorizer = at(auth, "Authorizers").get(default).unwrap_or_else(|| panic!("no authorizer {default}"));
    assert_no_unknown_keys(
        authorizer,
        &[
            "FunctionArn",
            "FunctionInvokeRole",
            "Identity",
            "AuthorizerPayloadFormatVersion",
            "EnableSimpleResponses",
            "EnableFunctionDefaultPermissions",
        ],
        "the authorizer",
    );
    let (target, attr) = get_att(at(authorizer, "FunctionArn")).expect("FunctionArn: !GetAtt <function>.Arn");
    assert_eq!((target.as_str(), attr.as_str()), (function(AUTHORIZER).id, "Arn"));
    // A YAML 2.0 would be a number; SAM wants the string.
    assert_eq!(at(authorizer, "AuthorizerPayloadFormatVersion"), &Value::String("2.0".into()));
    assert_eq!(at(authorizer, "EnableSimpleResponses"), &Value::Bool(true));
    // Without it API Gateway may not invoke the authorizer: 500 on every request.
    assert_eq!(at(authorizer, "EnableFunctionDefaultPermissions"), &Value::Bool(true));
    assert!(at(authorizer, "FunctionInvokeRole").is_null(), "permission comes from EnableFunctionDefaultPermissions");

    let identity = at(authorizer, "Identity");
    assert_no_unknown_keys(
        identity,
        &["Headers", "QueryStrings", "Context", "StageVariables", "ReauthorizeEvery"],
        "the authorizer identity",
    );
    assert_eq!(strings(at(identity, "Headers")), ["Authorization"]);
    // Any other identity source missing from a request would answer 401 before the authorizer runs.
    assert!(at(identity, "QueryStrings").is_null() && at(identity, "StageVariables").is_null());
    // Decisions depend on the route's role: cache them per token and route.
    assert!(strings(at(identity, "Context")).contains(&"routeKey".to_owned()), "routeKey in the cache key");
    let ttl = int(at(identity, "ReauthorizeEvery"), "ReauthorizeEvery");
    assert!((1..=3600).contains(&ttl), "result caching on, ReauthorizeEvery {ttl}");
    // A cached Allow outlives the token by up to the TTL, and the leeway adds to it.
    let window = ttl + authorizer::LEEWAY_SECONDS as i64;
    assert!(
        window <= 60,
        "a token works up to {window} s after it expires (ReauthorizeEvery {ttl} + leeway {}); at most 60 s",
        authorizer::LEEWAY_SECONDS
    );

    let authorizer_fn = function(AUTHORIZER);
    assert!(authorizer_fn.events().is_empty(), "the authorizer serves no route");
}

/// Whether CloudFormation would accept `value` for the parameter (its
/// `AllowedPattern` must match the whole value).
fn parameter_accepts(name: &str, value: &str) -> bool {
    let pattern = string(at(parameter(name), "AllowedPattern"), "AllowedPattern");
    regex::Regex::new(&format!("^(?:{pattern})$")).unwrap_or_else(|e| panic!("{name}: {e}")).is_match(value)
}

#[test]
fn hmpps_auth_keys_and_issuer_are_https_only() {
    for name in ["HmppsAuthJwksUrl", "HmppsAuthIssuer"] {
        for good in [
            "https://sign-in.hmpps.service.justice.gov.uk/auth/.well-known/jwks.json",
            "https://sign-in-dev.hmpps.service.justice.gov.uk/auth/issuer",
            "https://auth.example:8443/issuer",
        ] {
            assert!(parameter_accepts(name, good), "{name} refuses {good}");
        }
        for bad in [
            "http://sign-in.hmpps.service.justice.gov.uk/auth/issuer",
            "http://127.0.0.1:8090/auth/.well-known/jwks.json",
            "HTTP://sign-in.hmpps.service.justice.gov.uk/auth/issuer",
            "ftp://sign-in.hmpps.service.justice.gov.uk/auth/issuer",
            "https://",
            "https:///auth/issuer",
            " https://sign-in.hmpps.service.justice.gov.uk/auth/issuer",
            "https://sign-in.hmpps.service.justice.gov.uk/auth/issuer\nhttp://elsewhere",
            "",
        ] {
            assert!(!parameter_accepts(name, bad), "{name} accepts {bad:?}");
        }
        assert!(at(parameter(name), "Default").is_null(), "{name} has no default: it must be given");
    }
}

#[test]
fn every_route_is_served_by_its_function_and_there_are_no_others() {
    let (api_id, _) = http_api();
    let mut served = BTreeSet::new();
    for (binary, f) in functions() {
        for (name, event) in f.events() {
            let ty = string(at(event, "Type"), "event Type");
            if ty != "HttpApi" {
                assert_eq!(binary, ALLOCATIONS, "{binary}: unexpected {ty} event {name}");
                continue;
            }
            let props = at(event, "Properties");
            assert_no_unknown_keys(
                props,
                &["ApiId", "Method", "Path", "PayloadFormatVersion", "TimeoutInMillis", "RouteSettings"],
                &format!("{binary} event {name}"),
            );
            assert_eq!(ref_to(at(props, "ApiId")), Some(api_id), "{binary}: on the stack's HttpApi");
            let version = at(props, "PayloadFormatVersion");
            assert!(version.is_null() || version == &Value::String("2.0".into()), "{binary}: lambda_http v2 events");
            let method = string(at(props, "Method"), "Method").to_uppercase();
            let path = string(at(props, "Path"), "Path").to_owned();
            assert!(served.insert((binary.to_owned(), method, path)), "{binary}: route declared twice");
        }
    }
    let expected: BTreeSet<(String, String, String)> =
        ROUTES.iter().map(|r| (r.function.to_owned(), r.method.to_owned(), r.path.to_owned())).collect();
    assert_eq!(served, expected, "HttpApi events == delius_api::routes::ROUTES");
}

#[test]
fn allocations_consume_their_queue_reporting_batch_item_failures() {
    let (event, queue_id) = allocations_sqs_event();
    let props = at(event, "Properties");
    assert_no_unknown_keys(
        props,
        &[
            "Queue",
            "BatchSize",
            "Enabled",
            "FilterCriteria",
            "FunctionResponseTypes",
            "KmsKeyArn",
            "MaximumBatchingWindowInSeconds",
            "MetricsConfig",
            "ScalingConfig",
        ],
        "the SQS event",
    );
    // Without it Lambda ignores batchItemFailures and deletes failed messages.
    assert_eq!(strings(at(props, "FunctionResponseTypes")), ["ReportBatchItemFailures"]);
    let batch = int(at(props, "BatchSize"), "BatchSize");
    assert!((1..=10).contains(&batch), "BatchSize {batch}");
    let window = int(at(props, "MaximumBatchingWindowInSeconds"), "MaximumBatchingWindowInSeconds");
    assert!((0..=300).contains(&window));
    assert_no_unknown_keys(at(props, "ScalingConfig"), &["MaximumConcurrency"], "ScalingConfig");
    let concurrency = int(at(props, "ScalingConfig.MaximumConcurrency"), "MaximumConcurrency");
    assert!((2..=1000).contains(&concurrency));

    let queue = at(resource(&queue_id), "Properties");
    let redrive = at(queue, "RedrivePolicy");
    assert_no_unknown_keys(redrive, &["deadLetterTargetArn", "maxReceiveCount"], "RedrivePolicy");
    assert_eq!(int(at(redrive, "maxReceiveCount"), "maxReceiveCount"), 3);
    let (dlq_id, attr) = get_att(at(redrive, "deadLetterTargetArn")).expect("deadLetterTargetArn: !GetAtt <dlq>.Arn");
    assert_eq!(attr, "Arn");
    assert_ne!(dlq_id, queue_id);
    let dlq = resource(&dlq_id);
    assert_eq!(at(dlq, "Type").as_str(), Some("AWS::SQS::Queue"));
    let dlq_retention = int(at(dlq, "Properties.MessageRetentionPeriod"), "DLQ retention");
    assert_eq!(dlq_retention, 14 * 24 * 3600);
    // A standard queue's message keeps its enqueue time when moved to the DLQ.
    let queue_retention = at(queue, "MessageRetentionPeriod").as_i64().unwrap_or(4 * 24 * 3600);
    assert!(dlq_retention > queue_retention);

    let timeout = int(function(ALLOCATIONS).effective("Timeout"), "Timeout");
    let visibility = int(at(queue, "VisibilityTimeout"), "VisibilityTimeout");
    assert!(visibility >= 6 * timeout, "visibility timeout {visibility} < 6 x function timeout {timeout}");
}

#[test]
fn the_queue_receives_allocation_events_from_the_domain_events_topic() {
    let (_, queue_id) = allocations_sqs_event();
    let subscriptions = resources_of_type("AWS::SNS::Subscription");
    assert_eq!(subscriptions.len(), 1);
    let sub = at(subscriptions[0].1, "Properties");
    assert_eq!(ref_to(at(sub, "TopicArn")), Some("DomainEventsTopicArn"));
    assert_eq!(at(sub, "Protocol").as_str(), Some("sqs"));
    assert_eq!(get_att(at(sub, "Endpoint")), Some((queue_id.clone(), "Arn".into())));
    // The consumer parses the SNS envelope.
    assert_eq!(at(sub, "RawMessageDelivery"), &Value::Bool(false));
    let scope = at(sub, "FilterPolicyScope");
    assert!(scope.is_null() || scope.as_str() == Some("MessageAttributes"));
    assert_no_unknown_keys(at(sub, "FilterPolicy"), &["eventType"], "FilterPolicy");
    let event_types: BTreeSet<String> = strings(at(sub, "FilterPolicy.eventType")).into_iter().collect();
    let expected: BTreeSet<String> = [
        "person.community.manager.allocated",
        "event.manager.allocated",
        "requirement.manager.allocated",
        "licence-condition.manager.allocated",
    ]
    .map(String::from)
    .into();
    assert_eq!(event_types, expected);

    let policies = resources_of_type("AWS::SQS::QueuePolicy");
    assert_eq!(policies.len(), 1);
    let policy = at(policies[0].1, "Properties");
    let queues = policy.get("Queues").and_then(Value::as_sequence).expect("Queues");
    assert!(queues.iter().any(|q| ref_to(q) == Some(&queue_id)), "the policy is on the allocations queue");
    let statements = at(policy, "PolicyDocument.Statement").as_sequence().expect("Statement");
    assert!(
        statements.iter().any(|s| {
            at(s, "Effect").as_str() == Some("Allow")
                && at(s, "Principal.Service").as_str() == Some("sns.amazonaws.com")
                && at(s, "Action").as_str() == Some("sqs:SendMessage")
                && get_att(at(s, "Resource")) == Some((queue_id.clone(), "Arn".into()))
                && ref_to(at(s, "Condition.ArnEquals.aws:SourceArn")) == Some("DomainEventsTopicArn")
        }),
        "the topic (and only it) may send to the queue: {statements:?}"
    );
}

#[test]
fn environment_variables_follow_the_configuration_contract() {
    assert!(at(template(), "Globals.Function.Environment").is_null(), "each function gets only what it needs");
    for (binary, f) in functions() {
        let env = f.env();
        for (name, value) in &env {
            assert!(CONTRACT.contains(&name.as_str()), "{binary}: {name} is not in the configuration contract");
            assert!(!name.ends_with("PASSWORD") && name != "WORKLOAD_CLIENT_SECRET", "{binary}: {name} in plain text");
            // Parameters referenced (directly or through !If) exist.
            let mut calls = Vec::new();
            walk_intrinsics(value, &mut calls);
            for (call, arg) in calls {
                if call == "Ref" {
                    let target = arg.as_str().unwrap();
                    assert!(target == "AWS::NoValue" || !parameter(target).is_null(), "{binary}: {name}");
                }
            }
        }
        let names: BTreeSet<&str> = env.keys().map(String::as_str).collect();
        if binary == AUTHORIZER {
            assert_eq!(names, BTreeSet::from(["HMPPS_AUTH_ISSUER", "HMPPS_AUTH_JWKS_URL"]));
            assert_eq!(ref_to(env["HMPPS_AUTH_ISSUER"]), Some("HmppsAuthIssuer"));
            assert_eq!(ref_to(env["HMPPS_AUTH_JWKS_URL"]), Some("HmppsAuthJwksUrl"));
            continue;
        }
        let (username, pool) =
            if binary == ALLOCATIONS { ("HMPPSAllocations", "2") } else { ("ResettlementPassportAndDelius", "1") };
        assert_eq!(env["DELIUS_USERNAME"].as_str(), Some(username), "{binary}");
        // CloudFormation wants strings; a YAML number would be a different type here.
        assert_eq!(env["DB_POOL_SIZE"], &Value::String(pool.into()), "{binary}");
        assert_eq!(ref_to(env["DB_SECRET_ARN"]), Some("DbSecretArn"), "{binary}");
        assert!(!names.contains("DATABASE_URL"), "{binary}: credentials come from the secret");
        if binary == ALLOCATIONS {
            for (var, param) in [
                ("HMPPS_AUTH_TOKEN_URL", "HmppsAuthTokenUrl"),
                ("WORKLOAD_CLIENT_ID", "WorkloadClientId"),
                ("WORKLOAD_CLIENT_SECRET_ARN", "WorkloadClientSecretArn"),
                ("ALLOWED_DETAIL_URLS", "AllowedDetailUrls"),
                ("PRODUCE_SPOD03_CONTACT", "ProduceSpod03Contact"),
            ] {
                assert_eq!(env.get(var).and_then(|v| ref_to(v)), Some(param), "{var}");
            }
            assert_eq!(strings(at(parameter("ProduceSpod03Contact"), "AllowedValues")), ["true", "false"]);
            assert_eq!(at(parameter("ProduceSpod03Contact"), "Default").as_str(), Some("true"));
        } else {
            let ldap: BTreeSet<&str> = names.iter().copied().filter(|n| n.starts_with("LDAP_")).collect();
            if binary == "appointments-list" {
                assert_eq!(
                    ldap,
                    BTreeSet::from(["LDAP_BASE", "LDAP_BIND_DN", "LDAP_SECRET_ARN", "LDAP_STARTTLS", "LDAP_URL"])
                );
                for (url, accepted) in [
                    ("ldaps://ldap.delius.internal:636", true),
                    ("ldap://ldap.delius.internal:389", true),
                    ("", true),
                    ("http://ldap.delius.internal", false),
                ] {
                    assert_eq!(parameter_accepts("LdapUrl", url), accepted, "LdapUrl {url:?}");
                }
                assert_eq!(strings(at(parameter("LdapStartTls"), "AllowedValues")), ["true", "false"]);
                assert_eq!(at(parameter("LdapStartTls"), "Default").as_str(), Some("false"));
            } else {
                assert!(ldap.is_empty(), "{binary}: only the appointments list reads LDAP");
            }
            assert_eq!(names.len(), 3 + DB_CONNECTIVITY.len() + ldap.len(), "{binary}: {names:?}");
        }
    }
}

/// What a function's role allows beyond logs, traces and network interfaces:
/// the secrets (parameter names) it may read and the queues it may consume.
#[derive(Debug, Default)]
struct Grants {
    secrets: BTreeSet<String>,
    queues: BTreeSet<String>,
}

/// One `AWSSecretsManagerGetSecretValuePolicy` SAM policy template, possibly
/// under `!If [cond, <policy>, !Ref AWS::NoValue]`: the secret parameter.
fn sam_secret_policy(policy: &Value, binary: &str) -> String {
    if let Some((name, arg)) = intrinsic(policy) {
        let args = arg.as_sequence().filter(|_| name == "If").expect("only !If around a policy");
        assert_eq!(ref_to(&args[2]), Some("AWS::NoValue"), "{binary}: the else branch grants nothing");
        return sam_secret_policy(&args[1], binary);
    }
    assert_eq!(keys(policy), BTreeSet::from(["AWSSecretsManagerGetSecretValuePolicy".to_owned()]), "{binary}");
    ref_to(at(policy, "AWSSecretsManagerGetSecretValuePolicy.SecretArn")).expect("SecretArn: !Ref <param>").to_owned()
}

fn grants(binary: &str, f: &Function) -> Grants {
    let mut grants = Grants::default();
    let props = f.props();
    if let Some(role) = props.get("Role") {
        assert!(props.get("Policies").is_none(), "{binary}: Policies are ignored with a Role");
        let (role_id, attr) = get_att(role).expect("Role: !GetAtt <role>.Arn");
        assert_eq!(attr, "Arn");
        let role = resource(&role_id);
        assert_eq!(at(role, "Type").as_str(), Some("AWS::IAM::Role"));
        let role = at(role, "Properties");
        let statements = at(role, "AssumeRolePolicyDocument.Statement").as_sequence().unwrap();
        assert_eq!(statements.len(), 1);
        assert_eq!(at(&statements[0], "Principal.Service").as_str(), Some("lambda.amazonaws.com"));
        for arn in at(role, "ManagedPolicyArns").as_sequence().into_iter().flatten() {
            let arn = sub_string(arn).expect("managed policy ARN as !Sub");
            let name = arn.rsplit('/').next().unwrap();
            assert!(
                ["AWSXrayWriteOnlyAccess", "AWSLambdaVPCAccessExecutionRole", "AWSLambdaBasicExecutionRole"]
                    .contains(&name),
                "{binary}: managed policy {arn}"
            );
        }
        for policy in at(role, "Policies").as_sequence().into_iter().flatten() {
            for s in at(policy, "PolicyDocument.Statement").as_sequence().expect("Statement") {
                assert_eq!(at(s, "Effect").as_str(), Some("Allow"));
                let actions: Vec<String> = match at(s, "Action") {
                    Value::String(a) => vec![a.clone()],
                    a => strings(a),
                };
                let resources: Vec<&Value> = match at(s, "Resource") {
                    Value::Sequence(r) => r.iter().collect(),
                    r => vec![r],
                };
                let kinds: BTreeSet<&str> = actions.iter().map(|a| a.split(':').next().unwrap()).collect();
                assert_eq!(kinds.len(), 1, "{binary}: one service per statement: {actions:?}");
                match kinds.into_iter().next().unwrap() {
                    "secretsmanager" => {
                        assert_eq!(actions, ["secretsmanager:GetSecretValue"]);
                        grants.secrets.extend(resources.iter().map(|r| ref_to(r).expect("!Ref secret").to_owned()));
                    }
                    "sqs" => {
                        for a in &actions {
                            assert!(
                                ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
                                    .contains(&a.as_str()),
                                "{binary}: {a}"
                            );
                        }
                        for r in resources {
                            let (queue, attr) = get_att(r).expect("queue ARN");
                            assert_eq!(attr, "Arn");
                            grants.queues.insert(queue);
                        }
                    }
                    "logs" => {
                        for a in &actions {
                            assert!(["logs:CreateLogStream", "logs:PutLogEvents"].contains(&a.as_str()), "{a}");
                        }
                        let log_group = ref_to(f.effective_at("LoggingConfig.LogGroup")).unwrap();
                        for r in resources {
                            assert_eq!(get_att(r), Some((log_group.to_owned(), "Arn".into())), "{binary}: own logs");
                        }
                    }
                    other => panic!("{binary}: {other} permissions: {actions:?}"),
                }
            }
        }
    } else {
        // SAM's generated role: logs, X-Ray (Tracing) and ENIs (VpcConfig), plus these.
        for policy in at(props, "Policies").as_sequence().into_iter().flatten() {
            grants.secrets.insert(sam_secret_policy(policy, binary));
        }
    }
    grants
}

#[test]
fn each_function_reads_only_the_secrets_it_uses() {
    for (binary, f) in functions() {
        let grants = grants(binary, &f);
        // The secrets it is configured to read, directly or under !If.
        let mut used = BTreeSet::new();
        for (name, value) in f.env() {
            if name.ends_with("_SECRET_ARN") {
                let mut calls = Vec::new();
                walk_intrinsics(value, &mut calls);
                used.extend(
                    calls
                        .into_iter()
                        .filter(|(c, _)| c == "Ref")
                        .filter_map(|(_, a)| a.as_str())
                        .filter(|t| *t != "AWS::NoValue")
                        .map(str::to_owned),
                );
            }
        }
        assert_eq!(grants.secrets, used, "{binary}: secrets granted == secrets configured");
        let expected_queues: BTreeSet<String> =
            if binary == ALLOCATIONS { BTreeSet::from([allocations_sqs_event().1]) } else { BTreeSet::new() };
        assert_eq!(grants.queues, expected_queues, "{binary}: queues");
        if binary == ALLOCATIONS {
            assert!(f.props().get("Role").is_some(), "SAM's role would allow every queue of the account");
        }
    }
    for param in ["DbSecretArn", "WorkloadClientSecretArn", "LdapSecretArn"] {
        let pattern = string(at(parameter(param), "AllowedPattern"), "AllowedPattern");
        assert!(pattern.contains(":secretsmanager:"), "{param}: a full secret ARN");
    }
}

#[test]
fn functions_that_reach_delius_run_in_the_vpc_and_the_authorizer_does_not() {
    assert!(at(template(), "Globals.Function.VpcConfig").is_null());
    for (binary, f) in functions() {
        let vpc = at(f.props(), "VpcConfig");
        if binary == AUTHORIZER {
            assert!(vpc.is_null(), "the authorizer needs HMPPS Auth on the internet, not the VPC");
        } else {
            assert_eq!(ref_to(at(vpc, "SubnetIds")), Some("SubnetIds"), "{binary}");
            assert_eq!(ref_to(at(vpc, "SecurityGroupIds")), Some("SecurityGroupIds"), "{binary}");
        }
    }
    assert_eq!(at(parameter("SubnetIds"), "Type").as_str(), Some("List<AWS::EC2::Subnet::Id>"));
    assert_eq!(at(parameter("SecurityGroupIds"), "Type").as_str(), Some("List<AWS::EC2::SecurityGroup::Id>"));
}

#[test]
fn every_function_logs_to_its_own_log_group_with_retention() {
    let mut used = BTreeSet::new();
    for (binary, f) in functions() {
        let name = sub_string(at(f.props(), "FunctionName")).expect("FunctionName: !Sub");
        assert_eq!(name, format!("${{AWS::StackName}}-{binary}"));
        let group_id = ref_to(at(f.props(), "LoggingConfig.LogGroup")).expect("LoggingConfig.LogGroup: !Ref");
        assert!(used.insert(group_id), "{binary}: log group shared");
        let group = resource(group_id);
        assert_eq!(at(group, "Type").as_str(), Some("AWS::Logs::LogGroup"));
        let group_name = sub_string(at(group, "Properties.LogGroupName")).expect("LogGroupName: !Sub");
        assert_eq!(group_name, format!("/aws/lambda/{name}"), "{binary}");
    }
    for (id, group) in resources_of_type("AWS::Logs::LogGroup") {
        assert_eq!(ref_to(at(group, "Properties.RetentionInDays")), Some("LogRetentionInDays"), "{id}");
    }
    assert_eq!(int(at(parameter("LogRetentionInDays"), "Default"), "Default"), 30);
}

/// The dashboard's metric lines as `[namespace, metric, dim, value, ..., stat]`
/// strings, each `${X}` of the `!Sub` body shown as `SUB(X)`.
fn dashboard_metrics() -> Vec<Vec<String>> {
    let dashboards = resources_of_type("AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1);
    let body = sub_string(at(dashboards[0].1, "Properties.DashboardBody")).expect("DashboardBody: !Sub");
    // Every variable is a parameter, a resource (attribute) or a pseudo parameter.
    for var in sub_variables(body) {
        let head = var.split('.').next().unwrap();
        assert!(
            PSEUDO_PARAMETERS.contains(&var)
                || resources().contains_key(head)
                || at(template(), "Parameters").get(var).is_some(),
            "dashboard: ${{{var}}} names nothing"
        );
    }
    // The trivial substitution: each ${X} becomes SUB(X).
    let mut substituted = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}').unwrap();
        substituted.push_str(&rest[..start]);
        substituted.push_str(&format!("SUB({})", &rest[start + 2..end]));
        rest = &rest[end + 1..];
    }
    substituted.push_str(rest);
    let json: serde_json::Value =
        serde_json::from_str(&substituted).unwrap_or_else(|e| panic!("DashboardBody is not JSON: {e}"));

    let mut lines = Vec::new();
    for widget in json["widgets"].as_array().expect("widgets") {
        for key in ["type", "x", "y", "width", "height", "properties"] {
            assert!(widget.get(key).is_some(), "widget without {key}: {widget}");
        }
        if widget["type"] != "metric" {
            continue;
        }
        let props = &widget["properties"];
        assert_eq!(props["region"], "SUB(AWS::Region)", "{props}");
        let metrics = props["metrics"].as_array().expect("metrics");
        assert!(!metrics.is_empty());
        for m in metrics {
            let parts = m.as_array().expect("metric line");
            let mut line: Vec<String> = parts.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect();
            let options = parts.last().filter(|p| p.is_object());
            let stat = options.and_then(|o| o["stat"].as_str()).or(props["stat"].as_str()).expect("a stat");
            line.push(stat.to_owned());
            lines.push(line);
        }
    }
    lines
}

fn has_line(lines: &[Vec<String>], expected: &[&str]) -> bool {
    lines.iter().any(|l| l == expected)
}

#[test]
fn the_dashboard_is_json_and_shows_every_function_the_api_the_queues_and_outcomes() {
    let lines = dashboard_metrics();
    let missing =
        |expected: &[&str]| -> Option<String> { (!has_line(&lines, expected)).then(|| format!("{expected:?}")) };
    let mut absent = Vec::new();
    for f in functions().values() {
        let name = format!("SUB({})", f.id);
        for (metric, stat) in
            [("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "p50"), ("Duration", "p99")]
        {
            absent.extend(missing(&["AWS/Lambda", metric, "FunctionName", &name, stat]));
        }
    }
    let (api_id, _) = http_api();
    let api = format!("SUB({api_id})");
    for (metric, stat) in [("Count", "Sum"), ("4xx", "Sum"), ("5xx", "Sum"), ("Latency", "p50"), ("Latency", "p99")] {
        absent.extend(missing(&["AWS/ApiGateway", metric, "ApiId", &api, stat]));
    }
    let (_, queue_id) = allocations_sqs_event();
    let dlq_id = get_att(at(resource(&queue_id), "Properties.RedrivePolicy.deadLetterTargetArn")).unwrap().0;
    let queue = format!("SUB({queue_id}.QueueName)");
    let dlq = format!("SUB({dlq_id}.QueueName)");
    absent.extend(missing(&["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", &queue, "Maximum"]));
    absent.extend(missing(&["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", &dlq, "Maximum"]));
    for kind in ["person", "event", "requirement", "licence-condition"] {
        for outcome in ["recorded", "duplicate", "ignorable", "failed"] {
            absent.extend(missing(&["DeliusIntegrations", "Allocations", "Kind", kind, "Outcome", outcome, "Sum"]));
        }
    }
    // Failures before the detail told the kind (unparseable message, Workload errors).
    absent.extend(missing(&["DeliusIntegrations", "Allocations", "Kind", "unknown", "Outcome", "failed", "Sum"]));
    for route in ROUTES {
        for class in ["2xx", "4xx", "5xx"] {
            absent.extend(missing(&[
                "DeliusIntegrations",
                "Requests",
                "Function",
                route.function,
                "StatusClass",
                class,
                "Sum",
            ]));
        }
    }
    assert!(absent.is_empty(), "dashboard lacks {absent:#?}");
    // The telemetry namespace the functions write to.
    assert_eq!(delius_api::telemetry::NAMESPACE, "DeliusIntegrations");
}

/// Alarms notify the alarm topic when one is configured.
fn assert_alarm_actions(id: &str, alarm: &Value) {
    assert!(!at(template(), "Conditions.HasAlarmTopic").is_null(), "the HasAlarmTopic condition");
    for key in ["AlarmActions", "OKActions"] {
        let (name, arg) = intrinsic(at(alarm, key)).unwrap_or_else(|| panic!("{id}: {key} is an !If"));
        assert_eq!(name, "If");
        let args = arg.as_sequence().unwrap();
        assert_eq!(args[0].as_str(), Some("HasAlarmTopic"), "{id}");
        let topics = args[1].as_sequence().expect("a list of topics");
        assert_eq!(topics.len(), 1);
        assert_eq!(ref_to(&topics[0]), Some("AlarmTopicArn"), "{id}");
        assert_eq!(ref_to(&args[2]), Some("AWS::NoValue"), "{id}");
    }
}

/// A metric an alarm watches: namespace, name and `(dimension, value)` pairs.
type AlarmMetric = (String, String, Vec<(String, &'static Value)>);

/// The metrics an alarm watches.
fn alarm_metrics(alarm: &'static Value) -> Vec<AlarmMetric> {
    let dims = |d: &'static Value| -> Vec<(String, &'static Value)> {
        d.as_sequence()
            .into_iter()
            .flatten()
            .map(|d| (at(d, "Name").as_str().unwrap().to_owned(), at(d, "Value")))
            .collect()
    };
    let metric = |m: &'static Value| {
        (
            at(m, "Namespace").as_str().unwrap().to_owned(),
            at(m, "MetricName").as_str().unwrap().to_owned(),
            dims(at(m, "Dimensions")),
        )
    };
    match at(alarm, "Metrics").as_sequence() {
        // Metric math: the metrics it computes from.
        Some(metrics) => metrics
            .iter()
            .filter(|m| !at(m, "MetricStat").is_null())
            .map(|m| metric(at(m, "MetricStat.Metric")))
            .collect(),
        None => vec![metric(alarm)],
    }
}

#[test]
fn alarms_watch_the_dlq_the_backlog_api_5xx_and_every_function_error_rate() {
    let alarms: Vec<(&str, &'static Value)> =
        resources_of_type("AWS::CloudWatch::Alarm").into_iter().map(|(id, r)| (id, at(r, "Properties"))).collect();
    for (id, alarm) in &alarms {
        assert_alarm_actions(id, alarm);
    }
    let watching = |namespace: &str, metric: &str, dimension: &str, pred: &dyn Fn(&Value) -> bool| {
        alarms
            .iter()
            .filter(|(_, a)| {
                alarm_metrics(a).iter().any(|(ns, m, dims)| {
                    ns == namespace && m == metric && dims.iter().any(|(d, v)| d == dimension && pred(v))
                })
            })
            .copied()
            .collect::<Vec<_>>()
    };

    let (_, queue_id) = allocations_sqs_event();
    let dlq_id = get_att(at(resource(&queue_id), "Properties.RedrivePolicy.deadLetterTargetArn")).unwrap().0;
    let dlq_alarms = watching("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", &|v| {
        get_att(v) == Some((dlq_id.clone(), "QueueName".into()))
    });
    assert_eq!(dlq_alarms.len(), 1, "one DLQ alarm");
    let dlq = dlq_alarms[0].1;
    assert_eq!(at(dlq, "ComparisonOperator").as_str(), Some("GreaterThanThreshold"));
    assert_eq!(at(dlq, "Threshold").as_i64(), Some(0), "fires on the first dead letter");

    let age = watching("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", &|v| {
        get_att(v) == Some((queue_id.clone(), "QueueName".into()))
    });
    assert_eq!(age.len(), 1, "one backlog alarm");

    let (api_id, _) = http_api();
    assert_eq!(watching("AWS/ApiGateway", "5xx", "ApiId", &|v| ref_to(v) == Some(api_id)).len(), 1, "API 5xx alarm");

    for (binary, f) in functions() {
        let errors = watching("AWS/Lambda", "Errors", "FunctionName", &|v| ref_to(v) == Some(f.id));
        assert_eq!(errors.len(), 1, "{binary}: one error alarm");
        // A rate: errors over invocations of the same function.
        let invocations = alarm_metrics(errors[0].1)
            .into_iter()
            .any(|(ns, m, dims)| ns == "AWS/Lambda" && m == "Invocations" && ref_to(dims[0].1) == Some(f.id));
        assert!(invocations, "{binary}: error rate");
    }
}

#[test]
fn outputs_give_the_api_url_queue_urls_and_dashboard_name() {
    let outputs = at(template(), "Outputs");
    let (api_id, _) = http_api();
    let url = sub_string(at(outputs, "ApiUrl.Value")).expect("ApiUrl: !Sub");
    assert!(url.starts_with("https://") && url.contains(&format!("${{{api_id}}}")), "{url}");
    let (_, queue_id) = allocations_sqs_event();
    assert_eq!(ref_to(at(outputs, "AllocationsQueueUrl.Value")), Some(queue_id.as_str()));
    let dlq_id = get_att(at(resource(&queue_id), "Properties.RedrivePolicy.deadLetterTargetArn")).unwrap().0;
    assert_eq!(ref_to(at(outputs, "AllocationsDlqUrl.Value")), Some(dlq_id.as_str()));
    let dashboard = resources_of_type("AWS::CloudWatch::Dashboard")[0].0;
    assert_eq!(ref_to(at(outputs, "DashboardName.Value")), Some(dashboard));
}

#[test]
fn every_reference_and_condition_resolves() {
    let root = template();
    let parameters = keys(at(root, "Parameters"));
    let conditions = keys(at(root, "Conditions"));
    let mut calls = Vec::new();
    walk_intrinsics(root, &mut calls);
    assert!(calls.len() > 100, "short-form tags are read as intrinsics");
    for (name, arg) in calls {
        match name.as_str() {
            "Ref" => {
                let target = arg.as_str().expect("!Ref name");
                assert!(
                    PSEUDO_PARAMETERS.contains(&target)
                        || parameters.contains(target)
                        || resources().contains_key(target),
                    "!Ref {target}"
                );
            }
            "GetAtt" => {
                let (target, _) = get_att_arg(arg).expect("!GetAtt R.A");
                assert!(resources().contains_key(target.as_str()), "!GetAtt {target}");
            }
            "If" => {
                let cond = arg.as_sequence().and_then(|a| a.first()).and_then(Value::as_str).expect("!If [cond, ...]");
                assert!(conditions.contains(cond), "!If {cond}");
            }
            "Sub" => {
                let s = match arg {
                    Value::String(s) => s.as_str(),
                    Value::Sequence(s) => s[0].as_str().unwrap(),
                    _ => panic!("!Sub {arg:?}"),
                };
                for var in sub_variables(s) {
                    let head = var.split('.').next().unwrap();
                    assert!(
                        PSEUDO_PARAMETERS.contains(&var) || parameters.contains(var) || resources().contains_key(head),
                        "${{{var}}} in {s}"
                    );
                }
            }
            _ => {}
        }
    }
}

/// `cargo lambda watch` (README) routes the API paths by the workspace
/// metadata: every route of the table, to its function, and nothing else.
#[test]
fn the_cargo_lambda_watch_router_serves_every_route() {
    let manifest: toml::Table =
        std::fs::read_to_string(delius_testkit::repo_root().join("Cargo.toml")).unwrap().parse().unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"].as_table().expect("router table");
    let mut served = BTreeSet::new();
    for (path, targets) in router {
        for target in targets.as_array().expect("a list of {function, method}") {
            served.insert(format!(
                "{} {path} -> {}",
                target["method"].as_str().unwrap(),
                target["function"].as_str().unwrap()
            ));
        }
    }
    let expected: BTreeSet<String> =
        ROUTES.iter().map(|r| format!("{} {} -> {}", r.method, r.path, r.function)).collect();
    assert_eq!(served, expected);
}

/// The database connectivity variables every function that reaches Delius gets.
const DB_CONNECTIVITY: &[&str] = &[
    "DB_SSLMODE",
    "DB_CA_BUNDLE",
    "DB_HOST",
    "DB_PREPARED_STATEMENTS",
    "DB_CONNECT_TIMEOUT_MS",
    "DB_CHECKOUT_TIMEOUT_MS",
    "DB_LOCK_TIMEOUT_MS",
    "DB_STATEMENT_TIMEOUT_MS",
    "DB_WORK_TIMEOUT_MS",
];

fn millis(env: &BTreeMap<String, &'static Value>, name: &str, binary: &str) -> i64 {
    let text = env.get(name).and_then(|v| v.as_str()).unwrap_or_else(|| panic!("{binary}: {name} is a string"));
    text.parse().unwrap_or_else(|_| panic!("{binary}: {name} = {text:?} is not milliseconds"))
}

#[test]
fn database_connections_are_tls_verified_bounded_and_may_go_through_a_proxy() {
    assert_eq!(at(parameter("DbSslMode"), "Default").as_str(), Some("verify-full"));
    assert_eq!(
        strings(at(parameter("DbSslMode"), "AllowedValues")),
        ["disable", "prefer", "require", "verify-ca", "verify-full"]
    );
    assert_eq!(at(parameter("DbCaBundle"), "Default").as_str(), Some(""));
    // Prepared statements only where they are safe: by default ("auto"),
    // when nothing pools connections between the functions and the instance.
    assert_eq!(at(parameter("DbPreparedStatements"), "Default").as_str(), Some("auto"));
    assert_eq!(strings(at(parameter("DbPreparedStatements"), "AllowedValues")), ["auto", "true", "false"]);
    for (binary, f) in functions() {
        if binary == AUTHORIZER {
            continue;
        }
        let env = f.env();
        for name in DB_CONNECTIVITY {
            assert!(env.contains_key(*name), "{binary}: {name}");
        }
        assert_eq!(ref_to(env["DB_SSLMODE"]), Some("DbSslMode"), "{binary}");
        assert_eq!(ref_to(env["DB_CA_BUNDLE"]), Some("DbCaBundle"), "{binary}");
        let (call, args) = intrinsic(env["DB_PREPARED_STATEMENTS"]).expect("DB_PREPARED_STATEMENTS is an !If");
        assert_eq!((call.as_str(), args[0].as_str()), ("If", Some("PreparedStatementsAuto")), "{binary}");
        let (auto, by_pooler) = intrinsic(&args[1]).expect("auto: an !If on the pooler");
        assert_eq!(auto, "If", "{binary}");
        assert_eq!(
            (by_pooler[0].as_str(), by_pooler[1].as_str(), by_pooler[2].as_str()),
            (Some("ThroughDbPooler"), Some("false"), Some("true")),
            "{binary}: unnamed through a pooler, prepared straight to the instance"
        );
        assert_eq!(ref_to(&args[2]), Some("DbPreparedStatements"), "{binary}");
        // The created proxy's endpoint, else the given one (empty: the secret's host).
        let (call, args) = intrinsic(env["DB_HOST"]).expect("DB_HOST is an !If");
        assert_eq!(call, "If", "{binary}");
        assert_eq!(args[0].as_str(), Some("CreatesDbProxy"));
        assert_eq!(get_att(&args[1]), Some(("DbProxy".into(), "Endpoint".into())));
        assert_eq!(ref_to(&args[2]), Some("DbProxyEndpoint"));

        // Every wait inside the function's timeout, with time left to answer.
        let timeout_ms = int(f.effective("Timeout"), "Timeout") * 1000;
        let (connect, checkout, lock, statement, work) = (
            millis(&env, "DB_CONNECT_TIMEOUT_MS", binary),
            millis(&env, "DB_CHECKOUT_TIMEOUT_MS", binary),
            millis(&env, "DB_LOCK_TIMEOUT_MS", binary),
            millis(&env, "DB_STATEMENT_TIMEOUT_MS", binary),
            millis(&env, "DB_WORK_TIMEOUT_MS", binary),
        );
        assert!(lock < statement && statement <= work, "{binary}: lock {lock} < statement {statement} <= work {work}");
        assert!(connect < work && checkout < work, "{binary}: connect and checkout within the work deadline");
        if binary == ALLOCATIONS {
            // 3 attempts per record (2 HTTP calls of 10 s each plus the database work), 2 rounds.
            assert!(2 * 3 * (20_000 + work) <= timeout_ms, "{binary}: {work} ms of work per attempt");
        } else {
            assert!(work + 1000 < timeout_ms, "{binary}: work {work} ms in a {timeout_ms} ms timeout");
        }
        // A created proxy lends a connection within 5 s: below the work deadline.
        assert!(5000 < work, "{binary}");
    }

    let proxy = resource("DbProxy");
    assert_eq!(at(proxy, "Condition").as_str(), Some("CreatesDbProxy"));
    assert_eq!(at(proxy, "Properties.EngineFamily").as_str(), Some("POSTGRESQL"));
    assert_eq!(at(proxy, "Properties.RequireTLS").as_bool(), Some(true));
    assert_eq!(ref_to(at(&at(proxy, "Properties.Auth")[0], "SecretArn")), Some("DbSecretArn"));
    let group = resource("DbProxyTargetGroup");
    assert_eq!(ref_to(at(group, "Properties.DBProxyName")), Some("DbProxy"));
    assert_eq!(int(at(group, "Properties.ConnectionPoolConfigurationInfo.ConnectionBorrowTimeout"), "borrow"), 5);
    assert_eq!(
        ref_to(at(group, "Properties.ConnectionPoolConfigurationInfo.MaxConnectionsPercent")),
        Some("DbProxyMaxConnectionsPercent")
    );
}

#[test]
fn the_connection_budget_is_capped_by_reserved_concurrency() {
    // Each instance of a function holds at most DB_POOL_SIZE connections, and
    // reserved concurrency caps the instances: the sum is what the database
    // (or the proxy's client side) can see. docs/deployment.md gives the figures.
    let http_reserved = int(at(parameter("HttpReservedConcurrency"), "Default"), "HttpReservedConcurrency");
    let mut budget = 0;
    for (binary, f) in functions() {
        if binary == AUTHORIZER {
            assert!(f.props().get("ReservedConcurrentExecutions").is_none(), "the authorizer holds no connection");
            continue;
        }
        let pool: i64 = f.env()["DB_POOL_SIZE"].as_str().unwrap().parse().unwrap();
        let reserved = at(f.props(), "ReservedConcurrentExecutions");
        let instances = if binary == ALLOCATIONS {
            let n = int(reserved, "ReservedConcurrentExecutions");
            let (event, _) = allocations_sqs_event();
            let maximum = int(at(event, "Properties.ScalingConfig.MaximumConcurrency"), "MaximumConcurrency");
            assert_eq!(maximum, n, "{binary}");
            n
        } else {
            assert_eq!(ref_to(reserved), Some("HttpReservedConcurrency"), "{binary}");
            http_reserved
        };
        budget += instances * pool;
    }
    assert_eq!(budget, 8 * 10 + 5 * 2, "the arithmetic of docs/deployment.md");
    let docs = std::fs::read_to_string(delius_testkit::repo_root().join("docs/deployment.md")).unwrap();
    assert!(docs.contains("## Connections") && docs.contains(&format!("= {budget}")), "docs/deployment.md");
}
