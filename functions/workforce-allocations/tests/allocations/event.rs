//! Event allocations (`order_manager`, ETOS and the allocation-decision contact).

use crate::common::*;

#[tokio::test]
async fn event_allocation_records_manager_contacts_iaps_and_audit() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let offender = offender_id(&h.client, "X123456").await;
    let event = event_id(&h.client, "X123456", "2").await;
    add_requirement(&h.client, None, "X123456", "2", "RM38", Some("SUB")).await;
    let before = managers(&h.client, Table::Order, event).await;

    // The sample's domain event is pretty-printed inside the envelope.
    invoke_ok(&h, h.event("event-allocation.json")).await;

    assert_current_handover(&h, Table::Order, event, &before, ("ORDER ALLOCATION REASON", "INT"), Some("CASE ORDER"))
        .await;

    let etos = ids.transfer_contact("ETOS", offender, Some(event));
    // SPOD03 (the default): the SPO's notes and sensitivity, by the SPO.
    let spod03 = Contact {
        type_code: "SPOD03".into(),
        notes: Some("Spo oversight notes".into()),
        staff_id: Some(ids.staff_spo),
        staff_employee_id: Some(ids.staff_spo),
        sensitive: Some("N".into()),
        ..etos.clone()
    };
    assert_eq!(contacts(&h.client, offender).await, vec![etos, spod03]);

    assert_eq!(iaps_flags(&h.client, "iaps_event").await, vec![(event, 1)]);
    assert_eq!(
        audits(&h.client).await,
        vec![("CABI041".into(), ids.user, "P".into(), format!("offenderId='{offender}',eventId='{event}'"))]
    );
}

#[tokio::test]
async fn with_spod03_off_the_decision_is_a_cade_contact() {
    let h = Harness::with(|s| s.produce_spod03_contact = false).await;
    let ids = Ids::load(&h.client).await;
    let offender = offender_id(&h.client, "X123456").await;

    invoke_ok(&h, h.event("event-allocation.json")).await;
    let contacts = contacts(&h.client, offender).await;
    assert_eq!(contacts.len(), 2);
    let cade = &contacts[1];
    assert_eq!(cade.type_code, "CADE");
    assert_eq!(cade.notes.as_deref(), Some("Allocated to Joe Bloggs: capacity and experience with this case type."));
    assert_eq!(cade.sensitive.as_deref(), Some("N"));
    assert_eq!((cade.staff_id, cade.staff_employee_id), (Some(ids.staff_spo), Some(ids.staff_spo)));
    assert_eq!((cade.team_id, cade.probation_area_id), (Some(ids.team_abs), ids.n02));
}

#[tokio::test]
async fn decision_contact_defaults_without_an_spo() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let offender = offender_id(&h.client, "X123456").await;
    let url = h.detail_url("/allocation/event/no-spo");
    h.serve_detail("/allocation/event/no-spo", detail(serde_json::json!({"eventNumber": 2}))).await;
    let event = batch(vec![record("m-1", "event.manager.allocated", Some(&url), Some("X123456"))]);

    invoke_ok(&h, event).await;
    let contacts = contacts(&h.client, offender).await;
    let spod03 = &contacts[1];
    assert_eq!(spod03.type_code, "SPOD03");
    assert_eq!(spod03.notes, None);
    assert_eq!(spod03.sensitive.as_deref(), Some("Y"), "sensitive unless the detail says otherwise");
    assert_eq!(spod03.staff_id, Some(ids.staff_abs1), "the new manager when no SPO is named");

    // And CADE defaults to not sensitive.
    let h = Harness::with(|s| s.produce_spod03_contact = false).await;
    h.serve_detail("/allocation/event/no-spo", detail(serde_json::json!({"eventNumber": 2}))).await;
    let url = h.detail_url("/allocation/event/no-spo");
    let event = batch(vec![record("m-1", "event.manager.allocated", Some(&url), Some("X123456"))]);
    invoke_ok(&h, event).await;
    let contacts = crate::common::contacts(&h.client, offender).await;
    assert_eq!((contacts[1].type_code.as_str(), contacts[1].sensitive.as_deref()), ("CADE", Some("N")));
    assert_eq!(contacts[1].notes, None);
}

#[tokio::test]
async fn historic_event_allocation_slots_into_the_past() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let event = event_id(&h.client, "X123456", "3").await;
    let offender = offender_id(&h.client, "X123456").await;
    let before = managers(&h.client, Table::Order, event).await;
    let (handover, t) = (at("2022-08-01 09:00:00"), allocated_at());

    let sample = records_of(h.event("historic-allocation.json"), &[1]);
    invoke_ok(&h, sample).await;

    let after = managers(&h.client, Table::Order, event).await;
    assert_eq!(after.len(), 3);
    assert_eq!(after[0].0, ids.ended(&before[0].0, t));
    assert_eq!(
        (after[1].0.staff_id, after[1].0.allocation_date, after[1].0.end_date, after[1].0.active_flag),
        (ids.staff_abs1, t, Some(handover), 0)
    );
    assert_eq!(after[2], before[1], "the current order manager is untouched");
    let contacts = contacts(&h.client, offender).await;
    assert_eq!(contacts.iter().map(|c| c.type_code.as_str()).collect::<Vec<_>>(), ["ETOS", "SPOD03"]);
    assert_eq!(contacts[1].notes.as_deref(), Some("Historic allocation reviewed"));
    assert_eq!(contacts[1].sensitive.as_deref(), Some("Y"));
}
