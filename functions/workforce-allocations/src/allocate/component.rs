//! Requirement and licence-condition allocations. Both are sentence
//! components, with a manager of the same shape (`rqmnt_manager`,
//! `lic_condition_manager`), the `COMPONENT` transfer reason, the requirement
//! managers' allocation reasons, an ETRC transfer contact and CABI038 (with
//! a licence condition under `requirementId`). They differ in that a
//! licence condition that is gone (or soft-deleted) is ignorable, and only an
//! accredited-programme requirement gets an IAPS flag.

use delius_db::allocations::{self, Allocation, ComponentRow, NewContact, Parent, Reads, Transaction};
use delius_db::audit::AuditTrail;

use super::{Context, Handover, Outcome, Recorded, duplicate, manager_to_replace, validate};
use crate::detail::{Common, Kind, LicenceConditionDetail, RequirementDetail};
use crate::error::AllocationError;

const TRANSFER_REASON: &str = "COMPONENT";

pub(super) async fn allocate_requirement(
    tx: &Transaction,
    ctx: &Context<'_>,
    detail: &RequirementDetail,
    crn: &str,
    trail: &mut AuditTrail,
) -> Outcome {
    let id = detail.requirement_id;
    let parent = Parent::Requirement { rqmnt_id: id };
    let missing = || AllocationError::NotFound(format!("Requirement with id of {id} not found"));
    allocate(tx, ctx, &detail.common, parent, detail.event_number, crn, missing, trail).await
}

pub(super) async fn allocate_licence_condition(
    tx: &Transaction,
    ctx: &Context<'_>,
    detail: &LicenceConditionDetail,
    crn: &str,
    trail: &mut AuditTrail,
) -> Outcome {
    let id = detail.licence_condition_id;
    let parent = Parent::LicenceCondition { lic_condition_id: id };
    // "Requirement" is Delius' own wording for a licence condition that is gone.
    let missing = || AllocationError::ignorable("Requirement no longer exists", vec![("id", id.to_string())]);
    allocate(tx, ctx, &detail.common, parent, detail.event_number, crn, missing, trail).await
}

/// Delius' names of a component kind, for messages.
struct Names {
    kind: Kind,
    /// As in "Requirement 12 not for X123456".
    component: &'static str,
    /// As in "Requirement Manager for requirement 12 at ... not found".
    manager_label: &'static str,
    /// As in "the requirement manager was changed by another transaction".
    manager: &'static str,
}

const REQUIREMENT: Names = Names {
    kind: Kind::Requirement,
    component: "Requirement",
    manager_label: "Requirement Manager for requirement",
    manager: "requirement manager",
};

const LICENCE_CONDITION: Names = Names {
    kind: Kind::LicenceCondition,
    component: "Licence Condition",
    manager_label: "Licence Condition Manager for licence condition",
    manager: "licence condition manager",
};

#[allow(clippy::too_many_arguments)]
async fn allocate(
    tx: &Transaction,
    ctx: &Context<'_>,
    common: &Common,
    parent: Parent<'_>,
    event_number: i64,
    crn: &str,
    missing: impl FnOnce() -> AllocationError,
    trail: &mut AuditTrail,
) -> Outcome {
    let names = match parent {
        Parent::LicenceCondition { .. } => &LICENCE_CONDITION,
        _ => &REQUIREMENT,
    };
    let kind = names.kind;
    let crn = crn.trim();
    let number = event_number.to_string();
    let keys = ctx.lookup_keys(kind, common, Some(TRANSFER_REASON), None);
    // One flight (with BEGIN): the lock, then the reads. The lock's outcome
    // is looked at first (its failure fails the reads too).
    let q = Allocation::new(parent);
    let (locked, reads) = futures_util::join!(q.lock_component(tx), q.reads(tx, ctx.at, &keys));
    let component = locked?.ok_or_else(missing)?;
    trail.parameters.set("offenderId", component.offender_id);
    trail.parameters.set("eventId", component.event_id);
    // Delius audits a licence condition under the requirement's key too.
    trail.parameters.set("requirementId", component.id);
    // PKG_TRIGGERSUPPORT.PROCREBUILDOPTTABLES is Oracle-only: skipped (see person.rs).
    check_component(&component, names, crn, &number)?;
    let Reads { manager, lookups, .. } = reads?;

    let id = component.id;
    let Some(manager) = manager_to_replace(
        manager.as_ref(),
        common,
        ctx.at,
        || format!("{} {id} at {} not found", names.manager_label, ctx.created_date),
        || AllocationError::ignorable("Pending transfer exists in Delius", pending_properties(&component)),
    )?
    else {
        return duplicate(tx, trail).await;
    };
    let valid = validate(&lookups, manager.probation_area_id, common, ctx.at, kind, keys.reason_code)?;
    let handover = Handover::new(manager, &valid, &lookups, id, Some(TRANSFER_REASON), ctx)?;
    let (rqmnt_id, lic_condition_id) = match kind {
        Kind::LicenceCondition => (None, Some(id)),
        _ => (Some(id), None),
    };
    let transfer = NewContact {
        event_id: Some(component.event_id),
        rqmnt_id,
        lic_condition_id,
        ..handover.contact("ETRC", component.offender_id, Some(&handover.transfer_notes), ctx.at)
    };
    let flag_iaps = kind == Kind::Requirement && component.is_accredited_programme();

    // One flight with the P row and COMMIT.
    let writes = async {
        let (ended, inserted, etrc, iaps) = futures_util::join!(
            q.end_manager(tx, &handover.old, ctx.stamp),
            q.insert_manager(tx, &handover.new, ctx.stamp),
            allocations::insert_contact(tx, &transfer, ctx.stamp),
            async { if flag_iaps { q.flag_iaps(tx, id).await } else { Ok(false) } },
        );
        super::updated_one(ended, &format!("the {}", names.manager))?;
        inserted?;
        etrc?;
        iaps?;
        Ok(Recorded::New)
    };
    trail.commit(tx, writes).await
}

/// The component belongs to the message's person and event, and it and its
/// sentence are active.
fn check_component(component: &ComponentRow, names: &Names, crn: &str, number: &str) -> Result<(), AllocationError> {
    let (id, what) = (component.id, names.component);
    if component.crn != crn {
        return Err(AllocationError::Conflict(format!("{what} {id} not for {crn}")));
    }
    if component.event_number != number {
        return Err(AllocationError::Conflict(format!("{what} {id} not for event {number}")));
    }
    if !component.disposal_active || !component.event_active {
        return Err(AllocationError::NotActive(format!("Event with number of {number} not active")));
    }
    if !component.active {
        return Err(AllocationError::NotActive(format!("{what} with id of {id} not active")));
    }
    Ok(())
}

/// What the report of an ignored pending transfer names: the event and the
/// component's categories.
fn pending_properties(component: &ComponentRow) -> Vec<(&'static str, String)> {
    let mut properties = vec![("eventNumber", component.event_number.clone())];
    if let Some(main) = &component.main_category_description {
        properties.push(("mainCategory", main.clone()));
    }
    if let Some(sub) = &component.sub_category_description {
        properties.push(("subCategory", sub.clone()));
    }
    properties
}
