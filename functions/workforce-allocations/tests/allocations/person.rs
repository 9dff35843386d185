//! Person allocations (`offender_manager`, responsible officer, ROC and ETOM).

use crate::common::*;

#[tokio::test]
async fn person_allocation_records_manager_officer_contacts_and_audit() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let offender = offender_id(&h.client, "X123456").await;
    let before = managers(&h.client, Table::Offender, offender).await;
    let old_officer = responsible_officers(&h.client, offender).await;
    assert_eq!((before.len(), old_officer.len()), (1, 1));
    assert_eq!((before[0].0.staff_id, before[0].0.team_id), (ids.staff_uat, ids.team_uat));
    let t = allocated_at();

    let response = h.invoke(h.event("person-allocation.json")).await;
    assert_eq!(failures(&response), Vec::<String>::new());
    assert_eq!(serde_json::to_value(&response).unwrap(), serde_json::json!({"batchItemFailures": []}));

    let after = managers(&h.client, Table::Offender, offender).await;
    assert_eq!(after.len(), 2);
    let (old, _, old_updated) = &after[0];
    assert_eq!(*old, ids.ended(&before[0].0, t));
    assert_recent(*old_updated);
    let (new, created, updated) = &after[1];
    assert_eq!(*new, ids.allocated(new.id, t, None, reason_id(&h.client, "OM ALLOCATION REASON", "IN1").await, None));
    assert_recent(*created);
    assert_eq!(created, updated);

    let officers = responsible_officers(&h.client, offender).await;
    assert_eq!(
        officers,
        vec![
            ResponsibleOfficer {
                end_date: Some(t),
                row_version: 1,
                last_updated_user_id: Some(ids.user),
                ..old_officer[0].clone()
            },
            ResponsibleOfficer {
                id: officers[1].id,
                offender_manager_id: Some(new.id),
                prison_offender_manager_id: None,
                start_date: t,
                end_date: None,
                row_version: 0,
                created_by_user_id: Some(ids.user),
                last_updated_user_id: Some(ids.user),
            },
        ]
    );

    let contact = |type_code: &str, notes: &str| Contact {
        notes: Some(notes.into()),
        ..ids.transfer_contact(type_code, offender, None)
    };
    let roc_notes = "New Details:\n\
        Responsible Officer Type: Offender Manager\n\
        Responsible Officer: Joe Bloggs(N02ABS,NPS North East)\n\
        Start Date: 28/07/2022 10:30:54\n\
        Previous Details:\n\
        Responsible Officer Type: Offender Manager\n\
        Responsible Officer: Unallocated Staff(Unallocated Team(N02),NPS North East)\n\
        Start Date: 01/07/2022 10:30:00\n\
        End Date: 28/07/2022 10:30:54\n\
        Allocation Reason: Initial Allocation";
    assert_eq!(contacts(&h.client, offender).await, vec![contact("ROC", roc_notes), contact("ETOM", TRANSFER_NOTES)]);

    let iaps: i64 = h.client.query_one("SELECT COUNT(*) FROM iaps_offender", &[]).await.unwrap().get(0);
    assert_eq!(iaps, 0, "the dev dataset has no accredited programme");
    assert_eq!(
        audits(&h.client).await,
        vec![("CABI231".into(), ids.user, "P".into(), format!("offenderId='{offender}'"))]
    );
}

#[tokio::test]
async fn historic_person_allocation_slots_into_the_past() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let offender = offender_id(&h.client, "T223456").await;
    let before = managers(&h.client, Table::Offender, offender).await;
    let officers_before = responsible_officers(&h.client, offender).await;
    let (handover, t) = (at("2022-08-01 09:00:00"), allocated_at());
    assert_eq!(
        before.iter().map(|m| (m.0.allocation_date, m.0.end_date)).collect::<Vec<_>>(),
        vec![(at("2022-07-01 10:30:00"), Some(handover)), (handover, None)]
    );

    let mut event = h.event("historic-allocation.json");
    event.records.truncate(1);
    invoke_ok(&h, event).await;

    let after = managers(&h.client, Table::Offender, offender).await;
    assert_eq!(after.len(), 3);
    assert_eq!(after[0].0, ids.ended(&before[0].0, t));
    let new = &after[1].0;
    assert_eq!(
        *new,
        ids.allocated(new.id, t, Some(handover), reason_id(&h.client, "OM ALLOCATION REASON", "IN1").await, None)
    );
    assert_eq!(after[2], before[1], "the current manager is untouched");

    let officers = responsible_officers(&h.client, offender).await;
    assert_eq!(officers.len(), 3);
    assert_eq!(
        officers[0],
        ResponsibleOfficer {
            end_date: Some(t),
            row_version: 1,
            last_updated_user_id: Some(ids.user),
            ..officers_before[0].clone()
        }
    );
    assert_eq!(
        officers[1],
        ResponsibleOfficer {
            id: officers[1].id,
            offender_manager_id: Some(new.id),
            prison_offender_manager_id: None,
            start_date: t,
            end_date: Some(handover),
            row_version: 0,
            created_by_user_id: Some(ids.user),
            last_updated_user_id: Some(ids.user),
        }
    );
    assert_eq!(officers[2], officers_before[1], "the current responsible officer is untouched");

    let contacts = contacts(&h.client, offender).await;
    assert_eq!(contacts.iter().map(|c| c.type_code.as_str()).collect::<Vec<_>>(), ["ROC", "ETOM"]);
    assert_eq!(
        contacts[0].notes.as_deref(),
        Some(
            "New Details:\n\
             Responsible Officer Type: Offender Manager\n\
             Responsible Officer: Joe Bloggs(N02ABS,NPS North East)\n\
             Start Date: 28/07/2022 10:30:54\n\
             End Date: 01/08/2022 09:00:00\n\
             Previous Details:\n\
             Responsible Officer Type: Offender Manager\n\
             Responsible Officer: Unallocated Staff(Unallocated Team(N02),NPS North East)\n\
             Start Date: 01/07/2022 10:30:00\n\
             End Date: 28/07/2022 10:30:54\n\
             Allocation Reason: Initial Allocation"
        )
    );
    assert_eq!(contacts[1].notes.as_deref(), Some(TRANSFER_NOTES));
    assert_eq!((contacts[1].contact_date, contacts[1].contact_start_time), (date("2022-07-28"), Some(t)));
}

#[tokio::test]
async fn the_same_message_twice_records_once() {
    let h = Harness::new().await;
    let ids = Ids::load(&h.client).await;
    let offender = offender_id(&h.client, "X123456").await;

    invoke_ok(&h, h.event("person-allocation.json")).await;
    let once = counts(&h.client).await;
    let managers_once = managers(&h.client, Table::Offender, offender).await;
    let officers_once = responsible_officers(&h.client, offender).await;

    invoke_ok(&h, h.event("person-allocation.json")).await;
    assert_eq!(counts(&h.client).await, once);
    assert_eq!(managers(&h.client, Table::Offender, offender).await, managers_once);
    assert_eq!(responsible_officers(&h.client, offender).await, officers_once);
    assert_eq!(contacts(&h.client, offender).await.len(), 2);
    let audit = (String::from("CABI231"), ids.user, String::from("P"), format!("offenderId='{offender}'"));
    assert_eq!(audits(&h.client).await, vec![audit.clone(), audit]);
}

#[tokio::test]
async fn a_person_message_without_a_crn_uses_the_detail_crn() {
    let h = Harness::new().await;
    let offender = offender_id(&h.client, "X123456").await;
    let url = h.detail_url("/allocation/person/4880d097-ea80-4492-bdb7-86228cdf29ef");
    let event = batch(vec![record("m-1", "person.community.manager.allocated", Some(&url), None)]);

    invoke_ok(&h, event).await;
    let after = managers(&h.client, Table::Offender, offender).await;
    assert_eq!(after.len(), 2);
    assert_eq!((after[1].0.allocation_date, after[1].0.end_date), (allocated_at(), None));
}

#[tokio::test]
async fn a_person_with_an_accredited_programme_gets_the_iaps_flag() {
    let h = Harness::new().await;
    let offender = offender_id(&h.client, "X123456").await;
    // A requirement with main category 7 and no sub-category or additional
    // category: accredited (the left-join semantics).
    add_requirement(&h.client, None, "X123456", "2", "7", None).await;

    invoke_ok(&h, h.event("person-allocation.json")).await;
    assert_eq!(iaps_flags(&h.client, "iaps_offender").await, vec![(offender, 1)]);
}

#[tokio::test]
async fn concurrent_allocations_of_one_person_serialize() {
    let h = Harness::new().await;
    let offender = offender_id(&h.client, "X123456").await;
    let ids = Ids::load(&h.client).await;
    let first = batch(vec![record(
        "m-first",
        "person.community.manager.allocated",
        Some(&h.detail_url("/allocation/person/4880d097-ea80-4492-bdb7-86228cdf29ef")),
        Some("X123456"),
    )]);
    allocate_concurrently(&h, first, "person.community.manager.allocated", serde_json::json!({"crn": "X123456"})).await;

    assert_eq!(manager_chain(&h.client, Table::Offender, offender).await, seeded_sample_later(&ids));
    let officers: Vec<_> =
        responsible_officers(&h.client, offender).await.into_iter().map(|o| (o.start_date, o.end_date)).collect();
    let (seeded, t1, t2) = (at("2022-07-01 10:30:00"), allocated_at(), later_at());
    assert_eq!(officers, vec![(seeded, Some(t1)), (t1, Some(t2)), (t2, None)]);
}

/// The lookups go out in the same flight as the person's lock: they must
/// run once the lock is granted and see what the holder committed, not what
/// was there before. With one attempt (no in-process retry to hide a stale
/// read), an allocation that waited for the lock while the holder changed
/// the active manager still ends that manager at its new row version.
#[tokio::test]
async fn the_lookups_see_what_the_lock_holder_committed() {
    let h = Harness::with(|s| s.retry.attempts = 1).await;
    let offender = offender_id(&h.client, "X123456").await;
    let ids = Ids::load(&h.client).await;

    let mut holder = h.test_db.client().await;
    let lock = holder.transaction().await.unwrap();
    lock.execute("SELECT 1 FROM offender WHERE crn = 'X123456' FOR UPDATE", &[]).await.unwrap();
    let db = h.test_db.database("HMPPSAllocations", 1);
    let allocation = invoke_with(&db, &h.allocations, h.event("person-allocation.json"));
    let change_then_release = async {
        // Until the allocation waits for the person's row.
        let waiting = "SELECT count(*) FROM pg_stat_activity \
                       WHERE wait_event_type = 'Lock' AND query LIKE '%FOR NO KEY UPDATE%'";
        let mut waited = 0;
        for _ in 0..300 {
            waited = h.client.query_one(waiting, &[]).await.unwrap().get::<_, i64>(0);
            if waited > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(waited, 1, "the allocation waits for the person's lock");
        // Another writer changes the active manager while holding the person.
        let changed = lock
            .execute(
                "UPDATE offender_manager SET row_version = row_version + 1 WHERE offender_id = $1 AND end_date IS NULL",
                &[&offender],
            )
            .await
            .unwrap();
        assert_eq!(changed, 1);
        lock.commit().await.unwrap();
    };
    let (response, ()) = tokio::join!(allocation, change_then_release);
    assert_eq!(failures(&response), Vec::<String>::new());
    let seeded = at("2022-07-01 10:30:00");
    assert_eq!(
        manager_chain(&h.client, Table::Offender, offender).await,
        vec![(ids.staff_uat, seeded, Some(allocated_at()), 0), (ids.staff_abs1, allocated_at(), None, 1)]
    );
}

#[tokio::test]
async fn the_responsible_officer_change_describes_a_prison_manager_or_no_one() {
    let h = Harness::new().await;
    let t123 = offender_id(&h.client, "T123456").await;
    let x123 = offender_id(&h.client, "X123456").await;
    // T123456's officer is a prison offender manager; X123456 has no officer.
    h.client
        .batch_execute(&format!(
            "{} \
             UPDATE responsible_officer SET offender_manager_id = NULL, \
                    prison_offender_manager_id = (SELECT prison_offender_manager_id FROM prison_offender_manager) \
             WHERE offender_id = {t123}; \
             DELETE FROM responsible_officer WHERE offender_id = {x123};",
            prison_offender_manager(t123)
        ))
        .await
        .unwrap();
    h.serve_detail(
        "/allocation/person/t123",
        detail(serde_json::json!({"crn": "T123456", "allocationReason": "OTHER"})),
    )
    .await;
    let event = batch(vec![
        record(
            "m-t",
            "person.community.manager.allocated",
            Some(&h.detail_url("/allocation/person/t123")),
            Some("T123456"),
        ),
        record(
            "m-x",
            "person.community.manager.allocated",
            Some(&h.detail_url("/allocation/person/4880d097-ea80-4492-bdb7-86228cdf29ef")),
            Some("X123456"),
        ),
    ]);
    invoke_ok(&h, event).await;

    let roc = |contacts: Vec<Contact>| contacts.into_iter().find(|c| c.type_code == "ROC").and_then(|c| c.notes);
    assert_eq!(
        roc(contacts(&h.client, t123).await).as_deref(),
        Some(
            "New Details:\n\
             Responsible Officer Type: Offender Manager\n\
             Responsible Officer: Joe Bloggs(N02ABS,NPS North East)\n\
             Start Date: 28/07/2022 10:30:54\n\
             Previous Details:\n\
             Responsible Officer Type: Prison Offender Manager\n\
             Responsible Officer: Pat Q Prison(POM Team,HMP Prison)\n\
             Start Date: 01/07/2022 10:30:00\n\
             End Date: 28/07/2022 10:30:54\n\
             Allocation Reason: Other"
        )
    );
    assert_eq!(
        roc(contacts(&h.client, x123).await).as_deref(),
        Some(
            "New Details:\n\
             Responsible Officer Type: Offender Manager\n\
             Responsible Officer: Joe Bloggs(N02ABS,NPS North East)\n\
             Start Date: 28/07/2022 10:30:54\n\
             Previous Details:\n\
             null\n\
             Allocation Reason: Initial Allocation"
        )
    );
    let officers: Vec<_> =
        responsible_officers(&h.client, x123).await.into_iter().map(|o| (o.start_date, o.end_date)).collect();
    assert_eq!(officers, vec![(allocated_at(), None)]);
}

#[tokio::test]
async fn the_responsible_officer_change_describes_both_managers_of_an_officer_that_has_both() {
    let h = Harness::new().await;
    let t123 = offender_id(&h.client, "T123456").await;
    // T123456's officer keeps its seeded community manager and gains a prison
    // offender manager: the previous details name both, community first.
    h.client
        .batch_execute(&format!(
            "{} \
             UPDATE responsible_officer \
             SET prison_offender_manager_id = (SELECT prison_offender_manager_id FROM prison_offender_manager) \
             WHERE offender_id = {t123};",
            prison_offender_manager(t123)
        ))
        .await
        .unwrap();
    h.serve_detail(
        "/allocation/person/t123-both",
        detail(serde_json::json!({"crn": "T123456", "allocationReason": "OTHER"})),
    )
    .await;
    let event = batch(vec![record(
        "m-both",
        "person.community.manager.allocated",
        Some(&h.detail_url("/allocation/person/t123-both")),
        Some("T123456"),
    )]);
    invoke_ok(&h, event).await;

    let roc = contacts(&h.client, t123).await.into_iter().find(|c| c.type_code == "ROC").and_then(|c| c.notes);
    assert_eq!(
        roc.as_deref(),
        Some(
            "New Details:\n\
             Responsible Officer Type: Offender Manager\n\
             Responsible Officer: Joe Bloggs(N02ABS,NPS North East)\n\
             Start Date: 28/07/2022 10:30:54\n\
             Previous Details:\n\
             Responsible Officer Type: Offender Manager\n\
             Responsible Officer: Unallocated Staff(Unallocated Team(N02),NPS North East)\
             Responsible Officer Type: Prison Offender Manager\n\
             Responsible Officer: Pat Q Prison(POM Team,HMP Prison)\n\
             Start Date: 01/07/2022 10:30:00\n\
             End Date: 28/07/2022 10:30:54\n\
             Allocation Reason: Other"
        )
    );
}

/// SQL giving `offender_id` a prison offender manager (Pat Q Prison of the
/// POM Team, HMP Prison, allocated 01/07/2022 10:30), in a provider, team
/// and staff member of its own.
fn prison_offender_manager(offender_id: i64) -> String {
    format!(
        "INSERT INTO probation_area (code, description) VALUES ('PRI', 'HMP Prison'); \
         INSERT INTO team (code, description, probation_area_id) \
         SELECT 'PRIPOM', 'POM Team', probation_area_id FROM probation_area WHERE code = 'PRI'; \
         INSERT INTO staff (officer_code, forename, forename2, surname) VALUES ('PRIPOM1', 'Pat', 'Q', 'Prison'); \
         INSERT INTO prison_offender_manager \
           (offender_id, allocation_staff_id, allocation_team_id, probation_area_id, allocation_date) \
         SELECT {offender_id}, s.staff_id, t.team_id, t.probation_area_id, TIMESTAMP '2022-07-01 10:30:00' \
         FROM staff s, team t WHERE s.officer_code = 'PRIPOM1' AND t.code = 'PRIPOM';"
    )
}
