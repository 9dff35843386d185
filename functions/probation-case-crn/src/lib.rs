//! GET `/probation-cases/{nomsId}/crn`: the CRN of the live
//! person with a NOMS number (exact, case-sensitive match).

use delius_api::ApiError;
use delius_api::handler;
use delius_api::validate::NOMS_NUMBER_LENGTH;
use delius_db::Database;
use delius_db::case_detail;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

pub const FUNCTION: &str = "probation-case-crn";

/// The response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseIdentifiers {
    pub crn: String,
}

/// Serves one request.
pub async fn handle(db: &Database, request: Request) -> Response<Body> {
    handler::serve_lookup(FUNCTION, db, request, ("nomsId", NOMS_NUMBER_LENGTH), find).await
}

/// The CRN of the person with NOMS number `noms_id`, or 404.
pub async fn find(db: &Database, noms_id: &str) -> Result<CaseIdentifiers, ApiError> {
    let client = db.client().await?;
    let crn = case_detail::crn_by_noms_number(&client, noms_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Person", "nomsId", noms_id))?;
    Ok(CaseIdentifiers { crn })
}
