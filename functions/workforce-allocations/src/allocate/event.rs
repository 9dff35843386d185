//! Event (order) allocation: a new `order_manager`, the ETOS contact,
//! the allocation-decision contact (SPOD03 or CADE), IAPS flag, CABI041.

use delius_db::allocations::{LookupKeys, ManagerTable, NewContact, NewManager, Statements, Transaction};
use delius_db::audit::Parameters;

use super::{Context, Handover, Recorded, audit_success, check_date_conflict, duplicate, is_duplicate, validate};
use crate::detail::{EventDetail, Kind};
use crate::error::AllocationError;
use crate::notes;

const TRANSFER_REASON: &str = "CASE ORDER";

pub(super) async fn allocate(
    tx: &Transaction<'_>,
    ctx: &Context<'_>,
    detail: &EventDetail,
    crn: &str,
    params: &mut Parameters,
) -> Result<Recorded, AllocationError> {
    let common = &detail.common;
    let crn = crn.trim();
    let number = detail.event_number.to_string();
    let st = Statements::prepare(tx, ManagerTable::Order).await?;
    let event = st
        .lock_event(tx, crn, &number)
        .await?
        .ok_or_else(|| AllocationError::NotFound(format!("Event {number} not found for crn {crn}")))?;
    params.set("offenderId", event.offender_id);
    params.set("eventId", event.event_id);
    // PKG_TRIGGERSUPPORT.PROCREBUILDOPTTABLES is Oracle-only: skipped (see person.rs).
    if !event.active {
        return Err(AllocationError::NotActive(format!("Event with number of {number} not active")));
    }

    let reason_code = common.reason().code(Kind::Event);
    let spo_staff_code = detail.spo_staff_code.as_deref().map(str::trim).filter(|code| !code.is_empty());
    let keys = LookupKeys {
        team_code: common.team_code.trim(),
        reason_dataset: Kind::Event.reason_dataset(),
        reason_code,
        staff_code: common.staff_code.trim(),
        transfer_reason_code: Some(TRANSFER_REASON),
        spo_staff_code,
    };
    let (manager, lookups) =
        futures_util::try_join!(st.active_manager(tx, event.event_id, ctx.at), st.lookups(tx, &keys))?;
    let manager = manager.ok_or_else(|| {
        AllocationError::NotFound(format!("Order Manager for event {number} at {} not found", ctx.created_date))
    })?;
    if is_duplicate(&manager, common) {
        return duplicate(tx, ctx, params).await;
    }
    check_date_conflict(&manager, ctx.at)?;
    if manager.pending_transfers > 0 {
        return Err(AllocationError::ignorable("Pending transfer exists in Delius", vec![("eventNumber", number)]));
    }
    let valid = validate(&lookups, manager.probation_area_id, common, ctx.at, Kind::Event, reason_code)?;
    let transfer_reason_id = lookups.transfer_reason_id.ok_or_else(|| {
        AllocationError::NotFound(format!("Transfer Reason with code of {TRANSFER_REASON} not found"))
    })?;
    let spo_staff_id = match spo_staff_code {
        None => None,
        Some(code) => Some(
            lookups
                .spo_staff_id
                .ok_or_else(|| AllocationError::NotFound(format!("SPO Staff with code of {code} not found")))?,
        ),
    };

    let handover = Handover::new(&manager, ctx);
    let new_manager = NewManager {
        id: lookups.new_manager_id,
        parent_id: event.event_id,
        staff_id: valid.staff.staff_id,
        team_id: valid.team.team_id,
        probation_area_id: manager.probation_area_id,
        partition_area_id: manager.partition_area_id,
        allocation_date: ctx.at,
        end_date: handover.new_end,
        allocation_reason_id: valid.reason.id,
        active: handover.new_active,
        transfer_reason_id: Some(transfer_reason_id),
    };
    let transfer_notes = notes::transfer(
        ctx.at,
        &valid.team.provider_description,
        &manager.team_description,
        &manager.staff_name.display_name(),
    );
    let transfer = NewContact {
        type_code: "ETOS",
        offender_id: event.offender_id,
        event_id: Some(event.event_id),
        rqmnt_id: None,
        lic_condition_id: None,
        date: ctx.at.date(),
        start_time: ctx.at,
        notes: Some(&transfer_notes),
        probation_area_id: new_manager.probation_area_id,
        team_id: new_manager.team_id,
        staff_id: new_manager.staff_id,
        sensitive: None,
    };
    // The allocation decision: SPO oversight (sensitive unless said otherwise)
    // or the allocation justification (not sensitive unless said otherwise).
    let (type_code, decision_notes, sensitive) = if ctx.produce_spod03_contact {
        ("SPOD03", detail.spo_oversight_notes.as_deref(), detail.sensitive_oversight_notes.unwrap_or(true))
    } else {
        ("CADE", detail.allocation_justification_notes.as_deref(), detail.sensitive_notes.unwrap_or(false))
    };
    let decision = NewContact {
        type_code,
        notes: decision_notes,
        sensitive: Some(sensitive),
        staff_id: spo_staff_id.unwrap_or(new_manager.staff_id),
        ..transfer.clone()
    };

    let (ended, inserted, etos, decided, iaps, audited) = futures_util::join!(
        st.end_manager(tx, &handover.old, ctx.stamp),
        st.insert_manager(tx, &new_manager, ctx.stamp),
        st.insert_contact(tx, &transfer, ctx.stamp),
        st.insert_contact(tx, &decision, ctx.stamp),
        st.flag_iaps(tx, event.event_id),
        audit_success(tx, ctx, params),
    );
    super::updated_one(ended, "the order manager")?;
    inserted?;
    etos?;
    decided?;
    iaps?;
    audited?;
    Ok(Recorded::New)
}
