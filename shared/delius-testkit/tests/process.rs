//! Child processes end with their owner: dropped, or killed with SIGKILL
//! (no `Drop` runs), the stand-in is gone within a second.

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::{Duration, Instant};

use delius_testkit::ldap::LdapServer;
use delius_testkit::moto::MotoServer;
use delius_testkit::pgbouncer::{PgBouncer, PoolSizes};
use delius_testkit::process::{Output, OwnedChild, is_running};
use delius_testkit::tls::TlsPostgres;

const OWNER_MODE: &str = "DELIUS_TESTKIT_OWNER_MODE";

fn gone_within(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if !is_running(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    !is_running(pid)
}

/// Not a test on its own: the owner process the tests below start (this same
/// binary, with `OWNER_MODE` set). It starts the stand-in named by the
/// variable, prints its pid and waits to be killed.
#[tokio::test]
async fn owner_mode() {
    let Ok(what) = std::env::var(OWNER_MODE) else { return };
    let pid = match what.as_str() {
        "slapd" => {
            let server = Box::leak(Box::new(LdapServer::start()));
            server.pid().unwrap()
        }
        "moto" => Box::leak(Box::new(MotoServer::start().await)).pid(),
        "pgbouncer" => {
            let url = std::env::var("DATABASE_URL").expect("DATABASE_URL (scripts/with-postgres.sh)");
            let bouncer = Box::leak(Box::new(PgBouncer::start(&url, PoolSizes::default()).unwrap()));
            bouncer.pid().unwrap()
        }
        "tls-postgres" => Box::leak(Box::new(TlsPostgres::start().await.unwrap())).pid().unwrap(),
        other => panic!("unknown stand-in {other}"),
    };
    println!("stand-in pid {pid}");
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

/// Starts an owner process running `what`, returns it and the stand-in's pid.
fn owner_of(what: &str) -> (OwnedChild, u32) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", "owner_mode", "--nocapture", "--test-threads=1"]).env(OWNER_MODE, what);
    let mut owner = OwnedChild::spawn(command, Output::Piped).unwrap();
    let stdout = owner.child_mut().stdout.take().unwrap();
    // libtest prints `test owner_mode ... ` before the line, on the same line.
    let (sender, pid) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some((_, pid)) = line.split_once("stand-in pid ") {
                let _ = sender.send(pid.trim().parse::<u32>().unwrap());
            }
        }
    });
    let pid = pid.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("the owner did not start {what}"));
    assert!(is_running(pid), "the stand-in {what} runs");
    (owner, pid)
}

/// Starts an owner process running `what` and kills it with SIGKILL (no
/// `Drop` runs in the owner): the stand-in must be gone within a second.
fn ends_when_its_owner_is_killed(what: &str) {
    if std::env::var(OWNER_MODE).is_ok() {
        return;
    }
    let (mut owner, pid) = owner_of(what);
    owner.kill().unwrap();
    assert!(gone_within(pid, Duration::from_secs(1)), "{what} {pid} outlived its owner");
}

#[test]
fn slapd_ends_when_its_owner_is_killed() {
    ends_when_its_owner_is_killed("slapd");
}

#[test]
fn moto_ends_when_its_owner_is_killed() {
    ends_when_its_owner_is_killed("moto");
}

#[test]
fn pgbouncer_ends_when_its_owner_is_killed() {
    ends_when_its_owner_is_killed("pgbouncer");
}

#[test]
fn a_tls_postgres_ends_when_its_owner_is_killed() {
    ends_when_its_owner_is_killed("tls-postgres");
}

#[test]
fn a_dropped_stand_in_is_stopped_and_its_directory_removed() {
    if std::env::var(OWNER_MODE).is_ok() {
        return;
    }
    let server = LdapServer::start();
    let pid = server.pid().unwrap();
    drop(server);
    assert!(!is_running(pid), "slapd {pid} still runs after drop");
}

#[tokio::test]
async fn a_dropped_pgbouncer_or_tls_postgres_is_stopped() {
    if std::env::var(OWNER_MODE).is_ok() {
        return;
    }
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL (scripts/with-postgres.sh)");
    let bouncer = PgBouncer::start(&url, PoolSizes::default()).unwrap();
    let server = TlsPostgres::start().await.unwrap();
    let pids = [bouncer.pid().unwrap(), server.pid().unwrap()];
    drop(bouncer);
    drop(server);
    for pid in pids {
        assert!(!is_running(pid), "{pid} still runs after drop");
    }
}

/// A stand-in started from a test thread that has ended stays up (the
/// parent-death signal follows the keeper thread, not the test's).
#[test]
fn a_child_outlives_the_thread_that_asked_for_it() {
    if std::env::var(OWNER_MODE).is_ok() {
        return;
    }
    let child = std::thread::spawn(|| {
        let mut command = Command::new("sleep");
        command.arg("30");
        OwnedChild::spawn(command, Output::Null).unwrap()
    })
    .join()
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(is_running(child.id()), "the child died with the thread that spawned it");
    let pid = child.id();
    drop(child);
    assert!(!is_running(pid));
}
