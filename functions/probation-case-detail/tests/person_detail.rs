//! GET /probation-cases/{crn} against the real dev database.

use delius_testkit::apigw::{assert_json, parse};
use delius_testkit::testing::TestDb;
use lambda_http::{Body, Response};
use serde_json::{Value, json};

const EVENT: &str = include_str!("../../../events/apigw/probation-case-detail.json");
const USER: &str = "ResettlementPassportAndDelius";

fn event_for(crn: &str) -> Value {
    let mut event: Value = serde_json::from_str(EVENT).expect("sample event JSON");
    event["rawPath"] = json!(format!("/probation-cases/{crn}"));
    event["requestContext"]["http"]["path"] = event["rawPath"].clone();
    event["pathParameters"]["crn"] = json!(crn);
    event
}

async fn get(db: &delius_db::Database, crn: &str) -> Response<Body> {
    probation_case_detail::handle(db, parse(&event_for(crn))).await
}

#[tokio::test]
async fn sample_event_gives_the_dev_persons_details_field_by_field() {
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    let request = delius_testkit::apigw::parse_str(EVENT);
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
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    assert_json(
        &get(&db, "C123456").await,
        200,
        json!({"crn": "C123456", "name": {"forename": "James", "surname": "Brown"}, "dateOfBirth": "1990-05-12"}),
    );
}

#[tokio::test]
async fn absent_contact_details_are_left_out_one_by_one() {
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
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
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
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
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    let mut event = event_for("X123123");
    event["pathParameters"] = json!({});
    let response = probation_case_detail::handle(&db, parse(&event)).await;
    assert_json(&response, 400, json!({"status": 400, "message": "Missing path parameter crn"}));
}

#[tokio::test]
async fn without_the_case_detail_role_the_answer_is_403() {
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    let forbidden = json!({"status": 403, "message": "Access Denied"});

    let mut other_role = event_for("X123123");
    other_role["requestContext"]["authorizer"]["lambda"]["roles"] = json!("");
    assert_json(&probation_case_detail::handle(&db, parse(&other_role)).await, 403, forbidden.clone());

    let mut no_authorizer = event_for("X123123");
    no_authorizer["requestContext"].as_object_mut().unwrap().remove("authorizer");
    assert_json(&probation_case_detail::handle(&db, parse(&no_authorizer)).await, 403, forbidden);
}
