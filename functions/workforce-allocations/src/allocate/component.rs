//! What a requirement and a licence condition allocation share once their
//! parent is locked and checked: both are sentence components, with a manager
//! of the same shape, the `COMPONENT` transfer reason, the requirement
//! managers' allocation reasons and an ETRC transfer contact.

use delius_db::allocations::{LookupKeys, NewContact, NewManager, Statements, Transaction};
use delius_db::audit::Parameters;

use super::{Context, Handover, Recorded, audit_success, check_date_conflict, duplicate, is_duplicate, validate};
use crate::detail::{Common, Kind};
use crate::error::AllocationError;
use crate::notes;

const TRANSFER_REASON: &str = "COMPONENT";

/// The locked and checked component.
pub(super) struct Component<'a> {
    pub kind: Kind,
    /// `rqmnt_id` or `lic_condition_id`.
    pub id: i64,
    pub offender_id: i64,
    pub event_id: i64,
    pub event_number: &'a str,
    pub main_category: Option<&'a str>,
    pub sub_category: Option<&'a str>,
    /// Whether to set the IAPS flag (accredited programme requirements).
    pub flag_iaps: bool,
}

impl Component<'_> {
    /// Delius' names of the component's manager, for messages.
    fn manager_names(&self) -> (&'static str, &'static str) {
        match self.kind {
            Kind::LicenceCondition => ("Licence Condition Manager for licence condition", "licence condition manager"),
            _ => ("Requirement Manager for requirement", "requirement manager"),
        }
    }
}

/// The manager hand-over of a component: duplicate and date checks, pending
/// transfers (ignorable), validation, then the new manager, the ended one, the
/// ETRC contact, the IAPS flag if asked and the audit row, in one pipelined
/// batch.
pub(super) async fn hand_over(
    tx: &Transaction<'_>,
    st: &Statements,
    ctx: &Context<'_>,
    common: &Common,
    component: &Component<'_>,
    params: &Parameters,
) -> Result<Recorded, AllocationError> {
    let (kind, id) = (component.kind, component.id);
    let reason_code = common.reason().code(kind);
    let keys = LookupKeys {
        team_code: common.team_code.trim(),
        reason_dataset: kind.reason_dataset(),
        reason_code,
        staff_code: common.staff_code.trim(),
        transfer_reason_code: Some(TRANSFER_REASON),
        spo_staff_code: None,
    };
    let (manager_label, manager_name) = component.manager_names();
    let (manager, lookups) = futures_util::try_join!(st.active_manager(tx, id, ctx.at), st.lookups(tx, &keys))?;
    let manager = manager
        .ok_or_else(|| AllocationError::NotFound(format!("{manager_label} {id} at {} not found", ctx.created_date)))?;
    if is_duplicate(&manager, common) {
        return duplicate(tx, ctx, params).await;
    }
    check_date_conflict(&manager, ctx.at)?;
    if manager.pending_transfers > 0 {
        let mut properties = vec![("eventNumber", component.event_number.to_string())];
        if let Some(main) = component.main_category {
            properties.push(("mainCategory", main.to_string()));
        }
        if let Some(sub) = component.sub_category {
            properties.push(("subCategory", sub.to_string()));
        }
        return Err(AllocationError::ignorable("Pending transfer exists in Delius", properties));
    }
    let valid = validate(&lookups, manager.probation_area_id, common, ctx.at, kind, reason_code)?;
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
    let (rqmnt_id, lic_condition_id) = match kind {
        Kind::LicenceCondition => (None, Some(id)),
        _ => (Some(id), None),
    };
    let transfer = NewContact {
        type_code: "ETRC",
        offender_id: component.offender_id,
        event_id: Some(component.event_id),
        rqmnt_id,
        lic_condition_id,
        date: ctx.at.date(),
        start_time: ctx.at,
        notes: Some(&transfer_notes),
        probation_area_id: new_manager.probation_area_id,
        team_id: new_manager.team_id,
        staff_id: new_manager.staff_id,
        sensitive: None,
    };

    let (ended, inserted, etrc, iaps, audited) = futures_util::join!(
        st.end_manager(tx, &handover.old, ctx.stamp),
        st.insert_manager(tx, &new_manager, ctx.stamp),
        st.insert_contact(tx, &transfer, ctx.stamp),
        async { if component.flag_iaps { st.flag_iaps(tx, id).await } else { Ok(false) } },
        audit_success(tx, ctx, params),
    );
    super::updated_one(ended, &format!("the {manager_name}"))?;
    inserted?;
    etrc?;
    iaps?;
    audited?;
    Ok(Recorded::New)
}
