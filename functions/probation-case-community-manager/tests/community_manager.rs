//! GET /probation-cases/{crn}/community-manager against the real dev database.

use delius_api::routes::APPOINTMENT_RW;
use delius_testkit::apigw::{SampleEvent, assert_forbidden_without_role, assert_json};
use delius_testkit::testing::route_database;
use lambda_http::{Body, Response};
use serde_json::json;

const EVENT: &str = "probation-case-community-manager.json";

fn event_for(crn: &str) -> SampleEvent {
    SampleEvent::load(EVENT).path_param("crn", crn)
}

async fn get(db: &delius_db::Database, crn: &str) -> Response<Body> {
    probation_case_community_manager::handle(db, event_for(crn).request()).await
}

/// A staff member of area LDN, returning their id.
async fn insert_staff(client: &tokio_postgres::Client, code: &str, forename: &str, surname: &str) -> i64 {
    client
        .query_one(
            "INSERT INTO staff (officer_code, forename, surname, probation_area_id) \
             SELECT $1, $2, $3, probation_area_id FROM probation_area WHERE code = 'LDN' RETURNING staff_id",
            &[&code, &forename, &surname],
        )
        .await
        .expect("insert staff")
        .get(0)
}

/// A manager of `crn` in team N03DEF, area LDN.
async fn insert_manager(
    client: &tokio_postgres::Client,
    crn: &str,
    staff_id: i64,
    ended: bool,
    active: i16,
    deleted: i16,
) {
    client
        .execute(
            "INSERT INTO offender_manager (offender_id, allocation_staff_id, team_id, probation_area_id, \
                                           allocation_date, end_date, active_flag, soft_deleted) \
             SELECT o.offender_id, $2, t.team_id, t.probation_area_id, TIMESTAMP '2020-01-01 09:00', \
                    CASE WHEN $3 THEN TIMESTAMP '2021-01-01 09:00' END, $4, $5 \
             FROM offender o, team t WHERE o.crn = $1 AND t.code = 'N03DEF'",
            &[&crn, &staff_id, &ended, &active, &deleted],
        )
        .await
        .expect("insert offender manager");
}

async fn insert_person(client: &tokio_postgres::Client, crn: &str, soft_deleted: i16) {
    client
        .execute(
            "INSERT INTO offender (crn, first_name, surname, date_of_birth_date, soft_deleted) \
             VALUES ($1, 'Test', 'Person', DATE '1980-01-01', $2)",
            &[&crn, &soft_deleted],
        )
        .await
        .expect("insert offender");
}

#[tokio::test]
async fn sample_event_names_the_dev_persons_manager() {
    let (_test_db, db) = route_database().await;
    let request = SampleEvent::load(EVENT).request();
    let response = probation_case_community_manager::handle(&db, request).await;
    assert_json(&response, 200, json!({"name": {"forename": "John", "surname": "Smith"}, "unallocated": false}));
}

#[tokio::test]
async fn unallocated_staff_give_no_name() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let unallocated = insert_staff(&client, "N03DEFU", "Unallocated", "Staff").await;
    client
        .execute(
            "UPDATE offender_manager SET allocation_staff_id = $1 \
             WHERE offender_id = (SELECT offender_id FROM offender WHERE crn = 'C123456')",
            &[&unallocated],
        )
        .await
        .unwrap();
    assert_json(&get(&db, "C123456").await, 200, json!({"unallocated": true}));
}

#[tokio::test]
async fn only_the_live_active_manager_counts() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    insert_person(&client, "D200001", 0).await;
    let former = insert_staff(&client, "N03DEF2", "Former", "Manager").await;
    let deleted = insert_staff(&client, "N03DEF3", "Deleted", "Manager").await;
    let current = insert_staff(&client, "N03DEF4", "Current", "Manager").await;
    insert_manager(&client, "D200001", former, true, 0, 0).await;
    insert_manager(&client, "D200001", deleted, false, 1, 1).await;
    let not_found = json!({"status": 404, "message": "Person with crn of D200001 not found"});
    assert_json(&get(&db, "D200001").await, 404, not_found);

    insert_manager(&client, "D200001", current, false, 1, 0).await;
    assert_json(
        &get(&db, "D200001").await,
        200,
        json!({"name": {"forename": "Current", "surname": "Manager"}, "unallocated": false}),
    );
}

#[tokio::test]
async fn unknown_or_soft_deleted_people_are_404_with_the_message() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    insert_person(&client, "D200002", 1).await;
    let staff = insert_staff(&client, "N03DEF5", "Some", "Manager").await;
    insert_manager(&client, "D200002", staff, false, 1, 0).await;
    for crn in ["D200002", "Z999999"] {
        assert_json(
            &get(&db, crn).await,
            404,
            json!({"status": 404, "message": format!("Person with crn of {crn} not found")}),
        );
    }
}

#[tokio::test]
async fn several_active_managers_is_a_500() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    // Active, though ended: Delius data the original could not handle either.
    let other = insert_staff(&client, "N03DEF6", "Other", "Manager").await;
    insert_manager(&client, "X123123", other, true, 1, 0).await;
    assert_json(&get(&db, "X123123").await, 500, json!({"status": 500, "message": "Internal server error"}));
}

#[tokio::test]
async fn without_the_case_detail_role_the_answer_is_403() {
    let (_test_db, db) = route_database().await;
    assert_forbidden_without_role(&event_for("X123123"), APPOINTMENT_RW, async |request| {
        probation_case_community_manager::handle(&db, request).await
    })
    .await;
}
