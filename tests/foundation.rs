//! The foundation against a real PostgreSQL: migrations, seeds, constraints,
//! the audit writer and the lazy pool.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use delius_db::audit::{self, Outcome, Parameters};
use delius_db::migrate::{self, Seed};
use delius_db::{CredentialSource, Database, DatabaseConfig, DbError, Transaction};
use delius_testkit::blackhole::SilentListener;
use delius_testkit::testing::{TestDb, config_with};

/// Tables, columns, indexes and constraints: what a migration could change.
async fn schema_snapshot(client: &tokio_postgres::Client) -> Vec<String> {
    let rows = client
        .query(
            "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable \
               || ' ' || coalesce(column_default, '') \
             FROM information_schema.columns WHERE table_schema = 'public' \
             UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' \
             UNION ALL SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
               WHERE connamespace = 'public'::regnamespace \
             UNION ALL SELECT 'sequence ' || sequence_name FROM information_schema.sequences \
               WHERE sequence_schema = 'public' \
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_again_change_nothing() {
    let db = TestDb::empty().await;
    let mut client = db.client().await;
    assert!(schema_snapshot(&client).await.is_empty());

    let applied = migrate::migrate(&mut client).await.unwrap();
    assert_eq!(applied.first(), Some(&1));
    let after_first = schema_snapshot(&client).await;
    for table in ["offender", "offender_manager", "responsible_officer", "contact", "audited_interaction", "user_"] {
        assert!(after_first.iter().any(|l| l.starts_with(&format!("column {table}."))), "missing table {table}");
    }
    for sequence in ["contact_id_seq", "offender_manager_id_seq", "staff_id_seq", "responsible_officer_id_seq"] {
        assert!(after_first.contains(&format!("sequence {sequence}")), "missing sequence {sequence}");
    }

    let applied_again = migrate::migrate(&mut client).await.unwrap();
    assert!(applied_again.is_empty(), "second run applied {applied_again:?}");
    assert_eq!(schema_snapshot(&client).await, after_first);
}

async fn codes(client: &tokio_postgres::Client, sql: &str) -> BTreeSet<String> {
    client.query(sql, &[]).await.unwrap().iter().map(|r| r.get::<_, String>(0).trim().to_string()).collect()
}

fn assert_contains(present: &BTreeSet<String>, wanted: &[&str], what: &str) {
    let missing: Vec<&&str> = wanted.iter().filter(|w| !present.contains(**w)).collect();
    assert!(missing.is_empty(), "{what} missing: {missing:?}");
}

#[tokio::test]
async fn reference_seed_loads_twice_and_holds_every_code_the_specs_name() {
    let db = TestDb::empty().await;
    let mut client = db.client().await;
    migrate::migrate(&mut client).await.unwrap();
    assert!(migrate::load_seed(&client, Seed::Reference).await.unwrap());
    let contact_types_once = codes(&client, "SELECT code FROM r_contact_type").await;
    // Reference data is idempotent.
    assert!(migrate::load_seed(&client, Seed::Reference).await.unwrap());
    assert_eq!(codes(&client, "SELECT code FROM r_contact_type").await, contact_types_once);

    assert_contains(
        &contact_types_once,
        &[
            "RP1", "RP2", "RP3", "RP4", "RP5", "RP6", "RP7", "RP8", "RP9", "RP10", "ETOM", "ETOS", "ETRC", "ROC",
            "CADE", "SPOD03",
        ],
        "contact types",
    );
    assert_contains(
        &codes(&client, "SELECT business_interaction_code FROM business_interaction").await,
        &["CLBI003", "CABI231", "CABI041", "CABI038"],
        "business interactions",
    );
    assert_contains(
        &codes(&client, "SELECT code FROM r_transfer_reason").await,
        &["CASE ORDER", "COMPONENT"],
        "transfer reasons",
    );
    assert_contains(&codes(&client, "SELECT code FROM r_nsi_type").await, &["DTR"], "NSI types");
    assert_contains(&codes(&client, "SELECT code FROM r_nsi_status").await, &["INIT"], "NSI statuses");
    assert_contains(&codes(&client, "SELECT code FROM r_register_type").await, &["MAPP"], "register types");
    assert_contains(
        &codes(&client, "SELECT code FROM r_rqmnt_type_main_category").await,
        &["7", "RM38"],
        "requirement main categories",
    );
    assert_contains(
        &codes(&client, "SELECT code FROM r_ad_rqmnt_type_main_category").await,
        &["7", "RM38"],
        "additional requirement main categories",
    );
    assert_contains(&codes(&client, "SELECT nomis_cde_code FROM r_institution").await, &["LDN", "MDL"], "institutions");
    assert_contains(
        &codes(&client, "SELECT distinguished_name FROM user_").await,
        &["ResettlementPassportAndDelius", "HMPPSAllocations"],
        "service users",
    );

    let in_set = |set: &'static str| {
        format!(
            "SELECT l.code_value FROM r_standard_reference_list l \
             JOIN r_reference_data_master m USING (reference_data_master_id) WHERE m.code_set_name = '{set}'"
        )
    };
    let reasons = ["RO", "AR02", "CTR", "OFL", "OTH", "RTS", "TIN", "RESET"];
    for (set, specific) in [
        ("OM ALLOCATION REASON", ["IN1", "AR03"]),
        ("ORDER ALLOCATION REASON", ["INT", "OA01"]),
        ("RM ALLOCATION REASON", ["IN1", "OM"]),
    ] {
        let present = codes(&client, &in_set(set)).await;
        assert_contains(&present, &reasons, set);
        assert_contains(&present, &specific, set);
    }
    assert_contains(&codes(&client, &in_set("TRANSFER STATUS")).await, &["PN"], "transfer statuses");
    assert_contains(&codes(&client, &in_set("ADDRESS STATUS")).await, &["M"], "address statuses");
    assert_contains(
        &codes(&client, &in_set("REGISTER CATEGORY")).await,
        &["X9", "M1", "M2", "M3", "M4"],
        "MAPPA categories",
    );
    assert_contains(&codes(&client, &in_set("REGISTER LEVEL")).await, &["M0", "M1", "M2", "M3"], "MAPPA levels");
    assert_contains(&codes(&client, &in_set("REQUIREMENT SUB CATEGORY")).await, &["RS66"], "sub categories");
}

#[tokio::test]
async fn dev_datasets_load_once_with_dates_relative_to_today() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let people = codes(&client, "SELECT crn FROM offender").await;
    assert_contains(&people, &["X123123", "C123456", "X123456", "T123456", "T223456"], "dev people");

    // A dev dataset already present is left alone.
    assert!(!migrate::load_seed(&client, Seed::DevResettlement).await.unwrap());
    assert!(!migrate::load_seed(&client, Seed::DevAllocations).await.unwrap());

    let row = client
        .query_one(
            "SELECT count(*), min(c.contact_date), max(c.contact_date) FROM contact c \
             JOIN offender o USING (offender_id) WHERE o.crn = 'X123123'",
            &[],
        )
        .await
        .unwrap();
    let today = delius_db::time::london_today();
    assert_eq!(row.get::<_, i64>(0), 110);
    assert_eq!(row.get::<_, chrono::NaiveDate>(1), today - chrono::Duration::days(7));
    assert_eq!(row.get::<_, chrono::NaiveDate>(2), today + chrono::Duration::days(14));

    let managers: i64 = client
        .query_one(
            "SELECT count(*) FROM offender_manager m JOIN offender o USING (offender_id) \
             WHERE o.crn IN ('X123456', 'T123456') AND m.end_date IS NULL \
               AND m.allocation_date = TIMESTAMP '2022-07-01 10:30:00'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(managers, 2);
}

fn sql_state(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_default()
}

#[tokio::test]
async fn constraints_refuse_what_delius_refuses() {
    let db = TestDb::new().await;
    let client = db.client().await;
    const UNIQUE: &str = "23505";
    const CHECK: &str = "23514";

    let second_ro = client
        .execute(
            "INSERT INTO responsible_officer (offender_id, offender_manager_id, start_date) \
             SELECT offender_id, offender_manager_id, LOCALTIMESTAMP FROM offender_manager \
             JOIN offender USING (offender_id) WHERE crn = 'X123456' AND end_date IS NULL",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(sql_state(&second_ro), UNIQUE, "{second_ro}");

    let duplicate_officer = client
        .execute("INSERT INTO staff (officer_code, forename, surname) VALUES ('N02ABS1', 'Other', 'Person')", &[])
        .await
        .unwrap_err();
    assert_eq!(sql_state(&duplicate_officer), UNIQUE, "{duplicate_officer}");

    let duplicate_crn = client
        .execute(
            "INSERT INTO offender (crn, first_name, surname, date_of_birth_date) \
             VALUES ('X123123', 'Other', 'Person', DATE '1990-01-01')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(sql_state(&duplicate_crn), UNIQUE, "{duplicate_crn}");

    for (table, parent) in [
        ("offender_manager", "offender_id"),
        ("order_manager", "event_id"),
        ("rqmnt_manager", "rqmnt_id"),
        ("lic_condition_manager", "lic_condition_id"),
    ] {
        let columns = client
            .query_one(
                "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns \
                 WHERE table_name = $1 AND column_name NOT IN ($2)",
                &[&table, &format!("{table}_id")],
            )
            .await
            .unwrap()
            .get::<_, String>(0);
        let second_open = client
            .execute(
                &format!(
                    "INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} \
                     WHERE end_date IS NULL AND soft_deleted = 0 ORDER BY {parent} LIMIT 1"
                ),
                &[],
            )
            .await
            .unwrap_err();
        assert_eq!(sql_state(&second_open), UNIQUE, "{table}: {second_open}");
    }

    let ends_before_it_starts = client
        .execute(
            "UPDATE lic_condition_manager SET end_date = allocation_date - INTERVAL '1 second' \
             WHERE lic_condition_id = 9501",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(sql_state(&ends_before_it_starts), CHECK, "{ends_before_it_starts}");

    let bad_flag = client.execute("UPDATE offender SET soft_deleted = 2 WHERE crn = 'X123123'", &[]).await.unwrap_err();
    assert_eq!(sql_state(&bad_flag), CHECK, "{bad_flag}");
    let bad_yn =
        client.execute("UPDATE offender_address SET no_fixed_abode = 'X' WHERE offender_address_id > 0", &[]).await;
    assert_eq!(sql_state(&bad_yn.unwrap_err()), CHECK);
}

#[tokio::test]
async fn service_user_is_looked_up_once_and_a_missing_one_is_named() {
    let db = TestDb::new().await;
    let database = db.database("HMPPSAllocations", 1);
    let client = database.client().await.unwrap();
    let expected: i64 = db
        .client()
        .await
        .query_one("SELECT user_id FROM user_ WHERE distinguished_name = 'HMPPSAllocations'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(database.service_user_id(&client).await.unwrap(), expected);
    // Cached: renaming the user does not change the answer for this container.
    db.client()
        .await
        .execute("UPDATE user_ SET distinguished_name = 'Renamed' WHERE user_id = $1", &[&expected])
        .await
        .unwrap();
    assert_eq!(database.service_user_id(&client).await.unwrap(), expected);

    let missing = db.database("NoSuchUser", 1);
    let client = missing.client().await.unwrap();
    let err = missing.service_user_id(&client).await.unwrap_err();
    assert_eq!(err.to_string(), "Delius user NoSuchUser not found");
}

#[tokio::test]
async fn failure_audit_survives_the_rollback_of_the_failed_work() {
    let db = TestDb::new().await;
    let database = db.database("ResettlementPassportAndDelius", 1);
    let mut client = database.client().await.unwrap();
    let user_id = database.service_user_id(&client).await.unwrap();
    let at = delius_db::time::london_now();
    let mut params = Parameters::new();
    params.set("offenderId", 42);

    // Work that fails: its rows go, the F row stays.
    let tx = client.transaction().await.unwrap();
    tx.execute("UPDATE offender SET surname = 'Changed' WHERE crn = 'X123123'", &[]).await.unwrap();
    drop(tx);
    audit::record(&client, "CLBI003", user_id, at, Outcome::Failure, &params).await.unwrap();

    // Work that succeeds: the P row commits with it, at the same instant (next free microsecond).
    client.batch_execute("BEGIN").await.unwrap();
    audit::record(&client, "CLBI003", user_id, at, Outcome::Success, &Parameters::new()).await.unwrap();
    client.batch_execute("COMMIT").await.unwrap();

    let check = db.client().await;
    let surname: String =
        check.query_one("SELECT surname FROM offender WHERE crn = 'X123123'", &[]).await.unwrap().get(0);
    assert_eq!(surname, "Williams");
    let rows = check
        .query(
            "SELECT a.outcome, a.interaction_parameters, a.user_id, a.date_time FROM audited_interaction a \
             JOIN business_interaction b USING (business_interaction_id) \
             WHERE b.business_interaction_code = 'CLBI003' ORDER BY a.date_time",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(
        got,
        vec![("F".to_string(), "offenderId='42'".to_string(), user_id), ("P".to_string(), String::new(), user_id)]
    );
    assert_eq!(rows[0].get::<_, chrono::NaiveDateTime>(3), at);

    let unknown = audit::record(&client, "NOPE", user_id, at, Outcome::Success, &params).await.unwrap_err();
    assert_eq!(unknown.to_string(), "BusinessInteraction with code of NOPE not found");
}

fn config_for(url: String, timeout: Duration) -> DatabaseConfig {
    config_with(CredentialSource::Url(url), timeout)
}

#[tokio::test]
async fn building_the_pool_touches_no_network_and_a_hanging_database_times_out() {
    let silent = SilentListener::start().await.unwrap();
    let timeout = Duration::from_millis(400);
    let url = format!("postgres://postgres:pw@127.0.0.1:{}/delius", silent.port);
    let database = Database::new(config_for(url, timeout)).expect("building needs no database");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(silent.accepted(), 0, "no connection before first use");
    assert_eq!(database.open_connections(), 0);

    let started = Instant::now();
    let err = database.client().await.map(|_| ()).unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, DbError::ConnectTimeout(_)), "{err:?}");
    assert_eq!(err.to_string(), "could not connect to the database within 400ms");
    assert!(err.is_transient());
    assert!(elapsed >= timeout && elapsed < timeout * 3, "took {elapsed:?}");
    assert_eq!(silent.accepted(), 1, "first use connects");
}

#[tokio::test]
async fn a_refused_connection_is_a_clear_error_without_the_password() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let database = Database::new(config_for(
        format!("postgres://postgres:hunter2-secret@127.0.0.1:{port}/delius"),
        Duration::from_secs(2),
    ))
    .unwrap();
    let started = Instant::now();
    let err = database.client().await.map(|_| ()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    let text = err.to_string();
    assert!(text.starts_with("could not connect to the database"), "{text}");
    assert!(!text.contains("hunter2") && !format!("{err:?}").contains("hunter2"), "{err:?}");
}

#[tokio::test]
async fn every_transaction_bounds_its_waits_and_leaves_no_setting_behind() {
    let db = TestDb::new().await;
    let mut config = db.config("ResettlementPassportAndDelius", 1);
    config.timeouts.lock = Duration::from_millis(150);
    config.timeouts.statement = Duration::from_millis(300);
    // One connection: every transaction and the check between them share it.
    let database = Database::new(config).unwrap();
    let open = async || {
        let tx = Transaction::new(database.client().await.unwrap(), database.begin_statement());
        tx.begin().await.unwrap();
        tx
    };

    let tx = open().await;
    let lock: String = tx.query_one("SHOW lock_timeout", &[]).await.unwrap().get(0);
    let statement: String = tx.query_one("SHOW statement_timeout", &[]).await.unwrap().get(0);
    assert_eq!((lock.as_str(), statement.as_str()), ("150ms", "300ms"));
    // A statement that runs too long is cancelled by the server: transient.
    let error = DbError::from(tx.query_one("SELECT pg_sleep(2)", &[]).await.unwrap_err());
    assert!(error.to_string().contains("statement timeout"), "{error}");
    assert!(error.is_transient());
    tx.rollback().await;

    // SET LOCAL: the session keeps the server's defaults, as a pooler needs.
    let client = database.client().await.unwrap();
    let lock: String = client.query_one("SHOW lock_timeout", &[]).await.unwrap().get(0);
    assert_eq!(lock, "0");
    drop(client);

    // A lock held elsewhere: the wait ends at lock_timeout (55P03), transient.
    let other = db.client().await;
    other.batch_execute("BEGIN; SELECT 1 FROM offender WHERE crn = 'X123123' FOR UPDATE").await.unwrap();
    let tx = open().await;
    let started = Instant::now();
    let error =
        DbError::from(tx.query_one("SELECT 1 FROM offender WHERE crn = 'X123123' FOR UPDATE", &[]).await.unwrap_err());
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert!(error.is_transient(), "{error}");
    tx.rollback().await;
    other.batch_execute("ROLLBACK").await.unwrap();

    // The connection is fine for the next transaction, which ends with its
    // last statement and COMMIT in one flight.
    let tx = open().await;
    let one = tx.commit_with(async { Ok::<i32, DbError>(tx.query_one("SELECT 1", &[]).await?.get(0)) }).await;
    assert_eq!(one.unwrap(), 1);
    assert!(tx.has_ended());
    tx.finish();
}
