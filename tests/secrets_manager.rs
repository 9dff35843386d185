//! Database credentials from a Secrets Manager secret, read through the real
//! AWS SDK from a local emulator (moto's server). One test in this binary,
//! because it sets the process-wide AWS environment variables.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use delius_db::{CredentialSource, Database, DatabaseConfig, DbError};
use delius_testkit::moto::MotoServer;
use delius_testkit::testing::TestDb;

async fn counting_silent_listener() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

fn set_env(key: &str, value: &str) {
    // SAFETY: this binary has one test, and it sets the variables before the
    // SDK reads them; no other thread reads the environment concurrently.
    unsafe { std::env::set_var(key, value) };
}

fn secret_config(arn: &str, timeout: Duration) -> DatabaseConfig {
    DatabaseConfig {
        credentials: CredentialSource::SecretsManager { secret_arn: arn.to_string() },
        pool_size: 1,
        connect_timeout: timeout,
        delius_username: "ResettlementPassportAndDelius".into(),
        tls: Default::default(),
        timeouts: Default::default(),
        host_override: None,
    }
}

#[tokio::test]
async fn credentials_come_from_an_rds_format_secret_fetched_lazily() {
    set_env("AWS_REGION", "eu-west-2");
    set_env("AWS_ACCESS_KEY_ID", "testing");
    set_env("AWS_SECRET_ACCESS_KEY", "testing");
    set_env("AWS_EC2_METADATA_DISABLED", "true");

    // 1. Building the pool reads no secret: with the endpoint hanging, nothing
    //    connects until the first use, and then the fetch is bounded.
    let (hanging, accepted) = counting_silent_listener().await;
    set_env("AWS_ENDPOINT_URL", &hanging);
    let lazy = Database::new(secret_config(
        "arn:aws:secretsmanager:eu-west-2:000000000000:secret:delius-db",
        Duration::from_millis(500),
    ))
    .expect("building needs no secret");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
    let err = lazy.client().await.map(|_| ()).unwrap_err();
    assert!(matches!(err, DbError::ConnectTimeout(_)), "{err:?}");
    assert!(accepted.load(Ordering::SeqCst) >= 1, "the first use fetches the secret");

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
    let sdk_config = aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(&moto.url).load().await;
    let created = aws_sdk_secretsmanager::Client::new(&sdk_config)
        .create_secret()
        .name("delius-db")
        .secret_string(secret.to_string())
        .send()
        .await
        .expect("create the secret in moto");
    let arn = created.arn().unwrap().to_string();

    // 3. The crate reads it through the default SDK configuration
    //    (AWS_ENDPOINT_URL) and connects with it.
    set_env("AWS_ENDPOINT_URL", &moto.url);
    let database = Database::new(secret_config(&arn, Duration::from_secs(10))).unwrap();
    let client = database.client().await.expect("connect with the secret's credentials");
    let current: String = client.query_one("SELECT current_database()", &[]).await.unwrap().get(0);
    assert_eq!(current, db.name);
    assert!(database.service_user_id(&client).await.unwrap() > 0);

    // A secret that is not in the RDS format is a clear error.
    let bad = aws_sdk_secretsmanager::Client::new(&sdk_config)
        .create_secret()
        .name("not-rds")
        .secret_string(r#"{"user":"x"}"#)
        .send()
        .await
        .unwrap();
    let database = Database::new(secret_config(bad.arn().unwrap(), Duration::from_secs(10))).unwrap();
    let err = database.client().await.map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("is not in the expected format"), "{err}");
}
