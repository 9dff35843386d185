//! Allocations: batches of 10 messages of one kind through the
//! `workforce-allocations` handler (pool and concurrency as in production),
//! beside the floor of the same statements replayed directly.
//!
//! Every message is a real reallocation: the dev dataset's people, events and
//! requirements in turn, handed alternately to two staff members of team
//! N02ABS, each a minute after the one before, so none is a duplicate. The
//! Workload stand-in serves the details, generated from the URL.

use std::time::Instant;

use aws_lambda_events::sqs::SqsEvent;
use delius_db::Database;
use delius_testkit::testing::TestDb;
use delius_testkit::workload::WorkloadStandIn;
use lambda_runtime::{Context, LambdaEvent};
use serde::Serialize;
use serde_json::{Value, json};
use workforce_allocations::Allocations;
use workforce_allocations::config::Settings;

use crate::pgwire::{Pipelining, Record, Recorder, Replayer};
use crate::stats::{median, ms};
use crate::warm::{ADDED_DELAYS_MS, Delayed, database_config};
use crate::{Options, progress};

pub const BATCH: usize = 10;
const USER: &str = "HMPPSAllocations";
const PATH_PREFIX: &str = "/allocation/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Person,
    Event,
    Requirement,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Person, Kind::Event, Kind::Requirement];

    fn name(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Event => "event",
            Kind::Requirement => "requirement",
        }
    }

    fn path_segment(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Event => "event",
            Kind::Requirement => "requirements",
        }
    }

    fn event_type(self) -> &'static str {
        match self {
            Kind::Person => "person.community.manager.allocated",
            Kind::Event => "event.manager.allocated",
            Kind::Requirement => "requirement.manager.allocated",
        }
    }

    /// How many parents the dev dataset has for the kind.
    fn parents(self) -> usize {
        match self {
            Kind::Person => PEOPLE.len(),
            Kind::Event => EVENTS.len(),
            Kind::Requirement => REQUIREMENTS.len(),
        }
    }
}

const PEOPLE: [&str; 3] = ["X123456", "T123456", "T223456"];
const EVENTS: [u32; 4] = [1, 2, 3, 5];
const REQUIREMENTS: [u32; 3] = [9001, 9002, 9003];
const STAFF: [&str; 2] = ["N02ABS1", "N02ABSX"];

/// The Workload detail of message `k` of `kind`: parent `k mod parents`, and
/// for each parent the two staff members in turn.
fn detail(kind: Kind, k: usize) -> Value {
    let parents = kind.parents();
    let staff = STAFF[(k / parents) % STAFF.len()];
    let at = chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap_or_default().and_hms_opt(9, 0, 0).unwrap_or_default()
        + chrono::Duration::minutes(k as i64);
    let mut body = json!({
        "id": format!("bench-{}-{k}", kind.name()),
        "staffId": 345234,
        "staffCode": staff,
        "teamCode": "N02ABS",
        "createdBy": "Smith, Bob",
        "createdDate": format!("{}.000Z", at.format("%Y-%m-%dT%H:%M:%S")),
    });
    match kind {
        Kind::Person => {
            body["crn"] = json!(PEOPLE[k % parents]);
            body["personName"] = json!("Test Person");
            body["staffGrade"] = json!("PO");
        }
        Kind::Event => {
            body["eventNumber"] = json!(EVENTS[k % parents]);
            body["allocationJustificationNotes"] = json!("Capacity and experience with this case type.");
            body["sensitiveNotes"] = json!(false);
        }
        Kind::Requirement => {
            body["providerCode"] = json!("N02");
            body["eventNumber"] = json!(1);
            body["requirementId"] = json!(REQUIREMENTS[k % parents]);
        }
    }
    body
}

/// Serves `/allocation/{kind}/bench-{kind}-{k}` from [`detail`].
struct Details;

impl wiremock::Respond for Details {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let last = request.url.path().rsplit('/').next().unwrap_or_default();
        let parsed = last.strip_prefix("bench-").and_then(|rest| rest.split_once('-')).and_then(|(kind, k)| {
            let kind = Kind::ALL.into_iter().find(|c| c.name() == kind)?;
            Some((kind, k.parse::<usize>().ok()?))
        });
        match parsed {
            Some((kind, k)) => wiremock::ResponseTemplate::new(200).set_body_json(detail(kind, k)),
            None => wiremock::ResponseTemplate::new(404),
        }
    }
}

fn message(origin: &str, kind: Kind, k: usize) -> Value {
    let id = format!("bench-{}-{k}", kind.name());
    let crn = match kind {
        Kind::Person => PEOPLE[k % kind.parents()],
        _ => "X123456",
    };
    let event = json!({
        "eventType": kind.event_type(),
        "version": 1,
        "description": "Allocation event",
        "detailUrl": format!("{origin}{PATH_PREFIX}{}/{id}", kind.path_segment()),
        "occurredAt": "2030-01-01T09:00:01.0123Z",
        "additionalInformation": {"allocationId": id},
        "personReference": {"identifiers": [{"type": "CRN", "value": crn}]},
    });
    let envelope = json!({
        "Type": "Notification",
        "MessageId": format!("sns-{id}"),
        "Message": event.to_string(),
        "MessageAttributes": {"eventType": {"Type": "String", "Value": kind.event_type()}},
    });
    json!({
        "messageId": format!("sqs-{id}"),
        "receiptHandle": "AQEBbench==",
        "body": envelope.to_string(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-2:000000000000:hmpps-workforce-allocations-to-delius-queue",
        "awsRegion": "eu-west-2",
    })
}

fn batch(origin: &str, kind: Kind, first: usize) -> Result<SqsEvent, String> {
    let records: Vec<Value> = (first..first + BATCH).map(|k| message(origin, kind, k)).collect();
    serde_json::from_value(json!({ "Records": records })).map_err(|e| format!("SQS event: {e}"))
}

#[derive(Debug, Clone, Serialize)]
pub struct AllocRow {
    pub kind: String,
    pub batches: usize,
    /// Batch wall time / 10, production pool and concurrency.
    pub handler_ms_per_message: Option<f64>,
    /// The same statements replayed on one connection, / 10.
    pub floor_ms_per_message: Option<f64>,
    pub ratio: Option<f64>,
    pub one_flight_floor_ms_per_message: Option<f64>,
    /// Per message, recorded with one connection.
    pub round_trips: Option<f64>,
    /// The most per message in any batch.
    pub max_round_trips: Option<f64>,
    /// The fewest per message in any batch (the budget check).
    pub min_round_trips: Option<f64>,
    pub statements: Option<f64>,
    /// Messages per second one container gets through (10 / batch time).
    pub messages_per_second: Option<f64>,
    pub concurrency: usize,
    /// One measured batch's round trips (10 messages, one at a time).
    pub round_trip_outline: Vec<Vec<String>>,
    /// Per message at concurrency 1 through the wire proxy, a delay added to
    /// every round trip, one entry per delay of [`ADDED_DELAYS_MS`].
    pub with_delay: Vec<Delayed>,
    pub errors: Vec<String>,
}

fn settings(workload: &WorkloadStandIn) -> Result<Settings, String> {
    let env = workload.env();
    Settings::from_lookup(|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
        .map_err(|e| e.to_string())
}

async fn invoke(db: &Database, allocations: &Allocations, event: SqsEvent) -> Result<(f64, usize), String> {
    let started = Instant::now();
    let response = workforce_allocations::handle(db, allocations, LambdaEvent::new(event, Context::default()))
        .await
        .map_err(|e| format!("batch failed: {e}"))?;
    Ok((ms(started.elapsed()), response.batch_item_failures.len()))
}

pub async fn run(options: &Options) -> Vec<AllocRow> {
    progress("allocations");
    let workload = WorkloadStandIn::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path_regex("^/allocation/[a-z]+/bench-"))
        .respond_with(Details)
        .mount(workload.server())
        .await;
    match measure(options, &workload).await {
        Ok(rows) => rows,
        Err(e) => Kind::ALL
            .iter()
            .map(|kind| AllocRow {
                kind: kind.name().into(),
                batches: 0,
                handler_ms_per_message: None,
                floor_ms_per_message: None,
                ratio: None,
                one_flight_floor_ms_per_message: None,
                round_trips: None,
                max_round_trips: None,
                min_round_trips: None,
                statements: None,
                messages_per_second: None,
                concurrency: 0,
                round_trip_outline: Vec::new(),
                with_delay: Vec::new(),
                errors: vec![e.clone()],
            })
            .collect(),
    }
}

async fn measure(options: &Options, workload: &WorkloadStandIn) -> Result<Vec<AllocRow>, String> {
    let origin = workload.uri();
    let batches = options.alloc_batches;
    let warmup = 1;
    let per_kind = (warmup + batches) * BATCH;

    // 1. Record every batch with one connection and one message at a time.
    let recording_db = TestDb::new().await;
    let recorder =
        Recorder::start(crate::pgwire::server_addr(&recording_db.url).await?).await.map_err(|e| e.to_string())?;
    let db = Database::new(database_config(&recorder.url_for(&recording_db.url)?, 1, USER, options))
        .map_err(|e| e.to_string())?;
    let mut sequential = settings(workload)?;
    sequential.concurrency = 1;
    let allocations = Allocations::new(&sequential).map_err(|e| e.to_string())?;
    let mut records: Vec<(Kind, usize, Record)> = Vec::new();
    for kind in Kind::ALL {
        for b in 0..warmup + batches {
            let (_, failures) = invoke(&db, &allocations, batch(&origin, kind, b * BATCH)?).await?;
            if failures > 0 {
                return Err(format!("{} batch {b} (recording): {failures} failed messages", kind.name()));
            }
            records.push((kind, b, recorder.take()));
        }
    }
    if let Some(problem) = recorder.problems().first() {
        return Err(format!("recording: {problem}"));
    }
    drop(db);

    // 2. On a fresh copy: the floor replays the recording in order, then the
    //    handler takes the next messages with the production settings.
    let run_db = TestDb::new().await;
    let production = settings(workload)?;
    let pool_size = 2;
    let db = Database::new(database_config(&run_db.url, pool_size, USER, options)).map_err(|e| e.to_string())?;
    let mut floor: Vec<(Kind, usize, Pipelining, f64)> = Vec::new();
    {
        let client = db.client().await.map_err(|e| e.to_string())?;
        let all: Vec<Record> = records.iter().map(|(_, _, r)| r.clone()).collect();
        let replayer = Replayer::prepare(&client, &all).await?;
        for (kind, b, record) in &records {
            // Measured batches alternate: as recorded, then in one flight.
            let mode = if b.saturating_sub(warmup) % 2 == 0 { Pipelining::AsRecorded } else { Pipelining::OneFlight };
            let elapsed = replayer.run(&client, record, mode).await.map_err(|e| format!("floor replay: {e}"))?;
            floor.push((*kind, *b, mode, ms(elapsed)));
        }
    }
    let mut production_settings = production.clone();
    production_settings.concurrency = pool_size;
    let allocations = Allocations::new(&production_settings).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for kind in Kind::ALL {
        let mut errors = Vec::new();
        let mut times = Vec::new();
        for b in 0..warmup + batches {
            let (elapsed, failures) = invoke(&db, &allocations, batch(&origin, kind, per_kind + b * BATCH)?).await?;
            if failures > 0 && errors.len() < 3 {
                errors.push(format!("batch {b}: {failures} failed messages"));
            }
            if b >= warmup {
                times.push(elapsed);
            }
        }
        let of_kind = |mode: Pipelining| -> Vec<f64> {
            floor.iter().filter(|(k, b, m, _)| *k == kind && *b >= warmup && *m == mode).map(|(.., t)| *t).collect()
        };
        let kind_records: Vec<&Record> =
            records.iter().filter(|(k, b, _)| *k == kind && *b >= warmup).map(|(.., r)| r).collect();
        let per_message = |v: Option<f64>| v.map(|t| t / BATCH as f64);
        let handler = per_message(median(&times));
        let floor_ms = per_message(median(&of_kind(Pipelining::AsRecorded)));
        rows.push(AllocRow {
            kind: kind.name().into(),
            batches: times.len(),
            handler_ms_per_message: handler,
            floor_ms_per_message: floor_ms,
            ratio: handler.zip(floor_ms).map(|(h, f)| h / f),
            one_flight_floor_ms_per_message: per_message(median(&of_kind(Pipelining::OneFlight))),
            round_trips: median(
                &kind_records.iter().map(|r| r.round_trips() as f64 / BATCH as f64).collect::<Vec<_>>(),
            ),
            max_round_trips: kind_records.iter().map(|r| r.round_trips() as f64 / BATCH as f64).reduce(f64::max),
            min_round_trips: kind_records.iter().map(|r| r.round_trips() as f64 / BATCH as f64).reduce(f64::min),
            statements: median(&kind_records.iter().map(|r| r.statements() as f64 / BATCH as f64).collect::<Vec<_>>()),
            messages_per_second: median(&times).map(|t| BATCH as f64 * 1000.0 / t),
            concurrency: production_settings.concurrency,
            round_trip_outline: kind_records.first().map(|r| r.outline()).unwrap_or_default(),
            with_delay: Vec::new(),
            errors,
        });
    }
    drop(db);

    // 3. With a network in the way, one message at a time: the handler
    //    through the proxy, a fixed delay added to every round trip.
    let proxy = Recorder::start(crate::pgwire::server_addr(&run_db.url).await?).await.map_err(|e| e.to_string())?;
    let db =
        Database::new(database_config(&proxy.url_for(&run_db.url)?, 1, USER, options)).map_err(|e| e.to_string())?;
    let allocations = Allocations::new(&sequential).map_err(|e| e.to_string())?;
    for (d, added_ms) in ADDED_DELAYS_MS.into_iter().enumerate() {
        proxy.set_delay(std::time::Duration::from_secs_f64(added_ms / 1000.0));
        for (kind, row) in Kind::ALL.into_iter().zip(rows.iter_mut()) {
            let mut times = Vec::new();
            for b in 0..warmup + batches {
                // Messages of their own: past those of the recording and the production run.
                let first = (2 + d) * per_kind + b * BATCH;
                let (elapsed, failures) = invoke(&db, &allocations, batch(&origin, kind, first)?).await?;
                if failures > 0 && row.errors.len() < 3 {
                    row.errors.push(format!("batch {b} with {added_ms} ms added: {failures} failed messages"));
                }
                if b >= warmup {
                    times.push(elapsed / BATCH as f64);
                }
            }
            proxy.take();
            row.with_delay.push(Delayed { added_ms, p50_ms: median(&times), p99_ms: None });
        }
    }
    Ok(rows)
}
