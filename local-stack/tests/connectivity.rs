//! Production connectivity through the real HTTP handlers: a TLS-only
//! PostgreSQL (test CA), PgBouncer in `pool_mode = transaction`, and a path to
//! the database that goes silent.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use delius_db::{Database, DatabaseConfig};
use delius_testkit::apigw::SampleEvent;
use delius_testkit::blackhole::BlackHole;
use delius_testkit::pgbouncer::{PgBouncer, PoolSizes};
use delius_testkit::testing::TestDb;
use delius_testkit::tls::{TestCa, TlsPostgres};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

const USER: &str = "ResettlementPassportAndDelius";

fn request(file: &str) -> Request {
    SampleEvent::load(file).request()
}

fn body(response: &Response<Body>) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
        Body::Empty => Value::Null,
        other => panic!("unexpected body {other:?}"),
    }
}

fn database(url: &str) -> Database {
    Database::new(DatabaseConfig::for_url(url, 1, USER).expect("config")).expect("pool")
}

async fn contacts(c: &tokio_postgres::Client) -> i64 {
    c.query_one("SELECT count(*) FROM contact", &[]).await.unwrap().get(0)
}

async fn crn(db: &Database) -> Response<Body> {
    probation_case_crn::handle(db, request("probation-case-crn.json")).await
}

/// The error a first connection with `url` fails with.
async fn connect_error(url: &str) -> String {
    match database(url).client().await {
        Ok(_) => panic!("{url} connected"),
        Err(e) => format!("{e} / {:?}", std::error::Error::source(&e).map(ToString::to_string)),
    }
}

#[tokio::test]
async fn a_tls_only_database_is_reached_with_verify_full_and_refused_otherwise() {
    let server = TlsPostgres::start().await.expect("a TLS-only PostgreSQL");
    let ca = server.ca_file.display().to_string();

    // verify-full with the test CA (URL parameters, as libpq spells them).
    let db = database(&server.url("localhost", &format!("sslmode=verify-full&sslrootcert={ca}")));
    let response = crn(&db).await;
    assert_eq!((response.status().as_u16(), body(&response)), (200, json!({"crn": "X123123"})));
    let admin = server.admin("delius").await.unwrap();
    let encrypted: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = 'delius' AND a.client_addr IS NOT NULL AND s.ssl",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(encrypted, 1, "the function's connection is encrypted");

    // The same through the variables of the Secrets Manager path.
    let mut config = DatabaseConfig::from_lookup(
        |name| match name {
            "DATABASE_URL" => Some(server.url("localhost", "")),
            "DB_SSLMODE" => Some("verify-full".into()),
            "DB_CA_BUNDLE" => Some(ca.clone()),
            _ => None,
        },
        1,
        USER,
    )
    .unwrap();
    config.connect_timeout = Duration::from_secs(5);
    assert_eq!(crn(&Database::new(config).unwrap()).await.status(), 200);

    // verify-ca does not check the name: 127.0.0.1 is fine.
    let db = database(&server.url("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}")));
    assert_eq!(crn(&db).await.status(), 200);

    // A wrong CA: refused, naming the host and the reason; a 503 for the caller.
    let other = server.write_pem("other-ca.crt", &TestCa::new("Some other CA").cert_pem).unwrap();
    let url = server.url("localhost", &format!("sslmode=verify-full&sslrootcert={}", other.display()));
    let error = connect_error(&url).await;
    assert!(error.contains("localhost") && error.contains("UnknownIssuer"), "{error}");
    let response = crn(&database(&url)).await;
    assert_eq!(response.status(), 503);

    // A wrong host name: the certificate names localhost only.
    let error = connect_error(&server.url("127.0.0.1", &format!("sslmode=verify-full&sslrootcert={ca}"))).await;
    assert!(error.contains("127.0.0.1") && error.contains("not valid for name"), "{error}");

    // Mozilla's roots alone do not trust the test CA.
    let error = connect_error(&server.url("localhost", "sslmode=verify-full")).await;
    assert!(error.contains("UnknownIssuer"), "{error}");

    // Clear text is refused by the server (hostssl only), and never tried
    // when TLS is asked for.
    let error = connect_error(&server.url("localhost", "sslmode=disable")).await;
    assert!(error.contains("no encryption"), "{error}");
    assert_eq!(crn(&database(&server.url("localhost", "sslmode=disable"))).await.status(), 503);

    // require: encrypted, certificate not checked (libpq's meaning).
    assert_eq!(crn(&database(&server.url("localhost", "sslmode=require"))).await.status(), 200);
}

#[tokio::test]
async fn reads_and_both_writes_work_through_pgbouncer_in_transaction_mode() {
    let test_db = TestDb::new().await;
    let bouncer = PgBouncer::start(&test_db.url, PoolSizes::default()).expect("pgbouncer");
    bouncer.open_server_connections(&test_db.url, 4).await;
    let db = database(&bouncer.url_for(&test_db.url));
    let check = test_db.client().await;
    let before = contacts(&check).await;

    // Several rounds on one pool: consecutive transactions land on different
    // server connections (round robin), so nothing may outlive a transaction.
    for round in 0..3 {
        let response = crn(&db).await;
        assert_eq!(response.status(), 200, "round {round}: {:?} {}", response.body(), bouncer.log());
        let response =
            probation_case_community_manager::handle(&db, request("probation-case-community-manager.json")).await;
        assert_eq!(response.status(), 200, "round {round}: {:?}", response.body());
        let response = probation_case_detail::handle(&db, request("probation-case-detail.json")).await;
        assert_eq!(response.status(), 200, "round {round}: {:?}", response.body());
        let response = nomis_case_note_create::handle(&db, request("nomis-case-note-create.json")).await;
        assert_eq!(response.status(), 201, "round {round}: {:?}", response.body());
    }
    let response = appointment_create::handle(&db, request("appointment-create-with-uuid.json")).await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    // The replay of the same uuid finds it, through another transaction.
    let response = appointment_create::handle(&db, request("appointment-create-with-uuid.json")).await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    assert_eq!(contacts(&check).await, before + 4);

    // Concurrent requests on a pool of several connections.
    let wide = Database::new(DatabaseConfig::for_url(&bouncer.url_for(&test_db.url), 4, USER).unwrap()).unwrap();
    let answers = tokio::join!(crn(&wide), crn(&wide), crn(&wide), crn(&wide), crn(&wide), crn(&wide));
    let answers = [answers.0, answers.1, answers.2, answers.3, answers.4, answers.5];
    assert!(answers.iter().all(|r| r.status() == 200));
}

// The listing's query (`contact_log::appointments`) still prepares a named
// statement on the bare connection and runs it in a second exchange, which a
// transaction-mode pooler may send to another server connection ("prepared
// statement sN does not exist"): it must move to the unnamed statement
// (`query_typed`) like the other reads.
#[tokio::test]
async fn the_appointment_listing_works_through_pgbouncer_in_transaction_mode() {
    let test_db = TestDb::new().await;
    let bouncer = PgBouncer::start(&test_db.url, PoolSizes::default()).expect("pgbouncer");
    bouncer.open_server_connections(&test_db.url, 4).await;
    let db = database(&bouncer.url_for(&test_db.url));
    for round in 0..4 {
        let response = appointments_list::handle(&db, None, request("appointments-list.json")).await;
        assert_eq!(response.status(), 200, "round {round}: {:?}", response.body());
    }
}

#[tokio::test]
async fn a_silent_database_is_a_503_within_the_deadline_and_the_next_request_works() {
    let test_db = TestDb::new().await;
    let upstream = url::Url::parse(&test_db.url).unwrap();
    let address: SocketAddr = format!("{}:{}", upstream.host_str().unwrap(), upstream.port().unwrap()).parse().unwrap();
    let hole = BlackHole::start(address).await.unwrap();
    let mut config = DatabaseConfig::for_url(&hole.url_for(&test_db.url), 1, USER).unwrap();
    config.connect_timeout = Duration::from_millis(700);
    config.timeouts.checkout = Duration::from_millis(700);
    config.timeouts.work = Duration::from_secs(1);
    let db = Database::new(config).unwrap();
    assert_eq!(crn(&db).await.status(), 200);

    hole.stall();
    // The open connection's query goes unanswered: the work deadline.
    let started = Instant::now();
    let response = crn(&db).await;
    let took = started.elapsed();
    assert_eq!(
        (response.status().as_u16(), body(&response)),
        (503, json!({"status": 503, "message": "Service temporarily unavailable"}))
    );
    assert!(took >= Duration::from_millis(900) && took < Duration::from_millis(2000), "{took:?}");
    // A new connection's start-up goes unanswered: the connect deadline.
    let started = Instant::now();
    assert_eq!(crn(&db).await.status(), 503);
    assert!(started.elapsed() < Duration::from_millis(2000), "{:?}", started.elapsed());

    // Back: the same pool answers again, on a fresh connection.
    hole.restore();
    let response = crn(&db).await;
    assert_eq!((response.status().as_u16(), body(&response)), (200, json!({"crn": "X123123"})));
}
