//! The commands docs/deployment.md and the README give for a real database,
//! run as a user runs them (`cargo run -p delius-admin -- ...` runs this
//! binary) against an empty database of the test's own.

use std::process::{Command, Output};

use delius_testkit::testing::TestDb;

fn admin(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_delius-admin"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env_remove("DB_SECRET_ARN")
        .output()
        .expect("run delius-admin")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "delius-admin failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn migrate_then_seed_reference_then_seed_dev_as_documented() {
    let db = TestDb::empty().await;

    let migrated = stdout(&admin(&db, &["migrate"]));
    assert!(migrated.contains("migrations applied"), "{migrated}");
    assert_eq!(count(&db, "SELECT count(*) FROM offender").await, 0);
    // A second run applies nothing and still succeeds.
    assert_eq!(stdout(&admin(&db, &["migrate"])), "migrations applied: []\n");

    let reference = stdout(&admin(&db, &["seed", "reference"]));
    assert!(reference.contains("Reference: loaded"), "{reference}");
    assert!(count(&db, "SELECT count(*) FROM r_contact_type").await > 0);
    assert_eq!(count(&db, "SELECT count(*) FROM offender").await, 0, "reference data holds no people");

    let dev = stdout(&admin(&db, &["seed", "dev"]));
    // `seed dev` loads the reference data again (it is idempotent), then both dev datasets.
    assert!(dev.contains("DevResettlement: loaded") && dev.contains("DevAllocations: loaded"), "{dev}");
    assert_eq!(count(&db, "SELECT count(*) FROM offender WHERE crn IN ('X123123', 'X123456')").await, 2);
}

#[test]
fn an_unknown_command_is_refused_with_the_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_delius-admin")).arg("seed").arg("everything").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: delius-admin"));
}
