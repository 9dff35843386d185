//! GET /probation-cases/{crn} against the real dev database.

use delius_testkit::apigw::{SampleEvent, assert_forbidden_without_role, assert_json};
use delius_testkit::testing::route_database;
use lambda_http::{Body, Response};
use serde_json::json;

const EVENT: &str = "probation-case-detail.json";

fn event_for(crn: &str) -> SampleEvent {
    SampleEvent::load(EVENT).path_param("crn", crn)
}

async fn get(db: &delius_db::Database, crn: &str) -> Response<Body> {
    probation_case_detail::handle(db, event_for(crn).request()).await
}

#[tokio::test]
async fn sample_event_gives_the_dev_persons_details_field_by_field() {
    let (_test_db, db) = route_database().await;
    let request = SampleEvent::load(EVENT).request();
    let response = probation_case_detail::handle(&db, request).await;
    assert_json(
        &response,
        200,
        json!({
            "crn": "X123123",
            "name": {"forename": "Fred", "surname": "Williams"},
            "dateOfBirth": "1982-08-19",
            "contactDetails": {"telephone": "020 346 7982", "mobile": "07452819463", "email": "freddy@justice.co.uk"},
        }),
    );
}

#[tokio::test]
async fn without_any_contact_details_the_object_is_left_out() {
    let (_test_db, db) = route_database().await;
    assert_json(
        &get(&db, "C123456").await,
        200,
        json!({"crn": "C123456", "name": {"forename": "James", "surname": "Brown"}, "dateOfBirth": "1990-05-12"}),
    );
}

#[tokio::test]
async fn absent_contact_details_are_left_out_one_by_one() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client
        .batch_execute(
            "INSERT INTO offender (crn, first_name, surname, date_of_birth_date, mobile_number) \
             VALUES ('D300001', 'Mo', 'Bile', DATE '2000-02-29', '07000 000001'); \
             INSERT INTO offender (crn, first_name, surname, date_of_birth_date, telephone_number, e_mail_address) \
             VALUES ('D300002', 'Tele', 'Phone', DATE '1975-12-31', '0113 000 0000', 'tp@example.org')",
        )
        .await
        .unwrap();
    assert_json(
        &get(&db, "D300001").await,
        200,
        json!({"crn": "D300001", "name": {"forename": "Mo", "surname": "Bile"}, "dateOfBirth": "2000-02-29",
               "contactDetails": {"mobile": "07000 000001"}}),
    );
    assert_json(
        &get(&db, "D300002").await,
        200,
        json!({"crn": "D300002", "name": {"forename": "Tele", "surname": "Phone"}, "dateOfBirth": "1975-12-31",
               "contactDetails": {"telephone": "0113 000 0000", "email": "tp@example.org"}}),
    );
}

#[tokio::test]
async fn unknown_or_soft_deleted_people_are_404_with_the_message() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client
        .batch_execute(
            "INSERT INTO offender (crn, first_name, surname, date_of_birth_date, soft_deleted) \
             VALUES ('D300003', 'Gone', 'Person', DATE '1980-01-01', 1)",
        )
        .await
        .unwrap();
    for crn in ["D300003", "Z999999", "x123123"] {
        assert_json(
            &get(&db, crn).await,
            404,
            json!({"status": 404, "message": format!("Person with crn of {crn} not found")}),
        );
    }
}

#[tokio::test]
async fn a_missing_path_parameter_is_400() {
    let (_test_db, db) = route_database().await;
    let mut event = event_for("X123123");
    event.0["pathParameters"] = json!({});
    let response = probation_case_detail::handle(&db, event.request()).await;
    assert_json(&response, 400, json!({"status": 400, "message": "Missing path parameter crn"}));
}

#[tokio::test]
async fn without_the_case_detail_role_the_answer_is_403() {
    let (_test_db, db) = route_database().await;
    assert_forbidden_without_role(&event_for("X123123"), "", async |request| {
        probation_case_detail::handle(&db, request).await
    })
    .await;
}
