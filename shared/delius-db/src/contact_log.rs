//! The Resettlement Passport contact log: the SQL behind listing a person's
//! appointments, creating appointment and NOMIS case-note contacts with their
//! contact alerts, and finding or creating a case note's prison author.
//!
//! The business rules live in the `appointments-list`, `appointment-create`
//! and `nomis-case-note-create` functions; this module only reads and writes
//! rows. Rows are read by column name, so an edit to a SELECT cannot shift
//! what is read.

use chrono::{NaiveDate, NaiveDateTime};
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use crate::error::DbError;
use crate::statement::Connection;
pub use crate::transaction::Transaction;

// Advisory lock namespaces (high 16 bits of the key), so that the locks of
// this module never meet each other or another module's.
const LOCK_PERSON_CONTACTS: i64 = 0x5250; // "RP"
const LOCK_AREA_STAFF: i64 = 0x5354; // "ST"
/// The low 40 bits of a key hold the id.
const LOCK_ID_MASK: i64 = 0xFF_FFFF_FFFF;

fn lock_key(namespace: i64, id: i64) -> i64 {
    (namespace << 40) | (id & LOCK_ID_MASK)
}

// ---------------------------------------------------------------------------
// Listing

/// One page of a person's appointments and the number of all that match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentPage {
    pub total: i64,
    pub appointments: Vec<AppointmentRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentRow {
    pub contact_id: i64,
    pub type_code: String,
    pub type_description: String,
    pub contact_date: NaiveDate,
    /// London wall-clock times, as stored.
    pub start_time: Option<NaiveDateTime>,
    pub end_time: Option<NaiveDateTime>,
    pub description: Option<String>,
    pub staff: AppointmentStaff,
    pub location: Option<OfficeLocation>,
    pub outcome: Option<ContactOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentStaff {
    pub staff_id: i64,
    pub officer_code: String,
    pub forename: String,
    pub surname: String,
    /// `user_.distinguished_name` of the staff member's Delius user, the key
    /// of their directory entry.
    pub distinguished_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeLocation {
    pub code: String,
    pub description: String,
    pub building_name: Option<String>,
    pub building_number: Option<String>,
    pub street_name: Option<String>,
    pub district: Option<String>,
    pub town_city: Option<String>,
    pub county: Option<String>,
    pub postcode: Option<String>,
    pub telephone_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactOutcome {
    pub code: String,
    pub description: String,
}

/// The appointments (contacts of an attendance contact type) of the live
/// person with `crn` dated `from..=to`, newest first, `limit` of them from
/// `offset`, with the total. One round trip: the total comes from a count of
/// the same rows, so it is right even for a page past the end.
pub async fn appointments(
    client: &Connection,
    crn: &str,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
    offset: i64,
) -> Result<AppointmentPage, DbError> {
    // Written to plan cheaply (a third of the planning time of the same
    // statement as joins): the person (the CRN is unique) and the attendance
    // contact types are subqueries PostgreSQL runs once, and the page's
    // reference rows are looked up by primary key in per-column subqueries,
    // so only the office location is left to join. A contact's staff member
    // is required (its foreign key makes `staff_id IS NOT NULL` the join to
    // `staff` it replaces).
    const APPOINTMENTS: &str = "WITH matched AS ( \
               SELECT c.contact_id, c.contact_type_id, c.contact_date, c.contact_start_time, c.contact_end_time, \
                      c.description, c.staff_id, c.office_location_id, c.contact_outcome_type_id \
               FROM contact c \
               WHERE c.offender_id = (SELECT offender_id FROM offender WHERE crn = $1 AND soft_deleted = 0) \
                 AND c.contact_type_id = ANY (ARRAY( \
                   SELECT contact_type_id FROM r_contact_type WHERE attendance_contact = 'Y')) \
                 AND c.staff_id IS NOT NULL AND c.contact_date BETWEEN $2 AND $3 AND c.soft_deleted = 0 \
             ) \
             SELECT total.n, page.* \
             FROM (SELECT count(*) AS n FROM matched) total \
             LEFT JOIN LATERAL ( \
               SELECT m.contact_id, \
                      (SELECT code FROM r_contact_type WHERE contact_type_id = m.contact_type_id) AS type_code, \
                      (SELECT description FROM r_contact_type WHERE contact_type_id = m.contact_type_id) \
                        AS type_description, \
                      m.contact_date, m.contact_start_time, m.contact_end_time, m.description, m.staff_id, \
                      (SELECT rtrim(officer_code) FROM staff WHERE staff_id = m.staff_id) AS officer_code, \
                      (SELECT forename FROM staff WHERE staff_id = m.staff_id) AS forename, \
                      (SELECT surname FROM staff WHERE staff_id = m.staff_id) AS surname, \
                      (SELECT distinguished_name FROM user_ WHERE user_.staff_id = m.staff_id \
                       ORDER BY user_id LIMIT 1) AS distinguished_name, \
                      rtrim(l.code) AS location_code, l.description AS location_description, l.building_name, \
                      l.building_number, l.street_name, l.district, l.town_city, l.county, l.postcode, \
                      l.telephone_number, \
                      (SELECT code FROM r_contact_outcome_type \
                       WHERE contact_outcome_type_id = m.contact_outcome_type_id) AS outcome_code, \
                      (SELECT description FROM r_contact_outcome_type \
                       WHERE contact_outcome_type_id = m.contact_outcome_type_id) AS outcome_description \
               FROM matched m \
               LEFT JOIN office_location l ON l.office_location_id = m.office_location_id \
               ORDER BY m.contact_date DESC, m.contact_start_time DESC NULLS FIRST, m.contact_id DESC \
               LIMIT $4 OFFSET $5 \
             ) page ON true \
             ORDER BY page.contact_date DESC, page.contact_start_time DESC NULLS FIRST, page.contact_id DESC";
    let rows = client
        .query_statement(
            APPOINTMENTS,
            &[
                (&crn, Type::BPCHAR),
                (&from, Type::DATE),
                (&to, Type::DATE),
                (&limit, Type::INT8),
                (&offset, Type::INT8),
            ],
        )
        .await?;
    let total = rows.first().map_or(0, |r| r.get::<_, i64>("n"));
    let appointments =
        rows.iter().filter(|r| r.get::<_, Option<i64>>("contact_id").is_some()).map(appointment).collect();
    Ok(AppointmentPage { total, appointments })
}

fn appointment(row: &Row) -> AppointmentRow {
    let location = row.get::<_, Option<String>>("location_code").map(|code| OfficeLocation {
        code,
        description: row.get("location_description"),
        building_name: row.get("building_name"),
        building_number: row.get("building_number"),
        street_name: row.get("street_name"),
        district: row.get("district"),
        town_city: row.get("town_city"),
        county: row.get("county"),
        postcode: row.get("postcode"),
        telephone_number: row.get("telephone_number"),
    });
    let outcome = row
        .get::<_, Option<String>>("outcome_code")
        .map(|code| ContactOutcome { code, description: row.get("outcome_description") });
    AppointmentRow {
        contact_id: row.get("contact_id"),
        type_code: row.get("type_code"),
        type_description: row.get("type_description"),
        contact_date: row.get("contact_date"),
        start_time: row.get("contact_start_time"),
        end_time: row.get("contact_end_time"),
        description: row.get("description"),
        staff: AppointmentStaff {
            staff_id: row.get("staff_id"),
            officer_code: row.get("officer_code"),
            forename: row.get("forename"),
            surname: row.get("surname"),
            distinguished_name: row.get("distinguished_name"),
        },
        location,
        outcome,
    }
}

// ---------------------------------------------------------------------------
// Shared by both writes
//
// The writes are shaped for round trips, each about a millisecond between a
// function and the database: every lookup a write needs goes out with
// `BEGIN` (one flight), the contact and its alert are one statement sent
// with the success audit row and `COMMIT` (the second). Statements
// are typed and sent with `Connection::query_statement`: unnamed by default
// (parsed and run in one message, nothing outlives the transaction), or
// prepared once per connection where the deployment allows it.

/// The person's active community manager (`offender_manager`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommunityManager {
    pub offender_manager_id: i64,
    pub offender_id: i64,
    pub team_id: i64,
    /// `allocation_staff_id`.
    pub staff_id: i64,
    pub probation_area_id: i64,
}

/// Delius holds several active community managers for one person: a data
/// problem a write must not guess its way around (reads answer 500 too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{crn} has several active community managers")]
pub struct SeveralCommunityManagers {
    pub crn: String,
}

/// The live person and their live, active community managers, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonManagers {
    /// `None` when there is no live person with the CRN.
    pub offender_id: Option<i64>,
    pub managers: Vec<CommunityManager>,
}

impl PersonManagers {
    /// The one active community manager; `Ok(None)` without one.
    pub fn community_manager(&self, crn: &str) -> Result<Option<CommunityManager>, SeveralCommunityManagers> {
        match self.managers.as_slice() {
            [] => Ok(None),
            [manager] => Ok(Some(*manager)),
            _ => Err(SeveralCommunityManagers { crn: crn.to_string() }),
        }
    }
}

/// The live person with `crn` (one row, or none) joined to their active
/// managers (a row each, or one without). `{lock}` is where a statement may
/// take a lock on the person.
const PERSON_MANAGERS: &str = "SELECT o.offender_id, om.offender_manager_id, om.team_id, om.allocation_staff_id, \
            om.probation_area_id";
const PERSON_MANAGERS_FROM: &str = " FROM offender o \
     LEFT JOIN offender_manager om \
       ON om.offender_id = o.offender_id AND om.soft_deleted = 0 AND om.active_flag = 1 \
     WHERE o.crn = $1 AND o.soft_deleted = 0 \
     ORDER BY om.offender_manager_id";

fn person_managers(rows: &[Row]) -> PersonManagers {
    let offender_id = rows.first().map(|r| r.get::<_, i64>("offender_id"));
    let managers = rows
        .iter()
        .filter_map(|r| {
            Some(CommunityManager {
                offender_manager_id: r.get::<_, Option<i64>>("offender_manager_id")?,
                offender_id: r.get("offender_id"),
                team_id: r.get("team_id"),
                staff_id: r.get("allocation_staff_id"),
                probation_area_id: r.get("probation_area_id"),
            })
        })
        .collect();
    PersonManagers { offender_id, managers }
}

/// A contact to insert. Dates and times are London wall-clock values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact<'a> {
    pub offender_id: i64,
    pub contact_type_id: i64,
    pub contact_date: NaiveDate,
    pub start_time: NaiveDateTime,
    pub end_time: Option<NaiveDateTime>,
    pub notes: Option<&'a str>,
    pub description: Option<&'a str>,
    pub probation_area_id: i64,
    pub team_id: i64,
    pub staff_id: i64,
    pub external_reference: Option<&'a str>,
    /// The acting Delius user (`created_by_user_id`, `last_updated_user_id`).
    pub user_id: i64,
    pub now: NaiveDateTime,
}

/// Inserts the contact (alert active, no event, location or outcome) and its
/// contact alert for the community manager `manager`, in one statement, and
/// returns the contact's id. It writes both rows or fails: a live contact of
/// the person that already holds the same external reference is a unique
/// violation ([`DbError::is_unique_violation`]; the index decides, so two
/// concurrent inserts of one reference cannot both succeed), which aborts
/// the transaction, so this can be sent in the same flight as `COMMIT`.
pub async fn insert_contact_with_alert(
    tx: &Transaction,
    contact: &NewContact<'_>,
    manager: &CommunityManager,
) -> Result<i64, DbError> {
    let rows = tx
        .query_statement(
            "WITH new_contact AS ( \
               INSERT INTO contact (contact_id, offender_id, contact_type_id, contact_date, contact_start_time, \
                                    contact_end_time, notes, description, probation_area_id, team_id, staff_id, \
                                    external_reference, office_location_id, contact_outcome_type_id, alert_active, \
                                    event_id, soft_deleted, row_version, partition_area_id, created_datetime, \
                                    created_by_user_id, last_updated_datetime, last_updated_user_id) \
               VALUES (nextval('contact_id_seq'), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, 'Y', \
                       NULL, 0, 0, 0, $12, $13, $12, $13) \
               RETURNING contact_id, contact_type_id, offender_id \
             ), new_alert AS ( \
               INSERT INTO contact_alert (contact_alert_id, contact_id, contact_type_id, offender_id, \
                                          trust_provider_team_id, staff_employee_id, offender_manager_id, \
                                          trust_provider_flag, row_version) \
               SELECT nextval('contact_alert_id_seq'), contact_id, contact_type_id, offender_id, $14, $15, $16, 0, 0 \
               FROM new_contact \
             ) \
             SELECT contact_id FROM new_contact",
            &[
                (&contact.offender_id, Type::INT8),
                (&contact.contact_type_id, Type::INT8),
                (&contact.contact_date, Type::DATE),
                (&contact.start_time, Type::TIMESTAMP),
                (&contact.end_time, Type::TIMESTAMP),
                (&contact.notes, Type::TEXT),
                (&contact.description, Type::VARCHAR),
                (&contact.probation_area_id, Type::INT8),
                (&contact.team_id, Type::INT8),
                (&contact.staff_id, Type::INT8),
                (&contact.external_reference, Type::VARCHAR),
                (&contact.now, Type::TIMESTAMP),
                (&contact.user_id, Type::INT8),
                (&manager.team_id, Type::INT8),
                (&manager.staff_id, Type::INT8),
                (&manager.offender_manager_id, Type::INT8),
            ],
        )
        .await?;
    // A plain INSERT ... VALUES: one row, or the statement failed.
    rows.first().map(|r| r.get("contact_id")).ok_or_else(|| DbError::NotFound("the new contact returned no row".into()))
}

// ---------------------------------------------------------------------------
// Appointments

/// What an appointment needs to know before it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentLookup {
    pub person: PersonManagers,
    /// The contact already holding the appointment's URN: a replay.
    pub replayed_contact_id: Option<i64>,
    /// Open appointments the new one clashes with (0 when not asked).
    pub clashes: i64,
    pub contact_type_id: Option<i64>,
}

/// The clash check's question: the new appointment's London date and times
/// of day as ISO local times (`HH:mm:ss[.fraction]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClashQuery<'a> {
    pub date: NaiveDate,
    pub start: &'a str,
    pub end: &'a str,
}

/// Everything an appointment checks, in one round trip (two statements sent
/// together). The first takes the person's advisory lock, which serialises
/// appointment creation for the person until the transaction ends; the
/// second starts after it holds the lock (statements of one flight run in
/// order, each with a fresh snapshot), so the replay and clash checks see
/// what a concurrent request for the same person has just committed.
///
/// The clash rule is Delius's own: the person's open (no outcome)
/// appointments on the date, whose stored times, as `HH24:MI`, compare as
/// strings with the new start and end: one starting at the new end minute
/// clashes, one ending at the new start does not, one without an end time
/// never does. Byte order (`"C"`), as Oracle compares, whatever the
/// database's collation. `clash` is `None` when the check does not apply.
pub async fn appointment_lookup(
    tx: &Transaction,
    crn: &str,
    external_reference: &str,
    contact_type_code: &str,
    clash: Option<&ClashQuery<'_>>,
) -> Result<AppointmentLookup, DbError> {
    let lock_namespace = LOCK_PERSON_CONTACTS << 40;
    // The lock is taken once per row; taking it again is harmless.
    let lock_sql = format!(
        "{PERSON_MANAGERS}, pg_advisory_xact_lock($2 | (o.offender_id & {LOCK_ID_MASK})) AS person_locked \
         {PERSON_MANAGERS_FROM}"
    );
    let lock_params = [(&crn as &(dyn ToSql + Sync), Type::BPCHAR), (&lock_namespace, Type::INT8)];
    let locked = tx.query_statement(&lock_sql, &lock_params);
    let (date, start, end) = clash.map_or((None, None, None), |c| (Some(c.date), Some(c.start), Some(c.end)));
    let check_params = [
        (&crn as &(dyn ToSql + Sync), Type::BPCHAR),
        (&external_reference, Type::VARCHAR),
        (&contact_type_code, Type::VARCHAR),
        (&date, Type::DATE),
        (&start, Type::TEXT),
        (&end, Type::TEXT),
    ];
    let checks = tx.query_statement(
        "SELECT \
           (SELECT c.contact_id FROM contact c \
            JOIN offender o ON o.offender_id = c.offender_id AND o.crn = $1 AND o.soft_deleted = 0 \
            WHERE c.external_reference = $2 AND c.soft_deleted = 0 \
            ORDER BY c.contact_id DESC LIMIT 1) AS replayed_contact_id, \
           (SELECT contact_type_id FROM r_contact_type WHERE code = $3) AS contact_type_id, \
           CASE WHEN $4::date IS NULL THEN 0::bigint ELSE ( \
             SELECT count(*) FROM contact c \
             JOIN offender o ON o.offender_id = c.offender_id AND o.crn = $1 AND o.soft_deleted = 0 \
             JOIN r_contact_type ct ON ct.contact_type_id = c.contact_type_id \
             WHERE ct.attendance_contact = 'Y' \
               AND c.contact_date = $4 \
               AND to_char(c.contact_start_time, 'HH24:MI') COLLATE \"C\" < $6 COLLATE \"C\" \
               AND to_char(c.contact_end_time, 'HH24:MI') COLLATE \"C\" > $5 COLLATE \"C\" \
               AND c.soft_deleted = 0 \
               AND c.contact_outcome_type_id IS NULL) END AS clashes",
        &check_params,
    );
    let (locked, checks) = tokio::try_join!(biased; locked, checks)?;
    let checks = checks.first().ok_or_else(|| DbError::NotFound("the appointment checks returned no row".into()))?;
    Ok(AppointmentLookup {
        person: person_managers(&locked),
        replayed_contact_id: checks.get("replayed_contact_id"),
        clashes: checks.get("clashes"),
        contact_type_id: checks.get("contact_type_id"),
    })
}

// ---------------------------------------------------------------------------
// NOMIS case notes

/// What a case note needs to know before it writes: the person and their
/// managers, the contact type, and the author's provider, case-note team
/// and staff member (each `None` when not found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseNoteLookup {
    pub person: PersonManagers,
    pub contact_type_id: Option<i64>,
    pub area: Option<ProbationArea>,
    /// The provider's `…CSN` team.
    pub team_id: Option<i64>,
    /// The first staff member of the provider with the author's names,
    /// ignoring case.
    pub staff_id: Option<i64>,
}

/// A provider (`probation_area`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbationArea {
    pub probation_area_id: i64,
    /// Trimmed `probation_area.code`.
    pub code: String,
}

/// Everything a case note looks up, in one statement: the person with
/// `crn` and their managers, the contact type with `contact_type_code`, the
/// provider linked to the institution with NOMIS code `establishment`, its
/// team `{provider code}CSN`, and its staff member named
/// `forename surname` (ignoring case).
pub async fn case_note_lookup(
    tx: &Transaction,
    crn: &str,
    contact_type_code: &str,
    establishment: &str,
    forename: &str,
    surname: &str,
) -> Result<CaseNoteLookup, DbError> {
    let rows = tx
        .query_statement(
            &format!(
                "WITH area AS ( \
                   SELECT pa.probation_area_id, rtrim(pa.code) AS code FROM probation_area pa \
                   JOIN r_institution i ON i.institution_id = pa.institution_id \
                   WHERE i.nomis_cde_code = $3 \
                   ORDER BY pa.probation_area_id LIMIT 1 \
                 ), author AS ( \
                   SELECT area.probation_area_id AS area_id, area.code AS area_code, \
                          (SELECT team_id FROM team WHERE code = (area.code || 'CSN')::bpchar) AS csn_team_id, \
                          (SELECT staff_id FROM staff s \
                           WHERE s.probation_area_id = area.probation_area_id \
                             AND upper(s.forename) = upper($4) AND upper(s.surname) = upper($5) \
                           ORDER BY s.staff_id LIMIT 1) AS author_staff_id \
                   FROM area \
                 ), person AS ( \
                   {PERSON_MANAGERS} {PERSON_MANAGERS_FROM} \
                 ) \
                 SELECT person.*, author.*, \
                        (SELECT contact_type_id FROM r_contact_type WHERE code = $2) AS contact_type_id \
                 FROM (SELECT 1) one \
                 LEFT JOIN person ON true \
                 LEFT JOIN author ON true"
            ),
            &[
                (&crn, Type::BPCHAR),
                (&contact_type_code, Type::VARCHAR),
                (&establishment, Type::VARCHAR),
                (&forename, Type::VARCHAR),
                (&surname, Type::VARCHAR),
            ],
        )
        .await?;
    let first = rows.first().ok_or_else(|| DbError::NotFound("the case-note lookup returned no row".into()))?;
    let person_rows: Vec<Row> =
        rows.iter().filter(|r| r.get::<_, Option<i64>>("offender_id").is_some()).cloned().collect();
    let area = first
        .get::<_, Option<i64>>("area_id")
        .map(|probation_area_id| ProbationArea { probation_area_id, code: first.get("area_code") });
    Ok(CaseNoteLookup {
        person: person_managers(&person_rows),
        contact_type_id: first.get("contact_type_id"),
        area,
        team_id: first.get("csn_team_id"),
        staff_id: first.get("author_staff_id"),
    })
}

/// The first staff member of the provider with these names, ignoring case.
pub async fn staff_by_name(
    tx: &Transaction,
    probation_area_id: i64,
    forename: &str,
    surname: &str,
) -> Result<Option<i64>, DbError> {
    let rows = tx
        .query_statement(
            "SELECT staff_id FROM staff \
             WHERE probation_area_id = $1 AND upper(forename) = upper($2) AND upper(surname) = upper($3) \
             ORDER BY staff_id LIMIT 1",
            &[(&probation_area_id, Type::INT8), (&forename, Type::VARCHAR), (&surname, Type::VARCHAR)],
        )
        .await?;
    Ok(rows.first().map(|r| r.get("staff_id")))
}

/// Serialises the creation of staff in one provider until the transaction
/// ends: a second request for the same new author waits, then finds the
/// staff member the first one created instead of creating another.
pub async fn lock_area_staff(tx: &Transaction, probation_area_id: i64) -> Result<(), DbError> {
    tx.query_statement(
        "SELECT pg_advisory_xact_lock($1)",
        &[(&lock_key(LOCK_AREA_STAFF, probation_area_id), Type::INT8)],
    )
    .await?;
    Ok(())
}

/// For each letter L with officer codes `{prefix}L999` (any case), the highest
/// three-digit number in use.
pub async fn highest_officer_numbers(tx: &Transaction, prefix: &str) -> Result<Vec<(char, u16)>, DbError> {
    let rows = tx
        .query_statement(
            "SELECT substr(code, 4, 1) AS letter, max(substr(code, 5, 3)::int) AS highest \
             FROM (SELECT upper(rtrim(officer_code)) AS code FROM staff) s \
             WHERE substr(code, 1, 3) = upper($1) AND code ~ '^...[A-Z][0-9]{3}$' \
             GROUP BY 1",
            &[(&prefix, Type::TEXT)],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let letter = r.get::<_, String>("letter").chars().next()?;
            let number = u16::try_from(r.get::<_, i32>("highest")).ok()?;
            Some((letter, number))
        })
        .collect())
}

/// The next officer code of the letter + three-digit scheme: the first letter
/// from A to Z whose highest number is below 999 (or unused) gives
/// `{prefix}{letter}{highest + 1:03}`. `None` when every letter is used up.
pub fn next_officer_code(prefix: &str, highest: &[(char, u16)]) -> Option<String> {
    ('A'..='Z').find_map(|letter| {
        let next = highest.iter().find(|(l, _)| *l == letter).map_or(1, |(_, n)| n + 1);
        (next <= 999).then(|| format!("{prefix}{letter}{next:03}"))
    })
}

/// A prison staff member to create as a case-note author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff<'a> {
    pub officer_code: &'a str,
    pub forename: &'a str,
    pub surname: &'a str,
    pub probation_area_id: i64,
    /// The provider's case-note (`…CSN`) team the member joins.
    pub team_id: i64,
    pub user_id: i64,
    /// London now; `start_date` is its date.
    pub now: NaiveDateTime,
}

/// Inserts the staff member and their `staff_team` row, in one statement
/// behind a savepoint; returns `staff_id`, or `None` when another writer took
/// the officer code meanwhile (the unique index refused it): the savepoint is
/// then rolled back and the transaction goes on.
pub async fn insert_staff(tx: &Transaction, staff: &NewStaff<'_>) -> Result<Option<i64>, DbError> {
    let start_date = staff.now.date();
    let params = [
        (&staff.officer_code as &(dyn ToSql + Sync), Type::BPCHAR),
        (&staff.forename, Type::VARCHAR),
        (&staff.surname, Type::VARCHAR),
        (&staff.probation_area_id, Type::INT8),
        (&start_date, Type::DATE),
        (&staff.now, Type::TIMESTAMP),
        (&staff.user_id, Type::INT8),
        (&staff.team_id, Type::INT8),
    ];
    let savepoint = tx.batch_execute("SAVEPOINT new_staff");
    let insert = tx.query_statement(
        "WITH new_staff AS ( \
           INSERT INTO staff (staff_id, officer_code, forename, surname, probation_area_id, start_date, private, \
                              created_datetime, created_by_user_id, last_updated_datetime, last_updated_user_id, \
                              row_version) \
           VALUES (nextval('staff_id_seq'), $1, $2, $3, $4, $5, 0, $6, $7, $6, $7, 0) \
           RETURNING staff_id \
         ), new_team AS ( \
           INSERT INTO staff_team (staff_id, team_id, created_by_user_id, last_updated_user_id, created_datetime, \
                                   last_updated_datetime, row_version) \
           SELECT staff_id, $8, $7, $7, $6, $6, 0 FROM new_staff \
         ) \
         SELECT staff_id FROM new_staff",
        &params,
    );
    let (saved, inserted) = tokio::join!(biased; savepoint, insert);
    saved?;
    match inserted.map_err(DbError::from) {
        Ok(rows) => {
            let row = rows.first().ok_or_else(|| DbError::NotFound("the new staff member returned no row".into()))?;
            Ok(Some(row.get("staff_id")))
        }
        Err(e) if e.is_unique_violation() => {
            tx.batch_execute("ROLLBACK TO SAVEPOINT new_staff").await?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn officer_codes_count_up_within_a_letter_then_move_on() {
        assert_eq!(next_officer_code("LDN", &[]).as_deref(), Some("LDNA001"));
        assert_eq!(next_officer_code("LDN", &[('A', 1)]).as_deref(), Some("LDNA002"));
        assert_eq!(next_officer_code("LDN", &[('B', 5), ('A', 41)]).as_deref(), Some("LDNA042"));
        assert_eq!(next_officer_code("LDN", &[('A', 999), ('B', 7)]).as_deref(), Some("LDNB008"));
        assert_eq!(next_officer_code("LDN", &[('A', 999), ('C', 7)]).as_deref(), Some("LDNB001"));
        let all: Vec<(char, u16)> = ('A'..='Z').map(|l| (l, 999)).collect();
        assert_eq!(next_officer_code("LDN", &all), None);
    }

    #[test]
    fn lock_keys_of_namespaces_do_not_meet() {
        assert_ne!(lock_key(LOCK_PERSON_CONTACTS, 7), lock_key(LOCK_AREA_STAFF, 7));
        assert_ne!(lock_key(LOCK_PERSON_CONTACTS, 7), lock_key(LOCK_PERSON_CONTACTS, 8));
        assert!(lock_key(LOCK_AREA_STAFF, i64::MAX) > 0);
    }
}
