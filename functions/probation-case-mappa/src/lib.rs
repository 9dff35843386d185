//! GET `/probation-cases/{crn}/mappa`: the person's latest
//! live MAPPA registration, its category and level as numbers.

use chrono::NaiveDate;
use delius_api::ApiError;
use delius_api::handler;
use delius_api::validate::CRN_LENGTH;
use delius_db::Database;
use delius_db::case_detail::{self, MappaRegistration};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

pub const FUNCTION: &str = "probation-case-mappa";

/// The response body. Absent values are left out, never `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappaDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_description: Option<String>,
    pub start_date: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_date: Option<NaiveDate>,
}

/// Serves one request.
pub async fn handle(db: &Database, request: Request) -> Response<Body> {
    handler::serve_lookup(FUNCTION, db, request, ("crn", CRN_LENGTH), find).await
}

/// The MAPPA detail of the person with `crn`, or 404.
pub async fn find(db: &Database, crn: &str) -> Result<MappaDetail, ApiError> {
    let client = db.client().await?;
    let registration = case_detail::latest_mappa_registration(&client, crn)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("No MAPPA details found for {crn}")))?;
    mappa_detail(registration)
}

/// The body for a registration. A category or level code outside the MAPPA
/// codes is a data problem: 500, as in the original.
pub fn mappa_detail(registration: MappaRegistration) -> Result<MappaDetail, ApiError> {
    let category = match &registration.category {
        Some(c) => Some(
            category_number(&c.code)
                .ok_or_else(|| ApiError::Internal(format!("Unexpected MAPPA category: {}", c.code)))?,
        ),
        None => None,
    };
    let level = match &registration.level {
        Some(l) => Some(
            level_number(&l.code).ok_or_else(|| ApiError::Internal(format!("Unexpected MAPPA level: {}", l.code)))?,
        ),
        None => None,
    };
    Ok(MappaDetail {
        level,
        level_description: registration.level.map(|l| l.description),
        category,
        category_description: registration.category.map(|c| c.description),
        start_date: registration.registration_date,
        review_date: registration.next_review_date,
    })
}

/// MAPPA category code to number (`X9` is category 0).
pub fn category_number(code: &str) -> Option<u8> {
    match code {
        "X9" => Some(0),
        "M1" => Some(1),
        "M2" => Some(2),
        "M3" => Some(3),
        "M4" => Some(4),
        _ => None,
    }
}

/// MAPPA level code to number.
pub fn level_number(code: &str) -> Option<u8> {
    match code {
        "M0" => Some(0),
        "M1" => Some(1),
        "M2" => Some(2),
        "M3" => Some(3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_numbers_and_nothing_else_does() {
        let categories: Vec<_> = ["X9", "M1", "M2", "M3", "M4"].iter().map(|c| category_number(c)).collect();
        assert_eq!(categories, [Some(0), Some(1), Some(2), Some(3), Some(4)]);
        let levels: Vec<_> = ["M0", "M1", "M2", "M3"].iter().map(|c| level_number(c)).collect();
        assert_eq!(levels, [Some(0), Some(1), Some(2), Some(3)]);
        for code in ["M0", "X1", "m1", ""] {
            assert_eq!(category_number(code), None, "{code}");
        }
        for code in ["M4", "X9", "m2", ""] {
            assert_eq!(level_number(code), None, "{code}");
        }
    }
}
