//! Database credentials from a Secrets Manager secret, read through the real
//! AWS SDK from a local emulator (moto's server). One test in this binary,
//! because it sets the process-wide AWS environment variables.

use std::time::Duration;

use delius_db::{CredentialSource, Database, DatabaseConfig, DbError};
use delius_testkit::blackhole::SilentListener;
use delius_testkit::moto::{MotoServer, set_aws_test_environment};
use delius_testkit::testing::{TestDb, config_with};

/// Points the SDK at `endpoint`.
fn use_endpoint(endpoint: &str) {
    // SAFETY: this binary has one test, and it sets the variables before the
    // SDK reads them; no other thread reads the environment concurrently.
    unsafe { set_aws_test_environment(Some(endpoint)) };
}

fn secret_config(arn: &str, timeout: Duration) -> DatabaseConfig {
    config_with(CredentialSource::SecretsManager { secret_arn: arn.to_string() }, timeout)
}

#[tokio::test]
async fn credentials_come_from_an_rds_format_secret_fetched_lazily() {
    // 1. Building the pool reads no secret: with the endpoint hanging, nothing
    //    connects until the first use, and then the fetch is bounded.
    let hanging = SilentListener::start().await.unwrap();
    use_endpoint(&format!("http://127.0.0.1:{}", hanging.port));
    let lazy = Database::new(secret_config(
        "arn:aws:secretsmanager:eu-west-2:000000000000:secret:delius-db",
        Duration::from_millis(500),
    ))
    .expect("building needs no secret");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(hanging.accepted(), 0);
    let err = lazy.client().await.map(|_| ()).unwrap_err();
    assert!(matches!(err, DbError::ConnectTimeout(_)), "{err:?}");
    assert!(hanging.accepted() >= 1, "the first use fetches the secret");

    // 2. The secret in the emulator, written through the SDK.
    let moto = MotoServer::start().await;
    let db = TestDb::new().await;
    let parsed = url::Url::parse(&db.url).unwrap();
    let secret = serde_json::json!({
        "engine": "postgres",
        "host": parsed.host_str().unwrap(),
        "port": parsed.port().unwrap(),
        "username": parsed.username(),
        "password": "not-used-by-trust-auth",
        "dbname": db.name,
        "dbInstanceIdentifier": "delius",
    });
    let arn = moto.create_secret("delius-db", &secret.to_string()).await;

    // 3. The crate reads it through the default SDK configuration
    //    (AWS_ENDPOINT_URL) and connects with it.
    use_endpoint(&moto.url);
    let database = Database::new(secret_config(&arn, Duration::from_secs(10))).unwrap();
    let client = database.client().await.expect("connect with the secret's credentials");
    let current: String = client.query_one("SELECT current_database()", &[]).await.unwrap().get(0);
    assert_eq!(current, db.name);
    assert!(database.service_user_id(&client).await.unwrap() > 0);

    // A secret that is not in the RDS format is a clear error.
    let bad = moto.create_secret("not-rds", r#"{"user":"x"}"#).await;
    let database = Database::new(secret_config(&bad, Duration::from_secs(10))).unwrap();
    let err = database.client().await.map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("is not in the expected format"), "{err}");
}
