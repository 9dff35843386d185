//! GET /probation-cases/{nomsId}/crn against the real dev database.

use delius_testkit::apigw::{assert_json, parse};
use delius_testkit::testing::TestDb;
use serde_json::{Value, json};

const EVENT: &str = include_str!("../../../events/apigw/probation-case-crn.json");
const USER: &str = "ResettlementPassportAndDelius";

fn event_for(noms_id: &str) -> Value {
    let mut event: Value = serde_json::from_str(EVENT).expect("sample event JSON");
    event["rawPath"] = json!(format!("/probation-cases/{noms_id}/crn"));
    event["requestContext"]["http"]["path"] = event["rawPath"].clone();
    event["pathParameters"]["nomsId"] = json!(noms_id);
    event
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
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    let request = delius_testkit::apigw::parse_str(EVENT);
    let response = probation_case_crn::handle(&db, request).await;
    assert_json(&response, 200, json!({"crn": "X123123"}));
}

#[tokio::test]
async fn unknown_noms_number_is_404_with_the_message() {
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    let response = probation_case_crn::handle(&db, parse(&event_for("N4567FD"))).await;
    assert_json(&response, 404, json!({"status": 404, "message": "Person with nomsId of N4567FD not found"}));
}

#[tokio::test]
async fn the_match_is_exact_and_case_sensitive() {
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    // (A NOMS number longer than Delius's seven characters is a 400: see below.)
    for noms in ["a1234yz", "A1234Y"] {
        let response = probation_case_crn::handle(&db, parse(&event_for(noms))).await;
        assert_json(
            &response,
            404,
            json!({"status": 404, "message": format!("Person with nomsId of {noms} not found")}),
        );
    }
}

#[tokio::test]
async fn soft_deleted_people_are_not_found_and_do_not_compete() {
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    let client = test_db.client().await;
    insert_person(&client, "D100001", "B2345CD", 1).await;
    let response = probation_case_crn::handle(&db, parse(&event_for("B2345CD"))).await;
    assert_json(&response, 404, json!({"status": 404, "message": "Person with nomsId of B2345CD not found"}));

    // A live person beside a deleted one with the same NOMS number is the answer.
    insert_person(&client, "D100002", "B2345CD", 0).await;
    let response = probation_case_crn::handle(&db, parse(&event_for("B2345CD"))).await;
    assert_json(&response, 200, json!({"crn": "D100002"}));
}

#[tokio::test]
async fn several_live_people_with_one_noms_number_is_a_500() {
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    let client = test_db.client().await;
    insert_person(&client, "D100003", "C3456DE", 0).await;
    insert_person(&client, "D100004", "C3456DE", 0).await;
    let response = probation_case_crn::handle(&db, parse(&event_for("C3456DE"))).await;
    assert_json(&response, 500, json!({"status": 500, "message": "Internal server error"}));
}

#[tokio::test]
async fn a_missing_path_parameter_is_400() {
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    let mut event = event_for("A1234YZ");
    event.as_object_mut().unwrap().remove("pathParameters");
    let response = probation_case_crn::handle(&db, parse(&event)).await;
    assert_json(&response, 400, json!({"status": 400, "message": "Missing path parameter nomsId"}));
}

#[tokio::test]
async fn without_the_case_detail_role_the_answer_is_403() {
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    let forbidden = json!({"status": 403, "message": "Access Denied"});

    let mut other_role = event_for("A1234YZ");
    other_role["requestContext"]["authorizer"]["lambda"]["roles"] =
        json!("PROBATION_API__RESETTLEMENT_PASSPORT__APPOINTMENT_RW");
    assert_json(&probation_case_crn::handle(&db, parse(&other_role)).await, 403, forbidden.clone());

    let mut no_authorizer = event_for("A1234YZ");
    no_authorizer["requestContext"].as_object_mut().unwrap().remove("authorizer");
    assert_json(&probation_case_crn::handle(&db, parse(&no_authorizer)).await, 403, forbidden);
}

/// `GET /probation-cases/X123123%00/crn`: API Gateway decodes the NUL into the
/// path parameter. PostgreSQL cannot take it, so it never gets that far.
#[tokio::test]
async fn a_nul_in_the_noms_id_is_400_not_500() {
    let test_db = TestDb::new().await;
    let db = test_db.database(USER, 1);
    let mut event = event_for("X123123\u{0}");
    event["rawPath"] = json!("/probation-cases/X123123%00/crn");
    event["requestContext"]["http"]["path"] = event["rawPath"].clone();
    let response = probation_case_crn::handle(&db, parse(&event)).await;
    assert_json(
        &response,
        400,
        json!({"status": 400, "message": "'nomsId' must not contain control characters (found U+0000)"}),
    );
    let response = probation_case_crn::handle(&db, parse(&event_for("A1234YZ1"))).await;
    assert_json(&response, 400, json!({"status": 400, "message": "'nomsId' must be at most 7 characters"}));
}
