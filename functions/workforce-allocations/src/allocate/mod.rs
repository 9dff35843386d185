//! Recording an allocation in Delius: the checks every kind shares, then the kind's own steps.
//!
//! Each message is one transaction ([`audit::audited`]). Its parent row
//! (person, event, requirement or licence condition) is locked first, so
//! concurrent deliveries for the same parent run one after the other and a
//! redelivery finds its own allocation and is a no-op. On success the `P`
//! audit row is written inside the transaction; on failure the transaction is
//! rolled back and the `F` row is written on the bare connection, so it
//! survives.
//!
//! Round trips, each about a millisecond between the function and the
//! database: `BEGIN`, the parent's lock and every read go out in one flight
//! (the reads take the parent's key, not its id, so they need no answer
//! from the lock, and run after it is granted); the writes, the `P` row and
//! `COMMIT` in the second ([`AuditTrail::commit`]). Every check that
//! depends on the writes (an optimistic lock lost, a contact type missing)
//! is in their SQL: a write that fails aborts the transaction, `COMMIT` then
//! rolls back, and the `F` row follows in a third flight. A failure found
//! in the first flight's answers is a flight sooner: its `ROLLBACK` and `F`
//! row go out together.

mod component;
mod event;
mod person;

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use delius_db::Database;
use delius_db::DbError;
use delius_db::allocations::{
    AllocationReasonRow, LookupKeys, Lookups, ManagerEnd, ManagerRow, NewContact, NewManager, StaffRow, Stamp, TeamRow,
    Transaction,
};
use delius_db::audit::{self, AuditTrail, Finish};

use crate::detail::{Common, Detail, Kind};
use crate::error::AllocationError;
use crate::notes;

/// How a message that did not fail was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new manager (and what goes with it) was written.
    New,
    /// The allocation was there already: only the `P` audit row was written.
    Duplicate,
}

/// What every step of one allocation needs.
struct Context<'a> {
    stamp: Stamp,
    /// `createdDate` as London wall-clock time, whole seconds.
    at: NaiveDateTime,
    /// `createdDate` as received, for messages.
    created_date: &'a str,
    produce_spod03_contact: bool,
}

impl Context<'_> {
    /// The keys of the lookups every kind validates against.
    fn lookup_keys<'a>(
        &self,
        kind: Kind,
        common: &'a Common,
        transfer_reason_code: Option<&'a str>,
        spo_staff_code: Option<&'a str>,
    ) -> LookupKeys<'a> {
        LookupKeys {
            team_code: common.team_code.trim(),
            reason_dataset: kind.reason_dataset(),
            reason_code: common.reason().code(kind),
            staff_code: common.staff_code.trim(),
            transfer_reason_code,
            spo_staff_code,
        }
    }
}

/// What a kind's steps end with: commit (with the `P` row) or fail.
type Outcome = Result<Finish<Recorded>, AllocationError>;

/// Records the allocation described by `detail`. `message_crn` is the CRN of
/// the message's person reference: required for event, requirement and
/// licence-condition allocations; a person allocation uses the detail's CRN.
pub async fn record(
    db: &Database,
    detail: &Detail,
    message_crn: Option<&str>,
    produce_spod03_contact: bool,
) -> Result<Recorded, AllocationError> {
    let at = detail.common().allocated_at()?;
    let crn = match detail {
        Detail::Person(d) => d.crn.as_str(),
        _ => message_crn.ok_or(AllocationError::MissingCrn)?,
    };
    let client = db.client().await?;
    let user_id = db.service_user_id(&client).await?;
    let now = delius_db::time::london_now();
    let ctx = Context {
        stamp: Stamp { user_id, now },
        at,
        created_date: &detail.common().created_date,
        produce_spod03_contact,
    };
    let mut trail = AuditTrail::new(detail.kind().business_interaction(), user_id, now);
    audit::audited(db, client, &mut trail, async |tx, trail| match detail {
        Detail::Person(d) => person::allocate(tx, &ctx, d, trail).await,
        Detail::Event(d) => event::allocate(tx, &ctx, d, crn, trail).await,
        Detail::Requirement(d) => component::allocate_requirement(tx, &ctx, d, crn, trail).await,
        Detail::LicenceCondition(d) => component::allocate_licence_condition(tx, &ctx, d, crn, trail).await,
    })
    .await
}

/// The allocation is the active manager already: nothing but the audit row
/// (sent with `COMMIT`).
async fn duplicate(tx: &Transaction, trail: &AuditTrail) -> Outcome {
    tracing::info!("Ignoring duplicate allocation request");
    trail.commit(tx, async { Ok(Recorded::Duplicate) }).await
}

/// The checks every kind makes of the active manager, in the original's
/// order: found (`not_found` says what is missing), not the same allocation
/// again (`Ok(None)`: a duplicate), no other allocation in the same second,
/// no pending transfer (`pending` says what one means for the kind).
fn manager_to_replace<'m>(
    manager: Option<&'m ManagerRow>,
    common: &Common,
    at: NaiveDateTime,
    not_found: impl FnOnce() -> String,
    pending: impl FnOnce() -> AllocationError,
) -> Result<Option<&'m ManagerRow>, AllocationError> {
    let manager = manager.ok_or_else(|| AllocationError::NotFound(not_found()))?;
    if is_duplicate(manager, common) {
        return Ok(None);
    }
    check_date_conflict(manager, at)?;
    if manager.pending_transfers > 0 {
        return Err(pending());
    }
    Ok(Some(manager))
}

/// Same staff and same team as the active manager (the reason is not compared).
fn is_duplicate(manager: &ManagerRow, common: &Common) -> bool {
    manager.staff_code == common.staff_code.trim() && manager.team_code == common.team_code.trim()
}

/// A different allocation at the very second of the active one.
fn check_date_conflict(manager: &ManagerRow, at: NaiveDateTime) -> Result<(), AllocationError> {
    let current = manager.allocation_date.with_nanosecond(0).unwrap_or(manager.allocation_date);
    if current == at {
        return Err(AllocationError::Conflict(format!(
            "Allocation date conflicts with the current active manager: {} in team {} allocated at {}",
            manager.staff_code,
            manager.team_code,
            current.format("%Y-%m-%dT%H:%M:%S")
        )));
    }
    Ok(())
}

struct Validated<'a> {
    team: &'a TeamRow,
    staff: &'a StaffRow,
    reason: &'a AllocationReasonRow,
}

/// An end date (a Delius DATE, so midnight) before the allocation date-time.
fn ended_before(end_date: Option<NaiveDate>, at: NaiveDateTime) -> bool {
    end_date.is_some_and(|end| end.and_time(chrono::NaiveTime::MIN) < at)
}

/// The checks every kind shares, in the order the original makes them (the
/// first that fails decides the error), against the current manager's provider.
fn validate<'a>(
    lookups: &'a Lookups,
    provider_id: i64,
    common: &Common,
    at: NaiveDateTime,
    kind: Kind,
    reason_code: &str,
) -> Result<Validated<'a>, AllocationError> {
    let team_code = common.team_code.trim();
    let staff_code = common.staff_code.trim();
    let team = lookups
        .team
        .as_ref()
        .ok_or_else(|| AllocationError::NotFound(format!("Team with code of {team_code} not found")))?;
    if team.probation_area_id != provider_id {
        return Err(AllocationError::ignorable(
            "External transfer not permitted",
            vec![("teamCode", team_code.into())],
        ));
    }
    if ended_before(team.end_date, at) {
        return Err(AllocationError::NotActive(format!("Team with code of {team_code} not active")));
    }
    let reason = lookups.reason.as_ref().ok_or_else(|| {
        AllocationError::NotFound(format!("{} with code of {reason_code} not found", kind.reason_dataset()))
    })?;
    let staff = lookups
        .staff
        .as_ref()
        .ok_or_else(|| AllocationError::NotFound(format!("Staff with code of {staff_code} not found")))?;
    if ended_before(staff.end_date, at) {
        return Err(AllocationError::NotActive(format!("Staff with code of {staff_code} not active")));
    }
    if !lookups.staff_in_team {
        return Err(AllocationError::StaffNotInTeam(format!("Staff {staff_code} not in Team {team_code}")));
    }
    Ok(Validated { team, staff, reason })
}

/// The hand-over from the active manager to the new one. Dates follow
/// Delius' `updateDateTimes`: the new manager takes the active manager's end
/// date and the active manager ends at the allocation date; active flags
/// follow the end dates against now. For a current allocation that closes
/// the active manager; for a historic one it slots the new manager into the
/// past and leaves the current manager alone.
struct Handover {
    old: ManagerEnd,
    new: NewManager,
    /// The transfer contact's notes: from whom to whom.
    transfer_notes: String,
}

fn is_active(end_date: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    end_date.is_none_or(|end| end > now)
}

impl Handover {
    /// `transfer_reason` is the `r_transfer_reason` code of the kinds whose
    /// managers record one: it must exist.
    fn new(
        manager: &ManagerRow,
        valid: &Validated<'_>,
        lookups: &Lookups,
        parent_id: i64,
        transfer_reason: Option<&str>,
        ctx: &Context<'_>,
    ) -> Result<Handover, AllocationError> {
        let transfer_reason_id =
            match transfer_reason {
                None => None,
                Some(code) => Some(lookups.transfer_reason_id.ok_or_else(|| {
                    AllocationError::NotFound(format!("Transfer Reason with code of {code} not found"))
                })?),
            };
        let new = NewManager {
            id: lookups.new_manager_id,
            parent_id,
            staff_id: valid.staff.staff_id,
            team_id: valid.team.team_id,
            probation_area_id: manager.probation_area_id,
            partition_area_id: manager.partition_area_id,
            allocation_date: ctx.at,
            end_date: manager.end_date,
            allocation_reason_id: valid.reason.id,
            active: is_active(manager.end_date, ctx.stamp.now),
            transfer_reason_id,
        };
        Ok(Handover {
            old: ManagerEnd {
                id: manager.id,
                row_version: manager.row_version,
                end_date: Some(ctx.at),
                active: is_active(Some(ctx.at), ctx.stamp.now),
            },
            new,
            transfer_notes: notes::transfer(
                ctx.at,
                &valid.team.provider_description,
                &manager.team_description,
                &manager.staff_name.display_name(),
            ),
        })
    }

    /// A contact of the person at the allocation date-time, by the new
    /// manager, with the type's sensitivity; callers add event and component.
    fn contact<'a>(
        &self,
        type_code: &'a str,
        offender_id: i64,
        notes: Option<&'a str>,
        at: NaiveDateTime,
    ) -> NewContact<'a> {
        NewContact {
            type_code,
            offender_id,
            event_id: None,
            rqmnt_id: None,
            lic_condition_id: None,
            date: at.date(),
            start_time: at,
            notes,
            probation_area_id: self.new.probation_area_id,
            team_id: self.new.team_id,
            staff_id: self.new.staff_id,
            sensitive: None,
        }
    }
}

/// An update under the optimistic lock that found its row changed.
fn updated_one(ended: Result<(), DbError>, what: &str) -> Result<(), AllocationError> {
    match ended {
        Err(DbError::NothingWritten(_)) => {
            Err(AllocationError::OptimisticLock(format!("{what} was changed by another transaction")))
        }
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn end_dates_are_midnight_dates() {
        let allocation = at("2022-07-28 10:30:54");
        assert!(!ended_before(None, allocation));
        assert!(!ended_before(NaiveDate::from_ymd_opt(2022, 7, 29), allocation));
        assert!(ended_before(NaiveDate::from_ymd_opt(2022, 7, 28), allocation));
        assert!(!ended_before(NaiveDate::from_ymd_opt(2022, 7, 28), at("2022-07-28 00:00:00")));
    }

    fn lookups() -> Lookups {
        Lookups {
            team: Some(TeamRow {
                team_id: 10,
                probation_area_id: 1,
                end_date: None,
                description: "N02ABS".into(),
                provider_description: "NPS North East".into(),
            }),
            reason: Some(AllocationReasonRow { id: 20, description: "Initial Allocation".into() }),
            staff: Some(StaffRow {
                staff_id: 30,
                end_date: None,
                name: delius_db::allocations::StaffName {
                    forename: "Joe".into(),
                    forename2: None,
                    surname: "Bloggs".into(),
                },
            }),
            staff_in_team: true,
            transfer_reason_id: Some(40),
            spo_staff_id: None,
            new_manager_id: 50,
        }
    }

    fn common() -> Common {
        Common {
            id: "a".into(),
            staff_code: "N02ABS1".into(),
            team_code: "N02ABS".into(),
            created_date: "2022-07-28T10:30:54.023+01:00".into(),
            allocation_reason: None,
        }
    }

    fn check(lookups: &Lookups, provider_id: i64) -> Result<(), String> {
        validate(lookups, provider_id, &common(), at("2022-07-28 10:30:54"), Kind::Event, "INT")
            .map(|v| assert_eq!((v.team.team_id, v.staff.staff_id, v.reason.id), (10, 30, 20)))
            .map_err(|e| match e {
                AllocationError::Ignorable { reason, .. } => format!("ignorable: {reason}"),
                AllocationError::NotFound(m) => format!("not found: {m}"),
                AllocationError::NotActive(m) => format!("not active: {m}"),
                AllocationError::StaffNotInTeam(m) => format!("not in team: {m}"),
                other => format!("{other:?}"),
            })
    }

    #[test]
    fn validation_runs_in_order_with_the_spec_messages() {
        let ended = NaiveDate::from_ymd_opt(2022, 7, 1);
        let mut l = lookups();
        assert_eq!(check(&l, 1), Ok(()));
        l.staff_in_team = false;
        assert_eq!(check(&l, 1), Err("not in team: Staff N02ABS1 not in Team N02ABS".into()));
        l.staff.as_mut().unwrap().end_date = ended;
        assert_eq!(check(&l, 1), Err("not active: Staff with code of N02ABS1 not active".into()));
        l.staff = None;
        assert_eq!(check(&l, 1), Err("not found: Staff with code of N02ABS1 not found".into()));
        l.reason = None;
        assert_eq!(check(&l, 1), Err("not found: ORDER ALLOCATION REASON with code of INT not found".into()));
        l.team.as_mut().unwrap().end_date = ended;
        assert_eq!(check(&l, 1), Err("not active: Team with code of N02ABS not active".into()));
        assert_eq!(check(&l, 2), Err("ignorable: External transfer not permitted".into()));
        l.team = None;
        assert_eq!(check(&l, 2), Err("not found: Team with code of N02ABS not found".into()));
    }

    #[test]
    fn duplicates_and_same_second_conflicts() {
        let manager = ManagerRow {
            id: 1,
            row_version: 0,
            staff_id: 2,
            staff_code: "N02ABS1".into(),
            staff_name: delius_db::allocations::StaffName {
                forename: "Joe".into(),
                forename2: None,
                surname: "Bloggs".into(),
            },
            team_id: 3,
            team_code: "N02ABS".into(),
            team_description: "N02ABS".into(),
            probation_area_id: 4,
            partition_area_id: 0,
            allocation_date: at("2022-07-28 10:30:54"),
            end_date: None,
            pending_transfers: 0,
        };
        assert!(is_duplicate(&manager, &common()));
        assert!(!is_duplicate(&manager, &Common { team_code: "N02UAT".into(), ..common() }));
        assert!(!is_duplicate(&manager, &Common { staff_code: "N02ABSX".into(), ..common() }));
        let conflict = check_date_conflict(&manager, at("2022-07-28 10:30:54")).unwrap_err();
        assert!(conflict.to_string().starts_with("Allocation date conflicts with the current active manager: "));
        assert!(check_date_conflict(&manager, at("2022-07-28 10:30:55")).is_ok());
    }

    #[test]
    fn active_flags_follow_end_dates_against_now() {
        let now = at("2024-01-01 12:00:00");
        assert!(is_active(None, now));
        assert!(is_active(Some(at("2024-01-01 12:00:01")), now));
        assert!(!is_active(Some(now), now));
        assert!(!is_active(Some(at("2022-08-01 09:00:00")), now));
    }
}
