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
//! - `127.0.0.1:8080` is the stack's address and `DATABASE_URL=...` lines are
//!   replaced by the test database's URL.
//!
//! The `cargo lambda` block is not run here (`cargo lambda watch` would build
//! every function again inside the test, and serves on a fixed port); its
//! `invoke` commands are checked to name a function crate and an event file
//! that exist.

use std::process::Command;
use std::time::{Duration, Instant};

use delius_testkit::process::{Output, OwnedChild};
use delius_testkit::repo_root;
use delius_testkit::testing::TestDb;
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
    let (lambda_blocks, blocks): (Vec<String>, Vec<String>) =
        sh_blocks(&readme, "## Five minutes with it").into_iter().partition(|b| b.contains("cargo lambda"));
    assert_eq!(lambda_blocks.len(), 1, "the walkthrough has one `cargo lambda` block");
    for step in steps(&lambda_blocks) {
        let words: Vec<&str> = step.command.split_whitespace().collect();
        if let ["cargo", "lambda", "invoke", function, "--data-file", file, ..] = words.as_slice() {
            assert!(repo_root().join("functions").join(function).join("Cargo.toml").exists(), "no function {function}");
            assert!(repo_root().join(file).exists(), "no event file {file}");
        }
    }
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
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut script = String::from("set -u\n");
    for (i, step) in steps.iter().enumerate().skip(1) {
        let command = step.command.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
        let command = if command.starts_with("DATABASE_URL=") { ":".to_string() } else { command };
        // `--data @events/sqs/…`: the same file with the stand-in's port.
        let command = command.replace("@events/sqs/", &format!("@{}/", out_dir.join("sqs").display()));
        script.push_str(&format!(
            "{{ {command}\n}} >'{dir}/out.{i}' 2>&1; echo $? >'{dir}/rc.{i}'\n",
            dir = out_dir.display()
        ));
    }
    let sqs = out_dir.join("sqs");
    std::fs::create_dir_all(&sqs).unwrap();
    for entry in std::fs::read_dir(repo_root().join("events/sqs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap().replace("127.0.0.1:8091", &workload_origin);
            std::fs::write(sqs.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    let limit = Duration::from_secs(120);
    let finished = run_bash(
        &script,
        &[("PORT", port.to_string()), ("DATABASE_URL", db.url.clone()), ("MAKEFLAGS", String::new())],
        limit,
    );
    if !finished {
        let stuck = (1..steps.len()).find(|i| !out_dir.join(format!("rc.{i}")).exists()).unwrap_or(0);
        let output = std::fs::read_to_string(out_dir.join(format!("out.{stuck}"))).unwrap_or_default();
        panic!("`{}` did not finish within {limit:?}; its output so far:\n{output}", steps[stuck].command);
    }

    let mut failures = Vec::new();
    for (i, step) in steps.iter().enumerate().skip(1) {
        let output = std::fs::read_to_string(out_dir.join(format!("out.{i}"))).unwrap_or_default();
        let status: i32 = std::fs::read_to_string(out_dir.join(format!("rc.{i}")))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(-1);
        if let Err(problem) = check(step, &output, status) {
            failures.push(format!("`{}`: {problem}\n--- output:\n{output}", step.command));
        }
    }
    let _ = std::fs::remove_dir_all(&out_dir);
    let _ = std::fs::remove_file(&log);
    assert!(failures.is_empty(), "README commands that do not do what the README says:\n\n{}", failures.join("\n\n"));
}

fn tempfile_path(what: &str) -> std::path::PathBuf {
    delius_testkit::process::scratch_path(&format!("readme-{what}"))
}
