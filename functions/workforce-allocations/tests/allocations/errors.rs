//! The error handling of person, event, requirement and licence-condition allocations:
//! what is consumed, what is reported failed, and that nothing is written for
//! a failed or ignored message but its `F` audit row.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn without_a_detail_url_the_message_is_consumed_and_nothing_happens() {
    let h = Harness::new().await;
    let before = counts(&h.client).await;
    let event = batch(vec![record(MESSAGE, "person.community.manager.allocated", None, Some("X123456"))]);
    invoke_ok(&h, event).await;
    assert_eq!(counts(&h.client).await, before);
    assert_eq!(audits(&h.client).await, vec![]);
    assert_eq!((h.workload.token_requests().await, h.workload.detail_requests().await), (0, 0));
}

#[tokio::test]
async fn a_detail_url_outside_the_allow_list_fails_without_any_request() {
    let h = Harness::new().await;
    let elsewhere = wiremock::MockServer::start().await;
    let before = counts(&h.client).await;
    let url = format!("{}/allocation/person/4880d097-ea80-4492-bdb7-86228cdf29ef", elsewhere.uri());
    let event = batch(vec![record(MESSAGE, "person.community.manager.allocated", Some(&url), Some("X123456"))]);

    assert_eq!(failures(&h.invoke(event).await), vec![MESSAGE.to_string()]);
    assert_eq!(elsewhere.received_requests().await.unwrap().len(), 0, "no request to the unlisted origin");
    assert_eq!((h.workload.token_requests().await, h.workload.detail_requests().await), (0, 0), "nor a token");
    assert_eq!(counts(&h.client).await, before);
    assert_eq!(audits(&h.client).await, vec![]);
}

#[tokio::test]
async fn a_workload_404_is_retried_then_fails() {
    let h = Harness::new().await;
    let before = counts(&h.client).await;
    let url = h.detail_url("/allocation/person/00000000-0000-0000-0000-000000000000");
    let event = batch(vec![record(MESSAGE, "person.community.manager.allocated", Some(&url), Some("X123456"))]);

    assert_eq!(failures(&h.invoke(event).await), vec![MESSAGE.to_string()]);
    assert_eq!(h.workload.detail_requests().await, 3, "three attempts");
    assert_eq!(h.workload.token_requests().await, 1, "one token for all of them");
    assert_eq!(counts(&h.client).await, before);
    assert_eq!(audits(&h.client).await, vec![]);
}

#[tokio::test]
async fn an_unrecognised_detail_fails_without_retries() {
    let (h, before, failed) = case("", "person", detail(json!({})), Some("X123456")).await;
    assert_eq!(failed, [MESSAGE.to_string()]);
    assert_eq!(h.workload.detail_requests().await, 1);
    assert_eq!(counts(&h.client).await, before);
    assert_eq!(audits(&h.client).await, vec![]);
}

#[tokio::test]
async fn an_unparseable_detail_fails() {
    let h = Harness::new().await;
    let before = counts(&h.client).await;
    wiremock::Mock::given(wiremock::matchers::path("/allocation/person/html"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(h.workload.server())
        .await;
    let url = h.detail_url("/allocation/person/html");
    let event = batch(vec![record(MESSAGE, "person.community.manager.allocated", Some(&url), Some("X123456"))]);
    assert_eq!(failures(&h.invoke(event).await), vec![MESSAGE.to_string()]);
    assert_eq!(counts(&h.client).await, before);
    assert_eq!(audits(&h.client).await, vec![]);
}

#[tokio::test]
async fn a_malformed_envelope_fails() {
    let h = Harness::new().await;
    let event = batch(vec![
        raw_record("not-json", "{\"Type\":\"Notification\",\"Message\":"),
        raw_record("no-message", r#"{"Type":"Notification","MessageId":"x"}"#),
        raw_record("bad-event", r#"{"Type":"Notification","Message":"{\"version\":1}"}"#),
    ]);
    assert_eq!(failures(&h.invoke(event).await), ["not-json", "no-message", "bad-event"]);
    assert_eq!(h.workload.detail_requests().await, 0);
}

const EXTERNAL_TEAM: &str = "INSERT INTO probation_area (code, description) VALUES ('N03', 'NPS North West'); \
     INSERT INTO team (code, description, probation_area_id) \
     SELECT 'N03ABS', 'N03ABS', probation_area_id FROM probation_area WHERE code = 'N03'; \
     INSERT INTO staff_team (staff_id, team_id) \
     SELECT s.staff_id, t.team_id FROM staff s, team t WHERE s.officer_code = 'N02ABS1' AND t.code = 'N03ABS';";

#[tokio::test]
async fn an_external_transfer_is_ignorable() {
    let (h, before, failed) =
        case(EXTERNAL_TEAM, "person", person(json!({"teamCode": "N03ABS"})), Some("X123456")).await;
    let params = person_params(&h).await;
    assert_ignored_with_audit(&h, before, &failed, "CABI231", params).await;

    let (h, before, failed) =
        case(EXTERNAL_TEAM, "event", event(1, json!({"teamCode": "N03ABS"})), Some("X123456")).await;
    let params = event_params(&h, "1").await;
    assert_ignored_with_audit(&h, before, &failed, "CABI041", params).await;
}

#[tokio::test]
async fn a_pending_person_transfer_fails() {
    let arrange = pending("offender_transfer", "offender_id", "SELECT offender_id FROM offender WHERE crn = 'X123456'");
    let (h, before, failed) = case(&arrange, "person", person(json!({})), Some("X123456")).await;
    let params = person_params(&h).await;
    assert_failed_with_audit(&h, before, &failed, "CABI231", params).await;
}

#[tokio::test]
async fn a_pending_event_or_requirement_transfer_is_ignorable() {
    let arrange = pending(
        "order_transfer",
        "event_id",
        "SELECT e.event_id FROM event e JOIN offender o USING (offender_id) \
         WHERE o.crn = 'X123456' AND e.event_number = '1' AND e.soft_deleted = 0",
    );
    let (h, before, failed) = case(&arrange, "event", event(1, json!({})), Some("X123456")).await;
    let params = event_params(&h, "1").await;
    assert_ignored_with_audit(&h, before, &failed, "CABI041", params).await;

    let arrange = pending("rqmnt_transfer", "rqmnt_id", "SELECT 9001");
    let (h, before, failed) = case(&arrange, "requirements", requirement(9001, 1), Some("X123456")).await;
    let params = requirement_params(&h, 9001).await;
    assert_ignored_with_audit(&h, before, &failed, "CABI038", params).await;

    // A soft-deleted pending transfer does not count.
    let arrange = pending("rqmnt_transfer", "rqmnt_id", "SELECT 9001") + "; UPDATE rqmnt_transfer SET soft_deleted = 1";
    let (h, before, failed) = case(&arrange, "requirements", requirement(9001, 1), Some("X123456")).await;
    assert_eq!(failed, Vec::<String>::new());
    assert_eq!(counts(&h.client).await.rqmnt_manager, before.rqmnt_manager + 1);
}

#[tokio::test]
async fn duplicates_of_every_kind_write_only_a_success_audit() {
    for (sample, code) in [
        ("person-allocation.json", "CABI231"),
        ("event-allocation.json", "CABI041"),
        ("requirement-allocation.json", "CABI038"),
    ] {
        let h = Harness::new().await;
        assert_eq!(failures(&h.invoke(h.event(sample)).await), Vec::<String>::new());
        let once = counts(&h.client).await;
        assert_eq!(failures(&h.invoke(h.event(sample)).await), Vec::<String>::new(), "{sample}");
        assert_eq!(counts(&h.client).await, once, "{sample}: nothing new");
        let audits = audits(&h.client).await;
        assert_eq!(audits.len(), 2);
        assert_eq!((audits[1].0.as_str(), audits[1].2.as_str()), (code, "P"));
        assert_eq!(audits[0].3, audits[1].3);
    }
}

#[tokio::test]
async fn a_different_allocation_in_the_same_second_conflicts() {
    // The seeded manager was allocated at 2022-07-01 10:30:00 London time.
    let body = person(json!({"staffCode": "N02ABSX", "createdDate": "2022-07-01T09:30:00.789Z"}));
    let (h, before, failed) = case("", "person", body, Some("X123456")).await;
    let params = person_params(&h).await;
    assert_failed_with_audit(&h, before, &failed, "CABI231", params).await;
}

#[tokio::test]
async fn a_requirement_of_another_person_or_event_conflicts() {
    let (h, before, failed) = case("", "requirements", requirement(9001, 1), Some("T123456")).await;
    let params = requirement_params(&h, 9001).await;
    assert_failed_with_audit(&h, before, &failed, "CABI038", params).await;

    let (h, before, failed) = case("", "requirements", requirement(9001, 2), Some("X123456")).await;
    let params = requirement_params(&h, 9001).await;
    assert_failed_with_audit(&h, before, &failed, "CABI038", params).await;
}

#[tokio::test]
async fn unknown_people_events_and_requirements_fail() {
    let (h, before, failed) = case("", "person", person(json!({"crn": "Z999999"})), None).await;
    assert_failed_with_audit(&h, before, &failed, "CABI231", String::new()).await;

    let (h, before, failed) = case("", "event", event(42, json!({})), Some("X123456")).await;
    assert_failed_with_audit(&h, before, &failed, "CABI041", String::new()).await;

    // Event 1 has a soft-deleted twin; an unknown CRN finds nothing either.
    let (h, before, failed) = case("", "event", event(1, json!({})), Some("Z999999")).await;
    assert_failed_with_audit(&h, before, &failed, "CABI041", String::new()).await;

    let (h, before, failed) = case("", "requirements", requirement(99999, 1), Some("X123456")).await;
    assert_failed_with_audit(&h, before, &failed, "CABI038", String::new()).await;
}

#[tokio::test]
async fn unknown_team_staff_and_spo_fail() {
    let (h, before, failed) = case("", "person", person(json!({"teamCode": "N02XYZ"})), Some("X123456")).await;
    let params = person_params(&h).await;
    assert_failed_with_audit(&h, before, &failed, "CABI231", params).await;

    let (h, before, failed) = case("", "person", person(json!({"staffCode": "N02ZZZ9"})), Some("X123456")).await;
    let params = person_params(&h).await;
    assert_failed_with_audit(&h, before, &failed, "CABI231", params).await;

    let (h, before, failed) = case("", "event", event(1, json!({"spoStaffCode": "N02SPO9"})), Some("X123456")).await;
    let params = event_params(&h, "1").await;
    assert_failed_with_audit(&h, before, &failed, "CABI041", params).await;
}

#[tokio::test]
async fn a_person_without_an_active_manager_fails() {
    let arrange = "UPDATE offender_manager SET soft_deleted = 1 \
                   WHERE offender_id = (SELECT offender_id FROM offender WHERE crn = 'X123456')";
    let (h, before, failed) = case(arrange, "person", person(json!({})), Some("X123456")).await;
    let params = person_params(&h).await;
    assert_failed_with_audit(&h, before, &failed, "CABI231", params).await;

    // Before the first manager's allocation there is none either.
    let (h, before, failed) = case(
        "",
        "requirements",
        detail(json!({"requirementId": 9001, "eventNumber": 1, "createdDate": "2022-06-01T12:00:00Z"})),
        Some("X123456"),
    )
    .await;
    let params = requirement_params(&h, 9001).await;
    assert_failed_with_audit(&h, before, &failed, "CABI038", params).await;
}

#[tokio::test]
async fn missing_reference_data_fails_and_rolls_everything_back() {
    // The allocation reason.
    let arrange = "UPDATE r_standard_reference_list SET code_value = 'IN1-OLD' WHERE code_value = 'IN1' \
                   AND reference_data_master_id = (SELECT reference_data_master_id FROM r_reference_data_master \
                                                   WHERE code_set_name = 'OM ALLOCATION REASON')";
    let (h, before, failed) = case(arrange, "person", person(json!({})), Some("X123456")).await;
    let params = person_params(&h).await;
    assert_failed_with_audit(&h, before, &failed, "CABI231", params).await;

    // The transfer reason.
    let arrange = "UPDATE r_transfer_reason SET code = 'CASE ORDER OLD' WHERE code = 'CASE ORDER'";
    let (h, before, failed) = case(arrange, "event", event(1, json!({})), Some("X123456")).await;
    let params = event_params(&h, "1").await;
    assert_failed_with_audit(&h, before, &failed, "CABI041", params).await;

    // A contact type: found missing only at the writes, which all roll back.
    let arrange = "UPDATE r_contact_type SET code = 'ETOM-OLD' WHERE code = 'ETOM'";
    let (h, before, failed) = case(arrange, "person", person(json!({})), Some("X123456")).await;
    let params = person_params(&h).await;
    assert_failed_with_audit(&h, before, &failed, "CABI231", params).await;

    // The business interaction: not even the F row can be written.
    let arrange = "UPDATE business_interaction SET business_interaction_code = 'CABI231X' \
                   WHERE business_interaction_code = 'CABI231'";
    let (h, before, failed) = case(arrange, "person", person(json!({})), Some("X123456")).await;
    assert_eq!(failed, [MESSAGE.to_string()]);
    assert_eq!(counts(&h.client).await, before);
    assert_eq!(audits(&h.client).await, vec![]);
}

#[tokio::test]
async fn inactive_events_requirements_teams_and_staff_fail() {
    // Event 99 is inactive.
    let (h, before, failed) = case("", "event", event(99, json!({})), Some("X123456")).await;
    let params = event_params(&h, "99").await;
    assert_failed_with_audit(&h, before, &failed, "CABI041", params).await;

    for arrange in [
        "UPDATE rqmnt SET active_flag = 0 WHERE rqmnt_id = 9001",
        "UPDATE disposal SET active_flag = 0 WHERE disposal_id = (SELECT disposal_id FROM rqmnt WHERE rqmnt_id = 9001)",
    ] {
        let (h, before, failed) = case(arrange, "requirements", requirement(9001, 1), Some("X123456")).await;
        let params = requirement_params(&h, 9001).await;
        assert_failed_with_audit(&h, before, &failed, "CABI038", params).await;
    }

    for arrange in [
        // Ended on the allocation day (a date is midnight): not active at 10:30.
        "UPDATE team SET end_date = DATE '2022-07-28' WHERE code = 'N02ABS'",
        "UPDATE staff SET end_date = DATE '2022-07-01' WHERE officer_code = 'N02ABS1'",
    ] {
        let (h, before, failed) = case(arrange, "person", person(json!({})), Some("X123456")).await;
        let params = person_params(&h).await;
        assert_failed_with_audit(&h, before, &failed, "CABI231", params).await;
    }

    // A future end date is fine.
    let (h, before, failed) = case(
        "UPDATE staff SET end_date = DATE '2022-07-29' WHERE officer_code = 'N02ABS1'",
        "person",
        person(json!({})),
        Some("X123456"),
    )
    .await;
    assert_eq!(failed, Vec::<String>::new());
    assert_eq!(counts(&h.client).await.offender_manager, before.offender_manager + 1);
}

#[tokio::test]
async fn staff_outside_the_team_fails() {
    let (h, before, failed) = case("", "person", person(json!({"staffCode": "N02UATU"})), Some("X123456")).await;
    let params = person_params(&h).await;
    assert_failed_with_audit(&h, before, &failed, "CABI231", params).await;
}

#[tokio::test]
async fn event_and_requirement_messages_need_a_crn() {
    let (h, before, failed) = case("", "event", event(1, json!({})), None).await;
    assert_eq!(failed, [MESSAGE.to_string()]);
    assert_eq!(counts(&h.client).await, before);
    assert_eq!(audits(&h.client).await, vec![], "it fails before any database work");

    let (h, before, failed) = case("", "requirements", requirement(9001, 1), None).await;
    assert_eq!(failed, [MESSAGE.to_string()]);
    assert_eq!(counts(&h.client).await, before);
}

#[tokio::test]
async fn an_unknown_allocation_reason_is_an_initial_allocation() {
    let (h, _, failed) =
        case("", "person", person(json!({"allocationReason": "SOMETHING_NEW"})), Some("X123456")).await;
    assert_eq!(failed, Vec::<String>::new());
    let offender = offender_id(&h.client, "X123456").await;
    let rows = managers(&h.client, Table::Offender, offender).await;
    assert_eq!(rows[1].0.allocation_reason_id, Some(reason_id(&h.client, "OM ALLOCATION REASON", "IN1").await));

    let (h, _, failed) = case(
        "",
        "requirements",
        detail(json!({"requirementId": 9001, "eventNumber": 1, "allocationReason": "CHANGE_OF_ADDRESS"})),
        Some("X123456"),
    )
    .await;
    assert_eq!(failed, Vec::<String>::new());
    let rows = managers(&h.client, Table::Requirement, 9001).await;
    assert_eq!(rows[1].0.allocation_reason_id, Some(reason_id(&h.client, "RM ALLOCATION REASON", "OM").await));
}

/// Delius holds one live manager per parent and one live responsible officer
/// per person at a time; a second one is a data problem the allocation does
/// not guess its way around.
#[tokio::test]
async fn two_live_managers_or_responsible_officers_fail() {
    let second_officer = "INSERT INTO responsible_officer (offender_id, start_date, end_date) \
         SELECT offender_id, TIMESTAMP '2022-07-10 00:00:00', TIMESTAMP '2022-08-01 00:00:00' \
         FROM offender WHERE crn = 'X123456'";
    let (h, before, failed) = case(second_officer, "person", person(json!({})), Some("X123456")).await;
    let params = person_params(&h).await;
    assert_failed_with_audit(&h, before, &failed, "CABI231", params).await;

    let second_manager = "INSERT INTO order_manager (event_id, allocation_staff_id, allocation_team_id, \
                                                    probation_area_id, allocation_date, end_date) \
         SELECT event_id, allocation_staff_id, allocation_team_id, probation_area_id, \
                TIMESTAMP '2022-07-10 00:00:00', TIMESTAMP '2022-08-01 00:00:00' \
         FROM order_manager WHERE event_id = (SELECT e.event_id FROM event e JOIN offender o USING (offender_id) \
                                              WHERE o.crn = 'X123456' AND e.event_number = '1' AND e.soft_deleted = 0) \
           AND end_date IS NULL";
    let (h, before, failed) = case(second_manager, "event", event(1, json!({})), Some("X123456")).await;
    let params = event_params(&h, "1").await;
    assert_failed_with_audit(&h, before, &failed, "CABI041", params).await;
}
