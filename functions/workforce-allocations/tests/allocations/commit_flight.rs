//! The writes of an allocation go out with its `P` audit row and `COMMIT`
//! in one flight, so a write that fails there cannot be caught in Rust before
//! `COMMIT`: the failed statement aborts the transaction, `COMMIT` rolls it
//! back, and only the `F` row is left. Each failure is made real in the
//! database (a trigger, a missing reference row), in that flight.

use serde_json::json;

use crate::common::*;

/// A manager row that changes under the allocation (its `row_version` moved
/// on between the reads and the update) updates nothing: here a trigger
/// skips the update. The lost optimistic lock is transient, so the message
/// is tried three times, each time rolled back with its `F` row.
#[tokio::test]
async fn a_lost_optimistic_lock_with_commit_writes_nothing_but_the_failure_rows() {
    let arrange = "CREATE FUNCTION skip_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; \
                   CREATE TRIGGER changed_meanwhile BEFORE UPDATE ON offender_manager \
                   FOR EACH ROW EXECUTE FUNCTION skip_row()";
    let (h, before, failed) = case(arrange, "person", person(json!({})), Some("X123456")).await;
    assert_eq!(failed, [MESSAGE.to_string()]);
    assert_eq!(counts(&h.client).await, before, "nothing is written: no manager, officer, contact or flag");
    let user = Ids::load(&h.client).await.user;
    let f_row = ("CABI231".to_string(), user, "F".to_string(), person_params(&h).await);
    assert_eq!(audits(&h.client).await, vec![f_row; 3], "three attempts, three F rows, no P row");
}

/// A contact type gone from the reference data: the contact's insert fails
/// in the commit flight (not a silent no-op), nothing else of the event
/// allocation stays, and the failure is not retried.
#[tokio::test]
async fn a_contact_insert_failing_with_commit_leaves_only_the_failure_row() {
    let arrange = "UPDATE r_contact_type SET code = 'ETOSX' WHERE code = 'ETOS'";
    let (h, before, failed) = case(arrange, "event", event(1, json!({})), Some("X123456")).await;
    let params = event_params(&h, "1").await;
    assert_failed_with_audit(&h, before, &failed, "CABI041", params).await;
}

/// The `P` row failing fails the work with it: the requirement's manager,
/// contact and flag, written ahead of it in the same flight, are rolled back.
#[tokio::test]
async fn the_work_never_commits_without_its_success_row() {
    let arrange = delius_testkit::rows::REFUSE_SUCCESS_ROWS;
    let (h, before, failed) = case(arrange, "requirements", requirement(9001, 1), Some("X123456")).await;
    let params = requirement_params(&h, 9001).await;
    assert_failed_with_audit(&h, before, &failed, "CABI038", params).await;

    // With the trigger gone the same message records the allocation: the
    // connection came back clean and nothing of the first attempt was kept.
    h.client.batch_execute(delius_testkit::rows::ALLOW_SUCCESS_ROWS).await.unwrap();
    let (_, before, failed) = case_on(&h, "requirements", requirement(9001, 1), Some("X123456")).await;
    assert_eq!(failed, Vec::<String>::new());
    assert_eq!(counts(&h.client).await.rqmnt_manager, before.rqmnt_manager + 1);
    let outcomes: Vec<String> = audits(&h.client).await.into_iter().map(|(_, _, outcome, _)| outcome).collect();
    assert_eq!(outcomes, ["F", "P"]);
}
