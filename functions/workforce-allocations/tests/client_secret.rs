//! Workload client credentials from a Secrets Manager secret
//! (`WORKLOAD_CLIENT_SECRET_ARN`), read through the real AWS SDK from a local
//! emulator (moto's server), once per container. One test in this binary,
//! because it sets the process-wide AWS environment variables.

use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use delius_testkit::moto::{MotoServer, set_aws_test_environment};
use delius_testkit::testing::TestDb;
use delius_testkit::workload::{self, WorkloadStandIn, token_response};
use lambda_runtime::{Context, LambdaEvent};
use workforce_allocations::Allocations;
use workforce_allocations::config::{ClientCredentials, Settings};

fn sample(stand_in: &WorkloadStandIn, file: &str) -> SqsEvent {
    let path = format!("{}/../../events/sqs/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&stand_in.rewrite(&std::fs::read_to_string(path).unwrap())).unwrap()
}

#[tokio::test]
async fn client_credentials_come_from_a_secret_read_once() {
    let moto = MotoServer::start().await;
    // SAFETY: this binary has one test, and it sets the variables before the
    // SDK reads them; no other thread reads the environment concurrently.
    unsafe { set_aws_test_environment(Some(&moto.url)) };
    let secret = serde_json::json!({"clientId": workload::CLIENT_ID, "clientSecret": workload::CLIENT_SECRET});
    let arn = moto.create_secret("workforce-allocations-client", &secret.to_string()).await;

    let test_db = TestDb::new().await;
    let db = test_db.database("HMPPSAllocations", 2);
    let stand_in = WorkloadStandIn::start().await;
    // Short-lived tokens, so the second message needs a new one.
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(workload::TOKEN_PATH))
        .and(wiremock::matchers::basic_auth(workload::CLIENT_ID, workload::CLIENT_SECRET))
        .respond_with(token_response(stand_in.access_token(), 1))
        .mount(stand_in.server())
        .await;
    let env: Vec<(&str, String)> = vec![
        ("HMPPS_AUTH_TOKEN_URL", stand_in.token_url()),
        ("WORKLOAD_CLIENT_SECRET_ARN", arn),
        ("ALLOWED_DETAIL_URLS", stand_in.uri()),
    ];
    let settings = Settings::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    assert!(matches!(settings.credentials, ClientCredentials::SecretsManager { .. }));
    let allocations = Allocations::new(&settings).unwrap();

    let invoke = |event| workforce_allocations::handle(&db, &allocations, LambdaEvent::new(event, Context::default()));
    let response = invoke(sample(&stand_in, "person-allocation.json")).await.unwrap();
    assert!(response.batch_item_failures.is_empty());

    // With the emulator gone and the token expired, the credentials read
    // before still get a new token.
    drop(moto);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = invoke(sample(&stand_in, "event-allocation.json")).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(stand_in.token_requests().await, 2);
    assert_eq!(stand_in.detail_requests().await, 2);
    let client = test_db.client().await;
    let recorded: i64 =
        client.query_one("SELECT COUNT(*) FROM audited_interaction WHERE outcome = 'P'", &[]).await.unwrap().get(0);
    assert_eq!(recorded, 2);
}
