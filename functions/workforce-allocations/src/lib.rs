//! The SQS-triggered function that records HMPPS Workload allocations in
//! Delius: a person's community manager, an event's order manager or a
//! requirement's manager.
//!
//! Each record: read the SNS envelope and the domain event, GET the detail URL
//! (allow-listed, with a client-credentials token), decide the kind from the
//! detail's shape and record it in one transaction. Successes, duplicates and
//! ignorable outcomes consume the message; transient failures are retried
//! in-process; whatever still fails is reported in `batchItemFailures`, so
//! one bad record never fails its neighbours.

pub mod allocate;
pub mod config;
pub mod detail;
pub mod error;
pub mod input;
pub mod message;
pub mod notes;
pub mod workload;

use std::future::Future;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use delius_db::Database;
use futures_util::{FutureExt, StreamExt};
use lambda_runtime::LambdaEvent;
use tracing::Instrument;

use crate::allocate::Recorded;
use crate::config::{RetryPolicy, Settings};
use crate::detail::{Detail, Kind};
use crate::error::AllocationError;
use crate::message::AllocationMessage;
use crate::workload::WorkloadClient;

/// What the function holds across invocations (built once in `main`).
pub struct Allocations {
    workload: WorkloadClient,
    produce_spod03_contact: bool,
    retry: RetryPolicy,
    concurrency: usize,
}

impl Allocations {
    pub fn new(settings: &Settings) -> Result<Allocations, reqwest::Error> {
        Ok(Allocations {
            workload: WorkloadClient::new(settings)?,
            produce_spod03_contact: settings.produce_spod03_contact,
            retry: settings.retry,
            concurrency: settings.concurrency.max(1),
        })
    }
}

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Recorded,
    Duplicate,
    /// Consumed without writing anything but the `F` audit row.
    Ignorable,
    /// No `detailUrl`: consumed, nothing written.
    NoDetail,
    /// Reported in `batchItemFailures`.
    Failed,
}

impl Outcome {
    fn metric_name(self) -> Option<&'static str> {
        match self {
            Outcome::Recorded => Some("recorded"),
            Outcome::Duplicate => Some("duplicate"),
            Outcome::Ignorable => Some("ignorable"),
            Outcome::Failed => Some("failed"),
            Outcome::NoDetail => None,
        }
    }
}

/// The Lambda handler: every record of the batch, at most
/// `concurrency` at a time; the failed ones are reported by message id.
pub async fn handle(
    db: &Database,
    allocations: &Allocations,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let records = event.payload.records;
    // Futures collected first: a stream over a borrowing closure would not be
    // provably `Send` (rust#89976), and servers that spawn the handler need it.
    let pending: Vec<_> = records.iter().map(|r| contained(r, process(db, allocations, r))).collect();
    Ok(process_batch(&records, pending, allocations.concurrency).await)
}

/// The outcome of `work` on `record`, or [`Outcome::Failed`] when it panics:
/// a record whose processing panics fails alone (logged and counted as
/// `Panics`), and the batch goes on. A transaction the panic left open is
/// rolled back when its connection is dropped.
pub async fn contained(record: &SqsMessage, work: impl Future<Output = Outcome>) -> Outcome {
    AssertUnwindSafe(work).catch_unwind().await.unwrap_or_else(|panic| {
        let reason = delius_api::handler::panic_message(panic.as_ref());
        let message_id = record.message_id.as_deref().unwrap_or_default();
        tracing::error!(message_id, panic = reason, "allocation processing panicked");
        delius_api::telemetry::count("Panics", &[("Function", "workforce-allocations")]);
        Outcome::Failed
    })
}

/// Runs the records' `pending` work (one future per record, in order), at
/// most `concurrency` at a time, and reports the failed records.
pub async fn process_batch<Fut>(records: &[SqsMessage], pending: Vec<Fut>, concurrency: usize) -> SqsBatchResponse
where
    Fut: Future<Output = Outcome>,
{
    let outcomes: Vec<Outcome> = futures_util::stream::iter(pending).buffered(concurrency.max(1)).collect().await;
    let mut response = SqsBatchResponse::default();
    for (record, outcome) in records.iter().zip(outcomes) {
        if outcome == Outcome::Failed {
            // SQS always sends a message id; without one the failure can only
            // be reported as the whole batch (an empty identifier).
            response.add_failure(record.message_id.clone().unwrap_or_default());
        }
    }
    response
}

/// Processes one record, with in-process retries of transient failures.
pub async fn process(db: &Database, allocations: &Allocations, record: &SqsMessage) -> Outcome {
    let message_id = record.message_id.as_deref().unwrap_or_default();
    let span = tracing::info_span!("allocation_message", message_id);
    async {
        let message = match message::parse(record.body.as_deref()).and_then(|m| input::check_message(&m).map(|()| m)) {
            Ok(message) => message,
            Err(e) => return conclude(None, None, Err(e)),
        };
        let Some(detail_url) = message.detail_url.as_deref() else {
            tracing::info!(event_type = message.event_type, "no detailUrl: nothing to record");
            return Outcome::NoDetail;
        };
        let mut attempt = 1;
        loop {
            let (kind, result) = attempt_once(db, allocations, &message, detail_url).await;
            match result {
                Err(e) if e.is_transient() && attempt < allocations.retry.attempts => {
                    tracing::warn!(attempt, error = %e, "transient failure, retrying");
                    tokio::time::sleep(allocations.retry.delay_after(attempt)).await;
                    attempt += 1;
                }
                result => return conclude(kind, Some(&message), result),
            }
        }
    }
    .instrument(span)
    .await
}

async fn attempt_once(
    db: &Database,
    allocations: &Allocations,
    message: &AllocationMessage,
    detail_url: &str,
) -> (Option<Kind>, Result<Recorded, AllocationError>) {
    let body = match allocations.workload.fetch_detail(detail_url).await {
        Ok(body) => body,
        Err(e) => return (None, Err(e)),
    };
    let detail = match Detail::parse(&body).and_then(|d| input::check_detail(&d).map(|()| d)) {
        Ok(detail) => detail,
        Err(e) => return (None, Err(e)),
    };
    let kind = detail.kind();
    // The record's database work has its own deadline: a stalled database
    // fails this record (retryable), not the batch.
    let result = db
        .within_deadline(allocate::record(db, &detail, message.crn.as_deref(), allocations.produce_spod03_contact))
        .await;
    (Some(kind), result)
}

/// Logs and counts the final outcome of a record.
fn conclude(
    kind: Option<Kind>,
    message: Option<&AllocationMessage>,
    result: Result<Recorded, AllocationError>,
) -> Outcome {
    let kind_name = kind.map_or("unknown", Kind::name);
    let crn = message.and_then(|m| m.crn.as_deref()).unwrap_or_default();
    let outcome = match result {
        Ok(Recorded::New) => {
            tracing::info!(kind = kind_name, crn, "allocation recorded");
            Outcome::Recorded
        }
        Ok(Recorded::Duplicate) => {
            tracing::info!(kind = kind_name, crn, "duplicate allocation: already recorded");
            Outcome::Duplicate
        }
        Err(AllocationError::Ignorable { reason, properties }) => {
            tracing::warn!(kind = kind_name, crn, reason, ?properties, "allocation ignored");
            Outcome::Ignorable
        }
        Err(e) => {
            tracing::error!(kind = kind_name, crn, error = %e, transient = e.is_transient(), "allocation failed");
            Outcome::Failed
        }
    };
    if let Some(name) = outcome.metric_name() {
        delius_api::telemetry::count("Allocations", &[("Kind", kind_name), ("Outcome", name)]);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.message_id = Some(id.to_string());
        record.body = Some(id.to_string());
        record
    }

    #[tokio::test]
    async fn a_record_whose_processing_panics_fails_alone() {
        let records: Vec<SqsMessage> = ["good-1", "panics", "good-2", "fails"].iter().map(|id| record(id)).collect();
        let pending: Vec<_> = records
            .iter()
            .map(|record| {
                contained(record, async move {
                    match record.body.as_deref() {
                        Some("panics") => panic!("a bug in the consumer"),
                        Some("fails") => Outcome::Failed,
                        _ => Outcome::Recorded,
                    }
                })
            })
            .collect();
        let response = process_batch(&records, pending, 2).await;
        let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(failed, ["panics", "fails"]);
    }
}
