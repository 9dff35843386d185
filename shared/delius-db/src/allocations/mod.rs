//! Workforce allocations: the SQL behind recording a new community manager for
//! a person (`offender_manager`), an event (`order_manager`), a requirement
//! (`rqmnt_manager`) or a licence condition (`lic_condition_manager`), with the
//! responsible officer, contacts and IAPS flags that go with it.
//!
//! The business rules live in the `workforce-allocations` function; this
//! module only reads and writes rows. Statements are typed and sent with
//! `Connection::query_statement` (by default unnamed: parsed and run in one
//! message, so nothing outlives the transaction and it works behind a
//! transaction-mode pooler); each is sent the moment its future is first
//! polled. Every read keyed by the parent takes
//! the parent's key rather than its id, so the lock and the reads (one
//! statement, [`Allocation::reads`]) need no answer from each other: they go
//! out together with `BEGIN`, the lock first (statements of one flight run in
//! order, each with a fresh snapshot, so the reads see what a concurrent
//! allocation of the same parent committed before the lock was granted; they
//! cannot be one statement with the lock, whose snapshot predates the wait).
//! Rows are read by column name.

mod sql;

use chrono::{NaiveDate, NaiveDateTime};
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use crate::error::DbError;
pub use crate::transaction::Transaction;
use crate::transaction::nothing_written;

/// The allocated element, which decides the manager table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManagerTable {
    /// `offender_manager`: the person's community manager.
    Offender,
    /// `order_manager`: the event's (order's) manager.
    Order,
    /// `rqmnt_manager`: the requirement's manager.
    Requirement,
    /// `lic_condition_manager`: the licence condition's manager.
    LicenceCondition,
}

/// What is allocated, by the key the message gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent<'a> {
    /// The person with this CRN (soft-deleted or not, as in Delius).
    Person { crn: &'a str },
    /// The person's live event with this number.
    Event { crn: &'a str, event_number: &'a str },
    /// The requirement, by id (soft-deleted or not, as in Delius).
    Requirement { rqmnt_id: i64 },
    /// The live licence condition, by id.
    LicenceCondition { lic_condition_id: i64 },
}

impl Parent<'_> {
    pub fn table(self) -> ManagerTable {
        match self {
            Parent::Person { .. } => ManagerTable::Offender,
            Parent::Event { .. } => ManagerTable::Order,
            Parent::Requirement { .. } => ManagerTable::Requirement,
            Parent::LicenceCondition { .. } => ManagerTable::LicenceCondition,
        }
    }
}

/// A staff member's names, as Delius holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffName {
    pub forename: String,
    pub forename2: Option<String>,
    pub surname: String,
}

impl StaffName {
    /// Forename, middle name if present, and surname, joined by single spaces.
    pub fn display_name(&self) -> String {
        [Some(self.forename.as_str()), self.forename2.as_deref(), Some(self.surname.as_str())]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The columns `{prefix}forename`, `{prefix}forename2` and `{prefix}surname`.
    fn from_row(row: &Row, prefix: &str) -> Option<StaffName> {
        let forename: Option<String> = row.get(format!("{prefix}forename").as_str());
        let surname: Option<String> = row.get(format!("{prefix}surname").as_str());
        Some(StaffName {
            forename: forename?,
            forename2: row.get(format!("{prefix}forename2").as_str()),
            surname: surname?,
        })
    }
}

/// The event of an event allocation, locked for the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub event_id: i64,
    pub offender_id: i64,
    pub active: bool,
}

/// The requirement or licence condition of a component allocation, locked
/// for the transaction, with its sentence's event and its categories
/// (licence conditions have descriptions only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRow {
    /// `rqmnt_id` or `lic_condition_id`.
    pub id: i64,
    pub offender_id: i64,
    pub crn: String,
    pub event_id: i64,
    pub event_number: String,
    pub disposal_active: bool,
    pub event_active: bool,
    pub active: bool,
    pub main_category_code: Option<String>,
    pub main_category_description: Option<String>,
    pub sub_category_code: Option<String>,
    pub sub_category_description: Option<String>,
    pub additional_main_category_code: Option<String>,
}

impl ComponentRow {
    /// Whether the requirement is an accredited programme (IAPS): main category
    /// `RM38`, or `7` unless the sub-category is `RS66`, or an additional main
    /// category of `7` or `RM38`.
    pub fn is_accredited_programme(&self) -> bool {
        let main = self.main_category_code.as_deref();
        main == Some("RM38")
            || (main == Some("7") && self.sub_category_code.as_deref() != Some("RS66"))
            || matches!(self.additional_main_category_code.as_deref(), Some("7" | "RM38"))
    }
}

/// The manager that is active at the allocation date-time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerRow {
    pub id: i64,
    pub row_version: i64,
    pub staff_id: i64,
    pub staff_code: String,
    pub staff_name: StaffName,
    pub team_id: i64,
    pub team_code: String,
    pub team_description: String,
    pub probation_area_id: i64,
    pub partition_area_id: i64,
    pub allocation_date: NaiveDateTime,
    pub end_date: Option<NaiveDateTime>,
    /// Pending (`PN`) transfers of the person, event, requirement or licence
    /// condition.
    pub pending_transfers: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRow {
    pub team_id: i64,
    pub probation_area_id: i64,
    pub end_date: Option<NaiveDate>,
    pub description: String,
    pub provider_description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationReasonRow {
    pub id: i64,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRow {
    pub staff_id: i64,
    pub end_date: Option<NaiveDate>,
    pub name: StaffName,
}

/// What an allocation is validated against, looked up in one statement.
#[derive(Debug, Clone, Copy)]
pub struct LookupKeys<'a> {
    pub team_code: &'a str,
    /// The reference data set of the allocation reason (`OM ALLOCATION REASON`...).
    pub reason_dataset: &'a str,
    pub reason_code: &'a str,
    pub staff_code: &'a str,
    /// `r_transfer_reason.code`, for event and requirement managers.
    pub transfer_reason_code: Option<&'a str>,
    /// The overseeing senior probation officer, for event allocations.
    pub spo_staff_code: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookups {
    pub team: Option<TeamRow>,
    pub reason: Option<AllocationReasonRow>,
    pub staff: Option<StaffRow>,
    /// Whether the staff member belongs to the team (`staff_team`).
    pub staff_in_team: bool,
    pub transfer_reason_id: Option<i64>,
    pub spo_staff_id: Option<i64>,
    /// The id for the new manager row, drawn from the table's sequence.
    pub new_manager_id: i64,
}

/// A responsible officer's manager: staff, team and provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerDetails {
    pub staff_name: StaffName,
    pub team_description: String,
    pub provider_description: String,
}

/// The person's responsible officer active at the allocation date-time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsibleOfficerRow {
    pub id: i64,
    pub row_version: i64,
    pub start_date: NaiveDateTime,
    pub end_date: Option<NaiveDateTime>,
    /// Set when the officer is a community (offender) manager.
    pub community_manager: Option<OfficerDetails>,
    /// Set when the officer is a prison offender manager.
    pub prison_manager: Option<OfficerDetails>,
}

/// The audit columns of every row written.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    pub user_id: i64,
    /// London wall-clock time.
    pub now: NaiveDateTime,
}

/// Ends a manager: the optimistic lock is on `row_version`.
#[derive(Debug, Clone, Copy)]
pub struct ManagerEnd {
    pub id: i64,
    pub row_version: i64,
    pub end_date: Option<NaiveDateTime>,
    pub active: bool,
}

/// A new manager row. Staff and team also fill `staff_employee_id` and
/// `trust_provider_team_id`.
#[derive(Debug, Clone, Copy)]
pub struct NewManager {
    pub id: i64,
    /// `offender_id`, `event_id`, `rqmnt_id` or `lic_condition_id`.
    pub parent_id: i64,
    pub staff_id: i64,
    pub team_id: i64,
    pub probation_area_id: i64,
    pub partition_area_id: i64,
    pub allocation_date: NaiveDateTime,
    pub end_date: Option<NaiveDateTime>,
    pub allocation_reason_id: i64,
    pub active: bool,
    /// For every manager table but `offender_manager`, which ignores it.
    pub transfer_reason_id: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
pub struct NewResponsibleOfficer {
    pub offender_id: i64,
    pub offender_manager_id: i64,
    pub start_date: NaiveDateTime,
    pub end_date: Option<NaiveDateTime>,
}

/// A contact. `sensitive` of `None` takes the contact type's default.
#[derive(Debug, Clone)]
pub struct NewContact<'a> {
    pub type_code: &'a str,
    pub offender_id: i64,
    pub event_id: Option<i64>,
    pub rqmnt_id: Option<i64>,
    pub lic_condition_id: Option<i64>,
    pub date: NaiveDate,
    pub start_time: NaiveDateTime,
    pub notes: Option<&'a str>,
    pub probation_area_id: i64,
    pub team_id: i64,
    pub staff_id: i64,
    pub sensitive: Option<bool>,
}

fn flag(value: i16) -> bool {
    value == 1
}

fn flag_value(value: bool) -> i16 {
    i16::from(value)
}

fn yes_no(value: bool) -> &'static str {
    if value { "Y" } else { "N" }
}

/// The statements of one allocation: its parent's and its manager table's.
pub struct Allocation<'a> {
    table: ManagerTable,
    sql: &'static sql::TableSql,
    /// The parent's key as the statements take it: `$1` CRN, `$2` event
    /// number, `$3` requirement or licence condition id.
    crn: Option<&'a str>,
    event_number: Option<&'a str>,
    component_id: Option<i64>,
}

impl<'a> Allocation<'a> {
    pub fn new(parent: Parent<'a>) -> Allocation<'a> {
        let (crn, event_number, component_id) = match parent {
            Parent::Person { crn } => (Some(crn), None, None),
            Parent::Event { crn, event_number } => (Some(crn), Some(event_number), None),
            Parent::Requirement { rqmnt_id: id } | Parent::LicenceCondition { lic_condition_id: id } => {
                (None, None, Some(id))
            }
        };
        let table = parent.table();
        Allocation { table, sql: sql::for_table(table), crn, event_number, component_id }
    }

    pub fn table(&self) -> ManagerTable {
        self.table
    }

    fn expect(&self, table: ManagerTable) {
        debug_assert_eq!(self.table, table, "a statement of another allocation kind");
    }

    /// Runs a parent-keyed statement: `$1`..`$3` the key, then `more`.
    async fn by_key(
        &self,
        tx: &Transaction,
        statement: &str,
        more: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, DbError> {
        let mut params: Vec<(&(dyn ToSql + Sync), Type)> =
            vec![(&self.crn, Type::BPCHAR), (&self.event_number, Type::VARCHAR), (&self.component_id, Type::INT8)];
        params.extend_from_slice(more);
        Ok(tx.query_statement(statement, &params).await?)
    }

    /// Locks the person and returns its id. Concurrent allocations of the
    /// same person wait here.
    pub async fn lock_person(&self, tx: &Transaction) -> Result<Option<i64>, DbError> {
        self.expect(ManagerTable::Offender);
        let rows = self.by_key(tx, self.sql.lock, &[]).await?;
        Ok(rows.first().map(|row| row.get("offender_id")))
    }

    /// Locks the person's live event with the number.
    pub async fn lock_event(&self, tx: &Transaction) -> Result<Option<EventRow>, DbError> {
        self.expect(ManagerTable::Order);
        let rows = self.by_key(tx, self.sql.lock, &[]).await?;
        Ok(rows.first().map(|row| EventRow {
            event_id: row.get("event_id"),
            offender_id: row.get("offender_id"),
            active: flag(row.get("active_flag")),
        }))
    }

    /// Locks the requirement or licence condition.
    pub async fn lock_component(&self, tx: &Transaction) -> Result<Option<ComponentRow>, DbError> {
        debug_assert!(matches!(self.table, ManagerTable::Requirement | ManagerTable::LicenceCondition));
        let rows = self.by_key(tx, self.sql.lock, &[]).await?;
        Ok(rows.first().map(|row| ComponentRow {
            id: row.get("component_id"),
            offender_id: row.get("offender_id"),
            crn: row.get("crn"),
            event_id: row.get("event_id"),
            event_number: row.get("event_number"),
            disposal_active: flag(row.get("disposal_active")),
            event_active: flag(row.get("event_active")),
            active: flag(row.get("active")),
            main_category_code: row.get("main_category_code"),
            main_category_description: row.get("main_category_description"),
            sub_category_code: row.get("sub_category_code"),
            sub_category_description: row.get("sub_category_description"),
            additional_main_category_code: row.get("additional_main_category_code"),
        }))
    }

    /// Everything the allocation reads once its parent is locked, in one
    /// statement: the parent's live manager at `at` (allocated at or before,
    /// not ended by then), the lookups (team, allocation reason, staff,
    /// membership, transfer reason, SPO and the new manager's id) and, for a
    /// person, the responsible officer at `at`. More than one live manager or
    /// officer is an error, as in Delius.
    pub async fn reads(&self, tx: &Transaction, at: NaiveDateTime, keys: &LookupKeys<'_>) -> Result<Reads, DbError> {
        let rows = self
            .by_key(
                tx,
                self.sql.reads,
                &[
                    (&at, Type::TIMESTAMP),
                    (&keys.team_code, Type::BPCHAR),
                    (&keys.reason_dataset, Type::VARCHAR),
                    (&keys.reason_code, Type::VARCHAR),
                    (&keys.staff_code, Type::BPCHAR),
                    (&keys.transfer_reason_code, Type::VARCHAR),
                    (&keys.spo_staff_code, Type::BPCHAR),
                ],
            )
            .await?;
        let row = rows.first().ok_or_else(|| DbError::NotFound("the allocation reads returned no row".into()))?;
        let one = |column: &str, what: &str| -> Result<(), DbError> {
            let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.get::<_, Option<i64>>(column)).collect();
            ids.dedup();
            if ids.len() > 1 {
                return Err(DbError::NotFound(format!("more than one {what} at {at}")));
            }
            Ok(())
        };
        one("m_id", &format!("active {:?} manager", self.table))?;
        one("responsible_officer_id", "responsible officer")?;
        Ok(Reads { manager: manager(row), lookups: lookups(row), officer: responsible_officer(row) })
    }

    /// Sets a manager's end date and active flag. Fails with
    /// [`DbError::NothingWritten`] (the transaction aborted) when another
    /// writer changed the row first.
    pub async fn end_manager(&self, tx: &Transaction, end: &ManagerEnd, stamp: Stamp) -> Result<(), DbError> {
        let ended = tx
            .query_statement(
                self.sql.end_manager,
                &[
                    (&end.id, Type::INT8),
                    (&end.end_date, Type::TIMESTAMP),
                    (&flag_value(end.active), Type::INT2),
                    (&stamp.user_id, Type::INT8),
                    (&stamp.now, Type::TIMESTAMP),
                    (&end.row_version, Type::INT8),
                ],
            )
            .await;
        written(ended, || format!("the {:?} manager {} was changed by another transaction", self.table, end.id))
    }

    pub async fn insert_manager(&self, tx: &Transaction, new: &NewManager, stamp: Stamp) -> Result<(), DbError> {
        tx.query_statement(
            self.sql.insert_manager,
            &[
                (&new.id, Type::INT8),
                (&new.parent_id, Type::INT8),
                (&new.staff_id, Type::INT8),
                (&new.team_id, Type::INT8),
                (&new.probation_area_id, Type::INT8),
                (&new.partition_area_id, Type::INT8),
                (&new.allocation_date, Type::TIMESTAMP),
                (&new.end_date, Type::TIMESTAMP),
                (&new.allocation_reason_id, Type::INT8),
                (&flag_value(new.active), Type::INT2),
                (&stamp.user_id, Type::INT8),
                (&stamp.now, Type::TIMESTAMP),
                (&new.transfer_reason_id, Type::INT8),
            ],
        )
        .await?;
        Ok(())
    }

    /// Sets the IAPS flag of the person, event or requirement `id` (an
    /// upsert). For a person or an event only when one of its requirements is
    /// an accredited programme; for a requirement unconditionally (the caller
    /// checks [`ComponentRow::is_accredited_programme`]); licence conditions
    /// have no flag. Returns whether a flag was written.
    pub async fn flag_iaps(&self, tx: &Transaction, id: i64) -> Result<bool, DbError> {
        let statement = self
            .sql
            .flag_iaps
            .ok_or_else(|| DbError::NotFound(format!("no IAPS flag for {:?} allocations", self.table)))?;
        let rows = tx.query_statement(statement, &[(&id, Type::INT8)]).await?;
        Ok(!rows.is_empty())
    }
}

/// What [`Allocation::reads`] finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reads {
    pub manager: Option<ManagerRow>,
    pub lookups: Lookups,
    /// Person allocations only.
    pub officer: Option<ResponsibleOfficerRow>,
}

fn manager(row: &Row) -> Option<ManagerRow> {
    Some(ManagerRow {
        id: row.get::<_, Option<i64>>("m_id")?,
        row_version: row.get("m_row_version"),
        staff_id: row.get("m_staff_id"),
        staff_code: row.get("m_staff_code"),
        staff_name: StaffName::from_row(row, "m_")?,
        team_id: row.get("m_team_id"),
        team_code: row.get("m_team_code"),
        team_description: row.get("m_team_description"),
        probation_area_id: row.get("m_probation_area_id"),
        partition_area_id: row.get("m_partition_area_id"),
        allocation_date: row.get("m_allocation_date"),
        end_date: row.get("m_end_date"),
        pending_transfers: row.get("m_pending_transfers"),
    })
}

fn lookups(row: &Row) -> Lookups {
    let team = row.get::<_, Option<i64>>("team_id").map(|team_id| TeamRow {
        team_id,
        probation_area_id: row.get("team_provider_id"),
        end_date: row.get("team_end_date"),
        description: row.get("team_description"),
        provider_description: row.get("provider_description"),
    });
    let reason = row
        .get::<_, Option<i64>>("reason_id")
        .map(|id| AllocationReasonRow { id, description: row.get("reason_description") });
    let staff = match (row.get::<_, Option<i64>>("staff_id"), StaffName::from_row(row, "")) {
        (Some(staff_id), Some(name)) => Some(StaffRow { staff_id, end_date: row.get("staff_end_date"), name }),
        _ => None,
    };
    Lookups {
        team,
        reason,
        staff,
        staff_in_team: row.get("staff_in_team"),
        transfer_reason_id: row.get("transfer_reason_id"),
        spo_staff_id: row.get("spo_staff_id"),
        new_manager_id: row.get("new_manager_id"),
    }
}

fn responsible_officer(row: &Row) -> Option<ResponsibleOfficerRow> {
    let id = row.get::<_, Option<i64>>("responsible_officer_id")?;
    let details = |prefix: &str| {
        let staff_name = StaffName::from_row(row, prefix)?;
        row.get::<_, bool>(format!("{prefix}present").as_str()).then(|| OfficerDetails {
            staff_name,
            team_description: row.get::<_, Option<String>>(format!("{prefix}team").as_str()).unwrap_or_default(),
            provider_description: row
                .get::<_, Option<String>>(format!("{prefix}provider").as_str())
                .unwrap_or_default(),
        })
    };
    Some(ResponsibleOfficerRow {
        id,
        row_version: row.get("ro_row_version"),
        start_date: row.get("ro_start_date"),
        end_date: row.get("ro_end_date"),
        community_manager: details("cm_"),
        prison_manager: details("pm_"),
    })
}

/// Ends a responsible officer. Fails with [`DbError::NothingWritten`] (the
/// transaction aborted) when another writer changed the row first.
pub async fn end_responsible_officer(
    tx: &Transaction,
    officer: &ResponsibleOfficerRow,
    end_date: NaiveDateTime,
    stamp: Stamp,
) -> Result<(), DbError> {
    let ended = tx
        .query_statement(
            sql::END_RESPONSIBLE_OFFICER,
            &[
                (&officer.id, Type::INT8),
                (&end_date, Type::TIMESTAMP),
                (&stamp.user_id, Type::INT8),
                (&stamp.now, Type::TIMESTAMP),
                (&officer.row_version, Type::INT8),
            ],
        )
        .await;
    written(ended, || format!("the responsible officer {} was changed by another transaction", officer.id))
}

/// The outcome of a [`must_write!`](crate::transaction::must_write)
/// statement: writing nothing is `NothingWritten` with `what` happened.
fn written(result: Result<Vec<Row>, tokio_postgres::Error>, what: impl FnOnce() -> String) -> Result<(), DbError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if nothing_written(&e) => Err(DbError::NothingWritten(what())),
        Err(e) => Err(e.into()),
    }
}

pub async fn insert_responsible_officer(
    tx: &Transaction,
    new: &NewResponsibleOfficer,
    stamp: Stamp,
) -> Result<(), DbError> {
    tx.query_statement(
        sql::INSERT_RESPONSIBLE_OFFICER,
        &[
            (&new.offender_id, Type::INT8),
            (&new.offender_manager_id, Type::INT8),
            (&new.start_date, Type::TIMESTAMP),
            (&new.end_date, Type::TIMESTAMP),
            (&stamp.user_id, Type::INT8),
            (&stamp.now, Type::TIMESTAMP),
        ],
    )
    .await?;
    Ok(())
}

/// Inserts a contact of the type with code `type_code`; a missing type is
/// [`DbError::NotFound`] (the statement failed, the transaction aborted).
pub async fn insert_contact(tx: &Transaction, new: &NewContact<'_>, stamp: Stamp) -> Result<(), DbError> {
    let sensitive = new.sensitive.map(yes_no);
    let inserted = tx
        .query_statement(
            sql::INSERT_CONTACT,
            &[
                (&new.type_code, Type::VARCHAR),
                (&new.offender_id, Type::INT8),
                (&new.event_id, Type::INT8),
                (&new.rqmnt_id, Type::INT8),
                (&new.date, Type::DATE),
                (&new.start_time, Type::TIMESTAMP),
                (&new.notes, Type::TEXT),
                (&new.probation_area_id, Type::INT8),
                (&new.team_id, Type::INT8),
                (&new.staff_id, Type::INT8),
                (&sensitive, Type::BPCHAR),
                (&stamp.user_id, Type::INT8),
                (&stamp.now, Type::TIMESTAMP),
                (&new.lic_condition_id, Type::INT8),
            ],
        )
        .await;
    written(inserted, || format!("ContactType with code of {} not found", new.type_code)).map_err(|e| match e {
        DbError::NothingWritten(message) => DbError::NotFound(message),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirement(main: Option<&str>, sub: Option<&str>, additional: Option<&str>) -> ComponentRow {
        ComponentRow {
            id: 1,
            offender_id: 1,
            crn: "X000001".into(),
            event_id: 1,
            event_number: "1".into(),
            disposal_active: true,
            event_active: true,
            active: true,
            main_category_code: main.map(Into::into),
            main_category_description: None,
            sub_category_code: sub.map(Into::into),
            sub_category_description: None,
            additional_main_category_code: additional.map(Into::into),
        }
    }

    #[test]
    fn accredited_programme_predicate() {
        assert!(requirement(Some("RM38"), None, None).is_accredited_programme());
        assert!(requirement(Some("RM38"), Some("RS66"), None).is_accredited_programme());
        assert!(requirement(Some("7"), None, None).is_accredited_programme());
        assert!(requirement(Some("7"), Some("SUB"), None).is_accredited_programme());
        assert!(!requirement(Some("7"), Some("RS66"), None).is_accredited_programme());
        assert!(requirement(Some("MAIN"), None, Some("7")).is_accredited_programme());
        assert!(requirement(None, None, Some("RM38")).is_accredited_programme());
        assert!(!requirement(Some("MAIN"), Some("SUB"), Some("ADDN")).is_accredited_programme());
        assert!(!requirement(None, None, None).is_accredited_programme());
    }

    #[test]
    fn display_name_skips_a_missing_middle_name() {
        let name = StaffName { forename: "Joe".into(), forename2: None, surname: "Bloggs".into() };
        assert_eq!(name.display_name(), "Joe Bloggs");
        let name = StaffName { forename: "Joe".into(), forename2: Some("Middle".into()), surname: "Bloggs".into() };
        assert_eq!(name.display_name(), "Joe Middle Bloggs");
    }
}
