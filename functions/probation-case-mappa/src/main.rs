use delius_db::{Database, DatabaseConfig};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    delius_api::telemetry::init_logging();
    // Builds the pool only: the first request connects (and fetches the secret).
    let db = Database::new(DatabaseConfig::from_env(1, "ResettlementPassportAndDelius")?)?;
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(probation_case_mappa::handle(&db, request).await)
    }))
    .await
}
