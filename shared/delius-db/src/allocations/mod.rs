//! Workforce allocations: the SQL behind recording a new community manager for
//! a person (`offender_manager`), an event (`order_manager`), a requirement
//! (`rqmnt_manager`) or a licence condition (`lic_condition_manager`), with the
//! responsible officer, contacts and IAPS flags that go with it.
//!
//! The business rules live in the `workforce-allocations` function; this
//! module only reads and writes rows. Every statement of one allocation kind is
//! prepared up front in one pipelined batch ([`Statements::prepare`], cached per
//! connection), so each query below is sent the moment its future is first
//! polled: callers can pipeline independent reads and, in order, the writes.

mod sql;

use chrono::{NaiveDate, NaiveDateTime};
/// A transaction on a pooled connection (with its statement cache).
pub use deadpool_postgres::Transaction;
use tokio_postgres::{Row, Statement};

use crate::error::DbError;

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

    fn from_row(row: &Row, first: usize) -> Option<StaffName> {
        let forename: Option<String> = row.get(first);
        let surname: Option<String> = row.get(first + 2);
        Some(StaffName { forename: forename?, forename2: row.get(first + 1), surname: surname? })
    }
}

/// The event of an event allocation, locked for the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub event_id: i64,
    pub offender_id: i64,
    pub active: bool,
}

/// The requirement of a requirement allocation, locked for the transaction,
/// with its sentence's event and its categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementRow {
    pub rqmnt_id: i64,
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

impl RequirementRow {
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

/// The licence condition of a licence-condition allocation, locked for the
/// transaction, with its sentence's event and its categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceConditionRow {
    pub lic_condition_id: i64,
    pub offender_id: i64,
    pub crn: String,
    pub event_id: i64,
    pub event_number: String,
    pub disposal_active: bool,
    pub event_active: bool,
    pub active: bool,
    pub main_category_description: Option<String>,
    pub sub_category_description: Option<String>,
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

/// The prepared statements of one allocation kind on one connection.
pub struct Statements {
    table: ManagerTable,
    lock: Statement,
    active_manager: Statement,
    lookups: Statement,
    end_manager: Statement,
    insert_manager: Statement,
    insert_contact: Statement,
    flag_iaps: Option<Statement>,
    responsible_officer: Option<ResponsibleOfficerStatements>,
}

struct ResponsibleOfficerStatements {
    active: Statement,
    end: Statement,
    insert: Statement,
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

// char(n) columns come back blank-padded.
fn code(row: &Row, index: usize) -> String {
    row.get::<_, String>(index).trim_end().to_string()
}

impl Statements {
    /// Prepares (or takes from the connection's cache) every statement of the
    /// kind, in one pipelined batch.
    pub async fn prepare(tx: &Transaction<'_>, table: ManagerTable) -> Result<Statements, DbError> {
        let sql = sql::for_table(table);
        let person = table == ManagerTable::Offender;
        let (lock, active_manager, lookups, end_manager, insert_manager, insert_contact, flag_iaps, ro) = tokio::try_join!(
            tx.prepare_cached(sql.lock),
            tx.prepare_cached(sql.active_manager),
            tx.prepare_cached(sql.lookups),
            tx.prepare_cached(sql.end_manager),
            tx.prepare_cached(sql.insert_manager),
            tx.prepare_cached(sql::INSERT_CONTACT),
            async {
                match sql.flag_iaps {
                    Some(text) => tx.prepare_cached(text).await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                if !person {
                    return Ok(None);
                }
                let (active, end, insert) = tokio::try_join!(
                    tx.prepare_cached(sql::ACTIVE_RESPONSIBLE_OFFICER),
                    tx.prepare_cached(sql::END_RESPONSIBLE_OFFICER),
                    tx.prepare_cached(sql::INSERT_RESPONSIBLE_OFFICER),
                )?;
                Ok(Some(ResponsibleOfficerStatements { active, end, insert }))
            },
        )?;
        Ok(Statements {
            table,
            lock,
            active_manager,
            lookups,
            end_manager,
            insert_manager,
            insert_contact,
            flag_iaps,
            responsible_officer: ro,
        })
    }

    pub fn table(&self) -> ManagerTable {
        self.table
    }

    fn ro(&self) -> Result<&ResponsibleOfficerStatements, DbError> {
        self.responsible_officer.as_ref().ok_or_else(|| {
            DbError::NotFound("responsible officer statements are prepared for person allocations only".into())
        })
    }

    /// Locks the person (`offender` by CRN, soft-deleted or not) and returns
    /// its id. Concurrent allocations of the same person wait here.
    pub async fn lock_person(&self, tx: &Transaction<'_>, crn: &str) -> Result<Option<i64>, DbError> {
        self.expect(ManagerTable::Offender);
        Ok(tx.query_opt(&self.lock, &[&crn]).await?.map(|row| row.get(0)))
    }

    /// Locks the person's live (not soft-deleted) event with this number.
    pub async fn lock_event(
        &self,
        tx: &Transaction<'_>,
        crn: &str,
        event_number: &str,
    ) -> Result<Option<EventRow>, DbError> {
        self.expect(ManagerTable::Order);
        let row = tx.query_opt(&self.lock, &[&crn, &event_number]).await?;
        Ok(row.map(|row| EventRow { event_id: row.get(0), offender_id: row.get(1), active: flag(row.get(2)) }))
    }

    /// Locks the requirement (by id, soft-deleted or not).
    pub async fn lock_requirement(
        &self,
        tx: &Transaction<'_>,
        rqmnt_id: i64,
    ) -> Result<Option<RequirementRow>, DbError> {
        self.expect(ManagerTable::Requirement);
        let row = tx.query_opt(&self.lock, &[&rqmnt_id]).await?;
        Ok(row.map(|row| RequirementRow {
            rqmnt_id: row.get(0),
            offender_id: row.get(1),
            crn: code(&row, 2),
            event_id: row.get(3),
            event_number: row.get(4),
            disposal_active: flag(row.get(5)),
            event_active: flag(row.get(6)),
            active: flag(row.get(7)),
            main_category_code: row.get(8),
            main_category_description: row.get(9),
            sub_category_code: row.get(10),
            sub_category_description: row.get(11),
            additional_main_category_code: row.get(12),
        }))
    }

    /// Locks the live (not soft-deleted) licence condition, by id.
    pub async fn lock_licence_condition(
        &self,
        tx: &Transaction<'_>,
        lic_condition_id: i64,
    ) -> Result<Option<LicenceConditionRow>, DbError> {
        self.expect(ManagerTable::LicenceCondition);
        let row = tx.query_opt(&self.lock, &[&lic_condition_id]).await?;
        Ok(row.map(|row| LicenceConditionRow {
            lic_condition_id: row.get(0),
            offender_id: row.get(1),
            crn: code(&row, 2),
            event_id: row.get(3),
            event_number: row.get(4),
            disposal_active: flag(row.get(5)),
            event_active: flag(row.get(6)),
            active: flag(row.get(7)),
            main_category_description: row.get(8),
            sub_category_description: row.get(9),
        }))
    }

    fn expect(&self, table: ManagerTable) {
        debug_assert_eq!(self.table, table, "statements prepared for another allocation kind");
    }

    /// The live manager of the parent at `at`: allocated at or before, not
    /// ended by then. More than one is an error, as in Delius.
    pub async fn active_manager(
        &self,
        tx: &Transaction<'_>,
        parent_id: i64,
        at: NaiveDateTime,
    ) -> Result<Option<ManagerRow>, DbError> {
        let rows = tx.query(&self.active_manager, &[&parent_id, &at]).await?;
        if rows.len() > 1 {
            return Err(DbError::NotFound(format!(
                "more than one active {:?} manager for {parent_id} at {at}",
                self.table
            )));
        }
        Ok(rows.first().map(|row| ManagerRow {
            id: row.get(0),
            row_version: row.get(1),
            staff_id: row.get(2),
            staff_code: code(row, 3),
            staff_name: StaffName { forename: row.get(4), forename2: row.get(5), surname: row.get(6) },
            team_id: row.get(7),
            team_code: code(row, 8),
            team_description: row.get(9),
            probation_area_id: row.get(10),
            partition_area_id: row.get(11),
            allocation_date: row.get(12),
            end_date: row.get(13),
            pending_transfers: row.get(14),
        }))
    }

    /// Team, allocation reason, staff, membership, transfer reason, SPO and
    /// the new manager's id, in one statement.
    pub async fn lookups(&self, tx: &Transaction<'_>, keys: &LookupKeys<'_>) -> Result<Lookups, DbError> {
        let row = tx
            .query_one(
                &self.lookups,
                &[
                    &keys.team_code,
                    &keys.reason_dataset,
                    &keys.reason_code,
                    &keys.staff_code,
                    &keys.transfer_reason_code,
                    &keys.spo_staff_code,
                ],
            )
            .await?;
        let team = row.get::<_, Option<i64>>(0).map(|team_id| TeamRow {
            team_id,
            probation_area_id: row.get(1),
            end_date: row.get(2),
            description: row.get(3),
            provider_description: row.get(4),
        });
        let reason = row.get::<_, Option<i64>>(5).map(|id| AllocationReasonRow { id, description: row.get(6) });
        let staff = match (row.get::<_, Option<i64>>(7), StaffName::from_row(&row, 9)) {
            (Some(staff_id), Some(name)) => Some(StaffRow { staff_id, end_date: row.get(8), name }),
            _ => None,
        };
        Ok(Lookups {
            team,
            reason,
            staff,
            staff_in_team: row.get(12),
            transfer_reason_id: row.get(13),
            spo_staff_id: row.get(14),
            new_manager_id: row.get(15),
        })
    }

    /// The person's responsible officer at `at` (person allocations only).
    pub async fn active_responsible_officer(
        &self,
        tx: &Transaction<'_>,
        offender_id: i64,
        at: NaiveDateTime,
    ) -> Result<Option<ResponsibleOfficerRow>, DbError> {
        let rows = tx.query(&self.ro()?.active, &[&offender_id, &at]).await?;
        if rows.len() > 1 {
            return Err(DbError::NotFound(format!(
                "more than one responsible officer for offender {offender_id} at {at}"
            )));
        }
        let details = |row: &Row, first: usize, present: bool| {
            let staff_name = StaffName::from_row(row, first)?;
            present.then(|| OfficerDetails {
                staff_name,
                team_description: row.get::<_, Option<String>>(first + 3).unwrap_or_default(),
                provider_description: row.get::<_, Option<String>>(first + 4).unwrap_or_default(),
            })
        };
        Ok(rows.first().map(|row| ResponsibleOfficerRow {
            id: row.get(0),
            row_version: row.get(1),
            start_date: row.get(2),
            end_date: row.get(3),
            community_manager: details(row, 4, row.get(14)),
            prison_manager: details(row, 9, row.get(15)),
        }))
    }

    /// Sets a manager's end date and active flag; returns the rows updated
    /// (0 when another writer changed the row first).
    pub async fn end_manager(&self, tx: &Transaction<'_>, end: &ManagerEnd, stamp: Stamp) -> Result<u64, DbError> {
        Ok(tx
            .execute(
                &self.end_manager,
                &[&end.id, &end.end_date, &flag_value(end.active), &stamp.user_id, &stamp.now, &end.row_version],
            )
            .await?)
    }

    pub async fn insert_manager(&self, tx: &Transaction<'_>, new: &NewManager, stamp: Stamp) -> Result<(), DbError> {
        let active = flag_value(new.active);
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
            &new.id,
            &new.parent_id,
            &new.staff_id,
            &new.team_id,
            &new.probation_area_id,
            &new.partition_area_id,
            &new.allocation_date,
            &new.end_date,
            &new.allocation_reason_id,
            &active,
            &stamp.user_id,
            &stamp.now,
        ];
        if self.table != ManagerTable::Offender {
            params.push(&new.transfer_reason_id);
        }
        tx.execute(&self.insert_manager, &params).await?;
        Ok(())
    }

    /// Ends a responsible officer; returns the rows updated (0 on a lost race).
    pub async fn end_responsible_officer(
        &self,
        tx: &Transaction<'_>,
        officer: &ResponsibleOfficerRow,
        end_date: NaiveDateTime,
        stamp: Stamp,
    ) -> Result<u64, DbError> {
        Ok(tx
            .execute(&self.ro()?.end, &[&officer.id, &end_date, &stamp.user_id, &stamp.now, &officer.row_version])
            .await?)
    }

    pub async fn insert_responsible_officer(
        &self,
        tx: &Transaction<'_>,
        new: &NewResponsibleOfficer,
        stamp: Stamp,
    ) -> Result<(), DbError> {
        tx.execute(
            &self.ro()?.insert,
            &[&new.offender_id, &new.offender_manager_id, &new.start_date, &new.end_date, &stamp.user_id, &stamp.now],
        )
        .await?;
        Ok(())
    }

    /// Inserts a contact of the type with code `type_code`; a missing type is
    /// [`DbError::NotFound`].
    pub async fn insert_contact(
        &self,
        tx: &Transaction<'_>,
        new: &NewContact<'_>,
        stamp: Stamp,
    ) -> Result<(), DbError> {
        let sensitive = new.sensitive.map(yes_no);
        let written = tx
            .execute(
                &self.insert_contact,
                &[
                    &new.type_code,
                    &new.offender_id,
                    &new.event_id,
                    &new.rqmnt_id,
                    &new.date,
                    &new.start_time,
                    &new.notes,
                    &new.probation_area_id,
                    &new.team_id,
                    &new.staff_id,
                    &sensitive,
                    &stamp.user_id,
                    &stamp.now,
                    &new.lic_condition_id,
                ],
            )
            .await?;
        if written == 0 {
            return Err(DbError::NotFound(format!("ContactType with code of {} not found", new.type_code)));
        }
        Ok(())
    }

    /// Sets the IAPS flag of the person, event or requirement (an upsert).
    /// For a person or an event only when one of its requirements is an
    /// accredited programme; for a requirement unconditionally (the caller
    /// checks [`RequirementRow::is_accredited_programme`]); licence conditions
    /// have no flag. Returns whether a flag was written.
    pub async fn flag_iaps(&self, tx: &Transaction<'_>, id: i64) -> Result<bool, DbError> {
        let statement = self
            .flag_iaps
            .as_ref()
            .ok_or_else(|| DbError::NotFound(format!("no IAPS flag for {:?} allocations", self.table)))?;
        Ok(tx.execute(statement, &[&id]).await? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirement(main: Option<&str>, sub: Option<&str>, additional: Option<&str>) -> RequirementRow {
        RequirementRow {
            rqmnt_id: 1,
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
