//! POST /appointments/{crn} against the real dev database.

use appointment_create::URN_PREFIX;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use delius_api::routes::CASE_DETAIL;
use delius_db::time::{london_now, london_today};
use delius_testkit::apigw::{SampleEvent, assert_forbidden_without_role};
use delius_testkit::rows::{add_second_active_manager, scalar, take_time_within};
use delius_testkit::testing::{RESETTLEMENT_PASSPORT_USER, TestDb, route_database};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

const CLIENT_BODY: &str =
    r#"{"type":"Health","start":"2024-04-15T14:32:00.000+01","duration":"PT30M","notes":"notes"}"#;

/// The sample event for `crn` with `body`.
fn post(crn: &str, body: &str) -> Request {
    SampleEvent::load("appointment-create.json").path_param("crn", crn).body(body).request()
}

/// The JSON body, validated against docs/openapi.yaml.
fn body(response: &Response<Body>) -> Value {
    delius_testkit::apigw::body(response)
}

fn day(offset: i64) -> NaiveDate {
    london_today() + chrono::Duration::days(offset)
}

/// A London local date-time as the API reads it without an offset.
fn local(date: NaiveDate, time: &str) -> String {
    format!("{date}T{time}")
}

fn appointment(kind: &str, start: &str, duration: &str) -> String {
    json!({"type": kind, "start": start, "duration": duration, "notes": "notes"}).to_string()
}

async fn id(client: &tokio_postgres::Client, sql: &str) -> i64 {
    scalar(client, sql).await
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    scalar(client, sql).await
}

async fn row_json(client: &tokio_postgres::Client, sql: &str, key: i64) -> Value {
    client.query_one(sql, &[&key]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// `(outcome, interaction_parameters, date_time)` of the CLBI003 audit rows, oldest first.
async fn audit_rows(client: &tokio_postgres::Client) -> Vec<(String, Option<String>, NaiveDateTime, i64)> {
    client
        .query(
            "SELECT a.outcome, a.interaction_parameters, a.date_time, a.user_id FROM audited_interaction a \
             JOIN business_interaction b USING (business_interaction_id) \
             WHERE b.business_interaction_code = 'CLBI003' ORDER BY a.date_time",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

struct Counts {
    contacts: i64,
    alerts: i64,
    audits: i64,
}

async fn counts(client: &tokio_postgres::Client) -> Counts {
    Counts {
        contacts: count(client, "SELECT count(*) FROM contact").await,
        alerts: count(client, "SELECT count(*) FROM contact_alert").await,
        audits: count(client, "SELECT count(*) FROM audited_interaction").await,
    }
}

/// Each request body for X123123 is a 400 with its message, and no contact,
/// alert or audit row is written.
async fn assert_refused_writing_nothing(
    db: &delius_db::Database,
    client: &tokio_postgres::Client,
    cases: &[(impl AsRef<str>, impl AsRef<str>)],
) {
    let before = counts(client).await;
    for (request, message) in cases {
        let (request, message) = (request.as_ref(), message.as_ref());
        let response = appointment_create::handle(db, post("X123123", request)).await;
        assert_eq!(response.status(), 400, "{request}");
        assert_eq!(body(&response), json!({"status": 400, "message": message}), "{request}");
    }
    let after = counts(client).await;
    assert_eq!((after.contacts, after.alerts, after.audits), (before.contacts, before.alerts, before.audits));
}

#[tokio::test]
async fn the_real_clients_request_creates_contact_alert_and_audit_row() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let before = counts(&client).await;
    let from = london_now();

    let response = appointment_create::handle(&db, post("X123123", CLIENT_BODY)).await;
    let to = london_now();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["content-type"], "application/json");
    let created = body(&response);
    let contact_id = created["id"].as_i64().expect("id");
    let urn = created["urn"].as_str().expect("urn").to_string();
    let uuid = urn.strip_prefix(URN_PREFIX).expect("URN prefix");
    assert_eq!(uuid::Uuid::parse_str(uuid).unwrap().hyphenated().to_string(), uuid, "lower-case canonical UUID");
    assert_eq!(created.as_object().unwrap().len(), 2);

    let offender_id = id(&client, "SELECT offender_id FROM offender WHERE crn = 'X123123'").await;
    let type_id = id(&client, "SELECT contact_type_id FROM r_contact_type WHERE code = 'RP7'").await;
    let area_id = id(&client, "SELECT probation_area_id FROM probation_area WHERE code = 'LDN'").await;
    let team_id = id(&client, "SELECT team_id FROM team WHERE code = 'N03DEF'").await;
    let staff_id = id(&client, "SELECT staff_id FROM staff WHERE officer_code = 'N03DEF1'").await;
    let user_id =
        id(&client, "SELECT user_id FROM user_ WHERE distinguished_name = 'ResettlementPassportAndDelius'").await;
    let manager_id = id(
        &client,
        &format!(
            "SELECT offender_manager_id FROM offender_manager WHERE offender_id = {offender_id} AND active_flag = 1"
        ),
    )
    .await;

    let mut contact = row_json(&client, "SELECT to_jsonb(c) FROM contact c WHERE contact_id = $1", contact_id).await;
    take_time_within(&mut contact, "created_datetime", from, to);
    take_time_within(&mut contact, "last_updated_datetime", from, to);
    assert_eq!(
        contact,
        json!({
            "contact_id": contact_id,
            "offender_id": offender_id,
            "event_id": null,
            "rqmnt_id": null,
            "lic_condition_id": null,
            "contact_type_id": type_id,
            "contact_outcome_type_id": null,
            // 14:32+01:00 is London summer time: stored as it is.
            "contact_date": "2024-04-15",
            "contact_start_time": "2024-04-15T14:32:00",
            "contact_end_time": "2024-04-15T15:02:00",
            "notes": "notes",
            "description": null,
            "probation_area_id": area_id,
            "team_id": team_id,
            "staff_id": staff_id,
            "staff_employee_id": null,
            "trust_provider_team_id": null,
            "trust_provider_flag": 0,
            "office_location_id": null,
            "external_reference": urn,
            "sensitive": null,
            "alert_active": "Y",
            "partition_area_id": 0,
            "soft_deleted": 0,
            "row_version": 0,
            "created_by_user_id": user_id,
            "last_updated_user_id": user_id,
        })
    );

    let alert = row_json(
        &client,
        "SELECT to_jsonb(a) - 'contact_alert_id' FROM contact_alert a WHERE contact_id = $1",
        contact_id,
    )
    .await;
    assert_eq!(
        alert,
        json!({
            "contact_id": contact_id,
            "contact_type_id": type_id,
            "offender_id": offender_id,
            "trust_provider_team_id": team_id,
            "staff_employee_id": staff_id,
            "offender_manager_id": manager_id,
            "trust_provider_flag": 0,
            "row_version": 0,
        })
    );

    let audits = audit_rows(&client).await;
    assert_eq!(audits.len(), 1);
    let (outcome, parameters, at, audit_user) = &audits[0];
    assert_eq!((outcome.as_str(), parameters.as_deref(), *audit_user), ("P", Some(""), user_id));
    assert!(from <= *at && *at <= to, "audit time {at}");

    let after = counts(&client).await;
    assert_eq!(
        (after.contacts, after.alerts, after.audits),
        (before.contacts + 1, before.alerts + 1, before.audits + 1)
    );
}

#[tokio::test]
async fn offsets_and_durations_in_other_forms() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let cases = [
        // Winter: +01:00 is an hour ahead of London.
        (
            r#"{"type":"Accommodation","start":"2024-01-15T14:32:00.000+0100","duration":"PT1H30M"}"#,
            "RP1",
            "2024-01-15T13:32:00",
            "2024-01-15T15:02:00",
        ),
        (
            r#"{"type":"Benefits","start":"2024-07-01T09:00:00Z","duration":"PT45M","notes":null}"#,
            "RP8",
            "2024-07-01T10:00:00",
            "2024-07-01T10:45:00",
        ),
        (
            r#"{"type":"Finance","start":"2024-07-01T23:45","duration":"PT30M"}"#,
            "RP6",
            "2024-07-01T23:45:00",
            "2024-07-02T00:15:00",
        ),
        (
            r#"{"type":"SkillsAndWork","start":"2023-02-12T10:15:00.382936Z[Europe/London]","duration":1800}"#,
            "RP5",
            "2023-02-12T10:15:00.382936",
            "2023-02-12T10:45:00.382936",
        ),
    ];
    for (request, code, start, end) in cases {
        let response = appointment_create::handle(&db, post("X123123", request)).await;
        assert_eq!(response.status(), 201, "{request}: {:?}", response.body());
        let contact_id = body(&response)["id"].as_i64().unwrap();
        let row = row_json(
            &client,
            "SELECT jsonb_build_object('code', t.code, 'date', c.contact_date, 'start', c.contact_start_time, \
                                       'end', c.contact_end_time, 'notes', c.notes) \
             FROM contact c JOIN r_contact_type t USING (contact_type_id) WHERE contact_id = $1",
            contact_id,
        )
        .await;
        assert_eq!(
            row,
            json!({"code": code, "date": &start[..10], "start": start, "end": end, "notes": null}),
            "{request}"
        );
    }
}

/// C123456's clash fixture, moved to 10:00-11:00 if the template was built so
/// late in the evening that its hour crosses midnight.
async fn clash_fixture(client: &tokio_postgres::Client) -> (NaiveDateTime, NaiveDateTime) {
    let row = client
        .query_one(
            "SELECT c.contact_id, c.contact_start_time, c.contact_end_time FROM contact c \
             JOIN offender o USING (offender_id) WHERE o.crn = 'C123456'",
            &[],
        )
        .await
        .unwrap();
    let (contact_id, start, end): (i64, NaiveDateTime, NaiveDateTime) = (row.get(0), row.get(1), row.get(2));
    if start.time() < NaiveTime::from_hms_opt(22, 0, 0).unwrap() {
        return (start, end);
    }
    let start = start.date().and_hms_opt(10, 0, 0).unwrap();
    let end = start + chrono::Duration::hours(1);
    client
        .execute(
            "UPDATE contact SET contact_start_time = $2, contact_end_time = $3 WHERE contact_id = $1",
            &[&contact_id, &start, &end],
        )
        .await
        .unwrap();
    (start, end)
}

#[tokio::test]
async fn a_clash_with_the_fixture_is_409_and_only_the_failure_is_audited() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let (fixture_start, _) = clash_fixture(&client).await;
    let before = counts(&client).await;

    let start = fixture_start.format("%Y-%m-%dT%H:%M:%S").to_string();
    let response = appointment_create::handle(&db, post("C123456", &appointment("Health", &start, "PT30M"))).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        body(&response),
        json!({"status": 409, "message": "Appointment conflicts with an existing future appointment"})
    );

    let after = counts(&client).await;
    assert_eq!((after.contacts, after.alerts, after.audits), (before.contacts, before.alerts, before.audits + 1));
    let audits = audit_rows(&client).await;
    assert_eq!(audits.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), ["F"]);
    assert_eq!(audits[0].1.as_deref(), Some(""));
}

#[tokio::test]
async fn the_clash_rule_keeps_its_string_comparison_quirks() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let date = day(7);
    // The fixture, pinned to 10:00-11:00 a week ahead.
    client
        .execute(
            "UPDATE contact SET contact_date = $1, contact_start_time = $2, contact_end_time = $3 \
             WHERE offender_id = (SELECT offender_id FROM offender WHERE crn = 'C123456')",
            &[&date, &date.and_hms_opt(10, 0, 0).unwrap(), &date.and_hms_opt(11, 0, 0).unwrap()],
        )
        .await
        .unwrap();
    let create = |start: String, duration: &'static str| {
        let db = &db;
        async move {
            let response =
                appointment_create::handle(db, post("C123456", &appointment("Finance", &start, duration))).await;
            response.status().as_u16()
        }
    };
    // Overlapping.
    assert_eq!(create(local(date, "10:15"), "PT30M").await, 409);
    assert_eq!(create(local(date, "10:59:30"), "PT1M").await, 409);
    // Ending exactly when the fixture starts still clashes: "10:00" < "10:00:00".
    assert_eq!(create(local(date, "09:00"), "PT1H").await, 409);
    // Starting exactly when the fixture ends does not: "11:00" > "11:00:00" is false.
    assert_eq!(create(local(date, "11:00"), "PT15M").await, 201);
    // Another day, and across midnight (end "00:15:00"), never clash.
    assert_eq!(create(local(day(8), "10:15"), "PT30M").await, 201);
    assert_eq!(create(local(date, "23:45"), "PT3H").await, 201);

    // Contacts with an outcome, without an end time, or of a non-attendance type do not count.
    let other = day(9);
    client
        .batch_execute(&format!(
            "INSERT INTO contact (offender_id, contact_type_id, contact_date, contact_start_time, contact_end_time, \
                                  contact_outcome_type_id, probation_area_id, team_id, staff_id)
             SELECT o.offender_id, t.contact_type_id, DATE '{other}', TIMESTAMP '{other} 10:00' + v.shift,
                    CASE WHEN v.ends THEN TIMESTAMP '{other} 11:00' + v.shift END, v.outcome,
                    om.probation_area_id, om.team_id, om.allocation_staff_id
             FROM offender o JOIN offender_manager om USING (offender_id),
                  (VALUES ('AT', interval '0', true, (SELECT contact_outcome_type_id FROM r_contact_outcome_type WHERE code = 'AO')),
                          ('AT', interval '2 hours', false, NULL::bigint),
                          ('NAT', interval '4 hours', true, NULL::bigint)) v(code, shift, ends, outcome)
             JOIN r_contact_type t ON t.code = v.code
             WHERE o.crn = 'C123456'"
        ))
        .await
        .unwrap();
    assert_eq!(create(local(other, "10:15"), "PT30M").await, 201);
    assert_eq!(create(local(other, "12:15"), "PT30M").await, 201);
    assert_eq!(create(local(other, "14:15"), "PT30M").await, 201);
    // Only future appointments are checked.
    let past = day(-2);
    client
        .execute(
            "INSERT INTO contact (offender_id, contact_type_id, contact_date, contact_start_time, contact_end_time, \
                                  probation_area_id, team_id, staff_id) \
             SELECT offender_id, contact_type_id, contact_date - 9, contact_start_time - interval '9 days', \
                    contact_end_time - interval '9 days', probation_area_id, team_id, staff_id \
             FROM contact WHERE contact_date = $1 AND external_reference IS NULL AND contact_outcome_type_id IS NULL",
            &[&date],
        )
        .await
        .unwrap();
    assert_eq!(create(local(past, "10:15"), "PT30M").await, 201);
}

#[tokio::test]
async fn a_replayed_uuid_answers_200_with_the_same_body_and_writes_nothing() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let request = json!({"type": "DrugsAndAlcohol", "start": local(day(10), "12:00"), "duration": "PT30M",
                         "notes": "first", "uuid": "0b9a6f0e-4c1d-4e0a-9d5b-2f3e4a5b6c7d"})
    .to_string();
    let first = appointment_create::handle(&db, post("C123456", &request)).await;
    assert_eq!(first.status(), 201);
    let created = body(&first);
    assert_eq!(created["urn"], json!(format!("{URN_PREFIX}0b9a6f0e-4c1d-4e0a-9d5b-2f3e4a5b6c7d")));
    let before = counts(&client).await;

    // The same uuid again, even with other details (it would clash with the first).
    let again = request.replace("first", "second");
    let replay = appointment_create::handle(&db, post("C123456", &again)).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(body(&replay), created);
    let after = counts(&client).await;
    assert_eq!((after.contacts, after.alerts, after.audits), (before.contacts, before.alerts, before.audits));
    let notes: String = client
        .query_one("SELECT notes FROM contact WHERE contact_id = $1", &[&created["id"].as_i64().unwrap()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(notes, "first");

    // The uuid belongs to C123456's appointment only: another person gets their own.
    let other = appointment_create::handle(&db, post("X123123", &request)).await;
    assert_eq!(other.status(), 201);
    assert_ne!(body(&other)["id"], created["id"]);
    assert_eq!(body(&other)["urn"], created["urn"]);
}

#[tokio::test]
async fn concurrent_requests_with_one_uuid_create_one_appointment() {
    let test_db = TestDb::new().await;
    let client = test_db.client().await;
    let before = counts(&client).await;
    let request = json!({"type": "Health", "start": local(day(11), "15:00"), "duration": "PT1H",
                         "uuid": "5e0f3a2b-7c4d-4e8f-9a1b-2c3d4e5f6a7b"})
    .to_string();
    let databases: Vec<_> = (0..4).map(|_| test_db.database(RESETTLEMENT_PASSPORT_USER, 1)).collect();
    let responses = futures_util::future::join_all(
        databases.iter().map(|db| appointment_create::handle(db, post("C123456", &request))),
    )
    .await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 201]);
    let bodies: Vec<Value> = responses.iter().map(body).collect();
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
    let after = counts(&client).await;
    assert_eq!(
        (after.contacts, after.alerts, after.audits),
        (before.contacts + 1, before.alerts + 1, before.audits + 1)
    );
}

#[tokio::test]
async fn bad_bodies_are_400_and_never_reach_the_database() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let cases: &[(&str, &str)] = &[
        ("", "Required request body is missing"),
        ("not json", "Malformed JSON request body: expected ident at line 1 column 2"),
        ("[]", "Request body must be a JSON object"),
        (r#"{"start":"2024-04-15T14:32:00.000+01","duration":"PT30M"}"#, "Required field 'type' is missing"),
        (r#"{"type":"Health","duration":"PT30M"}"#, "Required field 'start' is missing"),
        (r#"{"type":"Health","start":"2024-04-15T14:32:00.000+01"}"#, "Required field 'duration' is missing"),
        (
            r#"{"type":null,"start":"2024-04-15T14:32:00.000+01","duration":"PT30M"}"#,
            "Required field 'type' is missing",
        ),
        (
            r#"{"type":"health","start":"2024-04-15T14:32:00.000+01","duration":"PT30M"}"#,
            "Invalid value for 'type': 'health' is not one of Accommodation, ThinkingAndBehaviour, FamilyAndCommunity, DrugsAndAlcohol, SkillsAndWork, Finance, Health, Benefits",
        ),
        (
            r#"{"type":"RP7","start":"2024-04-15T14:32:00.000+01","duration":"PT30M"}"#,
            "Invalid value for 'type': 'RP7' is not one of Accommodation, ThinkingAndBehaviour, FamilyAndCommunity, DrugsAndAlcohol, SkillsAndWork, Finance, Health, Benefits",
        ),
        (
            r#"{"type":7,"start":"2024-04-15T14:32:00.000+01","duration":"PT30M"}"#,
            "Invalid value for 'type': expected a string",
        ),
        (r#"{"type":"Health","start":"","duration":"PT30M"}"#, "Invalid value for 'start': Invalid date-time: ''"),
        (
            r#"{"type":"Health","start":"2024-04-15","duration":"PT30M"}"#,
            "Invalid value for 'start': Invalid date-time: '2024-04-15'",
        ),
        (
            r#"{"type":"Health","start":"15/04/2024 14:32","duration":"PT30M"}"#,
            "Invalid value for 'start': Invalid date-time: '15/04/2024 14:32'",
        ),
        (
            r#"{"type":"Health","start":"2024-04-15T14:32:00.000+01","duration":"30 minutes"}"#,
            "Invalid value for 'duration': Invalid duration: '30 minutes'",
        ),
        (
            r#"{"type":"Health","start":"2024-04-15T14:32:00.000+01","duration":""}"#,
            "Invalid value for 'duration': Invalid duration: ''",
        ),
        (
            r#"{"type":"Health","start":"2024-04-15T14:32:00.000+01","duration":"PT30M","uuid":"not-a-uuid"}"#,
            "Invalid value for 'uuid': 'not-a-uuid'",
        ),
        (
            r#"{"type":"Health","start":"2024-04-15T14:32:00.000+01","duration":"PT30M","notes":["a"]}"#,
            "Invalid value for 'notes': expected a string",
        ),
    ];
    assert_refused_writing_nothing(&db, &client, cases).await;
}

#[tokio::test]
async fn business_rule_failures_write_only_the_failure_audit_row() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    // RP2 goes missing: only requests of that type notice.
    client.execute("UPDATE r_contact_type SET code = 'RP2X' WHERE code = 'RP2'", &[]).await.unwrap();
    let before = counts(&client).await;
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("D123456", CLIENT_BODY.to_string(), 404, "Person with crn of D123456 not found"),
        (
            "X123123",
            appointment("Health", "2024-04-15T14:32:00.000+01", "PT-1M"),
            400,
            "Appointment end time cannot be before start time.",
        ),
        (
            "X123123",
            appointment("Health", "2024-04-15T14:32:00.000+01", "-PT1M"),
            400,
            "Appointment end time cannot be before start time.",
        ),
        (
            "X123123",
            appointment("Health", "2024-04-15T14:32:00.000+01", "PT0S"),
            400,
            "Appointment end time cannot be before start time.",
        ),
        (
            "X123123",
            appointment("ThinkingAndBehaviour", "2024-04-15T14:32:00.000+01", "PT30M"),
            404,
            "AppointmentType with code of RP2 not found",
        ),
    ];
    for (crn, request, status, message) in &cases {
        let response = appointment_create::handle(&db, post(crn, request)).await;
        assert_eq!(response.status(), *status, "{crn} {request}");
        assert_eq!(body(&response), json!({"status": status, "message": message}), "{crn} {request}");
    }
    let after = counts(&client).await;
    assert_eq!((after.contacts, after.alerts), (before.contacts, before.alerts));
    let audits = audit_rows(&client).await;
    assert_eq!(audits.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), vec!["F"; cases.len()]);
}

#[tokio::test]
async fn a_person_without_an_active_manager_is_not_found() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client
        .execute(
            "UPDATE offender_manager SET active_flag = 0 \
             WHERE offender_id = (SELECT offender_id FROM offender WHERE crn = 'X123123')",
            &[],
        )
        .await
        .unwrap();
    let response = appointment_create::handle(&db, post("X123123", CLIENT_BODY)).await;
    assert_eq!(response.status(), 404);
    assert_eq!(body(&response), json!({"status": 404, "message": "Person with crn of X123123 not found"}));
}

#[tokio::test]
async fn without_the_appointment_role_the_answer_is_403() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let before = counts(&client).await;
    let event = SampleEvent::load("appointment-create.json");
    assert_forbidden_without_role(&event, CASE_DETAIL, async |request| appointment_create::handle(&db, request).await)
        .await;
    let after = counts(&client).await;
    assert_eq!((after.contacts, after.audits), (before.contacts, before.audits));
}

#[tokio::test]
async fn the_sample_events_are_accepted() {
    let (_test_db, db) = route_database().await;
    for file in ["appointment-create.json", "appointment-create-with-uuid.json"] {
        let response = appointment_create::handle(&db, SampleEvent::load(file).request()).await;
        assert_eq!(response.status(), 201, "{file}: {:?}", response.body());
    }
}

/// `"duration": "PT999999999999H"` used to overflow the end time and panic.
#[tokio::test]
async fn a_duration_past_the_year_9999_is_400_and_nothing_is_written() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let end_message = "Invalid value for 'duration': the appointment must end by 9999-12-31T23:59:59";
    let cases: Vec<(String, String)> = vec![
        (appointment("Health", "2024-04-15T14:32:00.000+01", "PT999999999999H"), end_message.into()),
        (appointment("Health", "9999-12-31T23:00:00Z", "PT2H"), end_message.into()),
        (
            json!({"type": "Health", "start": "2024-04-15T14:32:00Z", "duration": 1e300}).to_string(),
            "Invalid value for 'duration': Invalid duration: 1e+300".into(),
        ),
        (
            appointment("Health", "2024-04-15T14:32:00.000+01", "PT99999999999999999999H"),
            "Invalid value for 'duration': Invalid duration: 'PT99999999999999999999H'".into(),
        ),
        (
            json!({"type": "Health", "start": "2024-04-15T14:32:00Z", "duration": "PT1H", "notes": "a\u{0}"})
                .to_string(),
            "Invalid value for 'notes': must not contain control characters (found U+0000)".into(),
        ),
        (
            json!({"type": "Health\u{0}", "start": "2024-04-15T14:32:00Z", "duration": "PT1H"}).to_string(),
            "Invalid value for 'type': must not contain control characters (found U+0000)".into(),
        ),
    ];
    assert_refused_writing_nothing(&db, &client, &cases).await;
}

#[tokio::test]
async fn several_active_managers_are_a_500_as_the_reads_answer_and_nothing_is_written() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    add_second_active_manager(&client, "X123123").await;
    let before = counts(&client).await;
    let response = appointment_create::handle(&db, post("X123123", CLIENT_BODY)).await;
    assert_eq!(response.status(), 500);
    assert_eq!(body(&response), json!({"status": 500, "message": "Internal server error"}));
    let after = counts(&client).await;
    assert_eq!((after.contacts, after.alerts), (before.contacts, before.alerts));
    let audits = audit_rows(&client).await;
    assert_eq!(audits.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), vec!["F"]);
}

/// The contact goes out with the `P` row and `COMMIT` in one flight. When
/// its insert fails there (a trigger refuses it), the server rolls the whole
/// transaction back: no contact, no alert, no `P` row; the `F` row is
/// written; and the connection, back in the pool, serves the next request.
#[tokio::test]
async fn a_write_failing_with_commit_leaves_nothing_but_the_failure_row() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client
        .batch_execute(
            "CREATE FUNCTION refuse_contact() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.notes = 'refused' THEN RAISE EXCEPTION 'contact refused'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER refuse_contact BEFORE INSERT ON contact FOR EACH ROW EXECUTE FUNCTION refuse_contact()",
        )
        .await
        .unwrap();
    let before = counts(&client).await;
    let refused = json!({"type": "Health", "start": local(day(212), "02:10"), "duration": "PT1H", "notes": "refused",
                         "uuid": "0b7a8e52-3c1d-4f6e-9a2b-8c7d6e5f4a3b"})
    .to_string();
    let response = appointment_create::handle(&db, post("X123123", &refused)).await;
    assert_eq!(response.status(), 500);
    let after = counts(&client).await;
    assert_eq!((after.contacts, after.alerts), (before.contacts, before.alerts));
    assert_eq!(audit_rows(&client).await.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), ["F"]);

    // The same appointment, accepted now: not a replay (nothing of the first
    // attempt committed), and written on the pool's connection.
    let accepted = refused.replace("\"refused\"", "\"accepted\"");
    let response = appointment_create::handle(&db, post("X123123", &accepted)).await;
    assert_eq!(response.status(), 201, "{:?}", body(&response));
    let after = counts(&client).await;
    assert_eq!((after.contacts, after.alerts), (before.contacts + 1, before.alerts + 1));
    assert_eq!(audit_rows(&client).await.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), ["F", "P"]);
}

/// The `P` row is the last statement before `COMMIT`: when it fails, the
/// contact and alert sent ahead of it in the same flight are rolled back
/// with it. The work never commits without its success row, nor the row
/// without the work.
#[tokio::test]
async fn the_contact_never_commits_without_its_success_row() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client.batch_execute(delius_testkit::rows::REFUSE_SUCCESS_ROWS).await.unwrap();
    let before = counts(&client).await;
    let request = json!({"type": "Finance", "start": local(day(213), "02:10"), "duration": "PT1H",
                         "uuid": "1c8b9f63-4d2e-4a7f-8b3c-9d8e7f6a5b4c"})
    .to_string();
    let response = appointment_create::handle(&db, post("X123123", &request)).await;
    assert_eq!(response.status(), 500);
    let after = counts(&client).await;
    assert_eq!((after.contacts, after.alerts, after.audits), (before.contacts, before.alerts, before.audits + 1));
    assert_eq!(audit_rows(&client).await.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), ["F"]);

    client.batch_execute(delius_testkit::rows::ALLOW_SUCCESS_ROWS).await.unwrap();
    let response = appointment_create::handle(&db, post("X123123", &request)).await;
    assert_eq!(response.status(), 201, "not a replay: the first contact was rolled back");
}

/// A contact holding the URN that the person's lock did not keep out (a
/// writer outside this function; here a trigger inserts it just ahead of
/// ours, in the commit flight) is a unique violation: nothing is kept, the
/// `F` row is written, and the answer is a 503, since the request tried
/// again is answered from the replay check.
#[tokio::test]
async fn a_urn_taken_outside_the_lock_is_a_503_and_writes_nothing() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client
        .batch_execute(
            "CREATE FUNCTION twin_contact() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF pg_trigger_depth() = 1 AND NEW.notes = 'twin' THEN \
                 INSERT INTO contact SELECT (NEW).* ; \
                 NEW.contact_id := nextval('contact_id_seq'); \
               END IF; RETURN NEW; END $$; \
             CREATE TRIGGER twin_contact BEFORE INSERT ON contact FOR EACH ROW EXECUTE FUNCTION twin_contact()",
        )
        .await
        .unwrap();
    let before = counts(&client).await;
    let request = json!({"type": "Benefits", "start": local(day(214), "02:10"), "duration": "PT1H", "notes": "twin",
                         "uuid": "2d9c0a74-5e3f-4b8a-9c4d-0e9f8a7b6c5d"})
    .to_string();
    let response = appointment_create::handle(&db, post("X123123", &request)).await;
    assert_eq!(response.status(), 503, "{:?}", body(&response));
    let after = counts(&client).await;
    assert_eq!((after.contacts, after.alerts), (before.contacts, before.alerts));
    assert_eq!(audit_rows(&client).await.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(), ["F"]);
}
