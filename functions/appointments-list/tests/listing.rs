//! GET /appointments/{crn} against the real dev database and a real slapd.

use std::time::{Duration, Instant};

use appointments_list::directory::{DirectoryConfig, StaffDirectory};
use chrono::{NaiveDate, NaiveTime};
use delius_api::datetime::format_london;
use delius_api::routes::APPOINTMENT_RW;
use delius_db::time::london_today;
use delius_testkit::apigw::{SampleEvent, assert_forbidden_without_role};
use delius_testkit::blackhole::SilentListener;
use delius_testkit::ldap::LdapServer;
use delius_testkit::testing::route_database;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

const EVENT: &str = "appointments-list.json";

/// The sample event for `crn` with this query string.
fn request(crn: &str, query: &str) -> Request {
    SampleEvent::load(EVENT).path_param("crn", crn).query(query).request()
}

fn page_query(from: NaiveDate, to: NaiveDate, page: i32, size: i32) -> String {
    format!("startDate={from}&endDate={to}&page={page}&size={size}")
}

/// The JSON body, validated against docs/openapi.yaml.
fn body(response: &Response<Body>) -> Value {
    delius_testkit::apigw::body(response)
}

fn day(offset: i64) -> NaiveDate {
    london_today() + chrono::Duration::days(offset)
}

fn at(date: NaiveDate, hour: u32, minute: u32) -> String {
    format_london(date.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap()))
}

fn directory_for(server: &LdapServer) -> StaffDirectory {
    let env = server.env();
    let config = DirectoryConfig::from_lookup(|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
        .expect("valid LDAP configuration")
        .expect("LDAP configured");
    StaffDirectory::new(config)
}

fn john_smith(with_directory: bool) -> Value {
    if with_directory {
        json!({"code": "N03DEF1", "name": {"forename": "John", "surname": "Smith"},
               "email": "john.smith@moj.gov.uk", "telephone": "07321165373"})
    } else {
        json!({"code": "N03DEF1", "name": {"forename": "John", "surname": "Smith"}})
    }
}

fn default_location() -> Value {
    json!({"code": "DEFAULT", "description": "Description of Location DEFAULT",
           "address": {"buildingNumber": "1", "streetName": "Mantle Place", "town": "Heath", "postcode": "H34 7TH"}})
}

/// The five appointments of a future day (no outcome yet), latest first.
fn future_day(date: NaiveDate, staff: &Value) -> Vec<Value> {
    let at_type = json!({"code": "AT", "description": "Description for AT"});
    vec![
        json!({"type": at_type, "dateTime": at(date, 23, 45), "duration": "PT30M", "staff": staff,
               "description": "Description for AT"}),
        json!({"type": at_type, "dateTime": at(date, 17, 0), "duration": "PT30M", "staff": staff,
               "description": "On the hour"}),
        json!({"type": at_type, "dateTime": at(date, 14, 30), "duration": "PT30M", "staff": staff,
               "location": default_location(), "description": "Description for AT"}),
        json!({"type": at_type, "dateTime": at(date, 10, 30), "duration": "PT30M", "staff": staff,
               "location": default_location(), "description": "Description for AT"}),
        json!({"type": at_type, "dateTime": at(date, 9, 0), "duration": "PT30M", "staff": staff,
               "description": "On the hour"}),
    ]
}

#[tokio::test]
async fn first_page_field_by_field_with_staff_details_from_ldap() {
    let (_test_db, db) = route_database().await;
    let ldap = LdapServer::start();
    let directory = directory_for(&ldap);

    let response =
        appointments_list::handle(&db, Some(&directory), request("X123123", &page_query(day(-7), day(14), 0, 10)))
            .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let staff = john_smith(true);
    let mut expected = future_day(day(14), &staff);
    expected.extend(future_day(day(13), &staff));
    assert_eq!(
        body(&response),
        json!({"results": expected, "totalElements": 110, "totalPages": 11, "page": 0, "size": 10})
    );
    // Ten appointments with one staff member: one search.
    assert_eq!(ldap.searches(), [john_smith_search()]);
}

fn directory_search(name: &str) -> String {
    format!(
        r#"base="ou=Users,dc=moj,dc=com" scope=1 deref=0 filter="(&(objectClass=inetOrgPerson)(objectClass=top)(cn={name}))""#
    )
}

fn john_smith_search() -> String {
    directory_search("john-smith")
}

#[tokio::test]
async fn past_appointments_carry_their_outcome() {
    let (_test_db, db) = route_database().await;
    let response = appointments_list::handle(&db, None, request("X123123", &page_query(day(-7), day(-7), 0, 5))).await;
    assert_eq!(response.status(), 200);
    let body = body(&response);
    assert_eq!((body["totalElements"].clone(), body["totalPages"].clone()), (json!(5), json!(1)));
    let outcome = json!({"code": "AO", "description": "Description of AO"});
    let mut expected = future_day(day(-7), &john_smith(false));
    for appointment in &mut expected {
        appointment["outcome"] = outcome.clone();
    }
    assert_eq!(body["results"], json!(expected));
}

#[tokio::test]
async fn pages_totals_and_the_page_past_the_end() {
    let (_test_db, db) = route_database().await;
    let page = |n: i32, size: i32| {
        let db = &db;
        async move {
            let response =
                appointments_list::handle(db, None, request("X123123", &page_query(day(-7), day(14), n, size))).await;
            assert_eq!(response.status(), 200);
            body(&response)
        }
    };

    let last = page(4, 25).await;
    assert_eq!((last["totalElements"].clone(), last["totalPages"].clone()), (json!(110), json!(5)));
    assert_eq!((last["page"].clone(), last["size"].clone()), (json!(4), json!(25)));
    let results = last["results"].as_array().unwrap();
    assert_eq!(results.len(), 10);
    // The oldest two days, ending with the very first appointment.
    assert_eq!(results[0]["dateTime"], json!(at(day(-6), 23, 45)));
    assert_eq!(results[9]["dateTime"], json!(at(day(-7), 9, 0)));

    let past_end = page(5, 25).await;
    assert_eq!(past_end, json!({"results": [], "totalElements": 110, "totalPages": 5, "page": 5, "size": 25}));

    let everything = page(0, 1000).await;
    let all = everything["results"].as_array().unwrap();
    assert_eq!(all.len(), 110);
    assert_eq!(everything["totalPages"], json!(1));
    let times: Vec<&str> = all.iter().map(|a| a["dateTime"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by_key(|t| std::cmp::Reverse(chrono::DateTime::parse_from_rfc3339(t).unwrap()));
    assert_eq!(times, sorted, "newest first");

    // Both ends of the range are inclusive.
    let one_day = appointments_list::handle(&db, None, request("X123123", &page_query(day(3), day(3), 0, 10))).await;
    assert_eq!(body(&one_day)["totalElements"], json!(5));
}

#[tokio::test]
async fn unknown_crn_is_an_empty_page() {
    let (_test_db, db) = route_database().await;
    let response =
        appointments_list::handle(&db, None, request("Z999999", &page_query(day(-365), day(365), 0, 1000))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response), json!({"results": [], "totalElements": 0, "totalPages": 0, "page": 0, "size": 1000}));
}

#[tokio::test]
async fn rows_the_listing_leaves_out_or_fills_in() {
    let (test_db, db) = route_database().await;
    let client = test_db.client().await;
    let date = day(30);
    // A null start (reads as midnight, no duration), a soft-deleted appointment, a
    // non-attendance contact and a staff member without a Delius user.
    client
        .batch_execute(&format!(
            "INSERT INTO contact (offender_id, contact_type_id, contact_date, contact_start_time, contact_end_time, \
                                  probation_area_id, team_id, staff_id, description, soft_deleted)
             SELECT o.offender_id, ct.contact_type_id, DATE '{date}', s, e, pa.probation_area_id, t.team_id,
                    st.staff_id, d, sd
             FROM offender o, probation_area pa, team t,
                  (VALUES ('AT', NULL::timestamp, TIMESTAMP '{date} 01:30', 'No start', 0, 'N03DEF1'),
                          ('AT', TIMESTAMP '{date} 12:00', TIMESTAMP '{date} 13:00', 'Deleted', 1, 'N03DEF1'),
                          ('NAT', TIMESTAMP '{date} 15:00', TIMESTAMP '{date} 16:00', 'Not attended', 0, 'N03DEF1'),
                          ('RP7', TIMESTAMP '{date} 18:00', NULL, NULL, 0, 'LDNA001')) v(code, s, e, d, sd, officer)
             JOIN r_contact_type ct ON ct.code = v.code
             JOIN staff st ON st.officer_code = v.officer
             WHERE o.crn = 'X123123' AND pa.code = 'LDN' AND t.code = 'N03DEF'"
        ))
        .await
        .unwrap();

    // Terry Nutkins gets a Delius user the directory does not know.
    client
        .execute(
            "INSERT INTO user_ (distinguished_name, staff_id) \
             SELECT 'terry-nutkins', staff_id FROM staff WHERE officer_code = 'LDNA001'",
            &[],
        )
        .await
        .unwrap();
    let ldap = LdapServer::start();
    let directory = directory_for(&ldap);
    let response =
        appointments_list::handle(&db, Some(&directory), request("X123123", &page_query(date, date, 0, 10))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(&response),
        // The contact without a start time comes first among those of its
        // date (descending order puts missing times first, as Delius's
        // Oracle does) and has no duration, whatever its end time.
        json!({"results": [
            {"type": {"code": "AT", "description": "Description for AT"}, "dateTime": at(date, 0, 0),
             "duration": "PT0S", "staff": john_smith(true), "description": "No start"},
            {"type": {"code": "RP7", "description": "Resettlement Passport - Health"}, "dateTime": at(date, 18, 0),
             "duration": "PT0S", "staff": {"code": "LDNA001", "name": {"forename": "Terry", "surname": "Nutkins"}},
             "description": "Resettlement Passport - Health"},
        ], "totalElements": 2, "totalPages": 1, "page": 0, "size": 10})
    );
    // One search per distinct staff member with a user.
    let mut searches = ldap.searches();
    searches.sort();
    assert_eq!(searches, [john_smith_search(), directory_search("terry-nutkins")]);
}

#[tokio::test]
async fn bad_query_parameters_are_400_with_a_problem_body() {
    let (_test_db, db) = route_database().await;
    let (from, to) = (day(0), day(7));
    let cases = [
        (format!("endDate={to}&page=0&size=10"), "Required request parameter 'startDate' is not present"),
        (format!("startDate={from}&page=0&size=10"), "Required request parameter 'endDate' is not present"),
        (format!("startDate={from}&endDate={to}&size=10"), "Required request parameter 'page' is not present"),
        (format!("startDate={from}&endDate={to}&page=0"), "Required request parameter 'size' is not present"),
        (
            format!("startDate=15-04-2024&endDate={to}&page=0&size=10"),
            "Invalid request parameter 'startDate': Invalid date: '15-04-2024'",
        ),
        (
            format!("startDate={from}&endDate=tomorrow&page=0&size=10"),
            "Invalid request parameter 'endDate': Invalid date: 'tomorrow'",
        ),
        (
            format!("startDate={from}&endDate={to}&page=first&size=10"),
            "Invalid request parameter 'page': 'first' is not a whole number",
        ),
        (
            format!("startDate={from}&endDate={to}&page=0&size=1.5"),
            "Invalid request parameter 'size': '1.5' is not a whole number",
        ),
        (format!("startDate={from}&endDate={to}&page=-1&size=10"), "Page index must not be less than zero"),
        (format!("startDate={from}&endDate={to}&page=0&size=0"), "Page size must not be less than one"),
        (format!("startDate={from}&endDate={to}&page=0&size=1001"), "Page size must not be greater than 1000"),
        (
            format!("startDate={from}&endDate={to}&page=0&size=99999999999"),
            "Invalid request parameter 'size': '99999999999' is not a whole number",
        ),
    ];
    for (query, message) in cases {
        let response = appointments_list::handle(&db, None, request("X123123", &query)).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(body(&response), json!({"status": 400, "message": message}), "{query}");
    }
}

#[tokio::test]
async fn without_the_case_detail_role_the_answer_is_403() {
    let (_test_db, db) = route_database().await;
    let handle = async |request| appointments_list::handle(&db, None, request).await;
    assert_forbidden_without_role(&SampleEvent::load(EVENT), APPOINTMENT_RW, handle).await;
}

/// The first future appointment as listed with `directory`.
async fn first_staff(directory: Option<&StaffDirectory>) -> (Value, Duration) {
    let (_test_db, db) = route_database().await;
    let started = Instant::now();
    let response =
        appointments_list::handle(&db, directory, request("X123123", &page_query(day(1), day(1), 0, 1))).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200);
    let body = body(&response);
    assert_eq!(body["totalElements"], json!(5));
    (body["results"][0]["staff"].clone(), elapsed)
}

#[tokio::test]
async fn no_directory_configured_leaves_the_details_out() {
    assert_eq!(first_staff(None).await.0, john_smith(false));
}

#[tokio::test]
async fn a_directory_that_is_down_leaves_the_details_out() {
    let mut ldap = LdapServer::start();
    let directory = directory_for(&ldap);
    assert_eq!(first_staff(Some(&directory)).await.0, john_smith(true));
    ldap.stop();
    assert_eq!(first_staff(Some(&directory)).await.0, john_smith(false));
}

#[tokio::test]
async fn a_refused_bind_leaves_the_details_out() {
    let ldap = LdapServer::start();
    let mut config = directory_for(&ldap).config().clone();
    config.password = appointments_list::directory::Password::Value("wrong".into());
    assert_eq!(first_staff(Some(&StaffDirectory::new(config))).await.0, john_smith(false));
    // Anonymous users may not read the directory either.
    let mut config = directory_for(&ldap).config().clone();
    config.bind_dn = None;
    config.password = appointments_list::directory::Password::None;
    assert_eq!(first_staff(Some(&StaffDirectory::new(config))).await.0, john_smith(false));
}

#[tokio::test]
async fn a_directory_that_never_answers_is_given_up_on_quickly() {
    let silent = SilentListener::start().await.unwrap();
    let mut config = DirectoryConfig::from_lookup(|name| match name {
        "LDAP_URL" => Some(format!("ldap://127.0.0.1:{}", silent.port)),
        "LDAP_BIND_DN" => Some("cn=admin,dc=moj,dc=com".into()),
        "LDAP_BIND_PASSWORD" => Some("secret".into()),
        _ => None,
    })
    .unwrap()
    .unwrap();
    config.operation_timeout = Duration::from_millis(300);
    config.total_timeout = Duration::from_millis(600);
    let (staff, elapsed) = first_staff(Some(&StaffDirectory::new(config))).await;
    assert_eq!(staff, john_smith(false));
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    assert!(silent.accepted() >= 1, "the directory was tried");
}

#[tokio::test]
async fn staff_missing_from_the_directory_have_no_details() {
    let (test_db, db) = route_database().await;
    // John Smith's user now points at a name the directory does not hold.
    test_db
        .client()
        .await
        .execute("UPDATE user_ SET distinguished_name = 'john-smith-old' WHERE distinguished_name = 'john-smith'", &[])
        .await
        .unwrap();
    let ldap = LdapServer::start();
    let directory = directory_for(&ldap);
    let response =
        appointments_list::handle(&db, Some(&directory), request("X123123", &page_query(day(1), day(1), 0, 5))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["results"], json!(future_day(day(1), &john_smith(false))));
}

#[tokio::test]
async fn the_sample_events_are_served() {
    let (_test_db, db) = route_database().await;
    for (file, page, size) in [("appointments-list.json", 0, 1000), ("appointments-list-paged.json", 1, 10)] {
        let response = appointments_list::handle(&db, None, SampleEvent::load(file).request()).await;
        assert_eq!(response.status(), 200, "{file}");
        let body = body(&response);
        assert_eq!((body["page"].clone(), body["size"].clone()), (json!(page), json!(size)), "{file}");
        assert!(body["results"].is_array(), "{file}");
    }
}

fn directory_from(env: &[(&'static str, String)]) -> StaffDirectory {
    let config = DirectoryConfig::from_lookup(|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
        .expect("valid LDAP configuration")
        .expect("LDAP configured");
    StaffDirectory::new(config)
}

/// The connections slapd logged as encrypted.
fn tls_connections(ldap: &LdapServer) -> usize {
    ldap.log().lines().filter(|line| line.contains("TLS established")).count()
}

#[tokio::test]
async fn staff_details_come_over_ldaps() {
    let ldap = LdapServer::start_tls();
    let directory = directory_from(&ldap.ldaps_env());
    assert!(directory.config().uses_tls());
    assert_eq!(first_staff(Some(&directory)).await.0, john_smith(true));
    assert_eq!(tls_connections(&ldap), 1, "{}", ldap.log());
    assert_eq!(ldap.searches(), [john_smith_search()]);
}

#[tokio::test]
async fn staff_details_come_over_starttls() {
    let ldap = LdapServer::start_tls();
    let directory = directory_from(&ldap.starttls_env());
    assert!(directory.config().url.starts_with("ldap://") && directory.config().starttls);
    assert_eq!(first_staff(Some(&directory)).await.0, john_smith(true));
    let log = ldap.log();
    // The StartTLS extended operation, then the bind and search over TLS.
    assert!(log.contains("oid=1.3.6.1.4.1.1466.20037"), "{log}");
    assert_eq!(tls_connections(&ldap), 1, "{log}");
    assert_eq!(ldap.searches(), [john_smith_search()]);
}

#[tokio::test]
async fn a_certificate_from_another_ca_leaves_the_details_out() {
    let ldap = LdapServer::start_tls();
    let other_ca = delius_testkit::tls::TestCa::new("Someone else's CA");
    for mut env in [ldap.ldaps_env(), ldap.starttls_env()] {
        for (name, value) in env.iter_mut() {
            if *name == "LDAP_CA_BUNDLE" {
                // The PEM text itself is accepted as well as a path.
                *value = other_ca.cert_pem.clone();
            }
        }
        let directory = directory_from(&env);
        assert_eq!(first_staff(Some(&directory)).await.0, john_smith(false), "{env:?}");
    }
    // Without the test CA (Mozilla's roots only), the same.
    let env: Vec<_> = ldap.ldaps_env().into_iter().filter(|(name, _)| *name != "LDAP_CA_BUNDLE").collect();
    assert_eq!(first_staff(Some(&directory_from(&env))).await.0, john_smith(false));
    // Nothing was read: no bind or search got through.
    assert!(ldap.searches().is_empty(), "{:?}", ldap.searches());
}

#[tokio::test]
async fn an_unreadable_ca_bundle_leaves_the_details_out() {
    let ldap = LdapServer::start_tls();
    let mut env = ldap.ldaps_env();
    env.retain(|(name, _)| *name != "LDAP_CA_BUNDLE");
    env.push(("LDAP_CA_BUNDLE", "/nonexistent/delius-ca.pem".into()));
    assert_eq!(first_staff(Some(&directory_from(&env))).await.0, john_smith(false));
}
