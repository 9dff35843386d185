//! POST `/nomis-case-note/{crn}`: a
//! NOMIS case note (RP9 / RP10) written by a prison staff member, recorded as
//! a contact in the prison's provider and case-note team, with a contact
//! alert to the person's community manager and the `CLBI003` audit row, all
//! in one transaction.
//!
//! The author is found by name (ignoring case) in the provider linked to the
//! prison, or created there with the next officer code of the letter +
//! three-digit scheme (`LDNA001` → `LDNA002`) and joined to the `…CSN` team.
//! Creation is serialised per provider (advisory lock), so concurrent case
//! notes by one new author create one staff member; a unique-code clash with
//! any other writer is retried with the next code.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use delius_api::body::{self, required};
use delius_api::handler::{self, path_param};
use delius_api::validate::CRN_LENGTH;
use delius_api::validate::{CONTACT_DESCRIPTION_LENGTH, STAFF_NAME_LENGTH, UNSTORED_TEXT_LENGTH, check_length};
use delius_api::{ApiError, FieldError};
use delius_db::Database;
use delius_db::audit::{self, AuditTrail};
use delius_db::contact_log::{self, NewContact, NewStaff, ProbationArea, Transaction};
use delius_db::time::{london_now, to_london};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

pub const FUNCTION: &str = "nomis-case-note-create";
const ADD_CONTACT: &str = "CLBI003";
/// Attempts at a new officer code when another writer takes the one chosen.
const STAFF_CODE_ATTEMPTS: usize = 3;

/// Serves one request.
pub async fn handle(db: &Database, request: Request) -> Response<Body> {
    handler::serve(FUNCTION, db, request, |request| async move {
        let crn = path_param(&request, "crn", CRN_LENGTH)?;
        let case_note = CaseNote::from_body(request.body())?;
        create(db, &crn, &case_note).await?;
        Ok(Response::builder().status(StatusCode::CREATED).body(Body::Empty).expect("static response parts are valid"))
    })
    .await
}

/// The case-note types and their contact types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseNoteType {
    ImmediateNeedsReport,
    PreReleaseReport,
}

impl CaseNoteType {
    pub fn from_name(name: &str) -> Option<CaseNoteType> {
        match name {
            "IMMEDIATE_NEEDS_REPORT" => Some(CaseNoteType::ImmediateNeedsReport),
            "PRE_RELEASE_REPORT" => Some(CaseNoteType::PreReleaseReport),
            _ => None,
        }
    }

    /// `r_contact_type.code`.
    pub fn contact_type_code(self) -> &'static str {
        match self {
            CaseNoteType::ImmediateNeedsReport => "RP9",
            CaseNoteType::PreReleaseReport => "RP10",
        }
    }
}

/// The prison staff member who wrote the case note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub prison_code: String,
    pub forename: String,
    pub surname: String,
}

/// A validated request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseNote {
    pub kind: CaseNoteType,
    pub description: Option<String>,
    /// London-zoned.
    pub date_time: DateTime<FixedOffset>,
    pub notes: String,
    pub author: Author,
}

/// The request body as sent: every field optional, checked by
/// [`CaseNote::from_body`]. Unknown fields are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaseNoteBody {
    #[serde(rename = "type")]
    kind: Option<body::Line>,
    description: Option<body::FreeText>,
    date_time: Option<body::ZonedDateTime>,
    notes: Option<body::FreeText>,
    author: Option<body::Object<AuthorBody>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorBody {
    prison_code: Option<body::Line>,
    forename: Option<body::Line>,
    surname: Option<body::Line>,
}

impl CaseNote {
    /// Reads the body as the original did: first the JSON (a missing or
    /// mistyped field, or a control character, is a plain 400), then bean
    /// validation (`notes` must not be blank: 400 `Validation failure` naming
    /// the field), then the lengths Delius can store. The author's own fields
    /// are not validated beyond that; blank values meet the business rules.
    pub fn from_body(request_body: &Body) -> Result<CaseNote, ApiError> {
        let fields: CaseNoteBody = body::read_json(request_body)?;
        let kind_name = required("type", fields.kind)?.0;
        let kind = CaseNoteType::from_name(&kind_name).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Invalid value for 'type': '{}' is not one of IMMEDIATE_NEEDS_REPORT, PRE_RELEASE_REPORT",
                body::shown(&kind_name)
            ))
        })?;
        let description = fields.description.map(|d| d.0);
        let date_time = required("dateTime", fields.date_time)?.0;
        let notes = required("notes", fields.notes)?.0;
        let author = required("author", fields.author)?.0;
        let author = Author {
            prison_code: required("author.prisonCode", author.prison_code)?.0,
            forename: required("author.forename", author.forename)?.0,
            surname: required("author.surname", author.surname)?.0,
        };
        if is_blank(&notes) {
            return Err(ApiError::Validation(vec![FieldError {
                kind: "NotBlank".into(),
                message: "must not be blank".into(),
                field: "notes".into(),
            }]));
        }
        // Longer values could never be stored: refuse them rather than fail in the database.
        check_length("author.prisonCode", &author.prison_code, Some(UNSTORED_TEXT_LENGTH))?;
        check_length("author.forename", &author.forename, Some(STAFF_NAME_LENGTH))?;
        check_length("author.surname", &author.surname, Some(STAFF_NAME_LENGTH))?;
        if let Some(description) = &description {
            check_length("description", description, Some(CONTACT_DESCRIPTION_LENGTH))?;
        }
        Ok(CaseNote { kind, description, date_time, notes, author })
    }
}

/// `@NotBlank` as Java checks it: nothing left after trimming characters up to U+0020.
fn is_blank(text: &str) -> bool {
    text.trim_matches(|c: char| c <= ' ').is_empty()
}

/// Records the case note for the person with `crn`, audited: on success the
/// `P` row commits with the contact; on failure the work (a new author
/// included) is rolled back and an `F` row is written on its own.
///
/// Two round trips when the author is known: every lookup with `BEGIN`,
/// then the contact with its alert, the `P` row and `COMMIT`. A new author
/// costs a few more, once.
pub async fn create(db: &Database, crn: &str, case_note: &CaseNote) -> Result<(), ApiError> {
    let started = london_now();
    let client = db.client().await?;
    let user_id = db.service_user_id(&client).await?;
    let mut trail = AuditTrail::new(ADD_CONTACT, user_id, started);
    audit::audited(db, client, &mut trail, async |tx, trail| {
        let author = &case_note.author;
        let establishment: String = author.prison_code.chars().take(3).collect();
        let code = case_note.kind.contact_type_code();
        let found =
            contact_log::case_note_lookup(tx, crn, code, &establishment, &author.forename, &author.surname).await?;
        let offender_id = found.person.offender_id.ok_or_else(|| ApiError::not_found("Person", "crn", crn))?;
        let contact_type_id = found.contact_type_id.ok_or_else(|| ApiError::not_found("CaseNoteType", "code", code))?;
        // No community manager to alert is a 404, before anything is written;
        // several are a Delius data problem (500), as the reads answer.
        let manager = found
            .person
            .community_manager(crn)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or_else(|| ApiError::not_found("Person", "crn", crn))?;
        // The lookup failures of the author are the caller's fault: 400.
        if establishment.chars().count() < 3 {
            return Err(ApiError::BadRequest(format!("Invalid establishment: {}", author.prison_code)));
        }
        let area = found.area.ok_or_else(|| {
            ApiError::BadRequest(format!("Probation Area not found for NOMIS institution: {establishment}"))
        })?;
        let team_id = found
            .team_id
            .ok_or_else(|| ApiError::BadRequest(format!("Team with code of {}CSN not found", area.code)))?;
        let now = london_now();
        let staff_id = match found.staff_id {
            Some(staff_id) => staff_id,
            None => new_author(tx, &area, team_id, author, user_id, now).await?,
        };
        let start = to_london(&case_note.date_time);
        let contact = NewContact {
            offender_id,
            contact_type_id,
            contact_date: start.date(),
            start_time: start,
            end_time: None,
            notes: Some(&case_note.notes),
            description: case_note.description.as_deref(),
            probation_area_id: area.probation_area_id,
            team_id,
            staff_id,
            external_reference: None,
            user_id,
            now,
        };
        let insert = async {
            contact_log::insert_contact_with_alert(tx, &contact, &manager).await?;
            Ok(())
        };
        trail.commit(tx, insert).await
    })
    .await
}

/// Creates the author as a staff member of the provider, in its case-note
/// team, with the next free officer code; or finds the one a concurrent
/// request has just created.
async fn new_author(
    tx: &Transaction,
    area: &ProbationArea,
    team_id: i64,
    author: &Author,
    user_id: i64,
    now: NaiveDateTime,
) -> Result<i64, ApiError> {
    // Someone may be creating the same author right now: wait for them, then look again.
    contact_log::lock_area_staff(tx, area.probation_area_id).await?;
    if let Some(staff_id) =
        contact_log::staff_by_name(tx, area.probation_area_id, &author.forename, &author.surname).await?
    {
        return Ok(staff_id);
    }
    let prefix: String = area.code.chars().take(3).collect();
    for _ in 0..STAFF_CODE_ATTEMPTS {
        let highest = contact_log::highest_officer_numbers(tx, &prefix).await?;
        let officer_code = contact_log::next_officer_code(&prefix, &highest)
            .ok_or_else(|| ApiError::Internal(format!("no officer codes left for {prefix}")))?;
        let staff = NewStaff {
            officer_code: &officer_code,
            forename: &author.forename,
            surname: &author.surname,
            probation_area_id: area.probation_area_id,
            team_id,
            user_id,
            now,
        };
        match contact_log::insert_staff(tx, &staff).await? {
            Some(staff_id) => {
                tracing::info!(officer_code = %officer_code, "created case-note author");
                return Ok(staff_id);
            }
            None => tracing::warn!(officer_code = %officer_code, "officer code taken meanwhile; trying the next"),
        }
    }
    Err(ApiError::Internal(format!("no free officer code for {prefix} after {STAFF_CODE_ATTEMPTS} attempts")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Result<CaseNote, ApiError> {
        CaseNote::from_body(&Body::Text(json.to_string()))
    }

    #[test]
    fn the_real_clients_body() {
        let n = body(
            r#"{"type":"PRE_RELEASE_REPORT","dateTime":"2024-06-04T09:16:04+01:00","notes":"a\nb","author":{"prisonCode":"LDNHMP","forename":"Alex","surname":"Officer"},"extra":1}"#,
        )
        .unwrap();
        assert_eq!(n.kind.contact_type_code(), "RP10");
        assert_eq!(delius_api::datetime::format_offset(&n.date_time), "2024-06-04T09:16:04+01:00");
        assert_eq!(n.notes, "a\nb");
        assert_eq!(n.description, None);
        assert_eq!(
            n.author,
            Author { prison_code: "LDNHMP".into(), forename: "Alex".into(), surname: "Officer".into() }
        );
    }

    #[test]
    fn blank_as_java_sees_it() {
        assert!(is_blank(""));
        assert!(is_blank(" \t\r\n"));
        assert!(!is_blank("\u{a0}"));
        assert!(!is_blank(" x "));
    }
}
