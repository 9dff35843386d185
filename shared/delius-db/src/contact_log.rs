//! The Resettlement Passport contact log: the SQL behind listing a person's
//! appointments, creating appointment and NOMIS case-note contacts with their
//! contact alerts, and finding or creating a case note's prison author.
//!
//! The business rules live in the `appointments-list`, `appointment-create`
//! and `nomis-case-note-create` functions; this module only reads and writes
//! rows. Statements are prepared once per connection (`prepare_cached`), so a
//! warm container sends each query in one round trip.

use chrono::{NaiveDate, NaiveDateTime};
use deadpool_postgres::ClientWrapper;
/// A transaction on a pooled connection (with its statement cache).
pub use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use crate::error::DbError;

// Advisory lock namespaces (high 16 bits of the key), so that the locks of
// this module never meet each other or another module's.
const LOCK_PERSON_CONTACTS: i64 = 0x5250; // "RP"
const LOCK_AREA_STAFF: i64 = 0x5354; // "ST"

fn lock_key(namespace: i64, id: i64) -> i64 {
    (namespace << 40) | (id & 0xFF_FFFF_FFFF)
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
    client: &ClientWrapper,
    crn: &str,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
    offset: i64,
) -> Result<AppointmentPage, DbError> {
    let statement = client
        .prepare_cached(
            "WITH matched AS ( \
               SELECT c.contact_id, c.contact_date, c.contact_start_time \
               FROM contact c \
               JOIN offender o ON o.offender_id = c.offender_id AND o.soft_deleted = 0 \
               JOIN r_contact_type ct ON ct.contact_type_id = c.contact_type_id AND ct.attendance_contact = 'Y' \
               JOIN staff s ON s.staff_id = c.staff_id \
               WHERE o.crn = $1 AND c.contact_date BETWEEN $2 AND $3 AND c.soft_deleted = 0 \
             ) \
             SELECT total.n, page.* \
             FROM (SELECT count(*) AS n FROM matched) total \
             LEFT JOIN LATERAL ( \
               SELECT c.contact_id, ct.code AS type_code, ct.description AS type_description, \
                      c.contact_date, c.contact_start_time, c.contact_end_time, c.description, \
                      s.staff_id, rtrim(s.officer_code) AS officer_code, s.forename, s.surname, \
                      u.distinguished_name, \
                      rtrim(l.code) AS location_code, l.description AS location_description, l.building_name, \
                      l.building_number, l.street_name, l.district, l.town_city, l.county, l.postcode, \
                      l.telephone_number, \
                      ot.code AS outcome_code, ot.description AS outcome_description \
               FROM matched m \
               JOIN contact c ON c.contact_id = m.contact_id \
               JOIN r_contact_type ct ON ct.contact_type_id = c.contact_type_id \
               JOIN staff s ON s.staff_id = c.staff_id \
               LEFT JOIN LATERAL ( \
                 SELECT distinguished_name FROM user_ WHERE user_.staff_id = s.staff_id ORDER BY user_id LIMIT 1 \
               ) u ON true \
               LEFT JOIN office_location l ON l.office_location_id = c.office_location_id \
               LEFT JOIN r_contact_outcome_type ot ON ot.contact_outcome_type_id = c.contact_outcome_type_id \
               ORDER BY m.contact_date DESC, m.contact_start_time DESC NULLS LAST, m.contact_id DESC \
               LIMIT $4 OFFSET $5 \
             ) page ON true \
             ORDER BY page.contact_date DESC, page.contact_start_time DESC NULLS LAST, page.contact_id DESC",
        )
        .await?;
    let rows = client.query(&statement, &[&crn, &from, &to, &limit, &offset]).await?;
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

/// The live, active community manager of the live person with `crn`. Should
/// there be several, the latest allocation wins (ties: highest id).
pub async fn community_manager(tx: &Transaction<'_>, crn: &str) -> Result<Option<CommunityManager>, DbError> {
    let statement = tx
        .prepare_cached(
            "SELECT om.offender_manager_id, om.offender_id, om.team_id, om.allocation_staff_id, om.probation_area_id \
             FROM offender_manager om \
             JOIN offender o ON o.offender_id = om.offender_id \
             WHERE o.crn = $1 AND o.soft_deleted = 0 AND om.soft_deleted = 0 AND om.active_flag = 1 \
             ORDER BY om.allocation_date DESC, om.offender_manager_id DESC \
             LIMIT 1",
        )
        .await?;
    Ok(tx.query_opt(&statement, &[&crn]).await?.map(|r| CommunityManager {
        offender_manager_id: r.get(0),
        offender_id: r.get(1),
        team_id: r.get(2),
        staff_id: r.get(3),
        probation_area_id: r.get(4),
    }))
}

/// `offender_id` of the live person with `crn`.
pub async fn live_offender_id(tx: &Transaction<'_>, crn: &str) -> Result<Option<i64>, DbError> {
    let statement = tx.prepare_cached("SELECT offender_id FROM offender WHERE crn = $1 AND soft_deleted = 0").await?;
    Ok(tx.query_opt(&statement, &[&crn]).await?.map(|r| r.get(0)))
}

/// `contact_type_id` of the contact type with `code`.
pub async fn contact_type_id(tx: &Transaction<'_>, code: &str) -> Result<Option<i64>, DbError> {
    let statement = tx.prepare_cached("SELECT contact_type_id FROM r_contact_type WHERE code = $1").await?;
    Ok(tx.query_opt(&statement, &[&code]).await?.map(|r| r.get(0)))
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

/// Inserts the contact (alert active, no event, location or outcome) and
/// returns its id; `None` when a live contact of the person already holds the
/// same external reference (the unique index decides, so two concurrent
/// inserts of one reference cannot both succeed).
pub async fn insert_contact(tx: &Transaction<'_>, contact: &NewContact<'_>) -> Result<Option<i64>, DbError> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO contact (contact_id, offender_id, contact_type_id, contact_date, contact_start_time, \
                                  contact_end_time, notes, description, probation_area_id, team_id, staff_id, \
                                  external_reference, office_location_id, contact_outcome_type_id, alert_active, \
                                  event_id, soft_deleted, row_version, partition_area_id, created_datetime, \
                                  created_by_user_id, last_updated_datetime, last_updated_user_id) \
             VALUES (nextval('contact_id_seq'), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, 'Y', \
                     NULL, 0, 0, 0, $12, $13, $12, $13) \
             ON CONFLICT (offender_id, external_reference) \
                 WHERE external_reference IS NOT NULL AND soft_deleted = 0 DO NOTHING \
             RETURNING contact_id",
        )
        .await?;
    let row = tx
        .query_opt(
            &statement,
            &[
                &contact.offender_id,
                &contact.contact_type_id,
                &contact.contact_date,
                &contact.start_time,
                &contact.end_time,
                &contact.notes,
                &contact.description,
                &contact.probation_area_id,
                &contact.team_id,
                &contact.staff_id,
                &contact.external_reference,
                &contact.now,
                &contact.user_id,
            ],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Alerts the community manager `manager` to a new contact.
pub async fn insert_contact_alert(
    tx: &Transaction<'_>,
    contact_id: i64,
    contact_type_id: i64,
    manager: &CommunityManager,
) -> Result<i64, DbError> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO contact_alert (contact_alert_id, contact_id, contact_type_id, offender_id, \
                                        trust_provider_team_id, staff_employee_id, offender_manager_id, \
                                        trust_provider_flag, row_version) \
             VALUES (nextval('contact_alert_id_seq'), $1, $2, $3, $4, $5, $6, 0, 0) \
             RETURNING contact_alert_id",
        )
        .await?;
    let row = tx
        .query_one(
            &statement,
            &[
                &contact_id,
                &contact_type_id,
                &manager.offender_id,
                &manager.team_id,
                &manager.staff_id,
                &manager.offender_manager_id,
            ],
        )
        .await?;
    Ok(row.get(0))
}

// ---------------------------------------------------------------------------
// Appointments

/// Serialises appointment creation for one person until the transaction
/// ends, so that a replayed request and the clash check see what a
/// concurrent request for the same person has just written.
pub async fn lock_person_contacts(tx: &Transaction<'_>, offender_id: i64) -> Result<(), DbError> {
    let statement = tx.prepare_cached("SELECT pg_advisory_xact_lock($1)").await?;
    tx.execute(&statement, &[&lock_key(LOCK_PERSON_CONTACTS, offender_id)]).await?;
    Ok(())
}

/// The live contact of the person that holds `external_reference`.
pub async fn contact_by_external_reference(
    tx: &Transaction<'_>,
    offender_id: i64,
    external_reference: &str,
) -> Result<Option<i64>, DbError> {
    let statement = tx
        .prepare_cached(
            "SELECT contact_id FROM contact \
             WHERE offender_id = $1 AND external_reference = $2 AND soft_deleted = 0 \
             ORDER BY contact_id DESC LIMIT 1",
        )
        .await?;
    Ok(tx.query_opt(&statement, &[&offender_id, &external_reference]).await?.map(|r| r.get(0)))
}

/// Counts the person's open (no outcome) appointments on `date` that overlap
/// `start..end` by Delius's own rule: the stored times, as `HH24:MI`, are
/// compared as strings with `start` and `end` given as ISO local times
/// (`HH:mm:ss[.fraction]`). The string comparison's quirks are deliberate: a
/// contact starting at the new end minute clashes, one ending at the new start
/// does not, one without an end time never does. Byte order (`"C"`) as Oracle
/// compares, whatever the database's collation.
pub async fn count_clashing_appointments(
    tx: &Transaction<'_>,
    offender_id: i64,
    date: NaiveDate,
    start: &str,
    end: &str,
) -> Result<i64, DbError> {
    let statement = tx
        .prepare_cached(
            "SELECT count(*) FROM contact c \
             JOIN r_contact_type ct ON ct.contact_type_id = c.contact_type_id \
             WHERE c.offender_id = $1 \
               AND ct.attendance_contact = 'Y' \
               AND c.contact_date = $2 \
               AND to_char(c.contact_start_time, 'HH24:MI') COLLATE \"C\" < $3::text COLLATE \"C\" \
               AND to_char(c.contact_end_time, 'HH24:MI') COLLATE \"C\" > $4::text COLLATE \"C\" \
               AND c.soft_deleted = 0 \
               AND c.contact_outcome_type_id IS NULL",
        )
        .await?;
    Ok(tx.query_one(&statement, &[&offender_id, &date, &end, &start]).await?.get(0))
}

// ---------------------------------------------------------------------------
// NOMIS case notes: the prison author

/// A provider (`probation_area`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbationArea {
    pub probation_area_id: i64,
    /// Trimmed `probation_area.code`.
    pub code: String,
}

/// The provider linked to the institution whose NOMIS code is `nomis_code`.
pub async fn probation_area_for_institution(
    tx: &Transaction<'_>,
    nomis_code: &str,
) -> Result<Option<ProbationArea>, DbError> {
    let statement = tx
        .prepare_cached(
            "SELECT pa.probation_area_id, rtrim(pa.code) FROM probation_area pa \
             JOIN r_institution i ON i.institution_id = pa.institution_id \
             WHERE i.nomis_cde_code = $1 \
             ORDER BY pa.probation_area_id LIMIT 1",
        )
        .await?;
    Ok(tx
        .query_opt(&statement, &[&nomis_code])
        .await?
        .map(|r| ProbationArea { probation_area_id: r.get(0), code: r.get(1) }))
}

/// `team_id` of the team with `code`.
pub async fn team_id_by_code(tx: &Transaction<'_>, code: &str) -> Result<Option<i64>, DbError> {
    let statement = tx.prepare_cached("SELECT team_id FROM team WHERE code = $1::text").await?;
    Ok(tx.query_opt(&statement, &[&code]).await?.map(|r| r.get(0)))
}

/// The first staff member of the provider with these names, ignoring case.
pub async fn staff_by_name(
    tx: &Transaction<'_>,
    probation_area_id: i64,
    forename: &str,
    surname: &str,
) -> Result<Option<i64>, DbError> {
    let statement = tx
        .prepare_cached(
            "SELECT staff_id FROM staff \
             WHERE probation_area_id = $1 AND upper(forename) = upper($2) AND upper(surname) = upper($3) \
             ORDER BY staff_id LIMIT 1",
        )
        .await?;
    Ok(tx.query_opt(&statement, &[&probation_area_id, &forename, &surname]).await?.map(|r| r.get(0)))
}

/// Serialises the creation of staff in one provider until the transaction
/// ends: a second request for the same new author waits, then finds the
/// staff member the first one created instead of creating another.
pub async fn lock_area_staff(tx: &Transaction<'_>, probation_area_id: i64) -> Result<(), DbError> {
    let statement = tx.prepare_cached("SELECT pg_advisory_xact_lock($1)").await?;
    tx.execute(&statement, &[&lock_key(LOCK_AREA_STAFF, probation_area_id)]).await?;
    Ok(())
}

/// For each letter L with officer codes `{prefix}L999` (any case), the highest
/// three-digit number in use.
pub async fn highest_officer_numbers(tx: &Transaction<'_>, prefix: &str) -> Result<Vec<(char, u16)>, DbError> {
    let statement = tx
        .prepare_cached(
            "SELECT substr(code, 4, 1), max(substr(code, 5, 3)::int) \
             FROM (SELECT upper(rtrim(officer_code)) AS code FROM staff) s \
             WHERE substr(code, 1, 3) = upper($1) AND code ~ '^...[A-Z][0-9]{3}$' \
             GROUP BY 1",
        )
        .await?;
    let rows = tx.query(&statement, &[&prefix]).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let letter = r.get::<_, String>(0).chars().next()?;
            let number = u16::try_from(r.get::<_, i32>(1)).ok()?;
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

/// Inserts the staff member and their `staff_team` row; returns `staff_id`.
/// A clash on the unique officer code surfaces as a unique violation.
pub async fn insert_staff(tx: &Transaction<'_>, staff: &NewStaff<'_>) -> Result<i64, DbError> {
    let insert_staff = tx
        .prepare_cached(
            "INSERT INTO staff (staff_id, officer_code, forename, surname, probation_area_id, start_date, private, \
                                created_datetime, created_by_user_id, last_updated_datetime, last_updated_user_id, \
                                row_version) \
             VALUES (nextval('staff_id_seq'), $1, $2, $3, $4, $5, 0, $6, $7, $6, $7, 0) \
             RETURNING staff_id",
        )
        .await?;
    let insert_team = tx
        .prepare_cached(
            "INSERT INTO staff_team (staff_id, team_id, created_by_user_id, last_updated_user_id, created_datetime, \
                                     last_updated_datetime, row_version) \
             VALUES ($1, $2, $3, $3, $4, $4, 0)",
        )
        .await?;
    let staff_id: i64 = tx
        .query_one(
            &insert_staff,
            &[
                &staff.officer_code,
                &staff.forename,
                &staff.surname,
                &staff.probation_area_id,
                &staff.now.date(),
                &staff.now,
                &staff.user_id,
            ],
        )
        .await?
        .get(0);
    tx.execute(&insert_team, &[&staff_id, &staff.team_id, &staff.user_id, &staff.now]).await?;
    Ok(staff_id)
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
