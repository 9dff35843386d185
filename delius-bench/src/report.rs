//! The results: one table for people, the same as JSON, the targets checked
//! against them, and the round-trip budgets (over budget is an error: the
//! run fails).

use serde::Serialize;

use crate::Options;
use crate::alloc::AllocRow;
use crate::auth::{AuthCost, WINDOW_TARGET_S};
use crate::cold::ColdRow;
use crate::load::LoadResult;
use crate::warm::WarmRow;

pub const INIT_TARGET_MS: f64 = 20.0;
pub const RSS_TARGET_MB: f64 = 30.0;
pub const ZIP_TARGET_MB: f64 = 6.0;
pub const WARM_RATIO_TARGET: f64 = 1.3;
pub const ALLOC_RATIO_TARGET: f64 = 2.0;
/// Latency targets with 1 ms added to every round trip (a network between a
/// Lambda function and RDS): p50 per GET, per write, per allocation message
/// at concurrency 1.
pub const TARGET_ADDED_MS: f64 = 1.0;
pub const GET_P50_TARGET_MS: f64 = 1.5;
pub const WRITE_P50_TARGET_MS: f64 = 4.0;
pub const ALLOCATION_TARGET_MS: f64 = 4.0;
/// Round trips a request may wait for: every round trip is about a
/// millisecond in production. A change that adds one fails the benchmark
/// (and the smoke run in `make test`). Checked on the request with the
/// fewest: the proxy counts a flight the client split by thread scheduling
/// (a pipelined statement written just after the answer to the one before
/// came back) as a round trip of its own, which a loaded machine does often
/// enough; a round trip added by the code shows in every request.
pub const GET_ROUND_TRIPS: f64 = 1.0;
/// A write: `BEGIN` (with its `SET LOCAL` bounds) with the person's lock and
/// every lookup, then the contact with its alert, the success audit row and
/// `COMMIT` in one flight.
pub const WRITE_ROUND_TRIPS: f64 = 2.0;
/// Per allocation message, as for the writes: `BEGIN` with the parent's lock
/// and every lookup, then the writes, the success audit row and `COMMIT`.
pub const ALLOCATION_ROUND_TRIPS: f64 = 2.0;

/// An allocation batch's round trips per message, split flights (see above)
/// spread over its ten messages rounded away: a round trip the code adds
/// adds a whole one per message.
fn whole_round_trips_per_message(per_message: f64) -> f64 {
    per_message.floor()
}

/// The round-trip budget of a route, by its method.
pub fn route_round_trip_budget(route_key: &str) -> f64 {
    if route_key.starts_with("GET ") { GET_ROUND_TRIPS } else { WRITE_ROUND_TRIPS }
}

/// The p50 target with [`TARGET_ADDED_MS`] added, by method.
fn route_delayed_target(route_key: &str) -> f64 {
    if route_key.starts_with("GET ") { GET_P50_TARGET_MS } else { WRITE_P50_TARGET_MS }
}

/// The p50 at `added` ms of a row's delayed runs.
fn at_delay(rows: &[crate::warm::Delayed], added: f64) -> Option<f64> {
    rows.iter().find(|d| d.added_ms == added).and_then(|d| d.p50_ms)
}

fn delays(rows: &[crate::warm::Delayed]) -> String {
    crate::warm::ADDED_DELAYS_MS.iter().map(|a| num(at_delay(rows, *a), 2)).collect::<Vec<_>>().join(" / ")
}

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub smoke: bool,
    pub bins: String,
    pub cold_runs: usize,
    pub warm_requests: usize,
    pub warm_runs: usize,
    pub warmup: usize,
    pub alloc_batches: usize,
    pub load_seconds: f64,
    pub load_clients: usize,
    pub load_runs: usize,
    /// `--prepared`: the warm handlers prepared their statements.
    pub prepared_statements: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Targets {
    pub init_ms: f64,
    pub peak_rss_mb: f64,
    pub zip_mb: f64,
    pub warm_ratio: f64,
    pub allocation_ratio: f64,
    pub added_ms: f64,
    pub get_p50_ms: f64,
    pub write_p50_ms: f64,
    pub allocation_ms: f64,
    pub get_round_trips: f64,
    pub write_round_trips: f64,
    pub allocation_round_trips: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub generated_at: String,
    pub machine: String,
    pub settings: Settings,
    pub targets: Targets,
    pub cold: Vec<ColdRow>,
    /// The init target of this run: 2 × the hello-world baseline's init + 2 ms.
    pub init_limit_ms: Option<f64>,
    pub authorizer: Option<AuthCost>,
    pub warm: Vec<WarmRow>,
    pub allocations: Vec<AllocRow>,
    pub load: Option<LoadResult>,
    pub burst: Vec<crate::burst::BurstRow>,
    /// A bare round trip through the wire proxy at each added delay: the
    /// proxy's own share of the delayed latencies.
    pub proxy_round_trip: Vec<crate::warm::Delayed>,
    /// Why the bare round trip could not be measured.
    pub proxy_error: Option<String>,
    /// Targets missed, by name.
    pub missed: Vec<String>,
}

impl Results {
    pub fn new(options: &Options) -> Results {
        Results {
            generated_at: chrono::Utc::now().to_rfc3339(),
            machine: machine(),
            settings: Settings {
                smoke: options.smoke,
                bins: options.bins.clone(),
                cold_runs: options.cold_runs,
                warm_requests: options.warm_requests,
                warm_runs: options.warm_runs,
                warmup: options.warmup,
                prepared_statements: options.prepared_statements,
                alloc_batches: options.alloc_batches,
                load_seconds: options.load_seconds,
                load_clients: options.load_clients,
                load_runs: options.load_runs,
            },
            targets: Targets {
                init_ms: INIT_TARGET_MS,
                peak_rss_mb: RSS_TARGET_MB,
                zip_mb: ZIP_TARGET_MB,
                warm_ratio: WARM_RATIO_TARGET,
                allocation_ratio: ALLOC_RATIO_TARGET,
                added_ms: TARGET_ADDED_MS,
                get_p50_ms: GET_P50_TARGET_MS,
                write_p50_ms: WRITE_P50_TARGET_MS,
                allocation_ms: ALLOCATION_TARGET_MS,
                get_round_trips: GET_ROUND_TRIPS,
                write_round_trips: WRITE_ROUND_TRIPS,
                allocation_round_trips: ALLOCATION_ROUND_TRIPS,
            },
            cold: Vec::new(),
            init_limit_ms: None,
            authorizer: None,
            warm: Vec::new(),
            allocations: Vec::new(),
            load: None,
            burst: Vec::new(),
            proxy_round_trip: Vec::new(),
            proxy_error: None,
            missed: Vec::new(),
        }
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
        })
        .unwrap_or_default();
    format!("{cpus} CPUs, {model}")
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.decimals$}"))
}

/// `ok`, `MISS` or `-` for a value against an upper bound.
fn verdict(v: Option<f64>, limit: f64) -> &'static str {
    match v {
        Some(v) if v <= limit => "ok",
        Some(_) => "MISS",
        None => "-",
    }
}

fn render(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let width = widths.get(i).copied().unwrap_or(0);
                if i == 0 { format!("{c:<width$}") } else { format!("{c:>width$}") }
            })
            .collect();
        format!("  {}\n", parts.join("  ").trim_end())
    };
    out.push_str(&line(header.iter().map(|h| h.to_string()).collect()));
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        out.push_str(&line(row.clone()));
    }
}

/// The Cargo profile `sam build` deploys the functions with (`cargo lambda
/// build --release`).
pub const DEPLOYED_PROFILE: &str = "release";

/// Binaries of another profile than the deployed one are said to be so, with
/// what differs.
pub fn profile_note(bins: &str) -> Option<String> {
    (bins != DEPLOYED_PROFILE).then(|| {
        format!(
            "NOTE: binaries of the `{bins}` profile, not the deployed `{DEPLOYED_PROFILE}` one: cold start, binary and \
             zip sizes differ from the deployed functions' (docs/performance.md has both; \
             `make bench BENCH_PROFILE={DEPLOYED_PROFILE}` measures the deployed build)\n"
        )
    })
}

/// The zip target is the deployed build's: other profiles keep symbols or
/// skip LTO, so their sizes say nothing about it.
fn zip_verdict(bins: &str, zip_mb: Option<f64>) -> &'static str {
    if bins == DEPLOYED_PROFILE { verdict(zip_mb, ZIP_TARGET_MB) } else { "n/a" }
}

/// The table.
pub fn table(results: &Results) -> String {
    let s = &results.settings;
    let mut out = String::new();
    out.push_str(&format!(
        "\nDelius integrations benchmark ({}; {}{})\n",
        results.machine,
        results.generated_at,
        if s.smoke { "; SMOKE RUN, tiny counts: figures mean nothing" } else { "" }
    ));
    if let Some(note) = profile_note(&s.bins) {
        out.push_str(&note);
    }

    if !results.cold.is_empty() {
        out.push_str(&format!(
            "\n1. Cold start: target/{}/<function> against a loopback Runtime API, median of {} runs, beside a \
             hello-world lambda_runtime binary; 1st invoke = the event handed over to its answer, the first database \
             connection included, plain TCP; over TLS = the same with TLS to PostgreSQL (verify-full), GET routes \
             (targets: init <= {INIT_TARGET_MS} ms and <= 2 x hello-world + 2 ms \
             = {} ms, peak RSS <= {RSS_TARGET_MB} MB, zip <= {ZIP_TARGET_MB} MB)\n",
            s.bins,
            s.cold_runs,
            num(results.init_limit_ms, 1)
        ));
        let rows: Vec<Vec<String>> = results
            .cold
            .iter()
            .map(|r| match &r.skipped {
                Some(why) => vec![r.function.clone(), why.clone()],
                None => vec![
                    r.function.clone(),
                    num(r.init_ms, 1),
                    num(r.first_invocation_ms, 1),
                    num(r.first_invocation_tls_ms, 1),
                    num(r.peak_rss_mb, 1),
                    num(r.binary_mb, 2),
                    num(r.zip_mb, 2),
                    r.outcome.clone().unwrap_or_else(|| "-".into()),
                    format!(
                        "{}/{}/{}",
                        verdict(r.init_ms, results.init_limit_ms.map_or(INIT_TARGET_MS, |l| l.min(INIT_TARGET_MS))),
                        verdict(r.peak_rss_mb, RSS_TARGET_MB),
                        zip_verdict(&s.bins, r.zip_mb)
                    ),
                ],
            })
            .collect();
        render(
            &mut out,
            &[
                "function",
                "init ms",
                "1st invoke ms",
                "over TLS",
                "peak RSS MB",
                "binary MB",
                "zip MB",
                "1st answer",
                "init/RSS/zip",
            ],
            &rows,
        );
    }

    if let Some(a) = &results.authorizer {
        out.push_str(&format!(
            "\nAuthorizer per request, in process, {} requests with the keys cached; the window a token works after \
             it expires = API Gateway's cache TTL (ReauthorizeEvery) + the exp leeway (target <= {WINDOW_TARGET_S} s)\n",
            a.requests
        ));
        let window = a.window_s.map(|w| w as f64);
        render(
            &mut out,
            &["1st request ms", "p50 us", "p99 us", "cache TTL s", "leeway s", "window s", "window"],
            &[vec![
                num(a.first_request_ms, 2),
                num(a.p50_us, 0),
                num(a.p99_us, 0),
                a.cache_ttl_s.map_or("-".into(), |t| t.to_string()),
                a.leeway_s.to_string(),
                a.window_s.map_or("-".into(), |w| w.to_string()),
                verdict(window, WINDOW_TARGET_S as f64).to_string(),
            ]],
        );
    }

    if !results.warm.is_empty() {
        out.push_str(&format!(
            "\n2. Warm latency per route: {} requests after {} warm-up, median of {} runs; mode = how the handler sent \
             its statements (unnamed, or prepared once per connection: --prepared); floor = the handler's own \
             statements (recorded on the wire) replayed directly with tokio-postgres, prepared, same parameters, \
             same connection, in the handler's own round trips; 1-flight floor = all of them sent at once; \
             RT/parsed/stmts = per request, round trips waited for, statements parsed, statements executed \
             (budget: GET {GET_ROUND_TRIPS}, write {WRITE_ROUND_TRIPS}); p50 +0/+0.5/+1 ms = handler p50 through the \
             wire proxy with that delay added to every round trip \
             (targets: handler p50 <= {WARM_RATIO_TARGET} x floor p50; at +{TARGET_ADDED_MS} ms GET p50 <= \
             {GET_P50_TARGET_MS} ms, write p50 <= {WRITE_P50_TARGET_MS} ms)\n",
            s.warm_requests, s.warmup, s.warm_runs
        ));
        let rows: Vec<Vec<String>> = results
            .warm
            .iter()
            .map(|r| match &r.skipped {
                Some(why) => vec![r.route.clone(), format!("skipped: {why}")],
                None => vec![
                    r.route.clone(),
                    r.statement_mode.clone(),
                    num(r.handler_p50_ms, 3),
                    num(r.handler_p99_ms, 3),
                    num(r.floor_p50_ms, 3),
                    num(r.floor_p99_ms, 3),
                    num(r.ratio, 2),
                    num(r.one_flight_floor_p50_ms, 3),
                    format!("{}/{}/{}", num(r.round_trips, 0), num(r.prepares, 0), num(r.statements, 0)),
                    delays(&r.with_delay),
                    format!(
                        "{}/{}/{}",
                        verdict(r.ratio, WARM_RATIO_TARGET),
                        verdict(at_delay(&r.with_delay, TARGET_ADDED_MS), route_delayed_target(&r.route)),
                        verdict(r.min_round_trips, route_round_trip_budget(&r.route))
                    ),
                ],
            })
            .collect();
        render(
            &mut out,
            &[
                "route",
                "mode",
                "handler p50 ms",
                "p99 ms",
                "floor p50 ms",
                "p99 ms",
                "ratio",
                "1-flight floor p50",
                "RT/parsed/stmts",
                "p50 +0/+0.5/+1 ms",
                "ratio/+1ms/RT",
            ],
            &rows,
        );
    }
    if !results.proxy_round_trip.is_empty() {
        out.push_str(&format!(
            "\nA bare round trip through the wire proxy (`SELECT 1`, prepared), p50 +0/+0.5/+1 ms: {} ms; \
             the proxy's own share of every round trip above.\n",
            delays(&results.proxy_round_trip)
        ));
    }

    if !results.allocations.is_empty() {
        out.push_str(&format!(
            "\n3. Allocations: batches of 10 messages of one kind, median of {} batches, statements {}; handler with \
             the production pool and concurrency, the Workload detail fetched from a loopback stand-in; floor = its statements \
             replayed on one connection, one message at a time (the handler runs `concurrency` at once) \
             (target: <= {ALLOC_RATIO_TARGET} x floor); RT budget {ALLOCATION_ROUND_TRIPS} per message; c=1 +0/+0.5/+1 ms \
             = ms per message, one at a time, through the wire proxy with that delay added to every round trip \
             (target at +{TARGET_ADDED_MS} ms: <= {ALLOCATION_TARGET_MS} ms)\n",
            s.alloc_batches,
            if s.prepared_statements { "prepared once per connection (--prepared)" } else { "unnamed" }
        ));
        let rows: Vec<Vec<String>> = results
            .allocations
            .iter()
            .map(|r| {
                vec![
                    r.kind.clone(),
                    num(r.handler_ms_per_message, 3),
                    num(r.floor_ms_per_message, 3),
                    num(r.ratio, 2),
                    num(r.one_flight_floor_ms_per_message, 3),
                    format!("{}/{}", num(r.round_trips, 1), num(r.statements, 1)),
                    num(r.messages_per_second, 0),
                    r.concurrency.to_string(),
                    delays(&r.with_delay),
                    format!(
                        "{}/{}/{}",
                        verdict(r.ratio, ALLOC_RATIO_TARGET),
                        verdict(at_delay(&r.with_delay, TARGET_ADDED_MS), ALLOCATION_TARGET_MS),
                        verdict(r.min_round_trips.map(whole_round_trips_per_message), ALLOCATION_ROUND_TRIPS)
                    ),
                ]
            })
            .collect();
        render(
            &mut out,
            &[
                "kind",
                "handler ms/msg",
                "floor ms/msg",
                "ratio",
                "1-flight floor",
                "RT/stmts per msg",
                "msgs/s/container",
                "concurrency",
                "c=1 +0/+0.5/+1 ms",
                "ratio/+1ms/RT",
            ],
            &rows,
        );
    }

    if let Some(load) = &results.load {
        out.push_str(&format!(
            "\n4. Load: local stack, {} keep-alive clients for {} s, median of {} runs, GET mix of {} sample requests\n",
            load.clients,
            load.seconds,
            s.load_runs,
            load.paths.len()
        ));
        match &load.skipped {
            Some(why) => out.push_str(&format!("  {why}\n")),
            None => {
                let statuses: Vec<String> = load.statuses.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                render(
                    &mut out,
                    &["requests", "req/s", "p50 ms", "p99 ms", "errors", "statuses"],
                    &[vec![
                        load.requests.to_string(),
                        num(load.requests_per_second, 0),
                        num(load.p50_ms, 2),
                        num(load.p99_ms, 2),
                        load.errors.to_string(),
                        statuses.join(", "),
                    ]],
                );
            }
        }
    }

    if !results.burst.is_empty() {
        out.push_str(
            "\nBurst: 200 containers (pools of one connection) x rounds of simultaneous GETs (CRN, community \
             manager, person), database limited to 40 connections (role CONNECTION LIMIT 40); PgBouncer with \
             20 server connections\n",
        );
        let rows: Vec<Vec<String>> = results
            .burst
            .iter()
            .map(|r| {
                vec![
                    r.path.clone(),
                    r.requests.to_string(),
                    r.ok.to_string(),
                    r.unavailable.to_string(),
                    r.other.to_string(),
                    num(r.requests_per_second, 0),
                    num(r.p50_ms, 2),
                    num(r.p99_ms, 2),
                    num(r.max_ms, 2),
                ]
            })
            .collect();
        render(&mut out, &["path", "requests", "200", "503", "other", "req/s", "p50 ms", "p99 ms", "max ms"], &rows);
    }

    let errors = errors(results);
    let missed = missed(results);
    if !missed.is_empty() {
        out.push_str("\nTargets missed:\n");
        for m in &missed {
            out.push_str(&format!("  - {m}\n"));
        }
    }
    if !errors.is_empty() {
        out.push_str("\nErrors:\n");
        for e in &errors {
            out.push_str(&format!("  - {e}\n"));
        }
    }
    out.push('\n');
    out
}

/// The targets missed, by name.
pub fn missed(results: &Results) -> Vec<String> {
    let mut missed = Vec::new();
    for r in &results.cold {
        if verdict(r.init_ms, INIT_TARGET_MS) == "MISS" {
            missed.push(format!("{}: init {} ms > {INIT_TARGET_MS} ms", r.function, num(r.init_ms, 1)));
        }
        if let Some(limit) = results.init_limit_ms
            && verdict(r.init_ms, limit) == "MISS"
        {
            missed.push(format!(
                "{}: init {} ms > 2 x hello-world + 2 ms = {limit:.1} ms",
                r.function,
                num(r.init_ms, 1)
            ));
        }
        if verdict(r.peak_rss_mb, RSS_TARGET_MB) == "MISS" {
            missed.push(format!("{}: peak RSS {} MB > {RSS_TARGET_MB} MB", r.function, num(r.peak_rss_mb, 1)));
        }
        if zip_verdict(&results.settings.bins, r.zip_mb) == "MISS" {
            missed.push(format!("{}: zip {} MB > {ZIP_TARGET_MB} MB", r.function, num(r.zip_mb, 2)));
        }
    }
    if let Some(a) = &results.authorizer
        && verdict(a.window_s.map(|w| w as f64), WINDOW_TARGET_S as f64) == "MISS"
    {
        missed
            .push(format!("authorizer: token window {} s > {WINDOW_TARGET_S} s", num(a.window_s.map(|w| w as f64), 0)));
    }
    for r in &results.warm {
        if verdict(r.ratio, WARM_RATIO_TARGET) == "MISS" {
            missed.push(format!("{}: handler p50 {} x floor > {WARM_RATIO_TARGET}", r.route, num(r.ratio, 2)));
        }
        let delayed = at_delay(&r.with_delay, TARGET_ADDED_MS);
        let target = route_delayed_target(&r.route);
        if verdict(delayed, target) == "MISS" {
            missed.push(format!(
                "{}: p50 {} ms > {target} ms with {TARGET_ADDED_MS} ms per round trip",
                r.route,
                num(delayed, 2)
            ));
        }
    }
    for r in &results.allocations {
        if verdict(r.ratio, ALLOC_RATIO_TARGET) == "MISS" {
            missed.push(format!("{} allocation: {} x floor > {ALLOC_RATIO_TARGET}", r.kind, num(r.ratio, 2)));
        }
        let delayed = at_delay(&r.with_delay, TARGET_ADDED_MS);
        if verdict(delayed, ALLOCATION_TARGET_MS) == "MISS" {
            missed.push(format!(
                "{} allocation: {} ms per message > {ALLOCATION_TARGET_MS} ms with {TARGET_ADDED_MS} ms per round trip",
                r.kind,
                num(delayed, 2)
            ));
        }
    }
    missed
}

/// Everything that went wrong (not targets missed, not sections skipped).
pub fn errors(results: &Results) -> Vec<String> {
    let mut errors = Vec::new();
    for r in &results.cold {
        errors.extend(r.errors.iter().map(|e| format!("cold {}: {e}", r.function)));
    }
    if let Some(a) = &results.authorizer {
        errors.extend(a.errors.iter().map(|e| format!("authorizer: {e}")));
    }
    for r in &results.warm {
        errors.extend(r.errors.iter().map(|e| format!("warm {}: {e}", r.route)));
        let budget = route_round_trip_budget(&r.route);
        if let Some(trips) = r.min_round_trips.filter(|t| *t > budget) {
            errors.push(format!("warm {}: waits for {trips} round trips, over its budget of {budget}", r.route));
        }
    }
    errors.extend(results.proxy_error.iter().map(|e| format!("bare round trip through the proxy: {e}")));
    for r in &results.allocations {
        errors.extend(r.errors.iter().map(|e| format!("allocations {}: {e}", r.kind)));
        if let Some(trips) = r.min_round_trips.filter(|t| whole_round_trips_per_message(*t) > ALLOCATION_ROUND_TRIPS) {
            errors.push(format!(
                "allocations {}: waits for {trips} round trips per message, over its budget of {ALLOCATION_ROUND_TRIPS}",
                r.kind
            ));
        }
    }
    if let Some(load) = &results.load {
        if load.errors > 0 {
            errors.push(format!("load: {} errors of {} requests", load.errors, load.requests));
        }
        errors.extend(load.problems.iter().map(|p| format!("load: {p}")));
    }
    for r in &results.burst {
        errors.extend(r.errors.iter().map(|e| format!("burst {}: {e}", r.path)));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warm::WarmRow;

    fn warm(route: &str, max_round_trips: f64) -> WarmRow {
        WarmRow {
            route: route.into(),
            function: "f".into(),
            requests: 1,
            runs: 1,
            round_trips: Some(max_round_trips),
            max_round_trips: Some(max_round_trips),
            min_round_trips: Some(max_round_trips),
            ..WarmRow::default()
        }
    }

    #[test]
    fn a_run_of_another_profile_than_the_deployed_one_says_so() {
        assert_eq!(profile_note("release"), None);
        let mut options = crate::Options::full();
        options.bins = "release-fast".into();
        let table = table(&Results::new(&options));
        assert!(table.contains("binaries of the `release-fast` profile, not the deployed `release` one"), "{table}");
        assert_eq!(zip_verdict("release-fast", Some(7.0)), "n/a");
        assert_eq!(zip_verdict("release", Some(7.0)), "MISS");
        assert_eq!(zip_verdict("release", Some(5.0)), "ok");
    }

    #[test]
    fn a_route_over_its_round_trip_budget_is_an_error() {
        let mut results = Results::new(&crate::Options::full());
        results.warm = vec![
            warm("GET /a/{crn}", 1.0),
            warm("POST /b/{crn}", 2.0),
            warm("GET /c/{crn}", 2.0),
            warm("POST /d/{crn}", 3.0),
        ];
        assert_eq!(
            errors(&results),
            vec![
                "warm GET /c/{crn}: waits for 2 round trips, over its budget of 1",
                "warm POST /d/{crn}: waits for 3 round trips, over its budget of 2",
            ]
        );
    }
}
