//! GET /probation-cases/{crn}/mappa against the real dev database.

use chrono::{Duration, NaiveDate};
use delius_db::time::london_today;
use delius_testkit::apigw::{SampleEvent, assert_forbidden_without_role, assert_json};
use delius_testkit::testing::route_database;
use lambda_http::{Body, Response};
use serde_json::json;

const EVENT: &str = "probation-case-mappa.json";

fn event_for(crn: &str) -> SampleEvent {
    SampleEvent::load(EVENT).path_param("crn", crn)
}

async fn get(db: &delius_db::Database, crn: &str) -> Response<Body> {
    probation_case_mappa::handle(db, event_for(crn).request()).await
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// A registration for `crn` of register type `register_type`, category and
/// level by code (looked up in their own code sets), returning its id.
#[allow(clippy::too_many_arguments)]
async fn register(
    client: &tokio_postgres::Client,
    crn: &str,
    register_type: &str,
    category: Option<&str>,
    level: Option<&str>,
    registered: NaiveDate,
    review: Option<NaiveDate>,
    deregistered: i16,
    soft_deleted: i16,
) -> i64 {
    client
        .query_one(
            "INSERT INTO registration (offender_id, register_type_id, register_category_id, register_level_id, \
                                       registration_date, next_review_date, deregistered, soft_deleted) \
             SELECT o.offender_id, t.register_type_id, \
                    (SELECT s.standard_reference_list_id FROM r_standard_reference_list s \
                     JOIN r_reference_data_master m USING (reference_data_master_id) \
                     WHERE m.code_set_name = 'REGISTER CATEGORY' AND s.code_value = $3), \
                    (SELECT s.standard_reference_list_id FROM r_standard_reference_list s \
                     JOIN r_reference_data_master m USING (reference_data_master_id) \
                     WHERE m.code_set_name = 'REGISTER LEVEL' AND s.code_value = $4), \
                    $5, $6, $7, $8 \
             FROM offender o, r_register_type t WHERE o.crn = $1 AND t.code = $2 \
             RETURNING registration_id",
            &[&crn, &register_type, &category, &level, &registered, &review, &deregistered, &soft_deleted],
        )
        .await
        .expect("insert registration")
        .get(0)
}

#[tokio::test]
async fn sample_event_gives_the_dev_persons_registration_field_by_field() {
    let (_test_db, db) = route_database().await;
    let request = SampleEvent::load(EVENT).request();
    let response = probation_case_mappa::handle(&db, request).await;
    let today = london_today();
    assert_json(
        &response,
        200,
        json!({
            "level": 2,
            "levelDescription": "MAPPA Level 2",
            "category": 1,
            "categoryDescription": "MAPPA Cat 1",
            "startDate": (today - Duration::days(30)).to_string(),
            "reviewDate": (today + Duration::days(60)).to_string(),
        }),
    );
}

#[tokio::test]
async fn the_latest_live_mappa_registration_wins_ties_by_highest_id() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client
        .execute("INSERT INTO r_register_type (code, description) VALUES ('RSO', 'Sex offender')", &[])
        .await
        .unwrap();
    let crn = "C123456";
    register(&client, crn, "MAPP", Some("M2"), Some("M1"), date("2024-01-01"), None, 0, 0).await;
    register(&client, crn, "MAPP", Some("M3"), Some("M1"), date("2024-03-01"), Some(date("2024-04-01")), 0, 0).await;
    register(&client, crn, "MAPP", Some("X9"), Some("M3"), date("2024-03-01"), Some(date("2024-09-01")), 0, 0).await;
    // Later, but not to be seen: deregistered, soft-deleted, another register type.
    register(&client, crn, "MAPP", Some("M4"), Some("M0"), date("2024-05-01"), None, 1, 0).await;
    register(&client, crn, "MAPP", Some("M4"), Some("M0"), date("2024-06-01"), None, 0, 1).await;
    register(&client, crn, "RSO", Some("M4"), Some("M0"), date("2024-07-01"), None, 0, 0).await;

    assert_json(
        &get(&db, crn).await,
        200,
        json!({
            "level": 3,
            "levelDescription": "MAPPA Level 3",
            "category": 0,
            "categoryDescription": "MAPPA Category 0 (X9)",
            "startDate": "2024-03-01",
            "reviewDate": "2024-09-01",
        }),
    );
}

#[tokio::test]
async fn absent_category_level_and_review_date_are_left_out() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    register(&client, "C123456", "MAPP", None, None, date("2024-02-29"), None, 0, 0).await;
    assert_json(&get(&db, "C123456").await, 200, json!({"startDate": "2024-02-29"}));

    // Level 0 and category 4 are numbers like any other.
    register(&client, "C123456", "MAPP", Some("M4"), Some("M0"), date("2024-03-01"), None, 0, 0).await;
    assert_json(
        &get(&db, "C123456").await,
        200,
        json!({"level": 0, "levelDescription": "MAPPA Level 0", "category": 4, "categoryDescription": "MAPPA Cat 4",
               "startDate": "2024-03-01"}),
    );
}

#[tokio::test]
async fn no_mappa_registration_is_404_with_the_message() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    // C123456 has none; a deregistered one does not count.
    register(&client, "C123456", "MAPP", Some("M1"), Some("M1"), date("2024-01-01"), None, 1, 0).await;
    for crn in ["C123456", "Z999999"] {
        assert_json(
            &get(&db, crn).await,
            404,
            json!({"status": 404, "message": format!("No MAPPA details found for {crn}")}),
        );
    }
    // A soft-deleted person's registrations are not seen either.
    client.execute("UPDATE offender SET soft_deleted = 1 WHERE crn = 'X123123'", &[]).await.unwrap();
    assert_json(
        &get(&db, "X123123").await,
        404,
        json!({"status": 404, "message": "No MAPPA details found for X123123"}),
    );
}

#[tokio::test]
async fn an_unknown_category_or_level_code_is_a_500() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client
        .batch_execute(
            "INSERT INTO r_standard_reference_list (reference_data_master_id, code_value, code_description) \
             SELECT reference_data_master_id, 'M9', 'Not a MAPPA code' FROM r_reference_data_master \
             WHERE code_set_name IN ('REGISTER CATEGORY', 'REGISTER LEVEL')",
        )
        .await
        .unwrap();
    let internal = json!({"status": 500, "message": "Internal server error"});
    let id = register(&client, "C123456", "MAPP", Some("M9"), Some("M1"), date("2024-01-01"), None, 0, 0).await;
    assert_json(&get(&db, "C123456").await, 500, internal.clone());
    client.execute("UPDATE registration SET soft_deleted = 1 WHERE registration_id = $1", &[&id]).await.unwrap();
    register(&client, "C123456", "MAPP", Some("M1"), Some("M9"), date("2024-01-01"), None, 0, 0).await;
    assert_json(&get(&db, "C123456").await, 500, internal);
}

#[tokio::test]
async fn without_the_case_detail_role_the_answer_is_403() {
    let (_test_db, db) = route_database().await;
    assert_forbidden_without_role(&event_for("X123123"), "SOME_OTHER_ROLE", async |request| {
        probation_case_mappa::handle(&db, request).await
    })
    .await;
}

/// `GET /probation-cases/X123123%00/mappa`.
#[tokio::test]
async fn a_nul_in_the_crn_is_400_not_500() {
    let (_test_db, db) = route_database().await;
    let event = event_for("X123123\u{0}").raw_path("/probation-cases/X123123%00/mappa");
    let response = probation_case_mappa::handle(&db, event.request()).await;
    assert_json(
        &response,
        400,
        json!({"status": 400, "message": "'crn' must not contain control characters (found U+0000)"}),
    );
}
