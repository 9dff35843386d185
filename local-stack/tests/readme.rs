//! The README's walkthrough is executable: its shell commands ("Five minutes
//! with it", after `make run`, which this test stands in for by starting the
//! stack itself on a free port) run in order in one bash session, from the
//! repository's top folder, and their outputs are checked against what the
//! README shows. Conventions of the README's `sh` blocks, which this test
//! relies on:
//! - comment lines right after a command are its output: JSON is compared as
//!   JSON, any other line must appear in the output (`psql` rows);
//! - a trailing comment ending in a status code (`# no token: 401`) is the
//!   status line `curl -i` must show;
//! - `127.0.0.1:8080` is the stack's address; `DATABASE_URL=...` and
//!   `export DATABASE_URL=...` lines are replaced by the test database's URL;
//! - a command ending in `&` starts a server in the background: the script
//!   waits for the port the next command names (`--invoke-port N`) before it
//!   goes on.
//!
//! The `cargo lambda` block runs the same way in a test of its own, against a
//! seeded test database, with `--invoke-port 9000` changed to a free port;
//! afterwards no process it started may be left (each is found by the test
//! database's URL in its environment).

use std::process::Command;
use std::time::{Duration, Instant};

use delius_testkit::process::{Output, OwnedChild};
use delius_testkit::repo_root;
use delius_testkit::testing::{Contents, TestDb};
use serde_json::Value;

#[derive(Debug, Default)]
struct Step {
    command: String,
    output: Vec<String>,
    status: Option<u16>,
}

/// The `sh` blocks of the README section that starts with `heading`.
fn sh_blocks(readme: &str, heading: &str) -> Vec<String> {
    let start = readme.find(heading).unwrap_or_else(|| panic!("the README has no section {heading:?}"));
    let section = &readme[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .split("```sh\n")
        .skip(1)
        .map(|block| block[..block.find("```").expect("a closed block")].to_string())
        .collect()
}

/// Splits `line` at a `#` comment outside quotes.
fn split_comment(line: &str) -> (&str, Option<&str>) {
    let (mut single, mut double) = (false, false);
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && (i == 0 || line[..i].ends_with(char::is_whitespace)) => {
                return (&line[..i], Some(line[i + 1..].trim()));
            }
            _ => {}
        }
    }
    (line, None)
}

fn steps(blocks: &[String]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for block in blocks {
        let mut pending = String::new();
        let mut last_was_command = false;
        for line in block.lines() {
            if pending.is_empty() && line.trim_start().starts_with('#') {
                if last_was_command {
                    steps.last_mut().unwrap().output.push(line.trim_start()[1..].trim().to_string());
                }
                continue;
            }
            let (code, comment) =
                if pending.matches('"').count() % 2 == 1 { (line, None) } else { split_comment(line) };
            if !pending.is_empty() {
                pending.push('\n');
            }
            pending.push_str(code.trim_end());
            let open_quote = pending.matches('"').count() % 2 == 1;
            if pending.ends_with('\\') || open_quote {
                continue;
            }
            let status = comment
                .and_then(|c| c.rsplit(|ch: char| !ch.is_ascii_digit()).next())
                .and_then(|digits| (digits.len() == 3).then(|| digits.parse().ok()).flatten());
            steps.push(Step { command: std::mem::take(&mut pending), output: Vec::new(), status });
            last_was_command = true;
        }
    }
    steps
}

fn check(step: &Step, output: &str, status: i32) -> Result<(), String> {
    if status != 0 {
        return Err(format!("exit status {status}"));
    }
    if let Some(code) = step.status {
        let first = output.lines().next().unwrap_or("");
        if !first.contains(&format!(" {code}")) {
            return Err(format!("expected the status {code}, got {first:?}"));
        }
    }
    let expected = step.output.join("\n");
    if let Ok(json) = serde_json::from_str::<Value>(&expected) {
        let actual: Value = serde_json::from_str(output.trim()).map_err(|e| format!("output is not JSON ({e})"))?;
        if actual != json {
            return Err(format!("expected {json}, got {actual}"));
        }
    } else {
        let lines: Vec<&str> = output.lines().map(str::trim).collect();
        for line in &step.output {
            if !lines.contains(&line.trim()) {
                return Err(format!("expected a line {line:?}"));
            }
        }
    }
    Ok(())
}

/// Runs `script` with bash from the repository root; false after `limit`.
fn run_bash(script: &str, env: &[(&str, String)], limit: Duration) -> bool {
    let mut command = Command::new("bash");
    command.arg("-c").arg(script).current_dir(repo_root()).envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let mut child = OwnedChild::spawn(command, Output::Null).expect("bash starts");
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

#[tokio::test]
async fn the_readme_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let (_, blocks) = walkthrough_blocks(&readme);
    let steps = steps(&blocks);
    let commands: Vec<&str> = steps.iter().map(|s| s.command.as_str()).collect();
    assert_eq!(commands.first(), Some(&"make run"), "the walkthrough starts with `make run`");
    assert!(steps.len() > 8, "the walkthrough's commands are found: {commands:#?}");

    let db = TestDb::empty().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let workload_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut stack_command = Command::new(env!("CARGO_BIN_EXE_local-stack"));
    for variable in ["HMPPS_AUTH_JWKS_URL", "HMPPS_AUTH_ISSUER", "HMPPS_AUTH_TOKEN_URL", "LDAP_URL", "DB_SECRET_ARN"] {
        stack_command.env_remove(variable);
    }
    stack_command
        .env("DATABASE_URL", &db.url)
        .env("PORT", port.to_string())
        .env("LOCAL_WORKLOAD_PORT", workload_port.to_string());
    let log = tempfile_path("local-stack.log");
    let _stack = OwnedChild::spawn(stack_command, Output::Log(log.clone())).expect("the local stack starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !http.get(format!("{base}/local/token")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(
            Instant::now() < deadline,
            "the stack did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The samples' detail URLs name the Workload stand-in's default port.
    let workload_origin = format!("127.0.0.1:{workload_port}");
    let out_dir = tempfile_path("readme");
    let sqs = out_dir.join("sqs");
    std::fs::create_dir_all(&sqs).unwrap();
    for entry in std::fs::read_dir(repo_root().join("events/sqs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap().replace("127.0.0.1:8091", &workload_origin);
            std::fs::write(sqs.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    let failures = run_steps(
        &steps[1..],
        &[("127.0.0.1:8080", format!("127.0.0.1:{port}")), ("@events/sqs/", format!("@{}/", sqs.display()))],
        &[("PORT", port.to_string()), ("DATABASE_URL", db.url.clone()), ("MAKEFLAGS", String::new())],
        &out_dir,
        Duration::from_secs(120),
    );
    let _ = std::fs::remove_dir_all(&out_dir);
    let _ = std::fs::remove_file(&log);
    assert!(failures.is_empty(), "README commands that do not do what the README says:\n\n{}", failures.join("\n\n"));
}

#[tokio::test]
async fn the_readme_cargo_lambda_block_runs_as_written() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let (lambda_blocks, _) = walkthrough_blocks(&readme);
    let steps = steps(&lambda_blocks);
    assert!(steps.iter().any(|s| s.command.starts_with("cargo lambda watch")), "the block starts `cargo lambda watch`");
    assert!(
        steps.iter().any(|s| s.command.starts_with("cargo lambda invoke") && !s.output.is_empty()),
        "the block invokes a function and shows its answer"
    );

    let db = TestDb::with(Contents::DevData).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out_dir = tempfile_path("cargo-lambda");
    std::fs::create_dir_all(&out_dir).unwrap();
    // The first invocation builds the function (a debug build sharing the
    // workspace's target folder, which `cargo test` has just filled).
    let failures = run_steps(
        &steps,
        &[("--invoke-port 9000", format!("--invoke-port {port}"))],
        &[("DATABASE_URL", db.url.clone())],
        &out_dir,
        Duration::from_secs(600),
    );
    // `kill %1` must have ended `cargo lambda watch` and the function it ran.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut left = processes_with_env("DATABASE_URL", &db.url);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        left = processes_with_env("DATABASE_URL", &db.url);
    }
    for (pid, _) in &left {
        let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
    }
    let _ = std::fs::remove_dir_all(&out_dir);
    assert!(failures.is_empty(), "README commands that do not do what the README says:\n\n{}", failures.join("\n\n"));
    assert!(left.is_empty(), "processes the block started are still running: {left:?}");
}

/// The `sh` blocks of the walkthrough: the `cargo lambda` one, and the others.
fn walkthrough_blocks(readme: &str) -> (Vec<String>, Vec<String>) {
    let (lambda_blocks, blocks): (Vec<String>, Vec<String>) =
        sh_blocks(readme, "## Five minutes with it").into_iter().partition(|b| b.contains("cargo lambda"));
    assert_eq!(lambda_blocks.len(), 1, "the walkthrough has one `cargo lambda` block");
    (lambda_blocks, blocks)
}

/// Runs `steps` in order in one bash session from the repository root, each
/// command with `replacements` applied, and checks each one's output; the
/// failures, one message each.
fn run_steps(
    steps: &[Step],
    replacements: &[(&str, String)],
    env: &[(&str, String)],
    out_dir: &std::path::Path,
    limit: Duration,
) -> Vec<String> {
    std::fs::create_dir_all(out_dir).unwrap();
    let commands: Vec<String> = steps
        .iter()
        .map(|step| replacements.iter().fold(step.command.clone(), |command, (from, to)| command.replace(from, to)))
        .collect();
    let mut script = String::from("set -u\n");
    for (i, command) in commands.iter().enumerate() {
        let command = if command.starts_with("DATABASE_URL=") || command.starts_with("export DATABASE_URL=") {
            ":"
        } else {
            command
        };
        if let Some(background) = command.strip_suffix('&') {
            // A server: started in the background, with its output kept, and
            // waited for (on the port the next command names) for two minutes.
            // A watchdog stops it if this shell is killed before the block's
            // own `kill` (the shell's parent-death signal does not reach it).
            script.push_str(&format!(
                "{background} >'{dir}/out.{i}' 2>&1 &\necho 0 >'{dir}/rc.{i}'\n\
                 ( server=$!; while kill -0 $$ 2>/dev/null; do sleep 0.5; done; kill $server ) >/dev/null 2>&1 &\n",
                dir = out_dir.display()
            ));
            if let Some(port) = commands.get(i + 1).and_then(|next| invoke_port(next)) {
                script.push_str(&format!(
                    "for _ in $(seq 1200); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.1; done\n"
                ));
            }
            continue;
        }
        script.push_str(&format!(
            "{{ {command}\n}} >'{dir}/out.{i}' 2>&1; echo $? >'{dir}/rc.{i}'\n",
            dir = out_dir.display()
        ));
    }
    if !run_bash(&script, env, limit) {
        let stuck = (0..steps.len()).find(|i| !out_dir.join(format!("rc.{i}")).exists()).unwrap_or(0);
        let output = std::fs::read_to_string(out_dir.join(format!("out.{stuck}"))).unwrap_or_default();
        return vec![format!(
            "`{}` did not finish within {limit:?}; its output so far:\n{output}",
            steps[stuck].command
        )];
    }
    let mut failures = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let output = std::fs::read_to_string(out_dir.join(format!("out.{i}"))).unwrap_or_default();
        let status: i32 = std::fs::read_to_string(out_dir.join(format!("rc.{i}")))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(-1);
        if let Err(problem) = check(step, &output, status) {
            failures.push(format!("`{}`: {problem}\n--- output:\n{output}", step.command));
        }
    }
    failures
}

/// The port after `--invoke-port` in `command`.
fn invoke_port(command: &str) -> Option<u16> {
    let words: Vec<&str> = command.split_whitespace().collect();
    words.windows(2).find(|w| w[0] == "--invoke-port").and_then(|w| w[1].parse().ok())
}

/// The processes (pid, command line) whose environment holds `name=value`.
fn processes_with_env(name: &str, value: &str) -> Vec<(u32, String)> {
    let wanted = format!("{name}={value}");
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()))
        })
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            (pid, String::from_utf8_lossy(&cmdline).replace('\0', " "))
        })
        .collect()
}

fn tempfile_path(what: &str) -> std::path::PathBuf {
    delius_testkit::process::scratch_path(&format!("readme-{what}"))
}
