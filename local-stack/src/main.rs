//! `make run`: prepares the database and serves the whole system on
//! `http://127.0.0.1:${PORT:-8080}` (see the crate documentation).

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use delius_db::migrate::{self, Seed};
use delius_db::{Database, DatabaseConfig};
use delius_testkit::hmpps_auth::HmppsAuthStandIn;
use delius_testkit::ldap::{FIXTURE, LdapServer};
use delius_testkit::workload::{self, WorkloadStandIn};
use local_stack::{Functions, Stack, TOKEN_PATH};

const DEFAULT_PORT: u16 = 8080;

#[tokio::main]
async fn main() -> ExitCode {
    delius_api::telemetry::init_logging();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("local stack: {problem}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let port = match env("PORT") {
        None => DEFAULT_PORT,
        Some(p) => p.parse().map_err(|_| format!("PORT must be a port number, got {p:?}"))?,
    };
    let database_url = env("DATABASE_URL").ok_or("DATABASE_URL is not set (`make run` sets it)")?;
    prepare_database(&database_url).await?;

    // Stand-ins for whatever is not configured; the real ones otherwise.
    let mut overrides: HashMap<&'static str, String> = HashMap::new();
    let mut notes = Vec::new();
    let hmpps_auth = if env("HMPPS_AUTH_JWKS_URL").is_none() {
        let stand_in = HmppsAuthStandIn::start().await;
        notes.push(format!(
            "hmpps auth: stand-in on {} (JWKS {}, issuer {}); tokens from {TOKEN_PATH} here, or `make token`",
            stand_in.uri(),
            stand_in.jwks_url(),
            stand_in.issuer()
        ));
        overrides.extend(stand_in.env());
        Some(stand_in)
    } else {
        notes.push("tokens: from the HMPPS Auth at HMPPS_AUTH_JWKS_URL".to_string());
        None
    };
    let _workload = if env("HMPPS_AUTH_TOKEN_URL").is_none() {
        let workload_port = match env("LOCAL_WORKLOAD_PORT") {
            None => workload::DEFAULT_PORT,
            Some(p) => p.parse().map_err(|_| format!("LOCAL_WORKLOAD_PORT must be a port number, got {p:?}"))?,
        };
        let stand_in = WorkloadStandIn::start_on(workload_port)
            .await
            .map_err(|e| format!("cannot start the Workload stand-in on port {workload_port}: {e}"))?;
        notes.push(format!("workload: stand-in on {} (serves the events/sqs samples' details)", stand_in.uri()));
        overrides.extend(stand_in.env());
        Some(stand_in)
    } else {
        notes.push("workload: HMPPS_AUTH_TOKEN_URL and the detail URLs of the events".to_string());
        None
    };
    let _ldap = if env("LDAP_URL").is_none() {
        match LdapServer::start_with(FIXTURE) {
            Ok(server) => {
                notes.push(format!("ldap: slapd stand-in on {}", server.url));
                overrides.extend(server.env());
                Some(server)
            }
            Err(e) => {
                notes.push(format!("ldap: none ({e}); appointments come without staff e-mail and telephone"));
                None
            }
        }
    } else {
        None
    };

    let lookup = |name: &str| overrides.get(name).cloned().or_else(|| env(name));
    let functions = Functions::build(lookup).map_err(|e| format!("cannot build {e}"))?;
    let stack = Arc::new(Stack { functions, hmpps_auth });

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    print_banner(port, &database_url, &notes, stack.hmpps_auth.is_some());
    // Ctrl-C or SIGTERM returns from here, so the stand-ins are dropped and
    // stopped (slapd would also end by itself with this process).
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    tokio::select! {
        served = local_stack::gateway::serve(listener, stack) => served.map_err(|e| format!("server: {e}")),
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = terminate.recv() => Ok(()),
    }
}

/// Migrations, then the reference data and both dev datasets (each loaded
/// once: a database that has them is left as it is).
async fn prepare_database(url: &str) -> Result<(), String> {
    let lookup = |name: &str| (name == "DATABASE_URL").then(|| url.to_string());
    let config = DatabaseConfig::from_lookup(lookup, 1, "").map_err(|e| e.to_string())?;
    let db = Database::new(config).map_err(|e| e.to_string())?;
    let mut client = db.client().await.map_err(|e| format!("database: {e}"))?;
    migrate::migrate(&mut client).await.map_err(|e| format!("migrations: {e}"))?;
    for seed in [Seed::Reference, Seed::DevResettlement, Seed::DevAllocations] {
        migrate::load_seed(&client, seed).await.map_err(|e| format!("seed {seed:?}: {e}"))?;
    }
    Ok(())
}

fn print_banner(port: u16, database_url: &str, notes: &[String], local_tokens: bool) {
    let base = format!("http://127.0.0.1:{port}");
    println!("\nDelius integrations, local stack: {base}");
    println!("  database: {}", redact_password(database_url));
    for note in notes {
        println!("  {note}");
    }
    println!("\nTry:");
    if local_tokens {
        println!("  TOKEN=$(curl -s {base}{TOKEN_PATH})        # or: make token ROLES=\"...\"");
    } else {
        println!("  TOKEN=<a token from your HMPPS Auth>");
    }
    println!("  curl -s -H \"Authorization: Bearer $TOKEN\" {base}/probation-cases/A1234YZ/crn");
    println!(
        "  curl -s -H \"Authorization: Bearer $TOKEN\" \"{base}/appointments/X123123?page=0&size=10&startDate=2020-01-01&endDate=2030-12-31\""
    );
    println!(
        "  curl -s -X POST --data @events/sqs/person-allocation.json \
         {base}/2015-03-31/functions/workforce-allocations/invocations\n"
    );
}

fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
