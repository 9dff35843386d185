//! Event (order) allocation: a new `order_manager`, the ETOS contact,
//! the allocation-decision contact (SPOD03 or CADE), IAPS flag, CABI041.

use delius_db::allocations::{self, Allocation, NewContact, Parent, Reads, Transaction};
use delius_db::audit::AuditTrail;

use super::{Context, Handover, Outcome, Recorded, duplicate, manager_to_replace, validate};
use crate::detail::{EventDetail, Kind};
use crate::error::AllocationError;

const TRANSFER_REASON: &str = "CASE ORDER";

pub(super) async fn allocate(
    tx: &Transaction,
    ctx: &Context<'_>,
    detail: &EventDetail,
    crn: &str,
    trail: &mut AuditTrail,
) -> Outcome {
    let common = &detail.common;
    let crn = crn.trim();
    let number = detail.event_number.to_string();
    let spo_staff_code = detail.spo_staff_code.as_deref().map(str::trim).filter(|code| !code.is_empty());
    let keys = ctx.lookup_keys(Kind::Event, common, Some(TRANSFER_REASON), spo_staff_code);
    // One flight (with BEGIN): the lock, then the reads. The lock's outcome
    // is looked at first (its failure fails the reads too).
    let q = Allocation::new(Parent::Event { crn, event_number: &number });
    let (locked, reads) = futures_util::join!(q.lock_event(tx), q.reads(tx, ctx.at, &keys));
    let event = locked?.ok_or_else(|| AllocationError::NotFound(format!("Event {number} not found for crn {crn}")))?;
    trail.parameters.set("offenderId", event.offender_id);
    trail.parameters.set("eventId", event.event_id);
    // PKG_TRIGGERSUPPORT.PROCREBUILDOPTTABLES is Oracle-only: skipped (see person.rs).
    if !event.active {
        return Err(AllocationError::NotActive(format!("Event with number of {number} not active")));
    }
    let Reads { manager, lookups, .. } = reads?;

    let Some(manager) = manager_to_replace(
        manager.as_ref(),
        common,
        ctx.at,
        || format!("Order Manager for event {number} at {} not found", ctx.created_date),
        || AllocationError::ignorable("Pending transfer exists in Delius", vec![("eventNumber", number.clone())]),
    )?
    else {
        return duplicate(tx, trail).await;
    };
    let valid = validate(&lookups, manager.probation_area_id, common, ctx.at, Kind::Event, keys.reason_code)?;
    let handover = Handover::new(manager, &valid, &lookups, event.event_id, Some(TRANSFER_REASON), ctx)?;
    let spo_staff_id = match spo_staff_code {
        None => None,
        Some(code) => Some(
            lookups
                .spo_staff_id
                .ok_or_else(|| AllocationError::NotFound(format!("SPO Staff with code of {code} not found")))?,
        ),
    };

    let transfer = NewContact {
        event_id: Some(event.event_id),
        ..handover.contact("ETOS", event.offender_id, Some(&handover.transfer_notes), ctx.at)
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
        staff_id: spo_staff_id.unwrap_or(handover.new.staff_id),
        ..transfer.clone()
    };

    // One flight with the P row and COMMIT.
    let writes = async {
        let (ended, inserted, etos, decided, iaps) = futures_util::join!(
            q.end_manager(tx, &handover.old, ctx.stamp),
            q.insert_manager(tx, &handover.new, ctx.stamp),
            allocations::insert_contact(tx, &transfer, ctx.stamp),
            allocations::insert_contact(tx, &decision, ctx.stamp),
            q.flag_iaps(tx, event.event_id),
        );
        super::updated_one(ended, "the order manager")?;
        inserted?;
        etos?;
        decided?;
        iaps?;
        Ok(Recorded::New)
    };
    trail.commit(tx, writes).await
}
