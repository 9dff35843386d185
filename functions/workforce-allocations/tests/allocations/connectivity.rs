//! Bounded waits and a transaction-mode pooler: a locked row fails its record
//! fast and alone (retryable), a stalled path to the database fails a record
//! within its deadline and the next batch works again, and a whole batch runs
//! through PgBouncer in `pool_mode = transaction`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use delius_db::{Database, DatabaseConfig};
use delius_testkit::blackhole::BlackHole;
use delius_testkit::pgbouncer::{PgBouncer, PoolSizes};

use crate::common::*;

fn config(h: &Harness, url: &str) -> DatabaseConfig {
    let mut config = DatabaseConfig::for_url(url, 2, "HMPPSAllocations").expect("config");
    config.connect_timeout = Duration::from_millis(800);
    config.timeouts.checkout = Duration::from_millis(800);
    config.timeouts.lock = Duration::from_millis(300);
    config.timeouts.work = Duration::from_secs(1);
    let _ = h;
    config
}

#[tokio::test]
async fn a_locked_person_fails_fast_and_alone_and_succeeds_when_delivered_again() {
    let h = Harness::with(|s| s.retry.attempts = 2).await;
    let db = Database::new(config(&h, &h.test_db.url)).expect("pool");
    let before = counts(&h.client).await;
    let person = offender_id(&h.client, "T123456").await;
    let event = h.event("mixed-batch.json");
    let ids: Vec<String> = event.records.iter().map(|r| r.message_id.clone().unwrap()).collect();
    let first = event.records[0].clone();

    // Another session holds the person's row, as a slow Delius screen would.
    let mut locker = h.test_db.client().await;
    let lock = locker.transaction().await.unwrap();
    lock.execute("SELECT 1 FROM offender WHERE crn = 'T123456' FOR UPDATE", &[]).await.unwrap();

    let started = Instant::now();
    let response = invoke_with(&db, &h.allocations, event).await;
    let took = started.elapsed();
    // The locked person's record fails (retryable); the poison records fail
    // as ever; the event and the requirement are recorded.
    assert_eq!(failures(&response), vec![ids[0].clone(), ids[2].clone(), ids[4].clone()]);
    assert!(took < Duration::from_secs(5), "the lock wait is bounded: {took:?}");
    let after = counts(&h.client).await;
    assert_eq!(after.offender_manager, before.offender_manager);
    assert_eq!((after.order_manager, after.rqmnt_manager), (before.order_manager + 1, before.rqmnt_manager + 1));
    assert_eq!(managers(&h.client, Table::Offender, person).await.len(), 1);

    lock.rollback().await.unwrap();
    // Redelivered once the lock is gone: recorded.
    let response = invoke_with(&db, &h.allocations, batch(vec![first])).await;
    assert_eq!(failures(&response), Vec::<String>::new());
    assert_eq!(managers(&h.client, Table::Offender, person).await.len(), 2);
}

#[tokio::test]
async fn a_stalled_database_fails_the_record_within_its_deadline_and_the_next_delivery_works() {
    let h = Harness::with(|s| s.retry.attempts = 1).await;
    let upstream = url::Url::parse(&h.test_db.url).unwrap();
    let address: SocketAddr = format!("{}:{}", upstream.host_str().unwrap(), upstream.port().unwrap()).parse().unwrap();
    let hole = BlackHole::start(address).await.unwrap();
    let db = Database::new(config(&h, &hole.url_for(&h.test_db.url))).expect("pool");
    let person = offender_id(&h.client, "X123456").await;

    // A first delivery opens the connection: recorded.
    let event = h.event("person-allocation.json");
    let id = event.records[0].message_id.clone().unwrap();
    assert_eq!(failures(&invoke_with(&db, &h.allocations, event.clone()).await), Vec::<String>::new());
    assert_eq!(managers(&h.client, Table::Offender, person).await.len(), 2);

    // The path goes silent: the record fails within its deadline (1 s of
    // work; the Workload call is not behind the hole).
    hole.stall();
    let started = Instant::now();
    let response = invoke_with(&db, &h.allocations, event.clone()).await;
    let took = started.elapsed();
    assert_eq!(failures(&response), vec![id.clone()]);
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "{took:?}");

    // Still silent, on a new connection: the connect deadline answers.
    let started = Instant::now();
    assert_eq!(failures(&invoke_with(&db, &h.allocations, event.clone()).await), vec![id.clone()]);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    // Back: the same pool (no restart) records the next delivery (a duplicate
    // of the first, so nothing new is written, and no failure).
    hole.restore();
    assert_eq!(failures(&invoke_with(&db, &h.allocations, event).await), Vec::<String>::new());
    assert_eq!(managers(&h.client, Table::Offender, person).await.len(), 2);
}

#[tokio::test]
async fn a_mixed_batch_through_pgbouncer_in_transaction_mode_is_recorded() {
    let h = Harness::new().await;
    let bouncer = PgBouncer::start(&h.test_db.url, PoolSizes::default()).expect("pgbouncer");
    bouncer.open_server_connections(&h.test_db.url, 4).await;
    let db = Database::new(config(&h, &bouncer.url_for(&h.test_db.url))).expect("pool");
    let before = counts(&h.client).await;
    let event = h.event("mixed-batch.json");
    let ids: Vec<String> = event.records.iter().map(|r| r.message_id.clone().unwrap()).collect();

    let response = invoke_with(&db, &h.allocations, event.clone()).await;
    assert_eq!(failures(&response), vec![ids[2].clone(), ids[4].clone()], "{}", bouncer.log());
    let after = counts(&h.client).await;
    assert_eq!(
        (after.offender_manager, after.order_manager, after.rqmnt_manager, after.contact),
        (before.offender_manager + 1, before.order_manager + 1, before.rqmnt_manager + 1, before.contact + 5)
    );
    // Delivered again through the pooler: duplicates, nothing new, no error
    // (the statements of the first run did not outlive their transactions).
    for _ in 0..3 {
        let response = invoke_with(&db, &h.allocations, event.clone()).await;
        assert_eq!(failures(&response), vec![ids[2].clone(), ids[4].clone()], "{}", bouncer.log());
    }
    assert_eq!(counts(&h.client).await.offender_manager, after.offender_manager);
}
