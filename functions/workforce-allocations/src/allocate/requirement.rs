//! Requirement allocation: a new `rqmnt_manager`, the ETRC contact,
//! IAPS flag, CABI038.

use delius_db::allocations::{LookupKeys, ManagerTable, NewContact, NewManager, Statements, Transaction};
use delius_db::audit::Parameters;

use super::{Context, Handover, Recorded, audit_success, check_date_conflict, duplicate, is_duplicate, validate};
use crate::detail::{Kind, RequirementDetail};
use crate::error::AllocationError;
use crate::notes;

const TRANSFER_REASON: &str = "COMPONENT";

pub(super) async fn allocate(
    tx: &Transaction<'_>,
    ctx: &Context<'_>,
    detail: &RequirementDetail,
    crn: &str,
    params: &mut Parameters,
) -> Result<Recorded, AllocationError> {
    let common = &detail.common;
    let crn = crn.trim();
    let id = detail.requirement_id;
    let number = detail.event_number.to_string();
    let st = Statements::prepare(tx, ManagerTable::Requirement).await?;
    let requirement = st
        .lock_requirement(tx, id)
        .await?
        .ok_or_else(|| AllocationError::NotFound(format!("Requirement with id of {id} not found")))?;
    params.set("offenderId", requirement.offender_id);
    params.set("eventId", requirement.event_id);
    params.set("requirementId", requirement.rqmnt_id);
    // PKG_TRIGGERSUPPORT.PROCREBUILDOPTTABLES is Oracle-only: skipped (see person.rs).
    if requirement.crn != crn {
        return Err(AllocationError::Conflict(format!("Requirement {id} not for {crn}")));
    }
    if requirement.event_number != number {
        return Err(AllocationError::Conflict(format!("Requirement {id} not for event {number}")));
    }
    if !requirement.disposal_active || !requirement.event_active {
        return Err(AllocationError::NotActive(format!("Event with number of {number} not active")));
    }
    if !requirement.active {
        return Err(AllocationError::NotActive(format!("Requirement with id of {id} not active")));
    }

    let reason_code = common.reason().code(Kind::Requirement);
    let keys = LookupKeys {
        team_code: common.team_code.trim(),
        reason_dataset: Kind::Requirement.reason_dataset(),
        reason_code,
        staff_code: common.staff_code.trim(),
        transfer_reason_code: Some(TRANSFER_REASON),
        spo_staff_code: None,
    };
    let (manager, lookups) = futures_util::try_join!(st.active_manager(tx, id, ctx.at), st.lookups(tx, &keys))?;
    let manager = manager.ok_or_else(|| {
        AllocationError::NotFound(format!("Requirement Manager for requirement {id} at {} not found", ctx.created_date))
    })?;
    if is_duplicate(&manager, common) {
        return duplicate(tx, ctx, params).await;
    }
    check_date_conflict(&manager, ctx.at)?;
    if manager.pending_transfers > 0 {
        let mut properties = vec![("eventNumber", number)];
        if let Some(main) = &requirement.main_category_description {
            properties.push(("mainCategory", main.clone()));
        }
        if let Some(sub) = &requirement.sub_category_description {
            properties.push(("subCategory", sub.clone()));
        }
        return Err(AllocationError::ignorable("Pending transfer exists in Delius", properties));
    }
    let valid = validate(&lookups, manager.probation_area_id, common, ctx.at, Kind::Requirement, reason_code)?;
    let transfer_reason_id = lookups.transfer_reason_id.ok_or_else(|| {
        AllocationError::NotFound(format!("Transfer Reason with code of {TRANSFER_REASON} not found"))
    })?;

    let handover = Handover::new(&manager, ctx);
    let new_manager = NewManager {
        id: lookups.new_manager_id,
        parent_id: id,
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
        type_code: "ETRC",
        offender_id: requirement.offender_id,
        event_id: Some(requirement.event_id),
        rqmnt_id: Some(id),
        lic_condition_id: None,
        date: ctx.at.date(),
        start_time: ctx.at,
        notes: Some(&transfer_notes),
        probation_area_id: new_manager.probation_area_id,
        team_id: new_manager.team_id,
        staff_id: new_manager.staff_id,
        sensitive: None,
    };
    let accredited = requirement.is_accredited_programme();

    let (ended, inserted, etrc, iaps, audited) = futures_util::join!(
        st.end_manager(tx, &handover.old, ctx.stamp),
        st.insert_manager(tx, &new_manager, ctx.stamp),
        st.insert_contact(tx, &transfer, ctx.stamp),
        async { if accredited { st.flag_iaps(tx, id).await } else { Ok(false) } },
        audit_success(tx, ctx, params),
    );
    super::updated_one(ended, "the requirement manager")?;
    inserted?;
    etrc?;
    iaps?;
    audited?;
    Ok(Recorded::New)
}
