//! Recording an allocation in Delius: the checks every kind shares, then the kind's own steps.
//!
//! Each message is one transaction. Its parent row (person, event,
//! requirement or licence condition) is locked first, so concurrent deliveries for the same parent
//! run one after the other and a redelivery finds its own allocation and is a
//! no-op. On success the `P` audit row is written inside the transaction; on
//! failure the transaction is rolled back and the `F` row is written on the
//! bare connection, so it survives.
//!
//! Round trips: BEGIN, the lock, one pipelined batch of reads, one pipelined
//! batch of writes (the audit row's own prepare adds one), COMMIT.

mod component;
mod event;
mod licence_condition;
mod person;
mod requirement;

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use delius_db::allocations::{
    AllocationReasonRow, Lookups, ManagerEnd, ManagerRow, StaffRow, Stamp, TeamRow, Transaction,
};
use delius_db::audit::{self, Outcome as AuditOutcome, Parameters};
use delius_db::{Database, DbError};

use crate::detail::{Common, Detail, Kind};
use crate::error::AllocationError;

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
    business_interaction: &'static str,
    produce_spod03_contact: bool,
}

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
    let mut client = db.client().await?;
    let user_id = db.service_user_id(&client).await?;
    let ctx = Context {
        stamp: Stamp { user_id, now: delius_db::time::london_now() },
        at,
        created_date: &detail.common().created_date,
        business_interaction: detail.kind().business_interaction(),
        produce_spod03_contact,
    };
    let mut params = Parameters::new();
    let result = in_transaction(db, &mut client, &ctx, detail, crn, &mut params).await;
    if let Err(e) = &result {
        // After the rollback, on the bare connection: the F row survives.
        let written = audit::record(
            &**client,
            ctx.business_interaction,
            user_id,
            delius_db::time::london_now(),
            AuditOutcome::Failure,
            &params,
        )
        .await;
        if let Err(audit_error) = written {
            tracing::warn!(error = %audit_error, failure = %e, "could not write the failure audit row");
        }
    }
    result
}

async fn in_transaction(
    db: &Database,
    client: &mut delius_db::Client,
    ctx: &Context<'_>,
    detail: &Detail,
    crn: &str,
    params: &mut Parameters,
) -> Result<Recorded, AllocationError> {
    let tx = db.begin(client).await?;
    let result = match detail {
        Detail::Person(d) => person::allocate(&tx, ctx, d, params).await,
        Detail::Event(d) => event::allocate(&tx, ctx, d, crn, params).await,
        Detail::Requirement(d) => requirement::allocate(&tx, ctx, d, crn, params).await,
        Detail::LicenceCondition(d) => licence_condition::allocate(&tx, ctx, d, crn, params).await,
    };
    match result {
        Ok(recorded) => {
            tx.commit().await?;
            Ok(recorded)
        }
        Err(e) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

/// The `P` audit row, inside the transaction.
async fn audit_success(tx: &Transaction<'_>, ctx: &Context<'_>, params: &Parameters) -> Result<(), DbError> {
    audit::record(&**tx, ctx.business_interaction, ctx.stamp.user_id, ctx.stamp.now, AuditOutcome::Success, params)
        .await
}

/// The allocation is the active manager already: nothing but the audit row.
async fn duplicate(tx: &Transaction<'_>, ctx: &Context<'_>, params: &Parameters) -> Result<Recorded, AllocationError> {
    tracing::info!("Ignoring duplicate allocation request");
    audit_success(tx, ctx, params).await?;
    Ok(Recorded::Duplicate)
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

/// The date handover (`updateDateTimes`): the new manager takes the active
/// manager's end date and the active manager ends at the allocation date;
/// active flags follow the end dates against now. For a current allocation
/// that closes the active manager; for a historic one it slots the new
/// manager into the past and leaves the current manager alone.
struct Handover {
    old: ManagerEnd,
    new_end: Option<NaiveDateTime>,
    new_active: bool,
}

fn is_active(end_date: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    end_date.is_none_or(|end| end > now)
}

impl Handover {
    fn new(manager: &ManagerRow, ctx: &Context<'_>) -> Handover {
        Handover {
            old: ManagerEnd {
                id: manager.id,
                row_version: manager.row_version,
                end_date: Some(ctx.at),
                active: is_active(Some(ctx.at), ctx.stamp.now),
            },
            new_end: manager.end_date,
            new_active: is_active(manager.end_date, ctx.stamp.now),
        }
    }
}

/// An update under the optimistic lock must have found its row.
fn updated_one(count: Result<u64, DbError>, what: &str) -> Result<(), AllocationError> {
    match count? {
        1 => Ok(()),
        _ => Err(AllocationError::OptimisticLock(format!("{what} was changed by another transaction"))),
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
