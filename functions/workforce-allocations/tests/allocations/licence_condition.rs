//! Licence-condition allocations (`lic_condition_manager`, ETRC with the
//! condition, CABI038 with the condition under `requirementId`, no IAPS).

use serde_json::json;

use crate::common::*;

const KIND: &str = "licence-conditions";

#[tokio::test]
async fn licence_condition_allocation_records_manager_contact_and_audit() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let offender = offender_id(&h.client, "X123456").await;
    let event = event_id(&h.client, "X123456", "1").await;
    let before = managers(&h.client, Table::LicenceCondition, 9501).await;
    let counts_before = counts(&h.client).await;

    invoke_ok(&h, h.event("licence-condition-allocation.json")).await;

    assert_current_handover(
        &h,
        Table::LicenceCondition,
        9501,
        &before,
        ("RM ALLOCATION REASON", "IN1"),
        Some("COMPONENT"),
    )
    .await;
    assert_eq!(
        contacts(&h.client, offender).await,
        vec![Contact { lic_condition_id: Some(9501), ..ids.transfer_contact("ETRC", offender, Some(event)) }]
    );
    let etrc_notes: String =
        h.client.query_one("SELECT notes FROM contact WHERE lic_condition_id = 9501", &[]).await.unwrap().get(0);
    assert_eq!(
        etrc_notes,
        "Transfer Reason: Internal Transfer\nTransfer Date: 28/07/2022\nFrom Trust: NPS North East\n\
         From Team: Unallocated Team(N02)\nFrom Officer: Unallocated Staff\n-------------------------------/\n\n"
    );
    let after_counts = counts(&h.client).await;
    assert_eq!(after_counts.iaps, counts_before.iaps, "licence conditions have no IAPS flag");
    assert_eq!(
        (after_counts.offender_manager, after_counts.order_manager, after_counts.rqmnt_manager),
        (counts_before.offender_manager, counts_before.order_manager, counts_before.rqmnt_manager),
        "no other manager is touched"
    );
    assert_eq!(
        audits(&h.client).await,
        vec![("CABI038".into(), ids.user, "P".into(), requirement_params(&h, 9501).await)]
    );
}

#[tokio::test]
async fn historic_licence_condition_allocation_slots_into_the_past() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let offender = offender_id(&h.client, "X123456").await;
    let before = managers(&h.client, Table::LicenceCondition, 9502).await;
    let (handover, t) = (at("2022-08-01 09:00:00"), allocated_at());
    assert_eq!(
        before.iter().map(|m| (m.0.allocation_date, m.0.end_date)).collect::<Vec<_>>(),
        vec![(at("2022-07-01 10:30:00"), Some(handover)), (handover, None)]
    );

    let (_, _, failed) = case_on(&h, KIND, licence_condition(9502, 1), Some("X123456")).await;
    assert_eq!(failed, Vec::<String>::new());

    let after = managers(&h.client, Table::LicenceCondition, 9502).await;
    assert_eq!(after.len(), 3);
    assert_eq!(after[0].0, ids.ended(&before[0].0, t));
    let new = &after[1].0;
    assert_eq!(
        *new,
        ids.allocated(
            new.id,
            t,
            Some(handover),
            reason_id(&h.client, "RM ALLOCATION REASON", "IN1").await,
            Some(transfer_reason_id(&h.client, "COMPONENT").await)
        )
    );
    assert_eq!(after[2], before[1], "the current licence condition manager is untouched");
    let contacts = contacts(&h.client, offender).await;
    assert_eq!(
        contacts.iter().map(|c| (c.type_code.as_str(), c.lic_condition_id)).collect::<Vec<_>>(),
        [("ETRC", Some(9502))]
    );
}

#[tokio::test]
async fn reallocation_takes_the_reason_and_ends_the_previous_allocation() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let (t1, t2) = (allocated_at(), at("2022-08-02 09:15:00"));
    let body = detail(json!({"licenceConditionId": 9503, "eventNumber": 1}));
    let (_, _, failed) = case_on(&h, KIND, body, Some("X123456")).await;
    assert_eq!(failed, Vec::<String>::new());
    let body = detail(json!({
        "licenceConditionId": 9503,
        "eventNumber": 1,
        "staffCode": "N02ABSX",
        "createdDate": "2022-08-02T08:15:00Z",
        "allocationReason": "CHANGE_OF_ADDRESS",
    }));
    let (_, _, failed) = case_on(&h, "licence-conditions-again", body, Some("X123456")).await;
    assert_eq!(failed, Vec::<String>::new());

    let chain: Vec<_> = managers(&h.client, Table::LicenceCondition, 9503)
        .await
        .into_iter()
        .map(|(m, _, _)| (m.staff_id, m.allocation_date, m.end_date, m.active_flag, m.row_version))
        .collect();
    assert_eq!(
        chain,
        vec![
            (ids.staff_uat, at("2022-07-01 10:30:00"), Some(t1), 0, 1),
            (ids.staff_abs1, t1, Some(t2), 0, 1),
            (ids.staff_spo, t2, None, 1, 0)
        ]
    );
    let latest = managers(&h.client, Table::LicenceCondition, 9503).await.pop().unwrap().0;
    assert_eq!(latest.allocation_reason_id, Some(reason_id(&h.client, "RM ALLOCATION REASON", "OM").await));
    // The second ETRC names the first allocation's officer and team.
    let notes: Vec<String> = h
        .client
        .query("SELECT notes FROM contact WHERE lic_condition_id = 9503 ORDER BY contact_id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(notes.len(), 2);
    assert_eq!(
        notes[1],
        "Transfer Reason: Internal Transfer\nTransfer Date: 02/08/2022\nFrom Trust: NPS North East\n\
         From Team: N02ABS\nFrom Officer: Joe Bloggs\n-------------------------------/\n\n"
    );
}

#[tokio::test]
async fn a_duplicate_writes_only_a_success_audit() {
    let h = Harness::new().await;
    invoke_ok(&h, h.event("licence-condition-allocation.json")).await;
    let once = counts(&h.client).await;
    invoke_ok(&h, h.event("licence-condition-allocation.json")).await;
    assert_eq!(counts(&h.client).await, once, "nothing new");
    let audits = audits(&h.client).await;
    assert_eq!(audits.len(), 2);
    assert_eq!((audits[1].0.as_str(), audits[1].2.as_str()), ("CABI038", "P"));
    assert_eq!(audits[0].3, audits[1].3);
}

#[tokio::test]
async fn a_missing_or_deleted_condition_is_ignorable() {
    let (h, before, failed) = case("", KIND, licence_condition(99999, 1), Some("X123456")).await;
    assert_ignored_with_audit(&h, before, &failed, "CABI038", String::new()).await;

    let (h, before, failed) = case(
        "UPDATE lic_condition SET soft_deleted = 1 WHERE lic_condition_id = 9501",
        KIND,
        licence_condition(9501, 1),
        Some("X123456"),
    )
    .await;
    assert_ignored_with_audit(&h, before, &failed, "CABI038", String::new()).await;
}

#[tokio::test]
async fn a_pending_transfer_is_ignorable() {
    let arrange = pending("lic_condition_transfer", "lic_condition_id", "SELECT 9501");
    let (h, before, failed) = case(&arrange, KIND, licence_condition(9501, 1), Some("X123456")).await;
    let params = requirement_params(&h, 9501).await;
    assert_ignored_with_audit(&h, before, &failed, "CABI038", params).await;

    // A soft-deleted pending transfer does not count.
    let arrange = pending("lic_condition_transfer", "lic_condition_id", "SELECT 9501")
        + "; UPDATE lic_condition_transfer SET soft_deleted = 1";
    let (h, before, failed) = case(&arrange, KIND, licence_condition(9501, 1), Some("X123456")).await;
    assert_eq!(failed, Vec::<String>::new());
    assert_eq!(counts(&h.client).await.lic_condition_manager, before.lic_condition_manager + 1);
}

#[tokio::test]
async fn a_condition_of_another_person_or_event_conflicts() {
    let (h, before, failed) = case("", KIND, licence_condition(9501, 1), Some("T123456")).await;
    let params = requirement_params(&h, 9501).await;
    assert_failed_with_audit(&h, before, &failed, "CABI038", params).await;

    let (h, before, failed) = case("", KIND, licence_condition(9501, 2), Some("X123456")).await;
    let params = requirement_params(&h, 9501).await;
    assert_failed_with_audit(&h, before, &failed, "CABI038", params).await;
}

#[tokio::test]
async fn a_different_allocation_in_the_same_second_conflicts() {
    // The seeded manager was allocated at 2022-07-01 10:30:00 London time.
    let body = detail(json!({
        "licenceConditionId": 9501, "eventNumber": 1, "staffCode": "N02ABSX", "createdDate": "2022-07-01T09:30:00.5Z"
    }));
    let (h, before, failed) = case("", KIND, body, Some("X123456")).await;
    let params = requirement_params(&h, 9501).await;
    assert_failed_with_audit(&h, before, &failed, "CABI038", params).await;
}

#[tokio::test]
async fn inactive_conditions_disposals_and_events_fail() {
    for arrange in [
        "UPDATE lic_condition SET active_flag = 0 WHERE lic_condition_id = 9501",
        "UPDATE disposal SET active_flag = 0 \
         WHERE disposal_id = (SELECT disposal_id FROM lic_condition WHERE lic_condition_id = 9501)",
        "UPDATE event SET active_flag = 0 WHERE event_id = \
         (SELECT d.event_id FROM disposal d JOIN lic_condition l USING (disposal_id) WHERE l.lic_condition_id = 9501)",
    ] {
        let (h, before, failed) = case(arrange, KIND, licence_condition(9501, 1), Some("X123456")).await;
        let params = requirement_params(&h, 9501).await;
        assert_failed_with_audit(&h, before, &failed, "CABI038", params).await;
    }
}

#[tokio::test]
async fn no_manager_team_staff_or_crn_fails() {
    // Before the first manager's allocation there is none.
    let body = detail(json!({"licenceConditionId": 9501, "eventNumber": 1, "createdDate": "2022-06-01T12:00:00Z"}));
    let (h, before, failed) = case("", KIND, body, Some("X123456")).await;
    let params = requirement_params(&h, 9501).await;
    assert_failed_with_audit(&h, before, &failed, "CABI038", params).await;

    for extra in [json!({"teamCode": "N02XYZ"}), json!({"staffCode": "N02ZZZ9"}), json!({"staffCode": "N02UATU"})] {
        let mut body = licence_condition(9501, 1);
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (h, before, failed) = case("", KIND, body, Some("X123456")).await;
        let params = requirement_params(&h, 9501).await;
        assert_failed_with_audit(&h, before, &failed, "CABI038", params).await;
    }

    let (h, before, failed) = case("", KIND, licence_condition(9501, 1), None).await;
    assert_eq!(failed, [MESSAGE.to_string()]);
    assert_eq!(counts(&h.client).await, before);
    assert_eq!(audits(&h.client).await, vec![], "it fails before any database work");
}

#[tokio::test]
async fn an_event_shaped_detail_with_a_licence_condition_leaves_the_event_alone() {
    let h = Harness::new().await;
    let event = event_id(&h.client, "X123456", "1").await;
    let order_managers = managers(&h.client, Table::Order, event).await;
    // Every event field as well: still a licence-condition allocation.
    let body = detail(json!({
        "licenceConditionId": 9501,
        "eventNumber": 1,
        "spoStaffCode": "N02ABSX",
        "spoOversightNotes": "notes",
        "sensitiveNotes": false,
        "allocationJustificationNotes": "why",
    }));
    let (_, _, failed) = case_on(&h, KIND, body, Some("X123456")).await;
    assert_eq!(failed, Vec::<String>::new());
    assert_eq!(managers(&h.client, Table::Order, event).await, order_managers, "the order manager is untouched");
    assert_eq!(managers(&h.client, Table::LicenceCondition, 9501).await.len(), 2);
}

#[tokio::test]
async fn concurrent_allocations_of_one_condition_serialize() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let sample = h.event("licence-condition-allocation.json");
    let later = json!({"licenceConditionId": 9501, "eventNumber": 1});
    allocate_concurrently(&h, sample, "licence-condition.manager.allocated", later).await;

    // Whichever ran first, the periods chain without overlap.
    assert_eq!(manager_chain(&h.client, Table::LicenceCondition, 9501).await, seeded_sample_later(&ids));
    let audits = audits(&h.client).await;
    assert_eq!(audits.iter().filter(|a| a.0 == "CABI038" && a.2 == "P").count(), 2);
}
