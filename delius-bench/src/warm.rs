//! Warm latency per route: the handler called in-process over and over on a
//! warm pool, beside its SQL floor (its own statements, recorded on the wire
//! and replayed directly with tokio-postgres over the same connection).

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use delius_api::routes::{ROUTES, Route};
use delius_db::{CredentialSource, Database, DatabaseConfig};
use delius_testkit::testing::TestDb;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::Value;

use crate::pgwire::{Pipelining, Record, Recorder, Replayer};
use crate::stats::{median, median_of, ms, percentile};
use crate::{Options, events_dir, progress};

/// A function's handler, as its `main` wires it (no LDAP directory).
pub type Handler = for<'a> fn(&'a Database, Request) -> Pin<Box<dyn Future<Output = Response<Body>> + 'a>>;

/// The handler of the function serving a route; `None` while its crate has
/// no `handle` the bench knows of.
pub fn handler(function: &str) -> Option<Handler> {
    let handler: Handler = match function {
        "probation-case-crn" => |db, r| Box::pin(probation_case_crn::handle(db, r)),
        "probation-case-mappa" => |db, r| Box::pin(probation_case_mappa::handle(db, r)),
        "probation-case-community-manager" => |db, r| Box::pin(probation_case_community_manager::handle(db, r)),
        "probation-case-detail" => |db, r| Box::pin(probation_case_detail::handle(db, r)),
        "duty-to-refer-nsi" => |db, r| Box::pin(duty_to_refer_nsi::handle(db, r)),
        // The floor is SQL only: the staff directory lookup is left out.
        "appointments-list" => |db, r| Box::pin(appointments_list::handle(db, None, r)),
        "appointment-create" => |db, r| Box::pin(appointment_create::handle(db, r)),
        "nomis-case-note-create" => |db, r| Box::pin(nomis_case_note_create::handle(db, r)),
        _ => return None,
    };
    Some(handler)
}

/// The Delius user the Resettlement Passport functions act as.
pub const RESETTLEMENT_USER: &str = "ResettlementPassportAndDelius";

#[derive(Debug, Clone, Default, Serialize)]
pub struct WarmRow {
    pub route: String,
    pub function: String,
    /// How the handler sent its statements: `unnamed` (the default) or
    /// `prepared` (`--prepared`).
    pub statement_mode: String,
    /// Why the route was not measured.
    pub skipped: Option<String>,
    pub requests: usize,
    pub runs: usize,
    pub handler_p50_ms: Option<f64>,
    pub handler_p99_ms: Option<f64>,
    pub floor_p50_ms: Option<f64>,
    pub floor_p99_ms: Option<f64>,
    /// handler p50 / floor p50.
    pub ratio: Option<f64>,
    /// The same statements all sent in one flight.
    pub one_flight_floor_p50_ms: Option<f64>,
    /// Per warm request: round trips the handler waited for, statements it
    /// prepared, statements it executed.
    pub round_trips: Option<f64>,
    /// The most round trips any warm request waited for.
    pub max_round_trips: Option<f64>,
    /// The fewest, over the recording and the runs with a delay: what the
    /// code makes every request wait for (the budget check).
    pub min_round_trips: Option<f64>,
    pub prepares: Option<f64>,
    pub statements: Option<f64>,
    /// One warm request's round trips, each with its statements.
    pub round_trip_outline: Vec<Vec<String>>,
    /// Handler p50 through the wire proxy with a delay added to every round
    /// trip, one entry per delay of [`ADDED_DELAYS_MS`].
    pub with_delay: Vec<Delayed>,
    pub errors: Vec<String>,
}

/// Round-trip delays the latency is reported at: loopback, and what a
/// network between a Lambda function and RDS (or RDS Proxy) adds.
pub const ADDED_DELAYS_MS: [f64; 3] = [0.0, 0.5, 1.0];

#[derive(Debug, Clone, Serialize)]
pub struct Delayed {
    pub added_ms: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl WarmRow {
    fn new(route: &Route) -> WarmRow {
        WarmRow { route: route.route_key(), function: route.function.to_string(), ..WarmRow::default() }
    }
}

pub async fn run(options: &Options) -> Vec<WarmRow> {
    let mut rows = Vec::new();
    let chosen = |route: &Route| options.route.as_ref().is_none_or(|part| route.route_key().contains(part.as_str()));
    for route in ROUTES.iter().filter(|r| chosen(r)) {
        let mut row = WarmRow::new(route);
        row.statement_mode = statement_mode(options).into();
        match (handler(route.function), sample_event(route)) {
            (None, _) => row.skipped = Some("no handle in the function crate yet".into()),
            (_, None) => row.skipped = Some(format!("no events/apigw/{}.json", route.function)),
            (Some(handler), Some(event)) => {
                progress(&format!("warm: {}", route.route_key()));
                measure(options, route, handler, &event, &mut row).await;
            }
        }
        rows.push(row);
    }
    rows
}

/// The label of the run's statement mode.
pub fn statement_mode(options: &Options) -> &'static str {
    if options.prepared_statements { "prepared" } else { "unnamed" }
}

/// `events/apigw/<function>.json`.
pub fn sample_event(route: &Route) -> Option<Value> {
    let path = events_dir().join("apigw").join(format!("{}.json", route.function));
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Request number `i` of a series. Writes get a fresh identity so every one
/// really writes: a new `uuid`, and for appointments a day of their own so
/// that none clashes with another.
pub fn request_event(route: &Route, event: &Value, i: usize) -> Value {
    let mut event = event.clone();
    if let Some(headers) = event.get_mut("headers").and_then(Value::as_object_mut) {
        headers.remove("content-length");
    }
    if route.method == "POST" && route.function == "appointment-create" {
        let body = event.get("body").and_then(Value::as_str).unwrap_or("{}");
        if let Ok(mut body) = serde_json::from_str::<Value>(body) {
            let day = chrono::NaiveDate::from_ymd_opt(2031, 1, 1).unwrap_or_default() + chrono::Days::new(i as u64);
            body["uuid"] = Value::String(uuid::Uuid::from_u128(0xbe7c_0000_0000_0000 + i as u128).to_string());
            // Winter and summer dates: the offset is London's on the day.
            let start = day.and_hms_opt(10, 0, 0).unwrap_or_default();
            let offset = delius_db::time::from_london(start).format("%Y-%m-%dT%H:%M:%S%:z").to_string();
            body["start"] = Value::String(offset);
            event["body"] = Value::String(body.to_string());
        }
    }
    event
}

fn request(event: &Value) -> Result<Request, String> {
    lambda_http::request::from_str(&event.to_string()).map_err(|e| format!("not an API Gateway event: {e}"))
}

/// The handlers' database, in the statement mode of the run (`--prepared`
/// sets what `DB_PREPARED_STATEMENTS=true` sets in a function).
fn config(url: &str, options: &Options) -> DatabaseConfig {
    database_config(url, 1, RESETTLEMENT_USER, options)
}

/// A handler's database at `url` as the bench runs it: `pool_size`
/// connections for `delius_username`, in the run's statement mode.
pub fn database_config(url: &str, pool_size: usize, delius_username: &str, options: &Options) -> DatabaseConfig {
    DatabaseConfig {
        credentials: CredentialSource::Url(url.to_string()),
        pool_size,
        connect_timeout: std::time::Duration::from_secs(5),
        delius_username: delius_username.to_string(),
        tls: Default::default(),
        timeouts: Default::default(),
        host_override: None,
        prepared_statements: options.prepared_statements,
    }
}

async fn call(handler: Handler, db: &Database, event: &Value) -> Result<(f64, u16), String> {
    let request = request(event)?;
    let started = Instant::now();
    let response = handler(db, request).await;
    let elapsed = ms(started.elapsed());
    Ok((elapsed, response.status().as_u16()))
}

fn check_status(status: u16, what: &str, errors: &mut Vec<String>) {
    if !(200..300).contains(&status) && errors.len() < 5 {
        errors.push(format!("{what}: HTTP {status}"));
    }
}

async fn measure(options: &Options, route: &Route, handler: Handler, event: &Value, row: &mut WarmRow) {
    let warmup = options.warmup;
    let count = options.warm_requests;
    let total = warmup + count;
    // 1. The recording: the handler through the proxy, on a fresh copy.
    let records = match record(options, route, handler, event, total, &mut row.errors).await {
        Ok(records) => records,
        Err(e) => {
            row.errors.push(format!("recording: {e}"));
            return;
        }
    };
    let steady = &records[warmup.min(records.len())..];
    row.round_trips = median(&steady.iter().map(|r| r.round_trips() as f64).collect::<Vec<_>>());
    row.max_round_trips = steady.iter().map(|r| r.round_trips() as f64).reduce(f64::max);
    row.min_round_trips = steady.iter().map(|r| r.round_trips() as f64).reduce(f64::min);
    row.prepares = median(&steady.iter().map(|r| r.parses() as f64).collect::<Vec<_>>());
    row.statements = median(&steady.iter().map(|r| r.statements() as f64).collect::<Vec<_>>());
    row.round_trip_outline = steady.first().map(Record::outline).unwrap_or_default();

    // 2. Each run, on a fresh copy: the floor replays the recording in order
    //    (so writes land as they did), then the handler serves requests of
    //    its own (new identities) on the same pooled connection.
    let mut handler_p50 = Vec::new();
    let mut handler_p99 = Vec::new();
    let mut floor_p50 = Vec::new();
    let mut floor_p99 = Vec::new();
    let mut one_flight_p50 = Vec::new();
    for run in 0..options.warm_runs {
        let test_db = TestDb::new().await;
        let db = match Database::new(config(&test_db.url, options)) {
            Ok(db) => db,
            Err(e) => {
                row.errors.push(format!("pool: {e}"));
                return;
            }
        };
        let (floor, one_flight) = match replay(&db, &records, warmup).await {
            Ok(times) => times,
            Err(e) => {
                row.errors.push(format!("floor replay: {e}"));
                (Vec::new(), Vec::new())
            }
        };
        floor_p50.push(percentile(&floor, 50.0));
        floor_p99.push(percentile(&floor, 99.0));
        one_flight_p50.push(percentile(&one_flight, 50.0));
        let mut times = Vec::with_capacity(count);
        for i in 0..total {
            let event = request_event(route, event, (run + 1) * total * 2 + i);
            match call(handler, &db, &event).await {
                Ok((elapsed, status)) => {
                    check_status(status, "handler", &mut row.errors);
                    if i >= warmup {
                        times.push(elapsed);
                    }
                }
                Err(e) => {
                    row.errors.push(e);
                    return;
                }
            }
        }
        handler_p50.push(percentile(&times, 50.0));
        handler_p99.push(percentile(&times, 99.0));
        row.requests = times.len();
        row.runs += 1;
    }
    row.handler_p50_ms = median_of(handler_p50);
    row.handler_p99_ms = median_of(handler_p99);
    row.floor_p50_ms = median_of(floor_p50);
    row.floor_p99_ms = median_of(floor_p99);
    row.one_flight_floor_p50_ms = median_of(one_flight_p50);
    row.ratio = row.handler_p50_ms.zip(row.floor_p50_ms).map(|(h, f)| h / f);

    // 3. With a network in the way: the handler through the proxy, a fixed
    //    delay added to every round trip, on a fresh copy.
    if let Err(e) = with_delays(options, route, handler, event, row).await {
        row.errors.push(format!("with delay: {e}"));
    }
}

async fn with_delays(
    options: &Options,
    route: &Route,
    handler: Handler,
    event: &Value,
    row: &mut WarmRow,
) -> Result<(), String> {
    let test_db = TestDb::new().await;
    let proxy = Recorder::start(crate::pgwire::server_addr(&test_db.url).await?).await.map_err(|e| e.to_string())?;
    let db = Database::new(config(&proxy.url_for(&test_db.url)?, options)).map_err(|e| e.to_string())?;
    let total = options.warmup + options.warm_requests;
    for (d, added_ms) in ADDED_DELAYS_MS.into_iter().enumerate() {
        proxy.set_delay(std::time::Duration::from_secs_f64(added_ms / 1000.0));
        let mut times = Vec::with_capacity(options.warm_requests);
        for i in 0..total {
            // Identities of their own: past those of the recording and the runs.
            let event = request_event(route, event, (options.warm_runs + 2 + d) * total * 2 + i);
            let (elapsed, status) = call(handler, &db, &event).await?;
            check_status(status, "handler with delay", &mut row.errors);
            // Behind a network, a statement a loaded machine pipelines a
            // little late still leaves before the answer it follows could
            // have arrived: these requests count the code's round trips too.
            let trips = proxy.take().round_trips() as f64;
            if i >= options.warmup {
                times.push(elapsed);
                row.min_round_trips = Some(row.min_round_trips.map_or(trips, |least| least.min(trips)));
            }
        }
        row.with_delay.push(Delayed { added_ms, p50_ms: percentile(&times, 50.0), p99_ms: percentile(&times, 99.0) });
    }
    Ok(())
}

async fn record(
    options: &Options,
    route: &Route,
    handler: Handler,
    event: &Value,
    total: usize,
    errors: &mut Vec<String>,
) -> Result<Vec<Record>, String> {
    let test_db = TestDb::new().await;
    let recorder = Recorder::start(crate::pgwire::server_addr(&test_db.url).await?).await.map_err(|e| e.to_string())?;
    let db = Database::new(config(&recorder.url_for(&test_db.url)?, options)).map_err(|e| e.to_string())?;
    let mut records = Vec::with_capacity(total);
    for i in 0..total {
        let (_, status) = call(handler, &db, &request_event(route, event, i)).await?;
        check_status(status, "recorded handler", errors);
        records.push(recorder.take());
    }
    if let Some(problem) = recorder.problems().first() {
        return Err(problem.clone());
    }
    Ok(records)
}

/// Replays every record in order on `db`'s pooled connection; the times of
/// the records after the warm-up, alternately as recorded and in one flight
/// (both write the same rows, so the state stays that of the recording).
async fn replay(db: &Database, records: &[Record], warmup: usize) -> Result<(Vec<f64>, Vec<f64>), String> {
    let client = db.client().await.map_err(|e| e.to_string())?;
    let replayer = Replayer::prepare(&client, records).await?;
    let mut as_recorded = Vec::new();
    let mut one_flight = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let mode = if i % 2 == 0 { Pipelining::AsRecorded } else { Pipelining::OneFlight };
        let elapsed = ms(replayer.run(&client, record, mode).await?);
        if i >= warmup {
            match mode {
                Pipelining::AsRecorded => as_recorded.push(elapsed),
                Pipelining::OneFlight => one_flight.push(elapsed),
            }
        }
    }
    Ok((as_recorded, one_flight))
}
