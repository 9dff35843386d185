//! Licence-condition allocation: a new `lic_condition_manager`, the ETRC
//! contact with the condition set, CABI038 with the condition under
//! `requirementId`. Like a requirement, except that a condition that is gone
//! (or soft-deleted) is ignorable, and there is no IAPS flag.

use delius_db::allocations::{ManagerTable, Statements, Transaction};
use delius_db::audit::Parameters;

use super::component::{self, Component};
use super::{Context, Recorded};
use crate::detail::{Kind, LicenceConditionDetail};
use crate::error::AllocationError;

pub(super) async fn allocate(
    tx: &Transaction<'_>,
    ctx: &Context<'_>,
    detail: &LicenceConditionDetail,
    crn: &str,
    params: &mut Parameters,
) -> Result<Recorded, AllocationError> {
    let crn = crn.trim();
    let id = detail.licence_condition_id;
    let number = detail.event_number.to_string();
    let st = Statements::prepare(tx, ManagerTable::LicenceCondition).await?;
    // "Requirement" is Delius' own wording for a licence condition that is gone.
    let condition = st
        .lock_licence_condition(tx, id)
        .await?
        .ok_or_else(|| AllocationError::ignorable("Requirement no longer exists", vec![("id", id.to_string())]))?;
    params.set("offenderId", condition.offender_id);
    params.set("eventId", condition.event_id);
    // Delius audits the condition under the requirement's key.
    params.set("requirementId", condition.lic_condition_id);
    // PKG_TRIGGERSUPPORT.PROCREBUILDOPTTABLES is Oracle-only: skipped (see person.rs).
    if condition.crn != crn {
        return Err(AllocationError::Conflict(format!("Licence Condition {id} not for {crn}")));
    }
    if condition.event_number != number {
        return Err(AllocationError::Conflict(format!("Licence Condition {id} not for event {number}")));
    }
    if !condition.disposal_active || !condition.event_active {
        return Err(AllocationError::NotActive(format!("Event with number of {} not active", condition.event_number)));
    }
    if !condition.active {
        return Err(AllocationError::NotActive(format!("Licence Condition with id of {id} not active")));
    }
    let component = Component {
        kind: Kind::LicenceCondition,
        id,
        offender_id: condition.offender_id,
        event_id: condition.event_id,
        event_number: &condition.event_number,
        main_category: condition.main_category_description.as_deref(),
        sub_category: condition.sub_category_description.as_deref(),
        flag_iaps: false,
    };
    component::hand_over(tx, &st, ctx, &detail.common, &component, params).await
}
