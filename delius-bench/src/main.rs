//! `make bench`: cold starts, warm latency against the SQL floor, allocations
//! and load, on this machine, as one table (stdout) and one JSON file
//! (`target/bench/results.json`). Every figure is a median over repeated runs.
//!
//! Needs `DATABASE_URL` (`scripts/with-postgres.sh` provides one), the
//! function binaries in `target/<bins>/` for the cold starts and
//! `target/<bins>/local-stack` for the load. `--smoke` runs everything with
//! tiny counts and fails on any error, so the benchmark cannot rot.

mod alloc;
mod auth;
mod burst;
mod cold;
mod load;
mod pgwire;
mod report;
mod stats;
mod warm;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "delius-bench [--smoke] [--bins release|release-fast|debug] [--only cold,auth,warm,alloc,load,burst]
  [--cold-runs N] [--warm-requests N] [--warm-runs N] [--warmup N] [--alloc-batches N]
  [--load-seconds S] [--load-clients N] [--load-runs N] [--burst-rounds N] [--route TEXT] [--out FILE]
  [--prepared]
  (--prepared: the warm and allocation handlers prepare their statements, as DB_PREPARED_STATEMENTS=true; sections: cold, auth, warm, alloc, load, burst; the smoke run leaves out burst)";

#[derive(Debug, Clone)]
pub struct Options {
    pub smoke: bool,
    /// The profile directory under `target/` of the binaries started.
    pub bins: String,
    pub sections: Vec<String>,
    pub cold_runs: usize,
    pub warm_requests: usize,
    pub warm_runs: usize,
    pub warmup: usize,
    pub alloc_batches: usize,
    pub load_seconds: f64,
    pub load_clients: usize,
    pub load_runs: usize,
    /// Rounds of the burst scale model (200 simultaneous GETs each).
    pub burst_rounds: usize,
    /// Only the warm routes whose key contains this (for profiling one).
    pub route: Option<String>,
    /// The warm section's handlers prepare their statements once per
    /// connection (`DB_PREPARED_STATEMENTS=true`) instead of sending them unnamed.
    pub prepared_statements: bool,
    pub out: PathBuf,
}

impl Options {
    fn full() -> Options {
        Options {
            smoke: false,
            bins: "release".into(),
            sections: vec!["cold".into(), "auth".into(), "warm".into(), "alloc".into(), "load".into(), "burst".into()],
            cold_runs: 10,
            warm_requests: 1000,
            warm_runs: 3,
            warmup: 50,
            alloc_batches: 10,
            load_seconds: 30.0,
            load_clients: 64,
            load_runs: 3,
            burst_rounds: 10,
            route: None,
            prepared_statements: false,
            out: target_dir().join("bench").join("results.json"),
        }
    }

    fn smoke(mut self) -> Options {
        self.smoke = true;
        self.bins = "debug".into();
        self.cold_runs = 1;
        self.warm_requests = 6;
        self.warm_runs = 1;
        self.warmup = 2;
        self.alloc_batches = 2;
        self.load_seconds = 2.0;
        self.load_clients = 8;
        self.load_runs = 1;
        // The burst needs PgBouncer and 400 connections' worth of time: `make bench` only.
        self.sections.retain(|s| s != "burst");
        self.burst_rounds = 1;
        self.out = target_dir().join("bench").join("smoke.json");
        self
    }

    fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
        let args: Vec<String> = args.collect();
        let mut options = Options::full();
        if args.iter().any(|a| a == "--smoke") {
            options = options.smoke();
        }
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || it.next().cloned().ok_or_else(|| format!("{arg} needs a value"));
            let number = |v: String| v.parse::<usize>().map_err(|_| format!("{arg}: not a number: {v}"));
            match arg.as_str() {
                "--smoke" => {}
                "--bins" => options.bins = value()?,
                "--only" => options.sections = value()?.split(',').map(str::to_string).collect(),
                "--cold-runs" => options.cold_runs = number(value()?)?,
                "--warm-requests" => options.warm_requests = number(value()?)?,
                "--warm-runs" => options.warm_runs = number(value()?)?,
                "--warmup" => options.warmup = number(value()?)?,
                "--alloc-batches" => options.alloc_batches = number(value()?)?,
                "--load-seconds" => {
                    let v = value()?;
                    options.load_seconds = v.parse().map_err(|_| format!("--load-seconds: not a number: {v}"))?;
                }
                "--load-clients" => options.load_clients = number(value()?)?,
                "--load-runs" => options.load_runs = number(value()?)?,
                "--burst-rounds" => options.burst_rounds = number(value()?)?,
                "--route" => options.route = Some(value()?),
                "--prepared" => options.prepared_statements = true,
                "--out" => options.out = PathBuf::from(value()?),
                "-h" | "--help" => return Err(USAGE.into()),
                other => return Err(format!("unknown argument {other}\n{USAGE}")),
            }
        }
        if options.warm_runs == 0 || options.cold_runs == 0 || options.alloc_batches == 0 || options.load_runs == 0 {
            return Err("counts must be at least 1".into());
        }
        Ok(options)
    }

    fn wants(&self, section: &str) -> bool {
        self.sections.iter().any(|s| s == section)
    }
}

/// The workspace root.
pub fn workspace_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_dir().join("target"))
}

pub fn events_dir() -> PathBuf {
    workspace_dir().join("events")
}

/// Progress goes to stderr; the table to stdout.
pub fn progress(what: &str) {
    eprintln!("bench: {what}");
}

pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max).collect::<String>())
    } else {
        text.to_string()
    }
}

/// The handlers write their metric lines (EMF) to stdout, as on Lambda. The
/// table must not drown in them: stdout goes to a log file while the bench
/// runs, and the table to the original stdout.
struct Stdout {
    table: std::fs::File,
}

impl Stdout {
    fn divert(log: &std::path::Path) -> Result<Stdout, String> {
        use std::os::fd::{AsRawFd, FromRawFd};
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        // SAFETY: plain descriptor calls on descriptors this process owns; the
        // duplicate of stdout is owned by the returned File alone.
        unsafe {
            let original = libc::dup(1);
            if original < 0 || libc::dup2(file.as_raw_fd(), 1) < 0 {
                return Err("cannot redirect stdout".into());
            }
            Ok(Stdout { table: std::fs::File::from_raw_fd(original) })
        }
    }
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if std::env::var("DATABASE_URL").is_err() {
        eprintln!("bench: DATABASE_URL is not set: run it under scripts/with-postgres.sh (make bench does)");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bench: tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let metrics_log = target_dir().join("bench").join("logs").join("handler-stdout.log");
    let mut stdout = match Stdout::divert(&metrics_log) {
        Ok(stdout) => stdout,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut results = runtime.block_on(run(&options));
    results.missed = report::missed(&results);
    let table = report::table(&results);
    let _ = stdout.table.write_all(table.as_bytes());
    let _ = stdout.table.flush();
    let json = serde_json::to_string_pretty(&results).unwrap_or_default();
    if let Some(dir) = options.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(&options.out, json) {
        eprintln!("bench: {}: {e}", options.out.display());
        return ExitCode::FAILURE;
    }
    eprintln!("bench: results in {}", options.out.display());
    let errors = report::errors(&results);
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        for e in &errors {
            eprintln!("bench: error: {e}");
        }
        ExitCode::FAILURE
    }
}

async fn run(options: &Options) -> report::Results {
    let mut results = report::Results::new(options);
    if options.wants("cold") {
        results.cold = cold::run(options).await;
        results.init_limit_ms = cold::init_limit(&results.cold);
    }
    if options.wants("auth") {
        results.authorizer = Some(auth::cost(options).await);
    }
    if options.wants("warm") || options.wants("alloc") {
        let database_url = std::env::var("DATABASE_URL").unwrap_or_default();
        let requests = if options.smoke { 20 } else { 500 };
        match pgwire::bare_round_trips(&database_url, &warm::ADDED_DELAYS_MS, requests).await {
            Ok(round_trips) => results.proxy_round_trip = round_trips,
            Err(e) => results.proxy_error = Some(e),
        }
    }
    if options.wants("warm") {
        results.warm = warm::run(options).await;
    }
    if options.wants("alloc") {
        results.allocations = alloc::run(options).await;
    }
    if options.wants("load") {
        results.load = Some(load::run(options).await);
    }
    if options.wants("burst") {
        results.burst = burst::run(options).await;
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn smoke_counts_are_tiny_and_flags_override_them() {
        let full = parse(&[]).unwrap();
        assert_eq!((full.bins.as_str(), full.warm_requests, full.load_clients), ("release", 1000, 64));
        assert_eq!(full.load_seconds, 30.0);
        let smoke = parse(&["--smoke", "--warm-requests", "9"]).unwrap();
        assert_eq!((smoke.bins.as_str(), smoke.warm_requests, smoke.cold_runs), ("debug", 9, 1));
        assert!(smoke.smoke);
        let only = parse(&["--only", "warm,alloc"]).unwrap();
        assert!(only.wants("warm") && only.wants("alloc") && !only.wants("cold"));
        assert!(parse(&["--cold-runs", "x"]).unwrap_err().contains("not a number"));
        assert!(parse(&["--warm-runs", "0"]).is_err());
        assert!(parse(&["--what"]).unwrap_err().contains("unknown argument"));
        assert!(!full.prepared_statements);
        assert!(parse(&["--only", "warm", "--prepared"]).unwrap().prepared_statements);
    }
}
