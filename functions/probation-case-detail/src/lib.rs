//! GET `/probation-cases/{crn}`: the person's name, date of
//! birth and contact details.

use chrono::NaiveDate;
use delius_api::ApiError;
pub use delius_api::Name;
use delius_api::handler;
use delius_api::validate::CRN_LENGTH;
use delius_db::Database;
use delius_db::case_detail::{self, Person};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

pub const FUNCTION: &str = "probation-case-detail";

/// The response body. Absent values are left out, never `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonDetail {
    pub crn: String,
    pub name: Name,
    pub date_of_birth: NaiveDate,
    /// Left out when the person has no telephone, mobile or e-mail at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_details: Option<ContactDetails>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl From<Person> for PersonDetail {
    fn from(p: Person) -> Self {
        let any_contact = p.telephone_number.is_some() || p.mobile_number.is_some() || p.email_address.is_some();
        PersonDetail {
            crn: p.crn,
            name: Name { forename: p.first_name, surname: p.surname },
            date_of_birth: p.date_of_birth,
            contact_details: any_contact.then_some(ContactDetails {
                telephone: p.telephone_number,
                mobile: p.mobile_number,
                email: p.email_address,
            }),
        }
    }
}

/// Serves one request.
pub async fn handle(db: &Database, request: Request) -> Response<Body> {
    handler::serve_lookup(FUNCTION, db, request, ("crn", CRN_LENGTH), find).await
}

/// The details of the person with `crn`, or 404.
pub async fn find(db: &Database, crn: &str) -> Result<PersonDetail, ApiError> {
    let client = db.client().await?;
    let person =
        case_detail::person_by_crn(&client, crn).await?.ok_or_else(|| ApiError::not_found("Person", "crn", crn))?;
    Ok(PersonDetail::from(person))
}
