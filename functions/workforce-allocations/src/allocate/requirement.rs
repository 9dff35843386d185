//! Requirement allocation: a new `rqmnt_manager`, the ETRC contact,
//! IAPS flag, CABI038.

use delius_db::allocations::{ManagerTable, Statements, Transaction};
use delius_db::audit::Parameters;

use super::component::{self, Component};
use super::{Context, Recorded};
use crate::detail::{Kind, RequirementDetail};
use crate::error::AllocationError;

pub(super) async fn allocate(
    tx: &Transaction<'_>,
    ctx: &Context<'_>,
    detail: &RequirementDetail,
    crn: &str,
    params: &mut Parameters,
) -> Result<Recorded, AllocationError> {
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
    let component = Component {
        kind: Kind::Requirement,
        id,
        offender_id: requirement.offender_id,
        event_id: requirement.event_id,
        event_number: &number,
        main_category: requirement.main_category_description.as_deref(),
        sub_category: requirement.sub_category_description.as_deref(),
        flag_iaps: requirement.is_accredited_programme(),
    };
    component::hand_over(tx, &st, ctx, &detail.common, &component, params).await
}
