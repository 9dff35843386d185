//! `DB_PREPARED_STATEMENTS`: the route answers the same whether its statement
//! is sent unnamed (the default) or prepared once per connection, and only
//! the prepared mode leaves the statement on the server connection.

use chrono::{DateTime, Utc};
use delius_db::{Database, DatabaseConfig};
use delius_testkit::apigw::{SampleEvent, assert_json};
use delius_testkit::testing::{RESETTLEMENT_PASSPORT_USER, TestDb};
use serde_json::{Value, json};

fn sample_person() -> Value {
    json!({
        "crn": "X123123",
        "name": {"forename": "Fred", "surname": "Williams"},
        "dateOfBirth": "1982-08-19",
        "contactDetails": {"telephone": "020 346 7982", "mobile": "07452819463", "email": "freddy@justice.co.uk"},
    })
}

/// One connection, so every request and the inspection below share one
/// server session.
fn database(test_db: &TestDb, prepared: bool) -> Database {
    let config = DatabaseConfig { prepared_statements: prepared, ..test_db.config(RESETTLEMENT_PASSPORT_USER, 1) };
    Database::new(config).expect("pool")
}

async fn get(db: &Database) {
    let response = probation_case_detail::handle(db, SampleEvent::load("probation-case-detail.json").request()).await;
    assert_json(&response, 200, sample_person());
}

/// The statements prepared in the pooled connection's own session: text,
/// times executed, when prepared. Asked unnamed, so the question leaves
/// nothing behind itself.
async fn prepared_here(db: &Database) -> Vec<(String, i64, DateTime<Utc>)> {
    let client = db.client().await.unwrap();
    client
        .query_typed(
            "SELECT statement, generic_plans + custom_plans AS executions, prepare_time \
             FROM pg_prepared_statements ORDER BY prepare_time",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("statement"), r.get("executions"), r.get("prepare_time")))
        .collect()
}

fn is_person_statement(statement: &str) -> bool {
    statement.starts_with("SELECT rtrim(crn) AS crn, first_name, surname")
}

#[tokio::test]
async fn prepared_the_statement_stays_on_the_connection_and_the_answer_is_the_same() {
    let test_db = TestDb::new().await;
    let db = database(&test_db, true);
    // The first request runs the statement unnamed and prepares it in the
    // same flight; the prepared statement serves every request after it.
    get(&db).await;
    let first = prepared_here(&db).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(is_person_statement(&first[0].0), "{first:?}");
    assert_eq!(first[0].1, 0, "prepared, not yet executed by name");
    get(&db).await;
    get(&db).await;
    let prepared = prepared_here(&db).await;
    assert_eq!(prepared.len(), 1, "{prepared:?}");
    assert_eq!((prepared[0].1, prepared[0].2), (2, first[0].2), "prepared once, executed by name twice");
    assert_eq!(db.open_connections(), 1);
}

#[tokio::test]
async fn unnamed_by_default_nothing_is_left_on_the_connection() {
    let test_db = TestDb::new().await;
    let config = DatabaseConfig::for_url(&test_db.url, 1, RESETTLEMENT_PASSPORT_USER).unwrap();
    assert!(!config.prepared_statements);
    let db = Database::new(config).unwrap();
    assert!(!db.client().await.unwrap().prepares_statements());
    get(&db).await;
    get(&db).await;
    assert_eq!(prepared_here(&db).await, vec![]);
}

#[tokio::test]
async fn a_statement_a_migration_changed_under_is_prepared_again_and_answers() {
    let test_db = TestDb::new().await;
    let db = database(&test_db, true);
    get(&db).await;
    get(&db).await;
    let before = prepared_here(&db).await;
    assert_eq!(before.len(), 1, "{before:?}");

    // The result type of the prepared statement changes (varchar -> text):
    // PostgreSQL refuses to run it ("cached plan must not change result
    // type"); the connection prepares it again and the request still answers.
    test_db.client().await.batch_execute("ALTER TABLE offender ALTER COLUMN telephone_number TYPE text").await.unwrap();
    get(&db).await;
    let after = prepared_here(&db).await;
    assert_eq!(after.len(), 1, "the stale statement was closed: {after:?}");
    assert!(is_person_statement(&after[0].0));
    assert!(after[0].2 > before[0].2, "prepared again: {before:?} then {after:?}");
    assert_eq!(after[0].1, 0, "run unnamed while prepared again");
    assert_eq!(db.open_connections(), 1, "the connection was kept");

    // And from then on it is reused.
    get(&db).await;
    let again = prepared_here(&db).await;
    assert_eq!((again[0].1, again[0].2), (1, after[0].2));
}
