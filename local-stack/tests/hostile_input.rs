//! Property-based tests: every input a client or a message can carry, thrown
//! at the real handlers over a real database.
//!
//! For the HTTP routes each case asserts: no 5xx, an error is a
//! `{status, message}` problem, and on a 4xx nothing was written (the row
//! counts of `contact`, `contact_alert`, `staff` and `user_` are unchanged).
//! For the SQS function: no panic, the hostile records fail or are consumed
//! alone, and a good record in the same batch is written.
//!
//! Case counts are set here (not by `PROPTEST_CASES`) to keep the whole file
//! within about a minute. Failing inputs proptest finds are kept in
//! `tests/hostile_input.proptest-regressions` and re-run first; the ones found
//! while writing these tests are also pinned as plain tests at the bottom.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use delius_db::Database;
use delius_testkit::testing::TestDb;
use delius_testkit::workload::WorkloadStandIn;
use lambda_http::{Body, Request, Response};
use lambda_runtime::{Context, LambdaEvent};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use serde_json::{Value, json};
use workforce_allocations::Allocations;
use workforce_allocations::config::{RetryPolicy, Settings};

const RP_USER: &str = "ResettlementPassportAndDelius";
const CASE_DETAIL: &str = "PROBATION_API__RESETTLEMENT_PASSPORT__CASE_DETAIL";
const APPOINTMENT_RW: &str = "PROBATION_API__RESETTLEMENT_PASSPORT__APPOINTMENT_RW";

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("tests/hostile_input.proptest-regressions"))),
        // Shrinking a failure over a database is slow; a few steps are enough to read it.
        max_shrink_iters: 64,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Values

/// Strings a client can send in a path, a query or a JSON string.
fn hostile_string() -> BoxedStrategy<String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]{1,4}",
        2 => "[A-Z][0-9]{6}[\\x00-\\x1f]",
        // NUL anywhere: PostgreSQL refuses it in any text.
        2 => "\\PC{0,6}\\x00\\PC{0,6}",
        1 => "\\PC{0,12}",
        1 => prop::sample::select(vec![
            "", " ", "\u{0}", "X123123\u{0}", "%00", "%", "%zz", "%FF%FE", "\u{FEFF}", "\u{202E}X123123",
            "\u{1F600}", "\u{10FFFF}", "'; DROP TABLE contact; --", "-1", "0", "99999999999999999999", "1e308", "NaN",
            "null", "true", "[]", "{}", "2024-02-30", "9999-12-31", "0000-01-01", "+999999-01-01", "X123123",
            "A1234YZ", "C123456", "x123123", " X123123 ", "X12312", "CRN", "NOMS", "2147483648", "-2147483649",
        ])
        .prop_map(str::to_string),
        1 => (1usize..5000).prop_map(|n| "9".repeat(n)),
        1 => (1usize..5000).prop_map(|n| "\u{e9}".repeat(n)),
    ]
    .boxed()
}

/// Every JSON type, with boundary numbers and hostile strings.
fn any_json(strings: BoxedStrategy<String>) -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        prop::sample::select(vec![0.0, -0.0, 1e300, -1e300, 1.5, -1.5, 9.2e18, f64::MAX, f64::MIN_POSITIVE])
            .prop_map(|n| json!(n)),
        strings.clone().prop_map(Value::String),
        prop::collection::vec(strings.clone().prop_map(Value::String), 0..3).prop_map(Value::Array),
        strings.prop_map(|s| json!({ "value": s })),
    ]
    .boxed()
}

/// A field that is missing (`None`), or any JSON value, weighted towards the
/// field's own good values: a hostile value then often sits among good ones
/// and gets past the first check to wherever it would do harm.
fn field(good: Vec<&'static str>, bad_strings: BoxedStrategy<String>) -> BoxedStrategy<Option<Value>> {
    let good: Vec<Value> = good.into_iter().map(|s| json!(s)).collect();
    prop_oneof![
        1 => Just(None),
        12 => prop::sample::select(good).prop_map(Some),
        2 => bad_strings.clone().prop_map(|s| Some(Value::String(s))),
        2 => any_json(bad_strings).prop_map(Some),
    ]
    .boxed()
}

fn date_times() -> BoxedStrategy<String> {
    prop_oneof![
        hostile_string(),
        prop::sample::select(vec![
            "2024-04-15T14:32:00.000+01",
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59-18:00",
            "0000-01-01T00:00Z",
            "0000-01-01T00:00+18:00",
            "2024-03-31T01:30",
            "2024-10-27T01:30:00[Europe/London]",
            "2024-10-27T01:30:00Z[Mars/Base]",
            "2024-10-27T01:30:00+01:00[Europe/London]",
            "2024-02-29T24:00",
            "2024-04-15T14:32:00.999999999+18:00",
        ])
        .prop_map(str::to_string),
    ]
    .boxed()
}

fn durations() -> BoxedStrategy<String> {
    prop_oneof![
        hostile_string(),
        prop::sample::select(vec!["PT999999999999H", "P99999999D", "PT-999999999999H"]).prop_map(str::to_string),
        prop::sample::select(vec![
            "PT999999999999H",
            "PT30M",
            "-PT1M",
            "P106751991167DT4H",
            "PT9223372036854775807S",
            "PT-0.000000001S",
            "P99999999D",
            "PT0.000000001S",
            "P1DT-24H",
            "pt1h",
        ])
        .prop_map(str::to_string),
        (any::<i64>(), 0u32..4).prop_map(|(n, unit)| format!("PT{n}{}", ["H", "M", "S", "D"][unit as usize])),
    ]
    .boxed()
}

fn object(fields: Vec<(&'static str, Option<Value>)>) -> Value {
    Value::Object(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_string(), v))).collect())
}

fn appointment_body() -> impl Strategy<Value = Value> {
    let types = vec!["Health", "Accommodation", "Finance", "health"];
    (
        field(types, hostile_string()),
        field(vec!["2024-04-15T14:32:00.000+01"], date_times()),
        field(vec!["PT30M"], durations()),
        field(vec!["notes", "a\r\n\tb"], hostile_string()),
        field(vec!["0b9a6f0e-4c1d-4e0a-9d5b-2f3e4a5b6c7d"], hostile_string()),
    )
        .prop_map(|(kind, start, duration, notes, uuid)| {
            object(vec![("type", kind), ("start", start), ("duration", duration), ("notes", notes), ("uuid", uuid)])
        })
}

fn case_note_body() -> impl Strategy<Value = Value> {
    let author = (
        field(vec!["LDN", "LDNHMP"], hostile_string()),
        field(vec!["John", "Alex"], hostile_string()),
        field(vec!["Smith", "Officer"], hostile_string()),
    )
        .prop_map(|(prison, forename, surname)| {
            object(vec![("prisonCode", prison), ("forename", forename), ("surname", surname)])
        });
    (
        field(vec!["IMMEDIATE_NEEDS_REPORT", "PRE_RELEASE_REPORT"], hostile_string()),
        field(vec!["a description"], hostile_string()),
        field(vec!["2024-06-04T09:16:04+01:00"], date_times()),
        field(vec!["notes", "a\r\n\tb"], hostile_string()),
        prop_oneof![4 => author.prop_map(Some), 1 => any_json(hostile_string()).prop_map(Some), 1 => Just(None)],
    )
        .prop_map(|(kind, description, date_time, notes, author)| {
            object(vec![
                ("type", kind),
                ("description", description),
                ("dateTime", date_time),
                ("notes", notes),
                ("author", author),
            ])
        })
}

/// A body as bytes: JSON of the request type, or something that is not UTF-8
/// or not JSON.
fn raw_body(json: BoxedStrategy<Value>) -> BoxedStrategy<Body> {
    prop_oneof![
        6 => json.prop_map(|v| Body::Text(v.to_string())),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Binary),
        1 => any::<String>().prop_map(Body::Text),
        1 => prop::sample::select(vec!["", "null", "[]", "\"text\"", "{", "{\"type\":", "{}", "1", "\u{feff}{}"])
            .prop_map(|s| Body::Text(s.to_string())),
        1 => (0usize..3).prop_map(|extra| Body::Text(format!("{{\"notes\":\"{}\"}}", "x".repeat(65_530 + extra)))),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------
// Requests

/// API Gateway's limit on the request line and headers, in bytes.
const URL_LIMIT: usize = 10_240;

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An API Gateway v2 request for `route_key` with the path parameter decoded
/// (as API Gateway hands it on) and the query parameters.
fn request(
    route_key: &str,
    parameter: (&str, &str),
    query: &[(String, String)],
    body: Option<Body>,
    role: &str,
) -> Request {
    let (method, template) = route_key.split_once(' ').expect("a route key");
    // API Gateway refuses a request line over its limit itself: such a
    // request never reaches a function, so the value is cut to fit.
    let mut value = parameter.1.to_string();
    while percent_encode(&value).len() > URL_LIMIT / 2 {
        value.truncate(value.floor_char_boundary(value.len() / 2));
    }
    let parameter = (parameter.0, value.as_str());
    let raw_path = template.replace(&format!("{{{}}}", parameter.0), &percent_encode(parameter.1));
    let mut raw_query: Vec<String> = Vec::new();
    let mut kept = Vec::new();
    for (k, v) in query {
        let pair = format!("{}={}", percent_encode(k), percent_encode(v));
        if raw_path.len() + raw_query.iter().map(|p| p.len() + 1).sum::<usize>() + pair.len() <= URL_LIMIT {
            raw_query.push(pair);
            kept.push((k, v));
        }
    }
    let mut parameters = serde_json::Map::new();
    for (k, v) in kept {
        // API Gateway joins a repeated parameter's values with commas.
        match parameters.get_mut(k) {
            Some(Value::String(existing)) => *existing = format!("{existing},{v}"),
            _ => {
                parameters.insert(k.clone(), json!(v));
            }
        }
    }
    let (text, base64) = match body {
        None | Some(Body::Empty) => (None, false),
        Some(Body::Text(t)) => (Some(t), false),
        Some(Body::Binary(b)) => (Some(base64_encode(&b)), true),
        Some(_) => (None, false),
    };
    let query_parameters = if parameters.is_empty() { Value::Null } else { Value::Object(parameters) };
    let event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query.join("&"),
        "headers": {"content-type": "application/json"},
        "queryStringParameters": query_parameters,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "authorizer": {"lambda": {"clientId": "resettlement-passport-api", "roles": role}},
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "proptest"},
            "requestId": "proptest",
            "routeKey": route_key,
            "stage": "$default",
            "time": "15/Apr/2024:13:32:00 +0000",
            "timeEpoch": 1713187920000u64
        },
        "pathParameters": { (parameter.0): parameter.1 },
        "body": text,
        "isBase64Encoded": base64
    });
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event")
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The routes by their handler, with their path parameter.
#[derive(Debug, Clone, Copy)]
enum Route {
    Crn,
    Mappa,
    CommunityManager,
    Detail,
    DutyToRefer,
    AppointmentsList,
    AppointmentCreate,
    CaseNote,
}

impl Route {
    fn key_and_parameter(self) -> (&'static str, &'static str) {
        match self {
            Route::Crn => ("GET /probation-cases/{nomsId}/crn", "nomsId"),
            Route::Mappa => ("GET /probation-cases/{crn}/mappa", "crn"),
            Route::CommunityManager => ("GET /probation-cases/{crn}/community-manager", "crn"),
            Route::Detail => ("GET /probation-cases/{crn}", "crn"),
            Route::DutyToRefer => ("GET /duty-to-refer-nsi/{value}", "value"),
            Route::AppointmentsList => ("GET /appointments/{crn}", "crn"),
            Route::AppointmentCreate => ("POST /appointments/{crn}", "crn"),
            Route::CaseNote => ("POST /nomis-case-note/{crn}", "crn"),
        }
    }

    async fn call(self, db: &Database, request: Request) -> Response<Body> {
        match self {
            Route::Crn => probation_case_crn::handle(db, request).await,
            Route::Mappa => probation_case_mappa::handle(db, request).await,
            Route::CommunityManager => probation_case_community_manager::handle(db, request).await,
            Route::Detail => probation_case_detail::handle(db, request).await,
            Route::DutyToRefer => duty_to_refer_nsi::handle(db, request).await,
            Route::AppointmentsList => appointments_list::handle(db, None, request).await,
            Route::AppointmentCreate => appointment_create::handle(db, request).await,
            Route::CaseNote => nomis_case_note_create::handle(db, request).await,
        }
    }
}

// ---------------------------------------------------------------------------
// The HTTP properties

struct Http {
    runtime: tokio::runtime::Runtime,
    // Dropped after `db`, whose pool holds connections to it.
    db: Database,
    client: tokio_postgres::Client,
    _test_db: TestDb,
}

impl Http {
    fn new() -> Http {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let (test_db, client) = runtime.block_on(async {
            let test_db = TestDb::new().await;
            let client = test_db.client().await;
            (test_db, client)
        });
        let db = test_db.database(RP_USER, 1);
        Http { runtime, db, client, _test_db: test_db }
    }

    async fn counts(&self) -> Vec<i64> {
        let mut counts = Vec::new();
        for table in ["contact", "contact_alert", "staff", "user_"] {
            let row = self.client.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.expect("a count");
            counts.push(row.get(0));
        }
        counts
    }

    /// Runs one request and checks the answer.
    fn check(&self, route: Route, request: Request) -> Result<u16, TestCaseError> {
        self.runtime.block_on(async {
            let before = self.counts().await;
            let response = route.call(&self.db, request).await;
            let status = response.status().as_u16();
            let after = self.counts().await;
            prop_assert!(status < 500, "{route:?} answered {status}: {:?}", response.body());
            if status >= 400 {
                let problem: Value = match response.body() {
                    Body::Text(text) => serde_json::from_str(text).map_err(|e| TestCaseError::fail(e.to_string()))?,
                    other => return Err(TestCaseError::fail(format!("a {status} without a JSON body: {other:?}"))),
                };
                prop_assert_eq!(&problem["status"], &json!(status));
                prop_assert!(problem["message"].as_str().is_some_and(|m| !m.is_empty()), "{problem}");
                prop_assert_eq!(&before, &after, "{:?} answered {} and wrote rows: {}", route, status, problem);
            }
            Ok(status)
        })
    }
}

/// Tallies statuses, for the report printed at the end of each property.
#[derive(Default)]
struct Tally(std::sync::Mutex<std::collections::BTreeMap<u16, u32>>);

impl Tally {
    fn add(&self, status: u16) {
        *self.0.lock().unwrap().entry(status).or_default() += 1;
    }
    fn report(&self, what: &str) {
        eprintln!("{what}: statuses {:?}", self.0.lock().unwrap());
    }
}

fn query_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![
        4 => prop::sample::select(vec!["startDate", "endDate", "page", "size", "type"]).prop_map(str::to_string),
        1 => hostile_string(),
    ];
    let value = prop_oneof![
        3 => prop::sample::select(vec!["2024-01-01", "2024-12-31", "0", "1", "1000", "1001", "-1", "2147483647", "CRN", "NOMS"])
            .prop_map(str::to_string),
        2 => hostile_string(),
    ];
    prop::collection::vec((key, value), 0..6)
}

#[test]
fn every_get_route_answers_arbitrary_paths_and_queries_without_a_5xx() {
    let http = Http::new();
    let tally = Tally::default();
    let routes = vec![
        Route::Crn,
        Route::Mappa,
        Route::CommunityManager,
        Route::Detail,
        Route::DutyToRefer,
        Route::AppointmentsList,
    ];
    let strategy = (prop::sample::select(routes), hostile_string(), query_strategy());
    TestRunner::new(config(360))
        .run(&strategy, |(route, value, query)| {
            let (key, parameter) = route.key_and_parameter();
            let status = http.check(route, request(key, (parameter, &value), &query, None, CASE_DETAIL))?;
            tally.add(status);
            Ok(())
        })
        .unwrap();
    tally.report("GET routes, 360 cases");
}

fn crns() -> BoxedStrategy<String> {
    prop_oneof![6 => Just("X123123".to_string()), 1 => Just("C123456".to_string()), 1 => hostile_string()].boxed()
}

#[test]
fn appointment_create_answers_arbitrary_bodies_without_a_5xx() {
    let http = Http::new();
    let tally = Tally::default();
    let strategy = (crns(), raw_body(appointment_body().boxed()));
    TestRunner::new(config(240))
        .run(&strategy, |(crn, body)| {
            let (key, parameter) = Route::AppointmentCreate.key_and_parameter();
            let request = request(key, (parameter, &crn), &[], Some(body), APPOINTMENT_RW);
            tally.add(http.check(Route::AppointmentCreate, request)?);
            Ok(())
        })
        .unwrap();
    tally.report("POST /appointments/{crn}, 240 cases");
}

#[test]
fn nomis_case_note_create_answers_arbitrary_bodies_without_a_5xx() {
    let http = Http::new();
    let tally = Tally::default();
    let strategy = (crns(), raw_body(case_note_body().boxed()));
    TestRunner::new(config(240))
        .run(&strategy, |(crn, body)| {
            let (key, parameter) = Route::CaseNote.key_and_parameter();
            let request = request(key, (parameter, &crn), &[], Some(body), APPOINTMENT_RW);
            tally.add(http.check(Route::CaseNote, request)?);
            Ok(())
        })
        .unwrap();
    tally.report("POST /nomis-case-note/{crn}, 240 cases");
}

// ---------------------------------------------------------------------------
// The SQS property

/// Set by the panic hook: a panic the batch caught is still a bug.
static PANICKED: AtomicBool = AtomicBool::new(false);

fn watch_for_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            default(info);
        }));
    });
}

/// A hostile record: what the body, the SNS envelope, the domain event and
/// the Workload detail behind it may hold.
#[derive(Debug, Clone)]
enum Hostile {
    /// Not an SNS envelope at all.
    Body(String),
    /// An envelope whose `Message` is any text.
    Message(String),
    /// A domain event with hostile fields and no detail behind it.
    Event(Value),
    /// A domain event pointing at a detail the stand-in serves.
    Detail(Vec<u8>),
}

fn detail_strategy() -> BoxedStrategy<Vec<u8>> {
    let value = |good: Vec<&'static str>| field(good, hostile_string());
    let shaped = (
        value(vec!["a-1"]),
        value(vec!["N02ABS1"]),
        value(vec!["N02ABS"]),
        field(vec!["2022-07-28T10:30:54.023+01:00"], date_times()),
        // Never a person of the dev data, so a hostile detail can never record.
        value(vec!["Z999999", "Z99999"]),
        prop_oneof![Just(None), any_json(hostile_string()).prop_map(Some)],
        prop_oneof![Just(None), any_json(hostile_string()).prop_map(Some)],
        value(vec!["OFFICER_LEFT", "SOMETHING_NEW"]),
        value(vec!["notes"]),
    )
        .prop_map(|(id, staff, team, created, crn, event_number, requirement_id, reason, notes)| {
            object(vec![
                ("id", id),
                ("staffCode", staff),
                ("teamCode", team),
                ("createdDate", created),
                ("crn", crn),
                ("eventNumber", event_number),
                ("requirementId", requirement_id),
                ("allocationReason", reason),
                ("allocationJustificationNotes", notes),
            ])
            .to_string()
            .into_bytes()
        });
    prop_oneof![5 => shaped, 1 => prop::collection::vec(any::<u8>(), 0..64)].boxed()
}

fn hostile_record() -> impl Strategy<Value = Hostile> {
    let event = (
        any_json(hostile_string()),
        any_json(hostile_string()),
        prop_oneof![Just(None), any_json(hostile_string()).prop_map(Some)],
        any_json(hostile_string()),
        hostile_string(),
    )
        .prop_map(|(event_type, version, detail_url, occurred_at, crn)| {
            let mut event = json!({"eventType": event_type, "version": version, "occurredAt": occurred_at,
                                   "personReference": {"identifiers": [{"type": "CRN", "value": crn}]}});
            if let Some(url) = detail_url {
                event["detailUrl"] = url;
            }
            event
        });
    prop_oneof![
        1 => any::<String>().prop_map(Hostile::Body),
        1 => hostile_string().prop_map(Hostile::Message),
        2 => event.prop_map(Hostile::Event),
        4 => detail_strategy().prop_map(Hostile::Detail),
    ]
}

struct Sqs {
    runtime: tokio::runtime::Runtime,
}

impl Sqs {
    /// One batch: the good person allocation of `events/sqs` between the
    /// hostile records, on a fresh database.
    async fn batch(&self, hostile: &[Hostile]) -> Result<(), TestCaseError> {
        let test_db = TestDb::new().await;
        let workload = WorkloadStandIn::start().await;
        let env = workload.env();
        let mut settings = Settings::from_lookup(|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
            .expect("settings");
        settings.retry = RetryPolicy { attempts: 2, backoff: std::time::Duration::from_millis(1) };
        settings.http_timeout = std::time::Duration::from_secs(2);
        let allocations = Allocations::new(&settings).expect("http client");
        let db = test_db.database("HMPPSAllocations", 2);
        let client = test_db.client().await;

        let sample = std::fs::read_to_string(delius_testkit::repo_root().join("events/sqs/person-allocation.json"))
            .expect("the sample");
        let good: Value = serde_json::from_str(&workload.rewrite(&sample)).expect("an SQS event");
        let good = good["Records"][0].clone();
        let mut records = vec![good.clone()];
        for (i, h) in hostile.iter().enumerate() {
            let id = format!("hostile-{i}");
            let envelope =
                |message: String| json!({"Type": "Notification", "MessageId": id, "Message": message}).to_string();
            let body = match h {
                Hostile::Body(text) => text.clone(),
                Hostile::Message(text) => envelope(text.clone()),
                Hostile::Event(event) => envelope(event.to_string()),
                Hostile::Detail(detail) => {
                    let path = format!("/allocation/person/hostile-{i}");
                    wiremock::Mock::given(wiremock::matchers::method("GET"))
                        .and(wiremock::matchers::path(path.as_str()))
                        .respond_with(
                            wiremock::ResponseTemplate::new(200).set_body_raw(detail.clone(), "application/json"),
                        )
                        .mount(workload.server())
                        .await;
                    let event = json!({"eventType": "person.community.manager.allocated", "version": 1,
                                       "detailUrl": format!("{}{path}", workload.uri()),
                                       "personReference": {"identifiers": [{"type": "CRN", "value": "Z999999"}]}});
                    envelope(event.to_string())
                }
            };
            let mut record = good.clone();
            record["messageId"] = json!(id);
            record["body"] = json!(body);
            records.push(record);
        }
        // The good record in the middle of the batch.
        let middle = records.len() / 2;
        records.rotate_left(middle);
        let event: SqsEvent = serde_json::from_value(json!({ "Records": records })).expect("an SQS event");

        let contacts_before = count_contacts(&client).await;
        PANICKED.store(false, Ordering::SeqCst);
        let response: SqsBatchResponse =
            workforce_allocations::handle(&db, &allocations, LambdaEvent::new(event, Context::default()))
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!PANICKED.load(Ordering::SeqCst), "a record's processing panicked");
        let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        let good_id = good["messageId"].as_str().unwrap_or_default();
        prop_assert!(!failed.contains(&good_id), "the good record failed: {failed:?}");
        prop_assert!(failed.iter().all(|id| id.starts_with("hostile-")), "{failed:?}");
        // The good record alone writes its allocation contact; hostile records write nothing.
        let manager: i64 = client
            .query_one(
                "SELECT count(*) FROM offender_manager om JOIN offender o USING (offender_id) \
                 JOIN staff s ON s.staff_id = om.allocation_staff_id \
                 WHERE o.crn = 'X123456' AND om.active_flag = 1 AND s.officer_code = 'N02ABS1'",
                &[],
            )
            .await
            .expect("the manager")
            .get(0);
        prop_assert_eq!(manager, 1, "the good allocation was not recorded");
        prop_assert!(count_contacts(&client).await > contacts_before, "the good allocation wrote no contact");
        drop(db);
        Ok(())
    }
}

async fn count_contacts(client: &tokio_postgres::Client) -> i64 {
    client.query_one("SELECT count(*) FROM contact", &[]).await.expect("a count").get(0)
}

#[test]
fn the_allocation_consumer_contains_hostile_records() {
    watch_for_panics();
    let sqs =
        Sqs { runtime: tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap() };
    let strategy = prop::collection::vec(hostile_record(), 1..4);
    let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
    TestRunner::new(config(24))
        .run(&strategy, |hostile| {
            runs.fetch_add(1, Ordering::SeqCst);
            sqs.runtime.block_on(sqs.batch(&hostile))
        })
        .unwrap();
    eprintln!("SQS batches: {} cases", runs.load(Ordering::SeqCst));
}

// ---------------------------------------------------------------------------
// What the properties found (each answered 500 before input was checked at
// the edge: PostgreSQL refuses NUL), pinned as plain cases.

#[test]
fn found_by_the_property_tests() {
    let http = Http::new();
    let cases: Vec<(Route, &str, Option<&str>, u16)> = vec![
        (Route::Crn, "\u{0}", None, 400),
        (
            Route::AppointmentCreate,
            "\u{0}",
            Some(r#"{"duration":"PT30M","start":"2024-04-15T14:32:00.000+01","type":"Health"}"#),
            400,
        ),
        (
            Route::CaseNote,
            "X123123",
            Some(
                r#"{"author":{"forename":"\u0000","prisonCode":"LDN","surname":"Smith"},"dateTime":"2024-06-04T09:16:04+01:00","notes":"a","type":"IMMEDIATE_NEEDS_REPORT"}"#,
            ),
            400,
        ),
    ];
    for (route, value, body, expected) in cases {
        let (key, parameter) = route.key_and_parameter();
        let role = if key.starts_with("POST") { APPOINTMENT_RW } else { CASE_DETAIL };
        let request = request(key, (parameter, value), &[], body.map(|b| Body::Text(b.to_string())), role);
        assert_eq!(http.check(route, request).expect("no 5xx, a problem body, nothing written"), expected);
    }
}
