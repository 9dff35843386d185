//! GET /duty-to-refer-nsi/{value}?type= against the real dev database.

use delius_api::routes::APPOINTMENT_RW;
use delius_db::time::london_today;
use delius_testkit::apigw::{SampleEvent, assert_forbidden_without_role, assert_json};
use delius_testkit::testing::route_database;
use lambda_http::{Body, Response};
use serde_json::{Value, json};

const BY_CRN: &str = "duty-to-refer-nsi.json";
const BY_NOMS: &str = "duty-to-refer-nsi-noms.json";

/// The CRN sample for `value`, with the query string `type` (none if `None`).
fn event_for(value: &str, kind: Option<&str>) -> SampleEvent {
    let event = SampleEvent::load(BY_CRN).path_param("value", value);
    match kind {
        Some(kind) => event.query(&format!("type={kind}")),
        None => event,
    }
}

async fn get(db: &delius_db::Database, value: &str, kind: Option<&str>) -> Response<Body> {
    duty_to_refer_nsi::handle(db, event_for(value, kind).request()).await
}

fn dev_person_nsi() -> Value {
    json!({
        "nsiSubType": "SUB",
        "referralDate": london_today().to_string(),
        "provider": "London",
        "team": "Team N03DEF",
        "officer": {"forename": "John", "surname": "Smith", "middleName": "James"},
        "status": "Initiated",
        "notes": "Duty to refer notes",
        "mainAddress": {
            "addressNumber": "11",
            "streetName": "Castle Street",
            "district": "Magic Land",
            "town": "My town",
            "county": "Hoth",
            "postcode": "ML01 1CS",
            "noFixedAbode": false,
        },
    })
}

/// An NSI of `crn`; timestamps and dates as text.
struct Nsi<'a> {
    kind: &'a str,
    status: &'a str,
    sub_type: Option<&'a str>,
    referral_date: &'a str,
    created: &'a str,
    actual_start: Option<&'a str>,
    notes: Option<&'a str>,
    active: i16,
    deleted: i16,
}

impl Default for Nsi<'_> {
    fn default() -> Self {
        Nsi {
            kind: "DTR",
            status: "INIT",
            sub_type: Some("SUB"),
            referral_date: "2024-01-01",
            created: "2024-01-01 09:00:00",
            actual_start: None,
            notes: None,
            active: 1,
            deleted: 0,
        }
    }
}

async fn insert_nsi(client: &tokio_postgres::Client, crn: &str, nsi: Nsi<'_>) -> i64 {
    client
        .query_one(
            "INSERT INTO nsi (offender_id, nsi_type_id, nsi_status_id, nsi_sub_type_id, referral_date, created_datetime, \
                              actual_start_date, notes, active_flag, soft_deleted) \
             SELECT o.offender_id, t.nsi_type_id, s.nsi_status_id, \
                    (SELECT standard_reference_list_id FROM r_standard_reference_list sub \
                     JOIN r_reference_data_master m USING (reference_data_master_id) \
                     WHERE m.code_set_name = 'NSI SUB TYPE' AND sub.code_value = $4), \
                    $5::text::date, $6::text::timestamp, $7::text::timestamp, $8, $9, $10 \
             FROM offender o, r_nsi_type t, r_nsi_status s WHERE o.crn = $1 AND t.code = $2 AND s.code = $3 \
             RETURNING nsi_id",
            &[
                &crn,
                &nsi.kind,
                &nsi.status,
                &nsi.sub_type,
                &nsi.referral_date,
                &nsi.created,
                &nsi.actual_start,
                &nsi.notes,
                &nsi.active,
                &nsi.deleted,
            ],
        )
        .await
        .expect("insert nsi")
        .get(0)
}

async fn insert_nsi_manager(client: &tokio_postgres::Client, nsi_id: i64, staff: &str, active: i16, deleted: i16) {
    client
        .execute(
            "INSERT INTO nsi_manager (nsi_id, staff_id, team_id, probation_area_id, active_flag, soft_deleted) \
             SELECT $1, s.staff_id, t.team_id, t.probation_area_id, $3, $4 \
             FROM staff s, team t WHERE s.officer_code = $2 AND t.code = 'N03DEF'",
            &[&nsi_id, &staff, &active, &deleted],
        )
        .await
        .expect("insert nsi manager");
}

/// An address of `crn` with status `status`, building name and postcode.
#[allow(clippy::too_many_arguments)]
async fn insert_address(
    client: &tokio_postgres::Client,
    crn: &str,
    status: &str,
    building: &str,
    postcode: &str,
    no_fixed_abode: Option<&str>,
    end_date: Option<&str>,
    deleted: i16,
) {
    client
        .execute(
            "INSERT INTO offender_address (offender_id, address_status_id, building_name, postcode, no_fixed_abode, \
                                           end_date, soft_deleted) \
             SELECT o.offender_id, s.standard_reference_list_id, $3, $4, $5, $6::text::date, $7 \
             FROM offender o, r_standard_reference_list s JOIN r_reference_data_master m USING (reference_data_master_id) \
             WHERE o.crn = $1 AND m.code_set_name = 'ADDRESS STATUS' AND s.code_value = $2",
            &[&crn, &status, &building, &postcode, &no_fixed_abode, &end_date, &deleted],
        )
        .await
        .expect("insert address");
}

#[tokio::test]
async fn sample_event_by_crn_gives_the_dev_persons_nsi_field_by_field() {
    let (_test_db, db) = route_database().await;
    let request = SampleEvent::load(BY_CRN).request();
    assert_json(&duty_to_refer_nsi::handle(&db, request).await, 200, dev_person_nsi());
    // Naming the default type gives the same.
    assert_json(&get(&db, "X123123", Some("CRN")).await, 200, dev_person_nsi());
    assert_json(&get(&db, "X123123", Some("")).await, 200, dev_person_nsi());
}

#[tokio::test]
async fn sample_event_by_noms_number_gives_the_same_nsi() {
    let (_test_db, db) = route_database().await;
    let request = SampleEvent::load(BY_NOMS).request();
    assert_json(&duty_to_refer_nsi::handle(&db, request).await, 200, dev_person_nsi());
}

#[tokio::test]
async fn a_type_other_than_crn_or_noms_is_400() {
    let (_test_db, db) = route_database().await;
    for kind in ["crn", "noms", "PNC"] {
        assert_json(
            &get(&db, "X123123", Some(kind)).await,
            400,
            json!({"status": 400, "message": format!("Invalid request parameter 'type': '{kind}' is not one of CRN, NOMS")}),
        );
    }
}

#[tokio::test]
async fn no_dtr_nsi_is_404_with_the_message_for_the_type() {
    let (test_db, db) = route_database().await;
    let not_found = |field: &str, value: &str| json!({"status": 404, "message": format!("DTR NSI with {field} of {value} not found")});
    assert_json(&get(&db, "C123456", None).await, 404, not_found("crn", "C123456"));
    assert_json(&get(&db, "Z999999", Some("CRN")).await, 404, not_found("crn", "Z999999"));
    assert_json(&get(&db, "Z9999ZZ", Some("NOMS")).await, 404, not_found("noms", "Z9999ZZ"));
    // A CRN is not a NOMS number.
    assert_json(&get(&db, "X123123", Some("NOMS")).await, 404, not_found("noms", "X123123"));

    // A soft-deleted person's NSIs are not seen.
    let client = test_db.client().await;
    client.execute("UPDATE offender SET soft_deleted = 1 WHERE crn = 'X123123'", &[]).await.unwrap();
    assert_json(&get(&db, "X123123", None).await, 404, not_found("crn", "X123123"));
    assert_json(&get(&db, "A1234YZ", Some("NOMS")).await, 404, not_found("noms", "A1234YZ"));
}

#[tokio::test]
async fn the_latest_live_initiated_dtr_nsi_wins_ties_by_highest_id() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client
        .batch_execute(
            "INSERT INTO r_nsi_type (code, description) VALUES ('OTH', 'Other'); \
             INSERT INTO r_nsi_status (code, description) VALUES ('COMP', 'Completed')",
        )
        .await
        .unwrap();
    let crn = "C123456";
    let at = |referral_date, created| Nsi { referral_date, created, ..Nsi::default() };
    insert_nsi(&client, crn, at("2024-01-10", "2024-01-01 09:00:00")).await;
    insert_nsi(&client, crn, at("2024-02-10", "2024-02-01 09:00:00")).await;
    let winner = insert_nsi(
        &client,
        crn,
        Nsi { actual_start: Some("2022-09-18 14:46:00"), ..at("2024-02-11", "2024-02-01 09:00:00") },
    )
    .await;
    // Later, but not to be seen.
    insert_nsi(&client, crn, Nsi { deleted: 1, ..at("2024-05-01", "2024-05-01 09:00:00") }).await;
    insert_nsi(&client, crn, Nsi { active: 0, ..at("2024-05-02", "2024-05-02 09:00:00") }).await;
    insert_nsi(&client, crn, Nsi { status: "COMP", ..at("2024-05-03", "2024-05-03 09:00:00") }).await;
    insert_nsi(&client, crn, Nsi { kind: "OTH", ..at("2024-05-04", "2024-05-04 09:00:00") }).await;
    // Managers that do not count: ended (inactive) and deleted.
    insert_nsi_manager(&client, winner, "N03DEF1", 0, 0).await;
    insert_nsi_manager(&client, winner, "LDNA001", 1, 1).await;

    // No manager, no notes, no main address: all left out.
    assert_json(
        &get(&db, crn, None).await,
        200,
        json!({"nsiSubType": "SUB", "referralDate": "2024-02-11", "status": "Initiated",
               "startDateTime": "2022-09-18T14:46:00+01:00"}),
    );
}

#[tokio::test]
async fn the_nsi_manager_and_the_current_main_address() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let crn = "C123456";
    let nsi = insert_nsi(
        &client,
        crn,
        Nsi { actual_start: Some("2024-01-15 09:30:00"), notes: Some("Line one\nLine two"), ..Nsi::default() },
    )
    .await;
    client.execute("UPDATE staff SET forename2 = NULL WHERE officer_code = 'LDNA001'", &[]).await.unwrap();
    insert_nsi_manager(&client, nsi, "LDNA001", 1, 0).await;
    // Not current: ended, deleted, previous.
    insert_address(&client, crn, "M", "Ended House", "EN1 1ED", Some("N"), Some("2023-12-31"), 0).await;
    insert_address(&client, crn, "M", "Deleted House", "DE1 1ED", Some("N"), None, 1).await;
    insert_address(&client, crn, "P", "Previous House", "PR1 1EV", Some("N"), None, 0).await;
    insert_address(&client, crn, "M", "Hostel", "HO1 1ST", Some("Y"), None, 0).await;

    let expected = |no_fixed_abode: bool| {
        json!({
            "nsiSubType": "SUB",
            "referralDate": "2024-01-01",
            "provider": "London",
            "team": "Team N03DEF",
            "officer": {"forename": "Terry", "surname": "Nutkins"},
            "status": "Initiated",
            "startDateTime": "2024-01-15T09:30:00Z",
            "notes": "Line one\nLine two",
            "mainAddress": {"buildingName": "Hostel", "postcode": "HO1 1ST", "noFixedAbode": no_fixed_abode},
        })
    };
    assert_json(&get(&db, crn, None).await, 200, expected(true));

    // No value in Delius still gives the flag the client needs.
    client
        .execute("UPDATE offender_address SET no_fixed_abode = NULL WHERE building_name = 'Hostel'", &[])
        .await
        .unwrap();
    assert_json(&get(&db, crn, None).await, 200, expected(false));
}

#[tokio::test]
async fn several_active_nsi_managers_or_main_addresses_is_a_500() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let internal = json!({"status": 500, "message": "Internal server error"});

    let nsi_id: i64 = client.query_one("SELECT nsi_id FROM nsi", &[]).await.unwrap().get(0);
    insert_nsi_manager(&client, nsi_id, "LDNA001", 1, 0).await;
    assert_json(&get(&db, "X123123", None).await, 500, internal.clone());

    client
        .execute(
            "UPDATE nsi_manager SET active_flag = 0 WHERE staff_id = \
                    (SELECT staff_id FROM staff WHERE officer_code = 'LDNA001')",
            &[],
        )
        .await
        .unwrap();
    assert_json(&get(&db, "X123123", None).await, 200, dev_person_nsi());

    insert_address(&client, "X123123", "M", "Second Main", "SE1 1MA", Some("N"), None, 0).await;
    assert_json(&get(&db, "X123123", None).await, 500, internal);
}

#[tokio::test]
async fn an_nsi_without_a_sub_type_is_a_500() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    insert_nsi(&client, "C123456", Nsi { sub_type: None, ..Nsi::default() }).await;
    assert_json(&get(&db, "C123456", None).await, 500, json!({"status": 500, "message": "Internal server error"}));
}

#[tokio::test]
async fn without_the_case_detail_role_the_answer_is_403() {
    let (_test_db, db) = route_database().await;
    let other_roles = format!("{APPOINTMENT_RW},SOME_OTHER_ROLE");
    let handle = async |request| duty_to_refer_nsi::handle(&db, request).await;
    assert_forbidden_without_role(&SampleEvent::load(BY_NOMS), &other_roles, handle).await;
    // The role check comes first: a bad type without the role is still 403.
    assert_forbidden_without_role(&event_for("X123123", Some("PNC")), &other_roles, handle).await;
}
