//! GET `/duty-to-refer-nsi/{value}?type=CRN|NOMS`: the
//! person's latest initiated Duty to Refer NSI, with its NSI manager and the
//! person's current main address.

use chrono::NaiveDate;
use delius_api::datetime::format_london;
use delius_api::handler::{self, path_param, query_param};
use delius_api::validate::{CRN_LENGTH, NOMS_NUMBER_LENGTH};
use delius_api::{ApiError, json_response};
use delius_db::Database;
use delius_db::case_detail::{self, DutyToReferNsi, PersonIdentifier};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

pub const FUNCTION: &str = "duty-to-refer-nsi";

/// The response body. Absent values are left out, never `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DutyToReferNsiBody {
    pub nsi_sub_type: String,
    pub referral_date: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub officer: Option<Officer>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_address: Option<Address>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Officer {
    pub forename: String,
    pub surname: String,
    /// Spelt `middleName` as the original does (the client reads `middlename`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_number: Option<String>,
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
    /// Always written: the Resettlement Passport client's model has it non-null.
    pub no_fixed_abode: bool,
}

/// Serves one request.
pub async fn handle(db: &Database, request: Request) -> Response<Body> {
    handler::serve(FUNCTION, db, request, |request| async move {
        let identifier = identifier_type(query_param(&request, "type")?.as_deref())?;
        let value = path_param(&request, "value", CRN_LENGTH.max(NOMS_NUMBER_LENGTH))?;
        let body = find(db, identifier, &value).await?;
        Ok(json_response(StatusCode::OK, &body))
    })
    .await
}

/// The body for the person named by `value`, or 404.
pub async fn find(db: &Database, identifier: PersonIdentifier, value: &str) -> Result<DutyToReferNsiBody, ApiError> {
    let client = db.client().await?;
    match case_detail::duty_to_refer_nsi(&client, identifier, value).await? {
        Some(nsi) => body(nsi),
        None => {
            let field = match identifier {
                PersonIdentifier::Crn => "crn",
                PersonIdentifier::NomsNumber => "noms",
            };
            Err(ApiError::not_found("DTR NSI", field, value))
        }
    }
}

/// The `type` query parameter: `CRN` (the default, also for an empty value)
/// or `NOMS`, case-sensitive as the original's enum binding is.
pub fn identifier_type(value: Option<&str>) -> Result<PersonIdentifier, ApiError> {
    match value.map(str::trim) {
        None | Some("") | Some("CRN") => Ok(PersonIdentifier::Crn),
        Some("NOMS") => Ok(PersonIdentifier::NomsNumber),
        Some(other) => {
            let shown: String = other.chars().take(20).collect();
            Err(ApiError::BadRequest(format!("Invalid request parameter 'type': '{shown}' is not one of CRN, NOMS")))
        }
    }
}

/// The body for an NSI. The sub type is required; an NSI without one is a
/// data problem (the original fails on it too).
pub fn body(nsi: DutyToReferNsi) -> Result<DutyToReferNsiBody, ApiError> {
    let nsi_sub_type =
        nsi.sub_type.ok_or_else(|| ApiError::Internal(format!("DTR NSI {} has no sub type", nsi.nsi_id)))?;
    let (provider, team, officer) = match nsi.manager {
        Some(m) => (
            Some(m.provider),
            Some(m.team),
            Some(Officer { forename: m.forename, surname: m.surname, middle_name: m.middle_name }),
        ),
        None => (None, None, None),
    };
    Ok(DutyToReferNsiBody {
        nsi_sub_type,
        referral_date: nsi.referral_date,
        provider,
        team,
        officer,
        status: nsi.status,
        start_date_time: nsi.actual_start_date.map(format_london),
        notes: nsi.notes,
        main_address: nsi.main_address.map(|a| Address {
            building_name: a.building_name,
            address_number: a.address_number,
            street_name: a.street_name,
            district: a.district,
            town: a.town_city,
            county: a.county,
            postcode: a.postcode,
            no_fixed_abode: a.no_fixed_abode.unwrap_or(false),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_defaults_to_crn_and_is_case_sensitive() {
        assert_eq!(identifier_type(None).unwrap(), PersonIdentifier::Crn);
        assert_eq!(identifier_type(Some("")).unwrap(), PersonIdentifier::Crn);
        assert_eq!(identifier_type(Some("CRN")).unwrap(), PersonIdentifier::Crn);
        assert_eq!(identifier_type(Some("NOMS")).unwrap(), PersonIdentifier::NomsNumber);
        for bad in ["crn", "noms", "PNC", "CRN,NOMS"] {
            let e = identifier_type(Some(bad)).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
