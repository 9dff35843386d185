//! A scale model of a burst (`make bench` only, not the smoke run): 200
//! simulated containers, each with its own pool of one connection, send a GET
//! mix at once, round after round, to a database that allows 40 connections
//! (a role with `CONNECTION LIMIT 40` stands in for `max_connections = 40`):
//! once through PgBouncer in `pool_mode = transaction` (20 server
//! connections), as RDS Proxy would multiplex them, and once straight at the
//! database. Through the pooler every request must succeed; straight at the
//! database the containers beyond 40 must get a fast 503 (the connection is
//! refused with 53300), never a hang.

use std::sync::Arc;
use std::time::{Duration, Instant};

use delius_db::{Database, DatabaseConfig};
use delius_testkit::pgbouncer::{PgBouncer, PoolSizes};
use delius_testkit::testing::TestDb;
use serde::Serialize;

use crate::stats::{ms, percentile};
use crate::{Options, progress};

const CONTAINERS: usize = 200;
const DATABASE_CONNECTIONS: usize = 40;
const POOLER_SERVER_CONNECTIONS: u32 = 20;
const ROLE: &str = "delius_burst";
const USER: &str = "ResettlementPassportAndDelius";

#[derive(Debug, Clone, Serialize)]
pub struct BurstRow {
    pub path: String,
    pub containers: usize,
    pub requests: usize,
    pub ok: usize,
    pub unavailable: usize,
    pub other: usize,
    pub requests_per_second: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Problems that make the figures wrong (setup failures, unexpected outcomes).
    pub errors: Vec<String>,
}

pub async fn run(options: &Options) -> Vec<BurstRow> {
    let rounds = options.burst_rounds;
    let test_db = TestDb::new().await;
    let admin = test_db.client().await;
    let limited = format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN \
         CREATE ROLE {ROLE} LOGIN CONNECTION LIMIT {DATABASE_CONNECTIONS}; END IF; END $$; \
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ROLE}"
    );
    if let Err(e) = admin.batch_execute(&limited).await {
        return vec![failed("setup", format!("cannot create the limited role: {e}"))];
    }
    let mut url = url::Url::parse(&test_db.url).expect("a database URL");
    url.set_username(ROLE).expect("a user name");
    let direct = url.to_string();

    let mut rows = Vec::new();
    progress(&format!("burst: {CONTAINERS} containers x {rounds} rounds through PgBouncer (transaction mode)"));
    let sizes = PoolSizes { server_connections: POOLER_SERVER_CONNECTIONS, max_client_connections: 400 };
    match PgBouncer::start(&direct, sizes) {
        Ok(bouncer) => {
            let mut row = burst("PgBouncer, transaction mode", &bouncer.url_for(&direct), rounds).await;
            if row.ok != row.requests {
                row.errors.push(format!(
                    "{} of {} requests failed through the pooler",
                    row.requests - row.ok,
                    row.requests
                ));
            }
            rows.push(row);
        }
        Err(e) => rows.push(failed("PgBouncer, transaction mode", format!("pgbouncer: {e}"))),
    }
    progress(&format!("burst: {CONTAINERS} containers x {rounds} rounds straight at the database"));
    let mut row = burst("straight at the database", &direct, rounds).await;
    if row.other > 0 {
        row.errors.push(format!("{} answers were neither 200 nor 503", row.other));
    }
    if row.max_ms.is_some_and(|max| max > 8000.0) {
        row.errors.push("a request waited longer than the 8 s work deadline".into());
    }
    rows.push(row);
    rows
}

fn failed(path: &str, error: String) -> BurstRow {
    BurstRow {
        path: path.into(),
        containers: CONTAINERS,
        requests: 0,
        ok: 0,
        unavailable: 0,
        other: 0,
        requests_per_second: None,
        p50_ms: None,
        p99_ms: None,
        max_ms: None,
        errors: vec![error],
    }
}

async fn burst(path: &str, url: &str, rounds: usize) -> BurstRow {
    let containers: Vec<Arc<Database>> = (0..CONTAINERS)
        .map(|_| Arc::new(Database::new(DatabaseConfig::for_url(url, 1, USER).expect("config")).expect("pool")))
        .collect();
    let mut latencies = Vec::new();
    let (mut ok, mut unavailable, mut other) = (0, 0, 0);
    let started = Instant::now();
    for round in 0..rounds {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, db) in containers.iter().enumerate() {
            let db = db.clone();
            tasks.spawn(async move {
                let t = Instant::now();
                let status = get(&db, round + i).await;
                (status, t.elapsed())
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (status, took) = done.unwrap_or((0, Duration::ZERO));
            latencies.push(ms(took));
            match status {
                200 => ok += 1,
                503 => unavailable += 1,
                _ => other += 1,
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    BurstRow {
        path: path.into(),
        containers: CONTAINERS,
        requests: latencies.len(),
        ok,
        unavailable,
        other,
        requests_per_second: (elapsed > 0.0).then(|| latencies.len() as f64 / elapsed),
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        max_ms: percentile(&latencies, 100.0),
        errors: Vec::new(),
    }
}

/// One GET of the mix: the CRN, the community manager, the person's details.
async fn get(db: &Database, n: usize) -> u16 {
    let event = match n % 3 {
        0 => "probation-case-crn.json",
        1 => "probation-case-community-manager.json",
        _ => "probation-case-detail.json",
    };
    let text = std::fs::read_to_string(crate::events_dir().join("apigw").join(event)).expect("sample event");
    let request = lambda_http::request::from_str(&text).expect("API Gateway v2 event");
    let response = match n % 3 {
        0 => probation_case_crn::handle(db, request).await,
        1 => probation_case_community_manager::handle(db, request).await,
        _ => probation_case_detail::handle(db, request).await,
    };
    response.status().as_u16()
}
