//! Person allocation: a new community manager (`offender_manager`),
//! responsible officer change, ROC and ETOM contacts, IAPS flag, CABI231.

use delius_db::allocations::{
    LookupKeys, ManagerTable, NewContact, NewManager, NewResponsibleOfficer, Statements, Transaction,
};
use delius_db::audit::Parameters;

use super::{Context, Handover, Recorded, audit_success, check_date_conflict, duplicate, is_duplicate, validate};
use crate::detail::{Kind, PersonDetail};
use crate::error::AllocationError;
use crate::notes;

pub(super) async fn allocate(
    tx: &Transaction<'_>,
    ctx: &Context<'_>,
    detail: &PersonDetail,
    params: &mut Parameters,
) -> Result<Recorded, AllocationError> {
    let common = &detail.common;
    let crn = detail.crn.trim();
    let st = Statements::prepare(tx, ManagerTable::Offender).await?;
    let offender_id = st
        .lock_person(tx, crn)
        .await?
        .ok_or_else(|| AllocationError::NotFound(format!("Person with crn of {crn} not found")))?;
    params.set("offenderId", offender_id);
    // Delius would now register PKG_TRIGGERSUPPORT.PROCREBUILDOPTTABLES(offender_id)
    // to run after the commit. It is an Oracle-only procedure with no
    // PostgreSQL counterpart, so it is skipped.

    let reason_code = common.reason().code(Kind::Person);
    let keys = LookupKeys {
        team_code: common.team_code.trim(),
        reason_dataset: Kind::Person.reason_dataset(),
        reason_code,
        staff_code: common.staff_code.trim(),
        transfer_reason_code: None,
        spo_staff_code: None,
    };
    let (manager, lookups, officer) = futures_util::try_join!(
        st.active_manager(tx, offender_id, ctx.at),
        st.lookups(tx, &keys),
        st.active_responsible_officer(tx, offender_id, ctx.at),
    )?;
    let manager = manager.ok_or_else(|| {
        AllocationError::NotFound(format!("Person Manager for {crn} at {} not found", ctx.created_date))
    })?;
    if is_duplicate(&manager, common) {
        return duplicate(tx, ctx, params).await;
    }
    check_date_conflict(&manager, ctx.at)?;
    if manager.pending_transfers > 0 {
        // Unlike events and requirements, not ignorable for a person.
        return Err(AllocationError::Conflict(format!("Pending transfer exists for this person: {crn}")));
    }
    let valid = validate(&lookups, manager.probation_area_id, common, ctx.at, Kind::Person, reason_code)?;

    let handover = Handover::new(&manager, ctx);
    let new_manager = NewManager {
        id: lookups.new_manager_id,
        parent_id: offender_id,
        staff_id: valid.staff.staff_id,
        team_id: valid.team.team_id,
        probation_area_id: manager.probation_area_id,
        partition_area_id: manager.partition_area_id,
        allocation_date: ctx.at,
        end_date: handover.new_end,
        allocation_reason_id: valid.reason.id,
        active: handover.new_active,
        transfer_reason_id: None,
    };
    // The new responsible officer is the new manager, for the same period.
    let new_officer = NewResponsibleOfficer {
        offender_id,
        offender_manager_id: new_manager.id,
        start_date: ctx.at,
        end_date: new_manager.end_date,
    };

    let new_staff_name = valid.staff.name.display_name();
    let new_officer_details = notes::ResponsibleOfficer {
        community_manager: Some(notes::OfficerDetails {
            name: &new_staff_name,
            team: &valid.team.description,
            provider: &valid.team.provider_description,
        }),
        prison_manager: None,
        start: new_officer.start_date,
        end: new_officer.end_date,
    };
    let previous_names = officer.as_ref().map(|o| {
        (
            o.community_manager.as_ref().map(|m| m.staff_name.display_name()),
            o.prison_manager.as_ref().map(|m| m.staff_name.display_name()),
        )
    });
    // The previous officer as it is once ended at the allocation date.
    let previous_details =
        officer.as_ref().zip(previous_names.as_ref()).map(|(o, (community, prison))| notes::ResponsibleOfficer {
            community_manager: o.community_manager.as_ref().zip(community.as_deref()).map(|(m, name)| {
                notes::OfficerDetails { name, team: &m.team_description, provider: &m.provider_description }
            }),
            prison_manager: o.prison_manager.as_ref().zip(prison.as_deref()).map(|(m, name)| notes::OfficerDetails {
                name,
                team: &m.team_description,
                provider: &m.provider_description,
            }),
            start: o.start_date,
            end: Some(ctx.at),
        });
    let officer_notes =
        notes::responsible_officer_change(&new_officer_details, previous_details.as_ref(), &valid.reason.description);
    let transfer_notes = notes::transfer(
        ctx.at,
        &valid.team.provider_description,
        &manager.team_description,
        &manager.staff_name.display_name(),
    );
    let contact = |type_code, notes| NewContact {
        type_code,
        offender_id,
        event_id: None,
        rqmnt_id: None,
        lic_condition_id: None,
        date: ctx.at.date(),
        start_time: ctx.at,
        notes: Some(notes),
        probation_area_id: new_manager.probation_area_id,
        team_id: new_manager.team_id,
        staff_id: new_manager.staff_id,
        sensitive: None,
    };
    let officer_change = contact("ROC", &officer_notes);
    let transfer = contact("ETOM", &transfer_notes);

    // One pipelined batch, in this order: the old manager and officer are
    // ended before their successors go in (one open manager, one active
    // officer per person).
    let (ended, inserted, officer_ended, officer_inserted, roc, etom, iaps, audited) = futures_util::join!(
        st.end_manager(tx, &handover.old, ctx.stamp),
        st.insert_manager(tx, &new_manager, ctx.stamp),
        async {
            match &officer {
                Some(o) => st.end_responsible_officer(tx, o, ctx.at, ctx.stamp).await.map(Some),
                None => Ok(None),
            }
        },
        st.insert_responsible_officer(tx, &new_officer, ctx.stamp),
        st.insert_contact(tx, &officer_change, ctx.stamp),
        st.insert_contact(tx, &transfer, ctx.stamp),
        st.flag_iaps(tx, offender_id),
        audit_success(tx, ctx, params),
    );
    super::updated_one(ended, "the person manager")?;
    inserted?;
    if let Some(count) = officer_ended? {
        super::updated_one(Ok(count), "the responsible officer")?;
    }
    officer_inserted?;
    roc?;
    etom?;
    iaps?;
    audited?;
    Ok(Recorded::New)
}
