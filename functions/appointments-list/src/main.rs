use appointments_list::StaffDirectory;
use delius_db::{Database, DatabaseConfig};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    delius_api::telemetry::init_logging();
    // Neither builds a connection nor fetches a secret: both happen on first use.
    let db = Database::new(DatabaseConfig::from_env(1, "ResettlementPassportAndDelius")?)?;
    let directory = StaffDirectory::from_env()?;
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, std::convert::Infallible>(appointments_list::handle(&db, directory.as_ref(), request).await)
    }))
    .await
}
