//! POST `/appointments/{crn}`: an
//! appointment contact (RP1–RP8) for the person's community manager, with a
//! contact alert and the `CLBI003` audit row, in one transaction.
//!
//! Idempotent on the request's `uuid`: the contact's external reference is
//! its URN, a second request with the same `uuid` for the same person creates
//! nothing and answers 200 with the first answer. Requests for one person are
//! serialised (advisory lock) so that neither the replay check nor the clash
//! check can miss a concurrent request's appointment; the unique index on
//! `contact(offender_id, external_reference)` backs the replay check up.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use delius_api::body::{self, required};
use delius_api::handler::{self, path_param};
use delius_api::validate::CRN_LENGTH;
use delius_api::{ApiError, json_response};
use delius_db::Database;
use delius_db::audit::{self, AuditTrail, Finish};
use delius_db::contact_log::{self, ClashQuery, NewContact};
use delius_db::time::{london_now, to_london};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

pub const FUNCTION: &str = "appointment-create";
pub const URN_PREFIX: &str = "urn:uk:gov:hmpps:resettlement-passport-service:appointment:";
const ADD_CONTACT: &str = "CLBI003";

/// Serves one request.
pub async fn handle(db: &Database, request: Request) -> Response<Body> {
    handler::serve(FUNCTION, db, request, |request| async move {
        let crn = path_param(&request, "crn", CRN_LENGTH)?;
        let appointment = CreateAppointment::from_body(request.body())?;
        let (status, created) = match create(db, &crn, &appointment).await? {
            Created::New(body) => (StatusCode::CREATED, body),
            Created::Replayed(body) => (StatusCode::OK, body),
        };
        Ok(json_response(status, &created))
    })
    .await
}

/// The appointment types of the API and their contact types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentType {
    Accommodation,
    ThinkingAndBehaviour,
    FamilyAndCommunity,
    DrugsAndAlcohol,
    SkillsAndWork,
    Finance,
    Health,
    Benefits,
}

impl AppointmentType {
    pub const ALL: [AppointmentType; 8] = [
        AppointmentType::Accommodation,
        AppointmentType::ThinkingAndBehaviour,
        AppointmentType::FamilyAndCommunity,
        AppointmentType::DrugsAndAlcohol,
        AppointmentType::SkillsAndWork,
        AppointmentType::Finance,
        AppointmentType::Health,
        AppointmentType::Benefits,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AppointmentType::Accommodation => "Accommodation",
            AppointmentType::ThinkingAndBehaviour => "ThinkingAndBehaviour",
            AppointmentType::FamilyAndCommunity => "FamilyAndCommunity",
            AppointmentType::DrugsAndAlcohol => "DrugsAndAlcohol",
            AppointmentType::SkillsAndWork => "SkillsAndWork",
            AppointmentType::Finance => "Finance",
            AppointmentType::Health => "Health",
            AppointmentType::Benefits => "Benefits",
        }
    }

    /// `r_contact_type.code`.
    pub fn contact_type_code(self) -> &'static str {
        match self {
            AppointmentType::Accommodation => "RP1",
            AppointmentType::ThinkingAndBehaviour => "RP2",
            AppointmentType::FamilyAndCommunity => "RP3",
            AppointmentType::DrugsAndAlcohol => "RP4",
            AppointmentType::SkillsAndWork => "RP5",
            AppointmentType::Finance => "RP6",
            AppointmentType::Health => "RP7",
            AppointmentType::Benefits => "RP8",
        }
    }

    /// By enum name, case-sensitive as the API has always been.
    pub fn from_name(name: &str) -> Option<AppointmentType> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// A validated request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAppointment {
    pub kind: AppointmentType,
    /// London-zoned.
    pub start: DateTime<FixedOffset>,
    pub duration: Duration,
    pub notes: Option<String>,
    pub uuid: uuid::Uuid,
}

/// The request body as sent: every field optional, checked by
/// [`CreateAppointment::from_body`]. Unknown fields (`urn`, `end`...) are ignored.
#[derive(Debug, Deserialize)]
struct CreateAppointmentBody {
    #[serde(rename = "type")]
    kind: Option<body::Line>,
    start: Option<body::ZonedDateTime>,
    duration: Option<body::Duration>,
    notes: Option<body::FreeText>,
    uuid: Option<body::Uuid>,
}

/// The latest end an appointment may have: ISO dates (and Delius's) have
/// four-digit years.
fn latest_end() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|d| d.and_hms_opt(23, 59, 59)).expect("a valid date-time")
}

impl CreateAppointment {
    /// Reads the body. A missing field, a value of the wrong JSON type, an
    /// unknown enum name, an unreadable date-time, duration or UUID, a control
    /// character or an end beyond the year 9999 is a 400 naming the field.
    pub fn from_body(request_body: &Body) -> Result<CreateAppointment, ApiError> {
        let fields: CreateAppointmentBody = body::read_json(request_body)?;
        let kind_name = required("type", fields.kind)?.0;
        let kind = AppointmentType::from_name(&kind_name).ok_or_else(|| {
            let names: Vec<&str> = AppointmentType::ALL.iter().map(|t| t.name()).collect();
            ApiError::BadRequest(format!(
                "Invalid value for 'type': '{}' is not one of {}",
                body::shown(&kind_name),
                names.join(", ")
            ))
        })?;
        let start = required("start", fields.start)?.0;
        let duration = required("duration", fields.duration)?.0;
        // Checked here, before anything is written: an end out of range is the caller's mistake.
        let end_ok = start.checked_add_signed(duration).is_some_and(|end| to_london(&end) <= latest_end());
        if !end_ok {
            return Err(ApiError::BadRequest(
                "Invalid value for 'duration': the appointment must end by 9999-12-31T23:59:59".into(),
            ));
        }
        let notes = fields.notes.map(|n| n.0);
        let uuid = fields.uuid.map_or_else(uuid::Uuid::new_v4, |u| u.0);
        Ok(CreateAppointment { kind, start, duration, notes, uuid })
    }

    /// The contact's external reference.
    pub fn urn(&self) -> String {
        format!("{URN_PREFIX}{}", self.uuid.hyphenated())
    }

    /// The end: [`CreateAppointment::from_body`] made sure it exists.
    pub fn end(&self) -> Result<DateTime<FixedOffset>, ApiError> {
        self.start
            .checked_add_signed(self.duration)
            .ok_or_else(|| ApiError::BadRequest("Invalid value for 'duration': out of range".into()))
    }
}

/// The answer: the contact's id and its URN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppointmentCreated {
    pub id: i64,
    pub urn: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New(AppointmentCreated),
    /// The `uuid` was used before for this person: nothing was written.
    Replayed(AppointmentCreated),
}

/// Creates the appointment for the person with `crn`, audited: on success
/// the `P` row commits with the contact; on failure the work is rolled back
/// and an `F` row is written on its own; a replay writes nothing.
///
/// Two round trips: the lookups with `BEGIN` (the person's lock, the
/// replay, clash and contact-type checks), then the contact with its alert,
/// the `P` row and `COMMIT`.
pub async fn create(db: &Database, crn: &str, appointment: &CreateAppointment) -> Result<Created, ApiError> {
    let started = london_now();
    let client = db.client().await?;
    let user_id = db.service_user_id(&client).await?;
    let mut trail = AuditTrail::new(ADD_CONTACT, user_id, started);
    audit::audited(db, client, &mut trail, async |tx, trail| {
        let start = appointment.start;
        let end = appointment.end()?;
        let urn = appointment.urn();
        let (start_local, end_local) = (to_london(&start), to_london(&end));
        let (start_text, end_text) = (iso_local_time(start_local.time()), iso_local_time(end_local.time()));
        // Only future appointments are checked for clashes.
        let clash = (start.with_timezone(&Utc) > Utc::now()).then(|| ClashQuery {
            date: start_local.date(),
            start: &start_text,
            end: &end_text,
        });
        let code = appointment.kind.contact_type_code();
        let found = contact_log::appointment_lookup(tx, crn, &urn, code, clash.as_ref()).await?;
        let manager = found
            .person
            .community_manager(crn)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or_else(|| ApiError::not_found("Person", "crn", crn))?;
        if end <= start {
            return Err(ApiError::BadRequest("Appointment end time cannot be before start time.".into()));
        }
        if let Some(id) = found.replayed_contact_id {
            return Ok(Finish::RollBack(Created::Replayed(AppointmentCreated { id, urn })));
        }
        if found.clashes > 0 {
            return Err(ApiError::Conflict("Appointment conflicts with an existing future appointment".into()));
        }
        let contact_type_id =
            found.contact_type_id.ok_or_else(|| ApiError::not_found("AppointmentType", "code", code))?;
        let contact = NewContact {
            offender_id: manager.offender_id,
            contact_type_id,
            contact_date: start_local.date(),
            start_time: start_local,
            end_time: Some(end_local),
            notes: appointment.notes.as_deref(),
            description: None,
            probation_area_id: manager.probation_area_id,
            team_id: manager.team_id,
            staff_id: manager.staff_id,
            external_reference: Some(&urn),
            user_id,
            now: london_now(),
        };
        let insert = async {
            let id = contact_log::insert_contact_with_alert(tx, &contact, &manager).await.map_err(|e| {
                if e.is_unique_violation() {
                    // Only a writer outside the person's lock can get here: its
                    // contact holds the URN now, so the request, tried again,
                    // is answered as a replay.
                    ApiError::Unavailable(format!("appointment {urn} was created concurrently; try again"))
                } else {
                    ApiError::from(e)
                }
            })?;
            Ok(Created::New(AppointmentCreated { id, urn: urn.clone() }))
        };
        trail.commit(tx, insert).await
    })
    .await
}

/// Java's `ISO_LOCAL_TIME`: `HH:mm:ss`, then a fraction only when non-zero,
/// without trailing zeros. The clash check compares against this text.
pub fn iso_local_time(t: NaiveTime) -> String {
    let mut out = t.format("%H:%M:%S").to_string();
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        out.push('.');
        out.push_str(format!("{nanos:09}").trim_end_matches('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Result<CreateAppointment, ApiError> {
        CreateAppointment::from_body(&Body::Text(json.to_string()))
    }

    #[test]
    fn the_real_clients_body() {
        let a = body(r#"{"type":"Health","start":"2024-04-15T14:32:00.000+01","duration":"PT30M","notes":"notes"}"#)
            .unwrap();
        assert_eq!(a.kind, AppointmentType::Health);
        assert_eq!(a.kind.contact_type_code(), "RP7");
        assert_eq!(delius_api::datetime::format_offset(&a.start), "2024-04-15T14:32:00+01:00");
        assert_eq!(a.duration, Duration::minutes(30));
        assert_eq!(a.notes.as_deref(), Some("notes"));
        assert!(a.urn().starts_with(URN_PREFIX));
        assert_eq!(a.urn().len(), URN_PREFIX.len() + 36);
    }

    #[test]
    fn uuid_numbers_and_ignored_fields() {
        let a = body(
            r#"{"type":"Benefits","start":"2024-04-15T14:32:00Z","duration":1800,"uuid":"C7B6F2A4-3D1E-4F5A-9B8C-7D6E5F4A3B2C","urn":"x","end":"y"}"#,
        )
        .unwrap();
        assert_eq!(a.kind.contact_type_code(), "RP8");
        assert_eq!(a.duration, Duration::minutes(30));
        assert_eq!(a.notes, None);
        assert_eq!(a.urn(), format!("{URN_PREFIX}c7b6f2a4-3d1e-4f5a-9b8c-7d6e5f4a3b2c"));
    }

    #[test]
    fn every_type_maps_to_its_contact_type() {
        let codes: Vec<&str> = AppointmentType::ALL.iter().map(|t| t.contact_type_code()).collect();
        assert_eq!(codes, ["RP1", "RP2", "RP3", "RP4", "RP5", "RP6", "RP7", "RP8"]);
        for t in AppointmentType::ALL {
            assert_eq!(AppointmentType::from_name(t.name()), Some(t));
        }
        assert_eq!(AppointmentType::from_name("health"), None);
    }

    #[test]
    fn iso_local_times_as_java_writes_them() {
        let t = |h, m, s, n| iso_local_time(NaiveTime::from_hms_nano_opt(h, m, s, n).unwrap());
        assert_eq!(t(11, 0, 0, 0), "11:00:00");
        assert_eq!(t(9, 5, 7, 500_000_000), "09:05:07.5");
        assert_eq!(t(23, 59, 59, 1_000), "23:59:59.000001");
    }
}
