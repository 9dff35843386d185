//! The Resettlement Passport case-detail reads: the CRN for a NOMS number, the
//! latest MAPPA registration, the community manager, the person's details and
//! the latest initiated Duty to Refer NSI with its manager and the person's
//! main address.
//!
//! Every read is one statement, one round trip, sent in the connection's mode
//! ([`crate::statement`]: unnamed by default, so that nothing is left on the
//! server connection and a transaction-mode pooler can move the next
//! statement to another server connection); rows are read by column name, so
//! an edit to a SELECT cannot shift what is read. Every read applies the same filters: live offenders
//! (`soft_deleted = 0`), live and active managers, live and active NSIs and
//! NSI managers, live addresses, live registrations that are not deregistered.
//! Char columns (`crn`, `officer_code`) are right-trimmed: Delius pads them.
//!
//! Where the original expected a single row and would fail on several, the
//! statements fetch enough to notice and the functions answer
//! [`CaseDetailError::NotUnique`], which the handlers turn into a 500.

use chrono::{NaiveDate, NaiveDateTime};
use tokio_postgres::Row;
use tokio_postgres::types::Type;

use crate::error::DbError;
use crate::statement::Connection;

/// A case-detail read that failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseDetailError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// Delius holds several rows where one is expected (e.g. two live people
    /// with the same NOMS number): a data problem, not the caller's.
    #[error("{0}")]
    NotUnique(String),
}

/// `query_opt`'s rule, for `query_statement`'s rows: no row or one.
fn at_most_one(rows: Vec<Row>) -> Result<Option<Row>, CaseDetailError> {
    if rows.len() > 1 {
        return Err(CaseDetailError::NotUnique(format!("{} rows where at most one was expected", rows.len())));
    }
    Ok(rows.into_iter().next())
}

impl From<tokio_postgres::Error> for CaseDetailError {
    fn from(e: tokio_postgres::Error) -> Self {
        CaseDetailError::Db(DbError::Postgres(e))
    }
}

// ---------------------------------------------------------------------------
// CRN by NOMS number

/// `$1` = NOMS number (exact, case-sensitive). Two rows at most: a second one
/// means the NOMS number is not unique.
const CRN_BY_NOMS_NUMBER: &str = "SELECT rtrim(crn) AS crn FROM offender \
     WHERE noms_number = $1 AND soft_deleted = 0 \
     ORDER BY offender_id LIMIT 2";

/// The CRN of the live person with NOMS number `noms_number`.
pub async fn crn_by_noms_number(client: &Connection, noms_number: &str) -> Result<Option<String>, CaseDetailError> {
    let rows = client.query_statement(CRN_BY_NOMS_NUMBER, &[(&noms_number, Type::BPCHAR)]).await?;
    match rows.as_slice() {
        [] => Ok(None),
        [row] => Ok(Some(row.get("crn"))),
        _ => Err(CaseDetailError::NotUnique(format!("several people have NOMS number {noms_number}"))),
    }
}

// ---------------------------------------------------------------------------
// MAPPA

/// `$1` = CRN. The latest MAPPA registration (ties: highest id) with its
/// category and level reference rows, matched on nothing but their ids.
///
/// Written so that PostgreSQL has no join order to search when it plans the
/// statement (a third of the planning time of the five-table join it
/// replaces): the person and the register type are single-value subqueries
/// (the CRN and the register type code are unique), and the reference rows are
/// looked up by primary key, one subquery per column (NULL when the id is, as
/// with the left joins).
const LATEST_MAPPA_REGISTRATION: &str = "SELECT r.registration_date, r.next_review_date, \
            (SELECT code_value FROM r_standard_reference_list \
             WHERE standard_reference_list_id = r.register_category_id) AS category_code, \
            (SELECT code_description FROM r_standard_reference_list \
             WHERE standard_reference_list_id = r.register_category_id) AS category_description, \
            (SELECT code_value FROM r_standard_reference_list \
             WHERE standard_reference_list_id = r.register_level_id) AS level_code, \
            (SELECT code_description FROM r_standard_reference_list \
             WHERE standard_reference_list_id = r.register_level_id) AS level_description \
     FROM registration r \
     WHERE r.offender_id = (SELECT offender_id FROM offender WHERE crn = $1 AND soft_deleted = 0) \
       AND r.register_type_id = (SELECT register_type_id FROM r_register_type WHERE code = 'MAPP') \
       AND r.soft_deleted = 0 AND r.deregistered = 0 \
     ORDER BY r.registration_date DESC, r.registration_id DESC \
     LIMIT 1";

/// A `code_value` / `code_description` pair of `r_standard_reference_list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceData {
    pub code: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappaRegistration {
    pub registration_date: NaiveDate,
    pub next_review_date: Option<NaiveDate>,
    pub category: Option<ReferenceData>,
    pub level: Option<ReferenceData>,
}

/// The latest live MAPPA registration of the live person with `crn`.
pub async fn latest_mappa_registration(
    client: &Connection,
    crn: &str,
) -> Result<Option<MappaRegistration>, CaseDetailError> {
    let row = at_most_one(client.query_statement(LATEST_MAPPA_REGISTRATION, &[(&crn, Type::BPCHAR)]).await?)?;
    Ok(row.map(|row| {
        let reference = |code: &str, description: &str| {
            row.get::<_, Option<String>>(code).map(|code| ReferenceData { code, description: row.get(description) })
        };
        MappaRegistration {
            registration_date: row.get("registration_date"),
            next_review_date: row.get("next_review_date"),
            category: reference("category_code", "category_description"),
            level: reference("level_code", "level_description"),
        }
    }))
}

// ---------------------------------------------------------------------------
// Community manager

/// `$1` = CRN. The staff member of the live, active community manager; two
/// rows at most, a second one means several active managers. The person is a
/// single-value subquery (the CRN is unique): one join less to plan.
const COMMUNITY_MANAGER_STAFF: &str = "SELECT rtrim(s.officer_code) AS officer_code, s.forename, s.surname \
     FROM offender_manager om \
     JOIN staff s ON s.staff_id = om.allocation_staff_id \
     WHERE om.offender_id = (SELECT offender_id FROM offender WHERE crn = $1 AND soft_deleted = 0) \
       AND om.soft_deleted = 0 AND om.active_flag = 1 \
     ORDER BY om.offender_manager_id LIMIT 2";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerStaff {
    pub officer_code: String,
    pub forename: String,
    pub surname: String,
}

impl ManagerStaff {
    /// Delius marks the placeholder "unallocated" staff of a team with an
    /// officer code ending in `U`.
    pub fn is_unallocated(&self) -> bool {
        self.officer_code.ends_with('U')
    }
}

/// The staff member managing the live person with `crn` in the community.
pub async fn community_manager_staff(client: &Connection, crn: &str) -> Result<Option<ManagerStaff>, CaseDetailError> {
    let rows = client.query_statement(COMMUNITY_MANAGER_STAFF, &[(&crn, Type::BPCHAR)]).await?;
    match rows.as_slice() {
        [] => Ok(None),
        [row] => Ok(Some(ManagerStaff {
            officer_code: row.get("officer_code"),
            forename: row.get("forename"),
            surname: row.get("surname"),
        })),
        _ => Err(CaseDetailError::NotUnique(format!("{crn} has several active community managers"))),
    }
}

// ---------------------------------------------------------------------------
// Person detail

/// `$1` = CRN (unique in Delius).
const PERSON_BY_CRN: &str = "SELECT rtrim(crn) AS crn, first_name, surname, date_of_birth_date, \
            telephone_number, mobile_number, e_mail_address \
     FROM offender WHERE crn = $1 AND soft_deleted = 0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub crn: String,
    pub first_name: String,
    pub surname: String,
    pub date_of_birth: NaiveDate,
    pub telephone_number: Option<String>,
    pub mobile_number: Option<String>,
    pub email_address: Option<String>,
}

/// The live person with `crn`.
pub async fn person_by_crn(client: &Connection, crn: &str) -> Result<Option<Person>, CaseDetailError> {
    let row = at_most_one(client.query_statement(PERSON_BY_CRN, &[(&crn, Type::BPCHAR)]).await?)?;
    Ok(row.map(|row| Person {
        crn: row.get("crn"),
        first_name: row.get("first_name"),
        surname: row.get("surname"),
        date_of_birth: row.get("date_of_birth_date"),
        telephone_number: row.get("telephone_number"),
        mobile_number: row.get("mobile_number"),
        email_address: row.get("e_mail_address"),
    }))
}

// ---------------------------------------------------------------------------
// Duty to Refer NSI

/// The statement for one way of naming the person: the latest (by
/// `created_datetime`, ties: highest id) live, active, initiated DTR NSI of
/// the live person, its live, active NSI manager and the person's current
/// main address. The laterals count their rows before `LIMIT 1`, so several
/// managers or main addresses are noticed in the same round trip.
///
/// Written to plan cheaply (about half the planning time of the same
/// statement as joins): the people (a NOMS number may name several), the
/// address statuses coded `M` and the NSI type and status codes (unique) are
/// subqueries PostgreSQL runs once, and reference rows are looked up by
/// primary key in per-column subqueries, so few tables are left to join.
/// The NSI manager's provider, team and staff are required columns with
/// foreign keys, as the joins they replace required.
macro_rules! duty_to_refer_sql {
    ($person:literal) => {
        concat!(
            "SELECT n.nsi_id, n.sub_type, n.referral_date, n.status, n.actual_start_date, n.notes, \
                    m.manager_count, m.provider, m.team, m.forename, m.middle_name, m.surname, \
                    a.address_count, a.building_name, a.address_number, a.street_name, a.district, a.town_city, \
                    a.county, a.postcode, a.no_fixed_abode \
             FROM ( \
               SELECT nsi.nsi_id, nsi.offender_id, \
                      (SELECT code_description FROM r_standard_reference_list \
                       WHERE standard_reference_list_id = nsi.nsi_sub_type_id) AS sub_type, \
                      nsi.referral_date, \
                      (SELECT description FROM r_nsi_status WHERE nsi_status_id = nsi.nsi_status_id) AS status, \
                      nsi.actual_start_date, nsi.notes \
               FROM nsi \
               WHERE nsi.offender_id = ANY (ARRAY(SELECT o.offender_id FROM offender o WHERE ",
            $person,
            " = $1 AND o.soft_deleted = 0)) \
                 AND nsi.nsi_type_id = (SELECT nsi_type_id FROM r_nsi_type WHERE code = 'DTR') \
                 AND nsi.nsi_status_id = (SELECT nsi_status_id FROM r_nsi_status WHERE code = 'INIT') \
                 AND nsi.active_flag = 1 AND nsi.soft_deleted = 0 \
               ORDER BY nsi.created_datetime DESC, nsi.nsi_id DESC \
               LIMIT 1 \
             ) n \
             LEFT JOIN LATERAL ( \
               SELECT count(*) OVER () AS manager_count, \
                      (SELECT description FROM probation_area WHERE probation_area_id = nm.probation_area_id) \
                        AS provider, \
                      (SELECT description FROM team WHERE team_id = nm.team_id) AS team, \
                      s.forename, s.forename2 AS middle_name, s.surname \
               FROM nsi_manager nm \
               JOIN staff s ON s.staff_id = nm.staff_id \
               WHERE nm.nsi_id = n.nsi_id AND nm.active_flag = 1 AND nm.soft_deleted = 0 \
               ORDER BY nm.nsi_manager_id DESC \
               LIMIT 1 \
             ) m ON true \
             LEFT JOIN LATERAL ( \
               SELECT count(*) OVER () AS address_count, oa.building_name, oa.address_number, oa.street_name, \
                      oa.district, oa.town_city, oa.county, oa.postcode, oa.no_fixed_abode \
               FROM offender_address oa \
               WHERE oa.offender_id = n.offender_id AND oa.soft_deleted = 0 AND oa.end_date IS NULL \
                 AND oa.address_status_id = ANY (ARRAY( \
                   SELECT standard_reference_list_id FROM r_standard_reference_list WHERE code_value = 'M')) \
               ORDER BY oa.offender_address_id DESC \
               LIMIT 1 \
             ) a ON true"
        )
    };
}

/// `$1` = CRN.
const DUTY_TO_REFER_NSI_BY_CRN: &str = duty_to_refer_sql!("o.crn");
/// `$1` = NOMS number.
const DUTY_TO_REFER_NSI_BY_NOMS_NUMBER: &str = duty_to_refer_sql!("o.noms_number");

/// How the person is named in a Duty to Refer lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonIdentifier {
    Crn,
    NomsNumber,
}

impl PersonIdentifier {
    pub fn duty_to_refer_sql(self) -> &'static str {
        match self {
            PersonIdentifier::Crn => DUTY_TO_REFER_NSI_BY_CRN,
            PersonIdentifier::NomsNumber => DUTY_TO_REFER_NSI_BY_NOMS_NUMBER,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutyToReferNsi {
    pub nsi_id: i64,
    /// `code_description` of the NSI's sub type; `None` if it has none.
    pub sub_type: Option<String>,
    pub referral_date: NaiveDate,
    /// `r_nsi_status.description`.
    pub status: String,
    /// London wall-clock time, as stored.
    pub actual_start_date: Option<NaiveDateTime>,
    pub notes: Option<String>,
    pub manager: Option<NsiManager>,
    pub main_address: Option<MainAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsiManager {
    /// `probation_area.description`.
    pub provider: String,
    /// `team.description`.
    pub team: String,
    pub forename: String,
    /// `staff.forename2`.
    pub middle_name: Option<String>,
    pub surname: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainAddress {
    pub building_name: Option<String>,
    pub address_number: Option<String>,
    pub street_name: Option<String>,
    pub district: Option<String>,
    pub town_city: Option<String>,
    pub county: Option<String>,
    pub postcode: Option<String>,
    /// The `Y`/`N` column; `None` when Delius holds no value.
    pub no_fixed_abode: Option<bool>,
}

/// The latest initiated Duty to Refer NSI of the live person named by `value`.
pub async fn duty_to_refer_nsi(
    client: &Connection,
    identifier: PersonIdentifier,
    value: &str,
) -> Result<Option<DutyToReferNsi>, CaseDetailError> {
    let Some(row) =
        at_most_one(client.query_statement(identifier.duty_to_refer_sql(), &[(&value, Type::BPCHAR)]).await?)?
    else {
        return Ok(None);
    };
    let nsi_id: i64 = row.get("nsi_id");
    let manager_count: Option<i64> = row.get("manager_count");
    if manager_count.unwrap_or(0) > 1 {
        return Err(CaseDetailError::NotUnique(format!("NSI {nsi_id} has several active NSI managers")));
    }
    let address_count: Option<i64> = row.get("address_count");
    if address_count.unwrap_or(0) > 1 {
        return Err(CaseDetailError::NotUnique(format!(
            "the person of NSI {nsi_id} has several current main addresses"
        )));
    }
    let manager = manager_count.map(|_| NsiManager {
        provider: row.get("provider"),
        team: row.get("team"),
        forename: row.get("forename"),
        middle_name: row.get("middle_name"),
        surname: row.get("surname"),
    });
    let main_address = address_count.map(|_| MainAddress {
        building_name: row.get("building_name"),
        address_number: row.get("address_number"),
        street_name: row.get("street_name"),
        district: row.get("district"),
        town_city: row.get("town_city"),
        county: row.get("county"),
        postcode: row.get("postcode"),
        no_fixed_abode: row.get::<_, Option<String>>("no_fixed_abode").map(|flag| flag == "Y"),
    });
    Ok(Some(DutyToReferNsi {
        nsi_id,
        sub_type: row.get("sub_type"),
        referral_date: row.get("referral_date"),
        status: row.get("status"),
        actual_start_date: row.get("actual_start_date"),
        notes: row.get("notes"),
        manager,
        main_address,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duty_to_refer_statements_differ_only_in_how_the_person_is_named() {
        assert_eq!(
            DUTY_TO_REFER_NSI_BY_CRN.replace("o.crn = $1", "o.noms_number = $1"),
            DUTY_TO_REFER_NSI_BY_NOMS_NUMBER
        );
        assert_eq!(PersonIdentifier::NomsNumber.duty_to_refer_sql(), DUTY_TO_REFER_NSI_BY_NOMS_NUMBER);
    }

    #[test]
    fn unallocated_staff_codes_end_in_u() {
        let staff = |code: &str| ManagerStaff { officer_code: code.into(), forename: "A".into(), surname: "B".into() };
        assert!(staff("N03DEFU").is_unallocated());
        assert!(!staff("N03DEF1").is_unallocated());
    }
}
