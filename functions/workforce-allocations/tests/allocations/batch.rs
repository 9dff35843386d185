//! Batches, retries, Workload outages and the token cache.

use std::time::Duration;

use delius_testkit::workload::token_response;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::common::*;

#[tokio::test]
async fn poison_records_fail_alone() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let before = counts(&h.client).await;
    let event = h.event("mixed-batch.json");
    let ids_in_batch: Vec<String> = event.records.iter().map(|r| r.message_id.clone().unwrap()).collect();
    assert_eq!(ids_in_batch.len(), 5);

    let response = h.invoke(event).await;
    // The bad JSON (third) and the unknown team (fifth), nothing else.
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        serde_json::json!({"batchItemFailures": [
            {"itemIdentifier": ids_in_batch[2]},
            {"itemIdentifier": ids_in_batch[4]},
        ]})
    );

    // The other three are recorded: person T123456, event 1, requirement 9003.
    let after = counts(&h.client).await;
    assert_one_of_each_kind(&before, &after);
    let person = offender_id(&h.client, "T123456").await;
    let pm = managers(&h.client, Table::Offender, person).await;
    assert_eq!(pm[1].0.allocation_reason_id, Some(reason_id(&h.client, "OM ALLOCATION REASON", "AR02").await));
    let event_1 = event_id(&h.client, "X123456", "1").await;
    let om = managers(&h.client, Table::Order, event_1).await;
    assert_eq!(om[1].0.allocation_reason_id, Some(reason_id(&h.client, "ORDER ALLOCATION REASON", "OFL").await));
    let rm = managers(&h.client, Table::Requirement, 9003).await;
    assert_eq!(rm[1].0.allocation_reason_id, Some(reason_id(&h.client, "RM ALLOCATION REASON", "OM").await));
    assert_eq!(managers(&h.client, Table::Order, event_id(&h.client, "X123456", "5").await).await.len(), 1);

    let mut audits: Vec<_> =
        audits(&h.client).await.into_iter().map(|(code, user, outcome, _)| (code, user, outcome)).collect();
    audits.sort();
    assert_eq!(
        audits,
        vec![
            ("CABI038".into(), ids.user, "P".into()),
            ("CABI041".into(), ids.user, "F".into()),
            ("CABI041".into(), ids.user, "P".into()),
            ("CABI231".into(), ids.user, "P".into()),
        ]
    );
}

#[tokio::test]
async fn a_workload_error_then_success_is_recorded_in_one_invocation() {
    let h = Harness::new().await;
    let offender = offender_id(&h.client, "X123456").await;
    Mock::given(method("GET"))
        .and(path("/allocation/person/4880d097-ea80-4492-bdb7-86228cdf29ef"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(h.workload.server())
        .await;

    invoke_ok(&h, h.event("person-allocation.json")).await;
    assert_eq!(h.workload.detail_requests().await, 2);
    assert_eq!(managers(&h.client, Table::Offender, offender).await.len(), 2);
    assert_eq!(audits(&h.client).await.len(), 1);
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn with_workload_down_the_record_fails_and_nothing_is_written() {
    let port = closed_port();
    let down = format!("http://127.0.0.1:{port}");
    let h = Harness::with(|s| {
        s.token_url = format!("{down}/auth/oauth/token");
        s.allowed_detail_origins = vec![down.clone()];
    })
    .await;
    let before = counts(&h.client).await;
    let url = format!("{down}/allocation/person/4880d097-ea80-4492-bdb7-86228cdf29ef");
    let event = batch(vec![record("m-down", "person.community.manager.allocated", Some(&url), Some("X123456"))]);

    let started = std::time::Instant::now();
    assert_eq!(failures(&h.invoke(event).await), vec!["m-down".to_string()]);
    // Three attempts, with 100 ms and 400 ms of backoff between them.
    assert!(started.elapsed() >= Duration::from_millis(500), "{:?}", started.elapsed());
    assert_eq!(counts(&h.client).await, before);
    assert_eq!(audits(&h.client).await, vec![]);
}

#[tokio::test]
async fn a_detail_endpoint_that_is_down_or_slow_fails_after_retries() {
    // The token endpoint works, the detail endpoint does not answer in time.
    let h = Harness::with(|s| s.http_timeout = Duration::from_millis(300)).await;
    let before = counts(&h.client).await;
    Mock::given(method("GET"))
        .and(path("/allocation/person/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(h.workload.server())
        .await;
    let url = h.detail_url("/allocation/person/slow");
    let event = batch(vec![record("m-slow", "person.community.manager.allocated", Some(&url), Some("X123456"))]);

    assert_eq!(failures(&h.invoke(event).await), vec!["m-slow".to_string()]);
    assert_eq!(h.workload.detail_requests().await, 3);
    assert_eq!(counts(&h.client).await, before);
}

#[tokio::test]
async fn a_failing_token_endpoint_fails_the_record() {
    let h = Harness::new().await;
    Mock::given(method("POST"))
        .and(path("/auth/oauth/token"))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .mount(h.workload.server())
        .await;
    let before = counts(&h.client).await;
    assert_eq!(failures(&h.invoke(h.event("person-allocation.json")).await).len(), 1);
    assert_eq!((h.workload.token_requests().await, h.workload.detail_requests().await), (3, 0));
    assert_eq!(counts(&h.client).await, before);
}

#[tokio::test]
async fn wrong_client_credentials_fail_the_record() {
    let h = Harness::with(|s| {
        s.credentials = workforce_allocations::config::ClientCredentials::Direct {
            client_id: "someone-else".into(),
            client_secret: "wrong".into(),
        }
    })
    .await;
    assert_eq!(failures(&h.invoke(h.event("person-allocation.json")).await).len(), 1);
    assert_eq!(h.workload.detail_requests().await, 0);
}

#[tokio::test]
async fn the_token_is_fetched_once_and_again_after_it_expires() {
    let h = Harness::new().await;
    // Tokens that live two seconds (renewed a fifth of that before expiry).
    Mock::given(method("POST"))
        .and(path("/auth/oauth/token"))
        .respond_with(token_response(h.workload.access_token(), 2))
        .with_priority(1)
        .mount(h.workload.server())
        .await;

    let mut first = h.event("person-allocation.json");
    first.records.extend(h.event("event-allocation.json").records);
    invoke_ok(&h, first).await;
    invoke_ok(&h, h.event("requirement-allocation.json")).await;
    assert_eq!(h.workload.detail_requests().await, 3);
    assert_eq!(h.workload.token_requests().await, 1, "one token for three messages in two invocations");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(failures(&h.invoke(h.event("mixed-batch.json")).await).len(), 2);
    assert_eq!(h.workload.token_requests().await, 2, "a new token once the first expired");

    // Every detail request carried the bearer token.
    let requests = h.workload.server().received_requests().await.unwrap();
    let expected = format!("Bearer {}", h.workload.access_token());
    for r in requests.iter().filter(|r| r.url.path().starts_with("/allocation/")) {
        assert_eq!(r.headers.get("authorization").and_then(|v| v.to_str().ok()), Some(expected.as_str()));
    }
}
