//! Cold starts: each function's binary started as Lambda starts it, against
//! a minimal Lambda Runtime API served on loopback, N times.
//!
//! init = exec → its first `GET …/invocation/next`; first invocation = the
//! event handed over → its response posted (the first database connection
//! included); peak RSS = `VmHWM` once it asks for the next event.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use delius_api::routes::ROUTES;
use delius_testkit::testing::TestDb;
use delius_testkit::tls::TlsPostgres;
use delius_testkit::workload::WorkloadStandIn;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::stats::{median, median_of, ms};
use crate::{Options, events_dir, progress};

const STAGE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize)]
pub struct ColdRow {
    pub function: String,
    pub skipped: Option<String>,
    pub runs: usize,
    pub init_ms: Option<f64>,
    pub first_invocation_ms: Option<f64>,
    /// The same first invocation with TLS to PostgreSQL (`verify-full`, the
    /// handshake and the certificate store included); the GET routes only.
    pub first_invocation_tls_ms: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub binary_mb: Option<f64>,
    pub zip_mb: Option<f64>,
    /// What the first invocation answered (HTTP status, failures...).
    pub outcome: Option<String>,
    pub errors: Vec<String>,
}

impl ColdRow {
    fn new(function: &str) -> ColdRow {
        ColdRow {
            function: function.to_string(),
            skipped: None,
            runs: 0,
            init_ms: None,
            first_invocation_ms: None,
            first_invocation_tls_ms: None,
            peak_rss_mb: None,
            binary_mb: None,
            zip_mb: None,
            outcome: None,
            errors: Vec::new(),
        }
    }
}

/// The hello-world `lambda_runtime` binary every init is compared with.
pub const BASELINE: &str = "lambda-hello-world";

/// The target for every function's init: at most this × the baseline's + [`INIT_SLACK_MS`].
pub const INIT_BASELINE_FACTOR: f64 = 2.0;
pub const INIT_SLACK_MS: f64 = 2.0;

/// The baseline, then every function: the HTTP ones of the route table, the
/// authorizer and the allocations consumer.
pub fn functions() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = vec![BASELINE];
    for route in &ROUTES {
        if !names.contains(&route.function) {
            names.push(route.function);
        }
    }
    names.push("authorizer");
    names.push("workforce-allocations");
    names
}

/// What one function needs to be invoked: its event and its environment.
struct Invocation {
    event: Value,
    env: Vec<(String, String)>,
    /// Writes need a fresh database each run to do the same work each time.
    fresh_database_each_run: bool,
    /// The configuration's database user.
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Http,
    Sqs,
    Authorizer,
    Baseline,
}

pub async fn run(options: &Options) -> Vec<ColdRow> {
    let bin_dir = crate::target_dir().join(&options.bins);
    // Stand-ins for the functions that call out; they live for the section.
    let workload = WorkloadStandIn::start().await;
    let auth = crate::auth::AuthStandIn::start().await;
    // PostgreSQL that takes TLS only, for the first invocations over TLS.
    let tls_postgres = match TlsPostgres::start().await {
        Ok(server) => Some(server),
        Err(e) => {
            progress(&format!("cold: no TLS PostgreSQL, first invocations over TLS not measured: {e}"));
            None
        }
    };
    let mut rows = Vec::new();
    for function in functions() {
        let mut row = ColdRow::new(function);
        let binary = bin_dir.join(function);
        if !binary.is_file() {
            row.skipped = Some(format!("not built: {}", binary.display()));
            rows.push(row);
            continue;
        }
        progress(&format!("cold: {function}"));
        row.binary_mb = std::fs::metadata(&binary).ok().map(|m| m.len() as f64 / 1_000_000.0);
        match zipped_size(&binary).await {
            Ok(size) => row.zip_mb = Some(size as f64 / 1_000_000.0),
            Err(e) => row.errors.push(format!("zip: {e}")),
        }
        let invocation = match invocation(function, &workload, auth.as_ref()) {
            Ok(invocation) => invocation,
            Err(e) => {
                row.skipped = Some(e);
                rows.push(row);
                continue;
            }
        };
        measure(options, function, &binary, &invocation, &mut row).await;
        if let Some(server) = &tls_postgres
            && invocation.kind == Kind::Http
            && !invocation.fresh_database_each_run
        {
            measure_tls(options, function, &binary, &invocation, server, &mut row).await;
        }
        rows.push(row);
    }
    rows
}

/// The init target of the run: [`INIT_BASELINE_FACTOR`] × the baseline's init + [`INIT_SLACK_MS`].
pub fn init_limit(rows: &[ColdRow]) -> Option<f64> {
    rows.iter()
        .find(|r| r.function == BASELINE)
        .and_then(|r| r.init_ms)
        .map(|baseline| INIT_BASELINE_FACTOR * baseline + INIT_SLACK_MS)
}

fn invocation(
    function: &str,
    workload: &WorkloadStandIn,
    auth: Option<&crate::auth::AuthStandIn>,
) -> Result<Invocation, String> {
    let read = |path: PathBuf| -> Result<Value, String> {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&workload.rewrite(&text)).map_err(|e| format!("{}: {e}", path.display()))
    };
    match function {
        BASELINE => Ok(Invocation {
            event: serde_json::json!({}),
            env: Vec::new(),
            fresh_database_each_run: false,
            kind: Kind::Baseline,
        }),
        "workforce-allocations" => Ok(Invocation {
            event: read(events_dir().join("sqs").join("person-allocation.json"))?,
            env: workload.env().into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            fresh_database_each_run: true,
            kind: Kind::Sqs,
        }),
        "authorizer" => {
            let auth = auth.ok_or("no HMPPS Auth stand-in to sign a token")?;
            Ok(Invocation {
                event: auth.authorizer_event(),
                env: auth.env(),
                fresh_database_each_run: false,
                kind: Kind::Authorizer,
            })
        }
        _ => {
            let route = delius_api::routes::by_function(function).ok_or("not in the route table")?;
            let event = read(events_dir().join("apigw").join(format!("{function}.json")))?;
            Ok(Invocation { event, env: Vec::new(), fresh_database_each_run: route.method != "GET", kind: Kind::Http })
        }
    }
}

async fn measure(options: &Options, function: &str, binary: &Path, invocation: &Invocation, row: &mut ColdRow) {
    let mut init = Vec::new();
    let mut first = Vec::new();
    let mut rss = Vec::new();
    let mut shared_db: Option<TestDb> = None;
    for run in 0..options.cold_runs {
        let fresh;
        let db = if invocation.fresh_database_each_run {
            fresh = TestDb::new().await;
            &fresh
        } else {
            if shared_db.is_none() {
                shared_db = Some(TestDb::new().await);
            }
            match shared_db.as_ref() {
                Some(db) => db,
                None => return,
            }
        };
        let log = crate::target_dir().join("bench").join("logs").join(format!("{function}-{run}.log"));
        match once(function, binary, invocation, &db.url, &log).await {
            Ok(result) => {
                init.push(result.init);
                first.push(result.first_invocation);
                rss.push(result.peak_rss_kb.map(|kb| kb as f64 / 1024.0));
                if let Some(problem) = invocation_problem(invocation.kind, &result.response)
                    && row.errors.len() < 3
                {
                    row.errors.push(format!("run {run}: {problem} (log: {})", log.display()));
                }
                row.outcome = Some(outcome(invocation.kind, &result.response));
                row.runs += 1;
            }
            Err(e) => {
                row.errors.push(format!("run {run}: {e} (log: {})", log.display()));
                break;
            }
        }
    }
    row.init_ms = median(&init);
    row.first_invocation_ms = median(&first);
    row.peak_rss_mb = median_of(rss);
}

/// The first invocation again, the database reached over TLS with the
/// server's certificate checked (`sslmode=verify-full` against the test CA):
/// what the TLS handshake and building the certificate store add.
async fn measure_tls(
    options: &Options,
    function: &str,
    binary: &Path,
    invocation: &Invocation,
    server: &TlsPostgres,
    row: &mut ColdRow,
) {
    let url = server.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", server.ca_file.display()));
    let mut first = Vec::new();
    for run in 0..options.cold_runs {
        let log = crate::target_dir().join("bench").join("logs").join(format!("{function}-tls-{run}.log"));
        match once(function, binary, invocation, &url, &log).await {
            Ok(result) => {
                if let Some(problem) = invocation_problem(invocation.kind, &result.response) {
                    row.errors.push(format!("TLS run {run}: {problem} (log: {})", log.display()));
                    return;
                }
                first.push(result.first_invocation);
            }
            Err(e) => {
                row.errors.push(format!("TLS run {run}: {e} (log: {})", log.display()));
                return;
            }
        }
    }
    row.first_invocation_tls_ms = median(&first);
}

/// The response of the first invocation, as a short note for the table.
fn outcome(kind: Kind, response: &Value) -> String {
    match kind {
        Kind::Http => format!("HTTP {}", response.get("statusCode").and_then(Value::as_u64).unwrap_or(0)),
        Kind::Sqs => {
            let failures = response.get("batchItemFailures").and_then(Value::as_array).map_or(0, Vec::len);
            format!("{failures} batch item failures")
        }
        Kind::Authorizer => {
            format!("isAuthorized={}", response.get("isAuthorized").and_then(Value::as_bool).unwrap_or(false))
        }
        Kind::Baseline => "baseline".into(),
    }
}

fn invocation_problem(kind: Kind, response: &Value) -> Option<String> {
    let ok = match kind {
        Kind::Http => response.get("statusCode").and_then(Value::as_u64).is_some_and(|s| (200..300).contains(&s)),
        Kind::Sqs => response.get("batchItemFailures").and_then(Value::as_array).is_some_and(Vec::is_empty),
        Kind::Authorizer => response.get("isAuthorized").and_then(Value::as_bool) == Some(true),
        Kind::Baseline => response.get("hello").is_some(),
    };
    (!ok).then(|| format!("unexpected response {}", crate::clip(&response.to_string(), 200)))
}

struct Once {
    init: f64,
    first_invocation: f64,
    peak_rss_kb: Option<u64>,
    response: Value,
}

/// What the Runtime API saw, in order.
#[derive(Debug)]
enum Seen {
    Next { at: Instant },
    Response { at: Instant, body: Bytes },
    Error { body: Bytes },
}

struct Api {
    event: Bytes,
    nexts: AtomicU32,
    seen: mpsc::UnboundedSender<Seen>,
}

async fn serve(api: Arc<Api>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let reply = |status: u16, body: &'static str| {
        Ok(Response::builder().status(status).body(Full::new(Bytes::from_static(body.as_bytes()))).unwrap_or_default())
    };
    if method == Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let number = api.nexts.fetch_add(1, Ordering::SeqCst) + 1;
        let at = Instant::now();
        let _ = api.seen.send(Seen::Next { at });
        if number > 1 {
            // One invocation per run: the function waits here until killed.
            std::future::pending::<()>().await;
        }
        let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
        let response = Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:eu-west-2:000000000000:function:bench")
            .header(
                "lambda-runtime-trace-id",
                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
            )
            .body(Full::new(api.event.clone()))
            .unwrap_or_default();
        return Ok(response);
    }
    if method == Method::POST && path.ends_with("/response") {
        let _ = api.seen.send(Seen::Response { at: Instant::now(), body });
        return reply(202, "{\"status\":\"OK\"}");
    }
    if method == Method::POST && (path.ends_with("/error") || path == "/2018-06-01/runtime/init/error") {
        let _ = api.seen.send(Seen::Error { body });
        return reply(202, "{\"status\":\"OK\"}");
    }
    reply(404, "{\"errorMessage\":\"not found\"}")
}

async fn once(
    function: &str,
    binary: &Path,
    invocation: &Invocation,
    database_url: &str,
    log: &Path,
) -> Result<Once, String> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (tx, mut seen) = mpsc::unbounded_channel();
    let api = Arc::new(Api { event: Bytes::from(invocation.event.to_string()), nexts: AtomicU32::new(0), seen: tx });
    let server = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let api = api.clone();
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |request| serve(api.clone(), request));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let _server = AbortOnDrop(server);

    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let log_file = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let log_err = log_file.try_clone().map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/22/[$LATEST]bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
        .env("AWS_REGION", "eu-west-2")
        .env("AWS_DEFAULT_REGION", "eu-west-2")
        .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
        .env("DATABASE_URL", database_url)
        .envs(invocation.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .kill_on_drop(true);
    delius_testkit::process::end_with_parent(command.as_std_mut());
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("exec {}: {e}", binary.display()))?;
    let pid = child.id().unwrap_or(0);

    let result = async {
        let first_next = match next_seen(&mut seen, &mut child).await? {
            Seen::Next { at, .. } => at,
            other => return Err(format!("expected the first next, got {other:?}")),
        };
        let (responded, body) = match next_seen(&mut seen, &mut child).await? {
            Seen::Response { at, body } => (at, body),
            Seen::Error { body } => return Err(format!("invocation error: {}", String::from_utf8_lossy(&body))),
            other => return Err(format!("expected a response, got {other:?}")),
        };
        // It asks for the next event once done: now it is idle.
        let _ = next_seen(&mut seen, &mut child).await;
        let peak_rss_kb = peak_rss_kb(pid);
        let response: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok(Once { init: ms(first_next - started), first_invocation: ms(responded - first_next), peak_rss_kb, response })
    }
    .await;
    let _ = child.kill().await;
    result
}

async fn next_seen(
    seen: &mut mpsc::UnboundedReceiver<Seen>,
    child: &mut tokio::process::Child,
) -> Result<Seen, String> {
    tokio::select! {
        event = tokio::time::timeout(STAGE_TIMEOUT, seen.recv()) => match event {
            Ok(Some(event)) => Ok(event),
            Ok(None) => Err("runtime API closed".into()),
            Err(_) => Err(format!("nothing from the function within {STAGE_TIMEOUT:?}")),
        },
        status = child.wait() => Err(format!("the function exited: {}", status.map(|s| s.to_string()).unwrap_or_default())),
    }
}

/// `VmHWM` of a live process, in kB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The binary zipped as Lambda's `bootstrap` (deflate), as deployed.
async fn zipped_size(binary: &Path) -> Result<u64, String> {
    let out = crate::target_dir().join("bench").join("zip");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let name = binary.file_name().and_then(|n| n.to_str()).unwrap_or("bootstrap");
    let zip = out.join(format!("{name}.zip"));
    let script = "import sys, zipfile\n\
                  with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z:\n\
                  \x20   z.write(sys.argv[1], 'bootstrap')\n";
    let status = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(binary)
        .arg(&zip)
        .status()
        .await
        .map_err(|e| format!("python3: {e}"))?;
    if !status.success() {
        return Err(format!("python3 zipfile: {status}"));
    }
    std::fs::metadata(&zip).map(|m| m.len()).map_err(|e| e.to_string())
}
