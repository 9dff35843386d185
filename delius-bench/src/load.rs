//! Load: the local stack (`local-stack`, every route through the real
//! authorizer) under many concurrent keep-alive clients for a while, over a
//! mix of the GET routes with the dev dataset's sample requests.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use delius_api::routes::{CASE_DETAIL, ROUTES};
use delius_testkit::testing::TestDb;
use serde::Serialize;
use serde_json::Value;

use crate::stats::{median, percentile};
use crate::{Options, events_dir, progress};

const READY_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Serialize, Default)]
pub struct LoadResult {
    pub skipped: Option<String>,
    pub clients: usize,
    pub seconds: f64,
    pub runs: usize,
    pub paths: Vec<String>,
    pub requests: u64,
    pub requests_per_second: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Transport errors and non-2xx answers.
    pub errors: u64,
    pub statuses: BTreeMap<String, u64>,
    pub problems: Vec<String>,
}

/// The GET requests of the mix: each GET route's sample events.
pub fn paths() -> Vec<String> {
    let mut paths = Vec::new();
    for route in ROUTES.iter().filter(|r| r.method == "GET") {
        let Ok(entries) = std::fs::read_dir(events_dir().join("apigw")) else { continue };
        let mut files: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                name == route.function || name.strip_prefix(route.function).is_some_and(|rest| rest.starts_with('-'))
            })
            .collect();
        files.sort();
        for file in files {
            let Ok(event) = std::fs::read_to_string(&file).map(|t| serde_json::from_str::<Value>(&t)) else { continue };
            let Ok(event) = event else { continue };
            if event.get("routeKey").and_then(Value::as_str) != Some(route.route_key().as_str()) {
                continue;
            }
            let path = event.get("rawPath").and_then(Value::as_str).unwrap_or_default();
            let query = event.get("rawQueryString").and_then(Value::as_str).unwrap_or_default();
            paths.push(if query.is_empty() { path.to_string() } else { format!("{path}?{query}") });
        }
    }
    paths
}

pub async fn run(options: &Options) -> LoadResult {
    let mut result = LoadResult { clients: options.load_clients, seconds: options.load_seconds, ..Default::default() };
    let binary = crate::target_dir().join(&options.bins).join("local-stack");
    if !binary.is_file() {
        result.skipped = Some("skipped: local stack not built".into());
        return result;
    }
    result.paths = paths();
    if result.paths.is_empty() {
        result.skipped = Some("skipped: no GET sample events".into());
        return result;
    }
    progress("load: starting the local stack");
    // An empty database: the stack migrates and seeds it, as `make run` does.
    let db = TestDb::empty().await;
    let log = crate::target_dir().join("bench").join("logs").join("local-stack.log");
    let (mut child, base) = match start_stack(&binary, &db.url, &log).await {
        Ok(started) => started,
        Err(e) => {
            result.problems.push(format!("{e} (log: {})", log.display()));
            return result;
        }
    };
    let outcome = async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(options.load_clients)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let token = client
            .get(format!("{base}/local/token?roles={CASE_DETAIL}"))
            .send()
            .await
            .map_err(|e| format!("token: {e}"))?
            .text()
            .await
            .map_err(|e| format!("token: {e}"))?;
        let mut rps = Vec::new();
        let mut p50 = Vec::new();
        let mut p99 = Vec::new();
        for run in 0..options.load_runs {
            progress(&format!("load: run {} of {}", run + 1, options.load_runs));
            let outcome = generate(&client, &base, token.trim(), &result.paths, options).await;
            result.requests += outcome.latencies.len() as u64;
            result.errors += outcome.errors;
            for (status, count) in outcome.statuses {
                *result.statuses.entry(status).or_default() += count;
            }
            rps.push(outcome.latencies.len() as f64 / outcome.elapsed.as_secs_f64());
            p50.extend(percentile(&outcome.latencies, 50.0));
            p99.extend(percentile(&outcome.latencies, 99.0));
            result.problems.extend(outcome.problems);
            result.runs += 1;
        }
        result.requests_per_second = median(&rps);
        result.p50_ms = median(&p50);
        result.p99_ms = median(&p99);
        Ok::<(), String>(())
    }
    .await;
    if let Err(e) = outcome {
        result.problems.push(e);
    }
    let _ = child.kill().await;
    result
}

async fn start_stack(binary: &Path, database_url: &str, log: &Path) -> Result<(tokio::process::Child, String), String> {
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| e.to_string())
    };
    let port = free_port()?;
    let workload_port = free_port()?;
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(binary);
    command
        .env("PORT", port.to_string())
        .env("DATABASE_URL", database_url)
        .env("LOCAL_WORKLOAD_PORT", workload_port.to_string())
        .env_remove("HMPPS_AUTH_JWKS_URL")
        .env_remove("HMPPS_AUTH_TOKEN_URL")
        .env_remove("LDAP_URL")
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true);
    // If the bench itself is killed, the stack (and, through the same signal, its slapd) goes too.
    delius_testkit::process::end_with_parent(command.as_std_mut());
    let mut child = command.spawn().map_err(|e| format!("local-stack: {e}"))?;
    let base = format!("http://127.0.0.1:{port}");
    let probe = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < READY_TIMEOUT {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("local-stack exited: {status}"));
        }
        let ready = probe.get(format!("{base}/local/token")).send().await.is_ok_and(|r| r.status().is_success());
        if ready {
            return Ok((child, base));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = child.kill().await;
    Err(format!("local-stack did not answer within {READY_TIMEOUT:?}"))
}

struct Generated {
    latencies: Vec<f64>,
    statuses: BTreeMap<String, u64>,
    errors: u64,
    elapsed: Duration,
    problems: Vec<String>,
}

/// `clients` tasks, each sending one request after another (keep-alive)
/// until the time is up.
async fn generate(client: &reqwest::Client, base: &str, token: &str, paths: &[String], options: &Options) -> Generated {
    let duration = Duration::from_secs_f64(options.load_seconds);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..options.load_clients {
        let client = client.clone();
        let urls: Vec<String> = paths.iter().map(|p| format!("{base}{p}")).collect();
        let bearer = format!("Bearer {token}");
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
            let mut problems = Vec::new();
            let mut errors = 0u64;
            let mut i = task;
            while Instant::now() < deadline {
                let url = &urls[i % urls.len()];
                i += 1;
                let sent = Instant::now();
                let answer = client.get(url).header("authorization", &bearer).send().await;
                let status = match answer {
                    Ok(response) => {
                        let status = response.status();
                        match response.bytes().await {
                            Ok(_) => status.as_u16().to_string(),
                            Err(e) => {
                                problems.push(format!("{url}: {e}"));
                                "body error".to_string()
                            }
                        }
                    }
                    Err(e) => {
                        problems.push(format!("{url}: {e}"));
                        "transport error".to_string()
                    }
                };
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                if !status.starts_with('2') {
                    errors += 1;
                    if problems.is_empty() {
                        problems.push(format!("{url}: HTTP {status}"));
                    }
                }
                *statuses.entry(status).or_default() += 1;
            }
            (latencies, statuses, errors, problems)
        });
    }
    let mut generated = Generated {
        latencies: Vec::new(),
        statuses: BTreeMap::new(),
        errors: 0,
        elapsed: Duration::ZERO,
        problems: Vec::new(),
    };
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((latencies, statuses, errors, problems)) => {
                generated.latencies.extend(latencies);
                for (status, count) in statuses {
                    *generated.statuses.entry(status).or_default() += count;
                }
                generated.errors += errors;
                if generated.problems.len() < 5 {
                    generated.problems.extend(problems.into_iter().take(2));
                }
            }
            Err(e) => generated.problems.push(format!("client task: {e}")),
        }
    }
    generated.elapsed = started.elapsed();
    generated
}
