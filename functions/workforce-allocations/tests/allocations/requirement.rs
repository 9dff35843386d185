//! Requirement allocations (`rqmnt_manager`, ETRC).

use crate::common::*;

#[tokio::test]
async fn requirement_allocation_records_manager_contact_and_audit() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let offender = offender_id(&h.client, "X123456").await;
    let event = event_id(&h.client, "X123456", "1").await;
    let before = managers(&h.client, Table::Requirement, 9001).await;

    invoke_ok(&h, h.event("requirement-allocation.json")).await;

    assert_current_handover(&h, Table::Requirement, 9001, &before, ("RM ALLOCATION REASON", "IN1"), Some("COMPONENT"))
        .await;
    assert_eq!(
        contacts(&h.client, offender).await,
        vec![Contact { rqmnt_id: Some(9001), ..ids.transfer_contact("ETRC", offender, Some(event)) }]
    );
    let iaps: i64 = h.client.query_one("SELECT COUNT(*) FROM iaps_rqmnt", &[]).await.unwrap().get(0);
    assert_eq!(iaps, 0, "9001 is not an accredited programme");
    assert_eq!(
        audits(&h.client).await,
        vec![("CABI038".into(), ids.user, "P".into(), requirement_params(&h, 9001).await)]
    );
}

#[tokio::test]
async fn an_accredited_requirement_gets_the_iaps_flag() {
    let h = Harness::new().await;
    // Requirement 9100: main category 7, sub-category SUB (not RS66), with a
    // manager like 9001's.
    add_requirement(&h.client, Some(9100), "X123456", "1", "7", Some("SUB")).await;
    h.client
        .batch_execute(
            "INSERT INTO rqmnt_manager (rqmnt_id, allocated_staff_id, allocated_team_id, staff_employee_id, \
                                        trust_provider_team_id, probation_area_id, allocation_date, transfer_reason_id) \
             SELECT 9100, m.allocated_staff_id, m.allocated_team_id, m.staff_employee_id, m.trust_provider_team_id, \
                    m.probation_area_id, m.allocation_date, m.transfer_reason_id \
             FROM rqmnt_manager m WHERE m.rqmnt_id = 9001",
        )
        .await
        .unwrap();
    h.serve_detail(
        "/allocation/requirements/accredited",
        detail(serde_json::json!({"requirementId": 9100, "eventNumber": 1})),
    )
    .await;
    let url = h.detail_url("/allocation/requirements/accredited");
    let sqs = batch(vec![record("m-1", "requirement.manager.allocated", Some(&url), Some("X123456"))]);

    invoke_ok(&h, sqs).await;
    assert_eq!(iaps_flags(&h.client, "iaps_rqmnt").await, vec![(9100, 1)]);
    assert_eq!(managers(&h.client, Table::Requirement, 9100).await.len(), 2);
}

#[tokio::test]
async fn historic_requirement_allocation_slots_into_the_past() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let before = managers(&h.client, Table::Requirement, 9002).await;
    let (handover, t) = (at("2022-08-01 09:00:00"), allocated_at());

    let sample = records_of(h.event("historic-allocation.json"), &[2]);
    invoke_ok(&h, sample).await;

    let after = managers(&h.client, Table::Requirement, 9002).await;
    assert_eq!(after.len(), 3);
    assert_eq!(after[0].0, ids.ended(&before[0].0, t));
    assert_eq!(
        (
            after[1].0.staff_id,
            after[1].0.team_id,
            after[1].0.allocation_date,
            after[1].0.end_date,
            after[1].0.active_flag
        ),
        (ids.staff_abs1, ids.team_abs, t, Some(handover), 0)
    );
    assert_eq!(after[2], before[1], "the current requirement manager is untouched");
}

#[tokio::test]
async fn the_whole_historic_sample_records_all_three_kinds() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let before = counts(&h.client).await;
    invoke_ok(&h, h.event("historic-allocation.json")).await;
    let after = counts(&h.client).await;
    assert_one_of_each_kind(&before, &after);
    let mut codes: Vec<_> =
        audits(&h.client).await.into_iter().map(|(code, user, outcome, _)| (code, user, outcome)).collect();
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("CABI038".into(), ids.user, "P".into()),
            ("CABI041".into(), ids.user, "P".into()),
            ("CABI231".into(), ids.user, "P".into())
        ]
    );
}
