//! POST /nomis-case-note/{crn} against the real dev database.

use chrono::NaiveDateTime;
use delius_api::routes::CASE_DETAIL;
use delius_db::time::{london_now, london_today};
use delius_testkit::apigw::{SampleEvent, assert_forbidden_without_role};
use delius_testkit::rows::{add_second_active_manager, scalar as id, take_time_within};
use delius_testkit::testing::{RESETTLEMENT_PASSPORT_USER, TestDb, route_database};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

const NOTES: &str = "Case note summary from Resettlement Passport\n\nAccommodation: Support needed\nAttitudes, thinking and behaviour: No support needed";

/// The sample event for `crn` with `body`.
fn post(crn: &str, body: &str) -> Request {
    SampleEvent::load("nomis-case-note-create.json").path_param("crn", crn).body(body).request()
}

fn case_note(kind: &str, date_time: &str, prison: &str, forename: &str, surname: &str) -> String {
    json!({"type": kind, "dateTime": date_time, "notes": NOTES,
           "author": {"prisonCode": prison, "forename": forename, "surname": surname}})
    .to_string()
}

/// The JSON body, validated against docs/openapi.yaml.
fn problem(response: &Response<Body>) -> Value {
    delius_testkit::apigw::body(response)
}

fn assert_created(response: &Response<Body>) {
    assert_eq!(response.status(), 201, "{:?}", response.body());
    assert!(matches!(response.body(), Body::Empty), "no body: {:?}", response.body());
    delius_testkit::apigw::assert_documented(response);
}

/// The contacts written after `after_id`, as JSON rows.
async fn new_contacts(client: &tokio_postgres::Client, after_id: i64) -> Vec<Value> {
    client
        .query("SELECT to_jsonb(c) FROM contact c WHERE contact_id > $1 ORDER BY contact_id", &[&after_id])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn audit_outcomes(client: &tokio_postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT a.outcome FROM audited_interaction a JOIN business_interaction b USING (business_interaction_id) \
             WHERE b.business_interaction_code = 'CLBI003' AND a.interaction_parameters = '' ORDER BY a.date_time",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

struct Ids {
    offender: i64,
    ldn: i64,
    csn_team: i64,
    def_team: i64,
    john_smith: i64,
    manager: i64,
    user: i64,
}

async fn ids(client: &tokio_postgres::Client) -> Ids {
    let offender = id(client, "SELECT offender_id FROM offender WHERE crn = 'X123123'").await;
    Ids {
        offender,
        ldn: id(client, "SELECT probation_area_id FROM probation_area WHERE code = 'LDN'").await,
        csn_team: id(client, "SELECT team_id FROM team WHERE code = 'LDNCSN'").await,
        def_team: id(client, "SELECT team_id FROM team WHERE code = 'N03DEF'").await,
        john_smith: id(client, "SELECT staff_id FROM staff WHERE officer_code = 'N03DEF1'").await,
        manager: id(
            client,
            &format!(
                "SELECT offender_manager_id FROM offender_manager WHERE offender_id = {offender} AND active_flag = 1"
            ),
        )
        .await,
        user: id(client, "SELECT user_id FROM user_ WHERE distinguished_name = 'ResettlementPassportAndDelius'").await,
    }
}

async fn max_id(client: &tokio_postgres::Client, table: &str, column: &str) -> i64 {
    id(client, &format!("SELECT coalesce(max({column}), 0) FROM {table}")).await
}

#[tokio::test]
async fn an_existing_author_is_matched_ignoring_case() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let ids = ids(&client).await;
    let (last_contact, staff_before) =
        (max_id(&client, "contact", "contact_id").await, max_id(&client, "staff", "staff_id").await);
    let from = london_now();

    // The real client's request (the sample), with the author's name in other cases.
    let body = case_note("IMMEDIATE_NEEDS_REPORT", "2024-06-04T09:16:04+01:00", "LDN", "jOHN", "SMITH");
    let response = nomis_case_note_create::handle(&db, post("X123123", &body)).await;
    let to = london_now();
    assert_created(&response);

    let rp9 = id(&client, "SELECT contact_type_id FROM r_contact_type WHERE code = 'RP9'").await;
    let mut contacts = new_contacts(&client, last_contact).await;
    assert_eq!(contacts.len(), 1);
    let contact = &mut contacts[0];
    let contact_id = contact["contact_id"].as_i64().unwrap();
    take_time_within(contact, "created_datetime", from, to);
    take_time_within(contact, "last_updated_datetime", from, to);
    assert_eq!(
        *contact,
        json!({
            "contact_id": contact_id,
            "offender_id": ids.offender,
            "event_id": null,
            "rqmnt_id": null,
            "lic_condition_id": null,
            "contact_type_id": rp9,
            "contact_outcome_type_id": null,
            "contact_date": "2024-06-04",
            "contact_start_time": "2024-06-04T09:16:04",
            "contact_end_time": null,
            "notes": NOTES,
            "description": null,
            // The author's assignment: the prison's provider and case-note team.
            "probation_area_id": ids.ldn,
            "team_id": ids.csn_team,
            "staff_id": ids.john_smith,
            "staff_employee_id": null,
            "trust_provider_team_id": null,
            "trust_provider_flag": 0,
            "office_location_id": null,
            "external_reference": null,
            "sensitive": null,
            "alert_active": "Y",
            "partition_area_id": 0,
            "soft_deleted": 0,
            "row_version": 0,
            "created_by_user_id": ids.user,
            "last_updated_user_id": ids.user,
        })
    );
    // The alert goes to the community manager, not the author.
    let alert: Value = client
        .query_one("SELECT to_jsonb(a) - 'contact_alert_id' FROM contact_alert a WHERE contact_id = $1", &[&contact_id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        alert,
        json!({"contact_id": contact_id, "contact_type_id": rp9, "offender_id": ids.offender,
               "trust_provider_team_id": ids.def_team, "staff_employee_id": ids.john_smith,
               "offender_manager_id": ids.manager, "trust_provider_flag": 0, "row_version": 0})
    );
    let audit: Vec<(String, NaiveDateTime, i64)> = client
        .query(
            "SELECT a.outcome, a.date_time, a.user_id FROM audited_interaction a \
             JOIN business_interaction b USING (business_interaction_id) \
             WHERE b.business_interaction_code = 'CLBI003' AND a.interaction_parameters = ''",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(audit.len(), 1);
    assert_eq!((audit[0].0.as_str(), audit[0].2), ("P", ids.user));
    assert!(from <= audit[0].1 && audit[0].1 <= to);
    assert_eq!(max_id(&client, "staff", "staff_id").await, staff_before, "no staff created");
}

#[tokio::test]
async fn a_new_author_gets_the_next_officer_code_and_the_case_note_team() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let ids = ids(&client).await;
    let last_contact = max_id(&client, "contact", "contact_id").await;
    let from = london_now();

    // The sample: PRE_RELEASE_REPORT with a description, author Alex Officer of prison LDNHMP.
    let request = SampleEvent::load("nomis-case-note-create-new-author.json").request();
    let response = nomis_case_note_create::handle(&db, request).await;
    let to = london_now();
    assert_created(&response);

    let mut staff: Value = client
        .query_one("SELECT to_jsonb(s) FROM staff s WHERE officer_code = 'LDNA002'", &[])
        .await
        .expect("staff LDNA002 created")
        .get(0);
    let staff_id = staff["staff_id"].as_i64().unwrap();
    take_time_within(&mut staff, "created_datetime", from, to);
    take_time_within(&mut staff, "last_updated_datetime", from, to);
    assert_eq!(
        staff,
        json!({"staff_id": staff_id, "officer_code": "LDNA002", "forename": "Alex", "forename2": null,
               "surname": "Officer", "probation_area_id": ids.ldn, "staff_grade_id": null,
               "start_date": london_today().to_string(), "end_date": null, "private": 0, "row_version": 0,
               "created_by_user_id": ids.user, "last_updated_user_id": ids.user})
    );
    let mut staff_team: Value = client
        .query_one("SELECT to_jsonb(st) FROM staff_team st WHERE staff_id = $1", &[&staff_id])
        .await
        .unwrap()
        .get(0);
    take_time_within(&mut staff_team, "created_datetime", from, to);
    take_time_within(&mut staff_team, "last_updated_datetime", from, to);
    assert_eq!(
        staff_team,
        json!({"staff_id": staff_id, "team_id": ids.csn_team, "row_version": 0,
               "created_by_user_id": ids.user, "last_updated_user_id": ids.user})
    );

    let contacts = new_contacts(&client, last_contact).await;
    assert_eq!(contacts.len(), 1);
    let rp10 = id(&client, "SELECT contact_type_id FROM r_contact_type WHERE code = 'RP10'").await;
    let c = &contacts[0];
    assert_eq!(
        (&c["contact_type_id"], &c["description"], &c["staff_id"], &c["team_id"], &c["probation_area_id"]),
        (
            &json!(rp10),
            &json!("NOMIS Case Note - Resettlement - Pre-release report"),
            &json!(staff_id),
            &json!(ids.csn_team),
            &json!(ids.ldn)
        )
    );
    assert_eq!((&c["contact_start_time"], &c["contact_end_time"]), (&json!("2024-06-04T09:16:04"), &Value::Null));

    // The same author again, in other cases: found, not created again.
    let again = case_note("IMMEDIATE_NEEDS_REPORT", "2024-06-05T10:00:00Z", "LDN", "ALEX", "officer");
    assert_created(&nomis_case_note_create::handle(&db, post("X123123", &again)).await);
    let named: i64 = id(&client, "SELECT count(*) FROM staff WHERE upper(surname) = 'OFFICER'").await;
    assert_eq!(named, 1);
    let contacts = new_contacts(&client, last_contact).await;
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[1]["staff_id"], json!(staff_id));
    // Z in June is 11:00 in London.
    assert_eq!(contacts[1]["contact_start_time"], json!("2024-06-05T11:00:00"));
    assert_eq!(audit_outcomes(&client).await, ["P", "P"]);
}

#[tokio::test]
async fn officer_codes_skip_to_the_next_letter_when_one_is_used_up() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client
        .batch_execute(
            "INSERT INTO staff (officer_code, forename, surname, probation_area_id)
             SELECT 'ldna999', 'Full', 'Letter', probation_area_id FROM probation_area WHERE code = 'LDN';
             INSERT INTO staff (officer_code, forename, surname, probation_area_id)
             SELECT 'LDNB041', 'Forty', 'One', probation_area_id FROM probation_area WHERE code = 'LDN';",
        )
        .await
        .unwrap();
    let body = case_note("PRE_RELEASE_REPORT", "2024-06-04T09:16:04+01:00", "LDN", "Brand", "New");
    assert_created(&nomis_case_note_create::handle(&db, post("X123123", &body)).await);
    let code: String = client
        .query_one("SELECT officer_code FROM staff WHERE forename = 'Brand' AND surname = 'New'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(code, "LDNB042");
}

#[tokio::test]
async fn concurrent_case_notes_by_one_new_author_create_one_staff_member() {
    let test_db = TestDb::new().await;
    let client = test_db.client().await;
    let last_contact = max_id(&client, "contact", "contact_id").await;
    // Separate pools, as separate Lambda containers would have.
    let databases: Vec<_> = (0..4).map(|_| test_db.database(RESETTLEMENT_PASSPORT_USER, 1)).collect();
    let body = case_note("IMMEDIATE_NEEDS_REPORT", "2024-06-04T09:16:04+01:00", "LDN", "Concurrent", "Author");
    let responses = futures_util::future::join_all(
        databases.iter().map(|db| nomis_case_note_create::handle(db, post("X123123", &body))),
    )
    .await;
    for response in &responses {
        assert_created(response);
    }
    let staff: Vec<(i64, String)> = client
        .query("SELECT staff_id, officer_code FROM staff WHERE forename = 'Concurrent' AND surname = 'Author'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(staff.len(), 1, "{staff:?}");
    assert_eq!(staff[0].1, "LDNA002");
    let team_rows = id(&client, &format!("SELECT count(*) FROM staff_team WHERE staff_id = {}", staff[0].0)).await;
    assert_eq!(team_rows, 1);
    let contacts = new_contacts(&client, last_contact).await;
    assert_eq!(contacts.len(), 4);
    assert!(contacts.iter().all(|c| c["staff_id"] == json!(staff[0].0)));
    assert_eq!(audit_outcomes(&client).await, ["P", "P", "P", "P"]);
}

#[tokio::test]
async fn business_rule_failures_are_answered_and_only_the_failure_is_audited() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    // A live person without an active community manager.
    client
        .batch_execute(
            "INSERT INTO offender (crn, first_name, surname, date_of_birth_date) VALUES ('N000001', 'No', 'Manager', DATE '1980-01-01')",
        )
        .await
        .unwrap();
    let last_contact = max_id(&client, "contact", "contact_id").await;
    let last_staff = max_id(&client, "staff", "staff_id").await;
    let alerts_before = id(&client, "SELECT count(*) FROM contact_alert").await;
    let note = |prison: &str| case_note("IMMEDIATE_NEEDS_REPORT", "2024-06-04T09:16:04+01:00", prison, "New", "Person");
    let cases: Vec<(&str, String, u16, String)> = vec![
        ("Z123456", note("LDN"), 404, "Person with crn of Z123456 not found".into()),
        ("N000001", note("LDN"), 404, "Person with crn of N000001 not found".into()),
        ("X123123", note("NHJ"), 400, "Probation Area not found for NOMIS institution: NHJ".into()),
        ("X123123", note("MDL"), 400, "Team with code of MDLCSN not found".into()),
        ("X123123", note("LD"), 400, "Invalid establishment: LD".into()),
        ("X123123", note(""), 400, "Invalid establishment: ".into()),
    ];
    for (crn, body, status, message) in &cases {
        let response = nomis_case_note_create::handle(&db, post(crn, body)).await;
        assert_eq!(response.status(), *status, "{crn} {body}");
        assert_eq!(problem(&response), json!({"status": status, "message": message}), "{crn} {body}");
    }
    assert!(new_contacts(&client, last_contact).await.is_empty());
    assert_eq!(max_id(&client, "staff", "staff_id").await, last_staff, "no author created");
    assert_eq!(id(&client, "SELECT count(*) FROM contact_alert").await, alerts_before);
    assert_eq!(audit_outcomes(&client).await, vec!["F"; cases.len()]);
}

#[tokio::test]
async fn a_missing_case_note_type_is_404_before_the_author_is_looked_at() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client.execute("UPDATE r_contact_type SET code = 'RP10X' WHERE code = 'RP10'", &[]).await.unwrap();
    // The prison is unknown too, but the type is checked first.
    let body = case_note("PRE_RELEASE_REPORT", "2024-06-04T09:16:04+01:00", "NHJ", "New", "Person");
    let response = nomis_case_note_create::handle(&db, post("X123123", &body)).await;
    assert_eq!(response.status(), 404);
    assert_eq!(problem(&response), json!({"status": 404, "message": "CaseNoteType with code of RP10 not found"}));
    assert_eq!(audit_outcomes(&client).await, ["F"]);
}

#[tokio::test]
async fn bad_bodies_are_400_and_never_reach_the_database() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let audits_before = id(&client, "SELECT count(*) FROM audited_interaction").await;
    let author = r#""author":{"prisonCode":"LDN","forename":"John","surname":"Smith"}"#;
    let plain = |message: &str| json!({"status": 400, "message": message});
    let not_blank = json!({"status": 400, "message": "Validation failure",
                           "fields": [{"type": "NotBlank", "message": "must not be blank", "field": "notes"}]});
    let cases: Vec<(String, Value)> = vec![
        (format!(r#"{{"type":"IMMEDIATE_NEEDS_REPORT","dateTime":"2024-06-04T09:16:04+01:00","notes":"",{author}}}"#), not_blank.clone()),
        (format!(r#"{{"type":"IMMEDIATE_NEEDS_REPORT","dateTime":"2024-06-04T09:16:04+01:00","notes":" \n\t ",{author}}}"#), not_blank.clone()),
        (r#"{"type":"IMMEDIATE_NEEDS_REPORT","dateTime":"2024-06-04T09:16:04+01:00","notes":"n"}"#.into(), plain("Required field 'author' is missing")),
        (r#"{"type":"IMMEDIATE_NEEDS_REPORT","dateTime":"2024-06-04T09:16:04+01:00","notes":"n","author":null}"#.into(), plain("Required field 'author' is missing")),
        (r#"{"type":"IMMEDIATE_NEEDS_REPORT","dateTime":"2024-06-04T09:16:04+01:00","notes":"n","author":"LDN"}"#.into(), plain("Invalid value for 'author': expected an object")),
        (r#"{"type":"IMMEDIATE_NEEDS_REPORT","dateTime":"2024-06-04T09:16:04+01:00","notes":"n","author":{"forename":"A","surname":"B"}}"#.into(), plain("Required field 'author.prisonCode' is missing")),
        (r#"{"type":"IMMEDIATE_NEEDS_REPORT","dateTime":"2024-06-04T09:16:04+01:00","notes":"n","author":{"prisonCode":"LDN","forename":1,"surname":"B"}}"#.into(), plain("Invalid value for 'author.forename': expected a string")),
        (format!(r#"{{"type":"OTHER","dateTime":"2024-06-04T09:16:04+01:00","notes":"n",{author}}}"#), plain("Invalid value for 'type': 'OTHER' is not one of IMMEDIATE_NEEDS_REPORT, PRE_RELEASE_REPORT")),
        (format!(r#"{{"type":"immediate_needs_report","dateTime":"2024-06-04T09:16:04+01:00","notes":"n",{author}}}"#), plain("Invalid value for 'type': 'immediate_needs_report' is not one of IMMEDIATE_NEEDS_REPORT, PRE_RELEASE_REPORT")),
        (format!(r#"{{"dateTime":"2024-06-04T09:16:04+01:00","notes":"n",{author}}}"#), plain("Required field 'type' is missing")),
        (format!(r#"{{"type":"PRE_RELEASE_REPORT","dateTime":"","notes":"n",{author}}}"#), plain("Invalid value for 'dateTime': Invalid date-time: ''")),
        (format!(r#"{{"type":"PRE_RELEASE_REPORT","notes":"n",{author}}}"#), plain("Required field 'dateTime' is missing")),
        (format!(r#"{{"type":"PRE_RELEASE_REPORT","dateTime":"2024-06-04T09:16:04+01:00",{author}}}"#), plain("Required field 'notes' is missing")),
        (format!(r#"{{"type":"PRE_RELEASE_REPORT","dateTime":"2024-06-04T09:16:04+01:00","notes":"n","description":5,{author}}}"#), plain("Invalid value for 'description': expected a string")),
        (
            format!(r#"{{"type":"PRE_RELEASE_REPORT","dateTime":"2024-06-04T09:16:04+01:00","notes":"n","author":{{"prisonCode":"LDN","forename":"{}","surname":"B"}}}}"#, "x".repeat(36)),
            plain("'author.forename' must be at most 35 characters"),
        ),
        ("{\"type\":".into(), plain("Malformed JSON request body: EOF while parsing a value at line 1 column 8")),
        ("\"text\"".into(), plain("Request body must be a JSON object")),
        ("".into(), plain("Required request body is missing")),
    ];
    for (body, expected) in &cases {
        let response = nomis_case_note_create::handle(&db, post("X123123", body)).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(problem(&response), *expected, "{body}");
    }
    assert_eq!(id(&client, "SELECT count(*) FROM audited_interaction").await, audits_before);
}

#[tokio::test]
async fn date_times_in_every_offset_form_are_stored_as_london_time() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let last_contact = max_id(&client, "contact", "contact_id").await;
    let sent = [
        "2024-06-04T09:16:04+01:00",
        "2024-06-04T09:16:04.000+01",
        "2024-06-04T09:16:04+0100",
        "2024-06-04T08:16:04Z",
        "2024-01-04T09:16:04+01:00",
        "2024-01-04T09:16:04",
        "2024-06-04T09:16:04.123+01:00[Europe/London]",
    ];
    for date_time in sent {
        let body = case_note("IMMEDIATE_NEEDS_REPORT", date_time, "LDN", "John", "Smith");
        assert_created(&nomis_case_note_create::handle(&db, post("X123123", &body)).await);
    }
    let stored: Vec<(String, String)> = new_contacts(&client, last_contact)
        .await
        .iter()
        .map(|c| {
            (c["contact_date"].as_str().unwrap().to_string(), c["contact_start_time"].as_str().unwrap().to_string())
        })
        .collect();
    let expected = [
        ("2024-06-04", "2024-06-04T09:16:04"),
        ("2024-06-04", "2024-06-04T09:16:04"),
        ("2024-06-04", "2024-06-04T09:16:04"),
        ("2024-06-04", "2024-06-04T09:16:04"),
        ("2024-01-04", "2024-01-04T08:16:04"),
        ("2024-01-04", "2024-01-04T09:16:04"),
        ("2024-06-04", "2024-06-04T09:16:04.123"),
    ];
    assert_eq!(stored, expected.map(|(d, t)| (d.to_string(), t.to_string())));
}

#[tokio::test]
async fn without_the_appointment_role_the_answer_is_403() {
    let (_test_db, db) = route_database().await;
    let event = SampleEvent::load("nomis-case-note-create.json");
    assert_forbidden_without_role(&event, CASE_DETAIL, async |request| {
        nomis_case_note_create::handle(&db, request).await
    })
    .await;
    // An authorizer context that is null rather than absent.
    let mut event = event;
    event.0["requestContext"]["authorizer"] = Value::Null;
    let response = nomis_case_note_create::handle(&db, event.request()).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn the_sample_event_is_accepted() {
    let (_test_db, db) = route_database().await;
    assert_created(
        &nomis_case_note_create::handle(&db, SampleEvent::load("nomis-case-note-create.json").request()).await,
    );
}

/// A zone region needs the offset before it, and must be a known region.
#[tokio::test]
async fn a_region_without_an_offset_or_an_unknown_region_is_400() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let last_contact = max_id(&client, "contact", "contact_id").await;
    for date_time in ["2024-06-04T09:16:04.123[Europe/London]", "2024-06-04T09:16:04+01:00[Europe/Londres]"] {
        let body = case_note("IMMEDIATE_NEEDS_REPORT", date_time, "LDN", "John", "Smith");
        let response = nomis_case_note_create::handle(&db, post("X123123", &body)).await;
        assert_eq!(response.status(), 400, "{date_time}");
        assert_eq!(
            problem(&response),
            json!({"status": 400, "message": format!("Invalid value for 'dateTime': Invalid date-time: '{}'",
                                                       date_time.chars().take(40).collect::<String>())})
        );
    }
    assert_eq!(max_id(&client, "contact", "contact_id").await, last_contact);
}

/// A case note whose `notes` holds `\u0000`: PostgreSQL cannot store it.
#[tokio::test]
async fn a_nul_in_the_notes_is_400_and_nothing_is_written() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let count = |table: &'static str| {
        let client = &client;
        async move { id(client, &format!("SELECT count(*) FROM {table}")).await }
    };
    let before = (
        count("contact").await,
        count("contact_alert").await,
        count("staff").await,
        count("audited_interaction").await,
    );
    let cases = [
        (
            json!({"type": "IMMEDIATE_NEEDS_REPORT", "dateTime": "2024-06-04T09:16:04+01:00", "notes": "a\u{0}b",
                "author": {"prisonCode": "LDN", "forename": "John", "surname": "Smith"}}),
            "Invalid value for 'notes': must not contain control characters (found U+0000)",
        ),
        (
            json!({"type": "IMMEDIATE_NEEDS_REPORT", "dateTime": "2024-06-04T09:16:04+01:00", "notes": "n",
                "author": {"prisonCode": "LDN", "forename": "New\u{7}", "surname": "Person"}}),
            "Invalid value for 'author.forename': must not contain control characters (found U+0007)",
        ),
        (
            json!({"type": "IMMEDIATE_NEEDS_REPORT", "dateTime": "2024-06-04T09:16:04+01:00", "notes": "n",
                "description": "x".repeat(4001),
                "author": {"prisonCode": "LDN", "forename": "John", "surname": "Smith"}}),
            "'description' must be at most 4000 characters",
        ),
    ];
    for (body, message) in cases {
        let response = nomis_case_note_create::handle(&db, post("X123123", &body.to_string())).await;
        assert_eq!(problem(&response), json!({"status": 400, "message": message}));
    }
    // Line breaks and tabs are free text's own.
    let body = json!({"type": "IMMEDIATE_NEEDS_REPORT", "dateTime": "2024-06-04T09:16:04+01:00", "notes": "a\r\n\tb",
                      "author": {"prisonCode": "LDN", "forename": "John", "surname": "Smith"}});
    assert_created(&nomis_case_note_create::handle(&db, post("X123123", &body.to_string())).await);
    let after = (
        count("contact").await,
        count("contact_alert").await,
        count("staff").await,
        count("audited_interaction").await,
    );
    assert_eq!(after, (before.0 + 1, before.1 + 1, before.2, before.3 + 1));
}

#[tokio::test]
async fn several_active_managers_are_a_500_as_the_reads_answer_and_nothing_is_written() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    add_second_active_manager(&client, "X123123").await;
    let last_contact = max_id(&client, "contact", "contact_id").await;
    let last_staff = max_id(&client, "staff", "staff_id").await;
    let alerts_before = id(&client, "SELECT count(*) FROM contact_alert").await;
    // A new author: not even the staff member is created.
    let body = case_note("IMMEDIATE_NEEDS_REPORT", "2024-06-04T09:16:04+01:00", "LDNHMP", "Brand", "New");
    let response = nomis_case_note_create::handle(&db, post("X123123", &body)).await;
    assert_eq!(response.status(), 500);
    assert_eq!(problem(&response), json!({"status": 500, "message": "Internal server error"}));
    assert!(new_contacts(&client, last_contact).await.is_empty());
    assert_eq!(max_id(&client, "staff", "staff_id").await, last_staff, "no author created");
    assert_eq!(id(&client, "SELECT count(*) FROM contact_alert").await, alerts_before);
    assert_eq!(audit_outcomes(&client).await, vec!["F"]);
}

/// The contact, the `P` row and `COMMIT` go out in one flight. When the `P`
/// row fails there, everything of the work is rolled back with it (the
/// contact, its alert and a new author created earlier in the transaction)
/// and only the `F` row is written.
#[tokio::test]
async fn nothing_commits_without_the_success_row() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    client.batch_execute(delius_testkit::rows::REFUSE_SUCCESS_ROWS).await.unwrap();
    let (last_contact, staff_before) =
        (max_id(&client, "contact", "contact_id").await, max_id(&client, "staff", "staff_id").await);
    let alerts_before = id(&client, "SELECT count(*) FROM contact_alert").await;

    let body = case_note("PRE_RELEASE_REPORT", "2024-06-04T09:16:04+01:00", "LDN", "Brand", "New");
    let response = nomis_case_note_create::handle(&db, post("X123123", &body)).await;
    assert_eq!(response.status(), 500, "{:?}", response.body());
    assert_eq!(new_contacts(&client, last_contact).await, Vec::<Value>::new());
    assert_eq!(max_id(&client, "staff", "staff_id").await, staff_before, "no new author");
    assert_eq!(id(&client, "SELECT count(*) FROM contact_alert").await, alerts_before);
    assert_eq!(audit_outcomes(&client).await, ["F"]);

    client.batch_execute(delius_testkit::rows::ALLOW_SUCCESS_ROWS).await.unwrap();
    assert_created(&nomis_case_note_create::handle(&db, post("X123123", &body)).await);
    assert_eq!(new_contacts(&client, last_contact).await.len(), 1);
    assert_eq!(audit_outcomes(&client).await, ["F", "P"]);
}
