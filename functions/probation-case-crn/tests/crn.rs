//! GET /probation-cases/{nomsId}/crn against the real dev database.

use delius_api::routes::APPOINTMENT_RW;
use delius_testkit::apigw::{SampleEvent, assert_forbidden_without_role, assert_json};
use delius_testkit::testing::route_database;
use serde_json::json;

const EVENT: &str = "probation-case-crn.json";

fn event_for(noms_id: &str) -> SampleEvent {
    SampleEvent::load(EVENT).path_param("nomsId", noms_id)
}

async fn insert_person(client: &tokio_postgres::Client, crn: &str, noms: &str, soft_deleted: i16) {
    client
        .execute(
            "INSERT INTO offender (crn, noms_number, first_name, surname, date_of_birth_date, soft_deleted) \
             VALUES ($1, $2, 'Test', 'Person', DATE '1980-01-01', $3)",
            &[&crn, &noms, &soft_deleted],
        )
        .await
        .expect("insert offender");
}

#[tokio::test]
async fn sample_event_finds_the_dev_persons_crn() {
    let (_test_db, db) = route_database().await;
    let request = SampleEvent::load(EVENT).request();
    let response = probation_case_crn::handle(&db, request).await;
    assert_json(&response, 200, json!({"crn": "X123123"}));
}

#[tokio::test]
async fn unknown_noms_number_is_404_with_the_message() {
    let (_test_db, db) = route_database().await;
    let response = probation_case_crn::handle(&db, event_for("N4567FD").request()).await;
    assert_json(&response, 404, json!({"status": 404, "message": "Person with nomsId of N4567FD not found"}));
}

#[tokio::test]
async fn the_match_is_exact_and_case_sensitive() {
    let (_test_db, db) = route_database().await;
    // (A NOMS number longer than Delius's seven characters is a 400: see below.)
    for noms in ["a1234yz", "A1234Y"] {
        let response = probation_case_crn::handle(&db, event_for(noms).request()).await;
        assert_json(
            &response,
            404,
            json!({"status": 404, "message": format!("Person with nomsId of {noms} not found")}),
        );
    }
}

#[tokio::test]
async fn soft_deleted_people_are_not_found_and_do_not_compete() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    insert_person(&client, "D100001", "B2345CD", 1).await;
    let response = probation_case_crn::handle(&db, event_for("B2345CD").request()).await;
    assert_json(&response, 404, json!({"status": 404, "message": "Person with nomsId of B2345CD not found"}));

    // A live person beside a deleted one with the same NOMS number is the answer.
    insert_person(&client, "D100002", "B2345CD", 0).await;
    let response = probation_case_crn::handle(&db, event_for("B2345CD").request()).await;
    assert_json(&response, 200, json!({"crn": "D100002"}));
}

#[tokio::test]
async fn several_live_people_with_one_noms_number_is_a_500() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    insert_person(&client, "D100003", "C3456DE", 0).await;
    insert_person(&client, "D100004", "C3456DE", 0).await;
    let response = probation_case_crn::handle(&db, event_for("C3456DE").request()).await;
    assert_json(&response, 500, json!({"status": 500, "message": "Internal server error"}));
}

#[tokio::test]
async fn a_missing_path_parameter_is_400() {
    let (_test_db, db) = route_database().await;
    let mut event = event_for("A1234YZ");
    event.0.as_object_mut().unwrap().remove("pathParameters");
    let response = probation_case_crn::handle(&db, event.request()).await;
    assert_json(&response, 400, json!({"status": 400, "message": "Missing path parameter nomsId"}));
}

#[tokio::test]
async fn without_the_case_detail_role_the_answer_is_403() {
    let (_test_db, db) = route_database().await;
    assert_forbidden_without_role(&event_for("A1234YZ"), APPOINTMENT_RW, async |request| {
        probation_case_crn::handle(&db, request).await
    })
    .await;
}

/// `GET /probation-cases/X123123%00/crn`: API Gateway decodes the NUL into the
/// path parameter. PostgreSQL cannot take it, so it never gets that far.
#[tokio::test]
async fn a_nul_in_the_noms_id_is_400_not_500() {
    let (_test_db, db) = route_database().await;
    let event = event_for("X123123\u{0}").raw_path("/probation-cases/X123123%00/crn");
    let response = probation_case_crn::handle(&db, event.request()).await;
    assert_json(
        &response,
        400,
        json!({"status": 400, "message": "'nomsId' must not contain control characters (found U+0000)"}),
    );
    let response = probation_case_crn::handle(&db, event_for("A1234YZ1").request()).await;
    assert_json(&response, 400, json!({"status": 400, "message": "'nomsId' must be at most 7 characters"}));
}
