//! GET `/appointments/{crn}?startDate&endDate&page&size`:
//! one page of a person's appointments (contacts of an attendance contact
//! type) in a date range, newest first, with the staff member's e-mail and
//! telephone from the Delius directory.

pub mod directory;
pub mod tls;

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate, NaiveTime};
pub use delius_api::Name;
use delius_api::datetime::{format_duration, format_london, parse_local_date};
use delius_api::handler::{self, path_param, query_param};
use delius_api::validate::CRN_LENGTH;
use delius_api::{ApiError, json_response};
use delius_db::Database;
use delius_db::contact_log::{self, AppointmentRow, OfficeLocation};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

pub use directory::{ContactDetails, StaffDirectory};

pub const FUNCTION: &str = "appointments-list";
/// The largest page the API serves (the client asks for 1000).
pub const MAX_PAGE_SIZE: i32 = 1000;

/// Serves one request. `directory` is `None` when no LDAP is configured.
pub async fn handle(db: &Database, directory: Option<&StaffDirectory>, request: Request) -> Response<Body> {
    handler::serve(FUNCTION, db, request, |request| async move {
        let query = PageQuery::from_request(&request)?;
        let crn = path_param(&request, "crn", CRN_LENGTH)?;
        let body = list(db, directory, &crn, &query).await?;
        Ok(json_response(StatusCode::OK, &body))
    })
    .await
}

/// The validated query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageQuery {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub page: i32,
    pub size: i32,
}

impl PageQuery {
    pub fn from_request(request: &Request) -> Result<PageQuery, ApiError> {
        let required = |name: &str| {
            query_param(request, name)?
                .ok_or_else(|| ApiError::BadRequest(format!("Required request parameter '{name}' is not present")))
        };
        let date = |name: &str| {
            let text = required(name)?;
            parse_local_date(&text)
                .map_err(|e| ApiError::BadRequest(format!("Invalid request parameter '{name}': {e}")))
        };
        let int = |name: &str| {
            let text = required(name)?;
            text.trim().parse::<i32>().map_err(|_| {
                let shown: String = text.chars().take(20).collect();
                ApiError::BadRequest(format!("Invalid request parameter '{name}': '{shown}' is not a whole number"))
            })
        };
        let query = PageQuery {
            start_date: date("startDate")?,
            end_date: date("endDate")?,
            page: int("page")?,
            size: int("size")?,
        };
        if query.page < 0 {
            return Err(ApiError::BadRequest("Page index must not be less than zero".into()));
        }
        if query.size < 1 {
            return Err(ApiError::BadRequest("Page size must not be less than one".into()));
        }
        if query.size > MAX_PAGE_SIZE {
            return Err(ApiError::BadRequest(format!("Page size must not be greater than {MAX_PAGE_SIZE}")));
        }
        Ok(query)
    }
}

/// The page, with staff details looked up once per distinct staff member.
pub async fn list(
    db: &Database,
    directory: Option<&StaffDirectory>,
    crn: &str,
    query: &PageQuery,
) -> Result<ResultSet, ApiError> {
    let size = i64::from(query.size);
    let offset = i64::from(query.page) * size;
    let page = {
        let client = db.client().await?;
        contact_log::appointments(&client, crn, query.start_date, query.end_date, size, offset).await?
    };
    let contacts = match directory {
        Some(directory) => {
            let names: BTreeSet<&String> =
                page.appointments.iter().filter_map(|a| a.staff.distinguished_name.as_ref()).collect();
            let names: Vec<String> = names.into_iter().cloned().collect();
            directory.contact_details(&names).await
        }
        None => Default::default(),
    };
    let results = page
        .appointments
        .iter()
        .map(|row| {
            let details = row.staff.distinguished_name.as_ref().and_then(|name| contacts.get(name));
            appointment(row, details)
        })
        .collect();
    Ok(ResultSet {
        results,
        total_elements: page.total,
        total_pages: (page.total + size - 1) / size,
        page: query.page,
        size: query.size,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultSet {
    pub results: Vec<Appointment>,
    pub total_elements: i64,
    pub total_pages: i64,
    pub page: i32,
    pub size: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    #[serde(rename = "type")]
    pub kind: CodeDescription,
    pub date_time: String,
    pub duration: String,
    pub staff: Staff,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CodeDescription>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeDescription {
    pub code: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Staff {
    pub code: String,
    pub name: Name,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub code: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telephone_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
}

fn appointment(row: &AppointmentRow, details: Option<&ContactDetails>) -> Appointment {
    let (start, duration) = start_and_duration(row);
    Appointment {
        kind: CodeDescription { code: row.type_code.clone(), description: row.type_description.clone() },
        date_time: format_london(row.contact_date.and_time(start)),
        duration: format_duration(duration),
        staff: Staff {
            code: row.staff.officer_code.clone(),
            name: Name { forename: row.staff.forename.clone(), surname: row.staff.surname.clone() },
            email: details.and_then(|d| d.email.clone()),
            telephone: details.and_then(|d| d.telephone.clone()),
        },
        location: row.location.as_ref().map(location),
        description: row.description.clone().unwrap_or_else(|| row.type_description.clone()),
        outcome: row
            .outcome
            .as_ref()
            .map(|o| CodeDescription { code: o.code.clone(), description: o.description.clone() }),
    }
}

/// The start's time of day (midnight when there is none) and the duration.
/// A duration needs both times: without a start or an end it is zero. It runs
/// from start to end time of day, or across midnight into the next day when
/// the end's time of day is earlier.
pub fn start_and_duration(row: &AppointmentRow) -> (NaiveTime, Duration) {
    let start = row.start_time.map(|t| t.time());
    let duration = match (start, row.end_time.map(|t| t.time())) {
        (Some(start), Some(end)) if start <= end => end - start,
        (Some(start), Some(end)) => Duration::days(1) - (start - end),
        _ => Duration::zero(),
    };
    (start.unwrap_or(NaiveTime::MIN), duration)
}

fn location(l: &OfficeLocation) -> Location {
    let parts =
        [&l.building_name, &l.building_number, &l.street_name, &l.district, &l.town_city, &l.county, &l.postcode];
    let address = parts.iter().any(|p| p.is_some()).then(|| Address {
        building_name: l.building_name.clone(),
        building_number: l.building_number.clone(),
        street_name: l.street_name.clone(),
        district: l.district.clone(),
        town: l.town_city.clone(),
        county: l.county.clone(),
        postcode: l.postcode.clone(),
    });
    Location {
        code: l.code.clone(),
        description: l.description.clone(),
        address,
        telephone_number: l.telephone_number.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use delius_db::contact_log::AppointmentStaff;

    fn row(date: &str, start: Option<&str>, end: Option<&str>) -> AppointmentRow {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        AppointmentRow {
            contact_id: 1,
            type_code: "AT".into(),
            type_description: "Description for AT".into(),
            contact_date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            start_time: start.map(at),
            end_time: end.map(at),
            description: None,
            staff: AppointmentStaff {
                staff_id: 1,
                officer_code: "N03DEF1".into(),
                forename: "John".into(),
                surname: "Smith".into(),
                distinguished_name: None,
            },
            location: None,
            outcome: None,
        }
    }

    fn shown(r: &AppointmentRow) -> (String, String) {
        let a = appointment(r, None);
        (a.date_time, a.duration)
    }

    #[test]
    fn date_time_takes_the_time_of_day_of_the_start() {
        // The start's own date is ignored: Delius keeps the date in contact_date.
        let r = row("2024-07-01", Some("1970-01-01 14:30"), Some("1970-01-01 15:00"));
        assert_eq!(shown(&r), ("2024-07-01T14:30:00+01:00".into(), "PT30M".into()));
        let r = row("2024-12-01", None, None);
        assert_eq!(shown(&r), ("2024-12-01T00:00:00Z".into(), "PT0S".into()));
    }

    #[test]
    fn durations_cross_midnight_and_can_be_zero() {
        let r = row("2024-12-01", Some("2024-12-01 23:45"), Some("2024-12-02 00:15"));
        assert_eq!(shown(&r).1, "PT30M");
        let r = row("2024-12-01", Some("2024-12-01 10:00"), Some("2024-12-01 10:00"));
        assert_eq!(shown(&r).1, "PT0S");
        let r = row("2024-12-01", Some("2024-12-01 10:00"), None);
        assert_eq!(shown(&r).1, "PT0S");
        // No start time, no duration (not end minus midnight).
        let r = row("2024-12-01", None, Some("2024-12-01 01:30"));
        assert_eq!(shown(&r), ("2024-12-01T00:00:00Z".into(), "PT0S".into()));
    }

    #[test]
    fn description_falls_back_to_the_type_and_address_needs_a_part() {
        let mut r = row("2024-12-01", None, None);
        assert_eq!(appointment(&r, None).description, "Description for AT");
        r.description = Some("On the hour".into());
        assert_eq!(appointment(&r, None).description, "On the hour");
        let mut l = OfficeLocation {
            code: "DEFAULT".into(),
            description: "d".into(),
            building_name: None,
            building_number: None,
            street_name: None,
            district: None,
            town_city: None,
            county: None,
            postcode: None,
            telephone_number: Some("0123".into()),
        };
        assert_eq!(location(&l).address, None);
        l.county = Some("Hoth".into());
        assert_eq!(location(&l).address.unwrap().county.as_deref(), Some("Hoth"));
    }
}
