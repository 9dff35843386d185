//! Person allocation: a new community manager (`offender_manager`),
//! responsible officer change, ROC and ETOM contacts, IAPS flag, CABI231.

use delius_db::allocations::{self, Allocation, NewResponsibleOfficer, Parent, Reads, Transaction};
use delius_db::audit::AuditTrail;

use super::{Context, Handover, Outcome, Recorded, duplicate, manager_to_replace, validate};
use crate::detail::{Kind, PersonDetail};
use crate::error::AllocationError;
use crate::notes;

pub(super) async fn allocate(
    tx: &Transaction,
    ctx: &Context<'_>,
    detail: &PersonDetail,
    trail: &mut AuditTrail,
) -> Outcome {
    let common = &detail.common;
    let crn = detail.crn.trim();
    let keys = ctx.lookup_keys(Kind::Person, common, None, None);
    // One flight (with BEGIN): the lock, then the reads. The lock's outcome
    // is looked at first (its failure fails the reads too).
    let q = Allocation::new(Parent::Person { crn });
    let (locked, reads) = futures_util::join!(q.lock_person(tx), q.reads(tx, ctx.at, &keys));
    let offender_id =
        locked?.ok_or_else(|| AllocationError::NotFound(format!("Person with crn of {crn} not found")))?;
    trail.parameters.set("offenderId", offender_id);
    let Reads { manager, lookups, officer } = reads?;
    // Delius would now register PKG_TRIGGERSUPPORT.PROCREBUILDOPTTABLES(offender_id)
    // to run after the commit. It is an Oracle-only procedure with no
    // PostgreSQL counterpart, so it is skipped.

    let Some(manager) = manager_to_replace(
        manager.as_ref(),
        common,
        ctx.at,
        || format!("Person Manager for {crn} at {} not found", ctx.created_date),
        // Unlike events and requirements, not ignorable for a person.
        || AllocationError::Conflict(format!("Pending transfer exists for this person: {crn}")),
    )?
    else {
        return duplicate(tx, trail).await;
    };
    let valid = validate(&lookups, manager.probation_area_id, common, ctx.at, Kind::Person, keys.reason_code)?;
    let handover = Handover::new(manager, &valid, &lookups, offender_id, None, ctx)?;
    let new_manager = &handover.new;
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
    let officer_change = handover.contact("ROC", offender_id, Some(&officer_notes), ctx.at);
    let transfer = handover.contact("ETOM", offender_id, Some(&handover.transfer_notes), ctx.at);

    // One flight with the P row and COMMIT, in this order: the old manager
    // and officer are ended before their successors go in (one open
    // manager, one active officer per person).
    let writes = async {
        let (ended, inserted, officer_ended, officer_inserted, roc, etom, iaps) = futures_util::join!(
            q.end_manager(tx, &handover.old, ctx.stamp),
            q.insert_manager(tx, new_manager, ctx.stamp),
            async {
                match &officer {
                    Some(o) => allocations::end_responsible_officer(tx, o, ctx.at, ctx.stamp).await,
                    None => Ok(()),
                }
            },
            allocations::insert_responsible_officer(tx, &new_officer, ctx.stamp),
            allocations::insert_contact(tx, &officer_change, ctx.stamp),
            allocations::insert_contact(tx, &transfer, ctx.stamp),
            q.flag_iaps(tx, offender_id),
        );
        // In statement order: the first failure is the cause, the later
        // statements failed because the transaction was aborted.
        super::updated_one(ended, "the person manager")?;
        inserted?;
        super::updated_one(officer_ended, "the responsible officer")?;
        officer_inserted?;
        roc?;
        etom?;
        iaps?;
        Ok(Recorded::New)
    };
    trail.commit(tx, writes).await
}
