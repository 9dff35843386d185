use delius_db::{Database, DatabaseConfig};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    delius_api::telemetry::init_logging();
    // No connection is opened here: the first request opens it.
    let db = Database::new(DatabaseConfig::from_env(1, "ResettlementPassportAndDelius")?)?;
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(appointment_create::handle(&db, request).await)
    }))
    .await
}
