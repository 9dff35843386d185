use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use delius_db::{Database, DatabaseConfig};
use lambda_runtime::{LambdaEvent, service_fn};
use workforce_allocations::Allocations;
use workforce_allocations::config::Settings;

/// Nothing here touches the network or the certificate store: the pool
/// connects, the secret is read, the HTTP clients are built and the token
/// fetched on first use.
fn build() -> Result<(Database, Allocations), String> {
    let db_config = DatabaseConfig::from_env(2, "HMPPSAllocations").map_err(|e| e.to_string())?;
    let mut settings = Settings::from_env().map_err(|e| e.to_string())?;
    settings.concurrency = db_config.pool_size;
    let db = Database::new(db_config).map_err(|e| e.to_string())?;
    let allocations = Allocations::new(&settings).map_err(|e| format!("HTTP client: {e}"))?;
    Ok((db, allocations))
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    delius_api::telemetry::init_logging();
    match build() {
        Ok((db, allocations)) => {
            lambda_runtime::run(service_fn(|event| workforce_allocations::handle(&db, &allocations, event))).await
        }
        // Without configuration nothing can be recorded: fail whole batches
        // (SQS redelivers them) rather than the init, and say why.
        Err(problem) => {
            tracing::error!(problem, "workforce-allocations is not configured");
            let problem = &problem;
            lambda_runtime::run(service_fn(|_: LambdaEvent<SqsEvent>| async move {
                Err::<SqsBatchResponse, lambda_runtime::Error>(format!("not configured: {problem}").into())
            }))
            .await
        }
    }
}
