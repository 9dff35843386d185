//! GET `/probation-cases/{crn}/community-manager`: the name
//! of the person's active community manager, or that the case is unallocated.

use delius_api::ApiError;
pub use delius_api::Name;
use delius_api::handler;
use delius_api::validate::CRN_LENGTH;
use delius_db::Database;
use delius_db::case_detail::{self, ManagerStaff};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

pub const FUNCTION: &str = "probation-case-community-manager";

/// The response body: `{"unallocated": true}` alone for unallocated staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manager {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    pub unallocated: bool,
}

impl From<ManagerStaff> for Manager {
    fn from(staff: ManagerStaff) -> Self {
        if staff.is_unallocated() {
            Manager { name: None, unallocated: true }
        } else {
            Manager { name: Some(Name { forename: staff.forename, surname: staff.surname }), unallocated: false }
        }
    }
}

/// Serves one request.
pub async fn handle(db: &Database, request: Request) -> Response<Body> {
    handler::serve_lookup(FUNCTION, db, request, ("crn", CRN_LENGTH), find).await
}

/// The community manager of the person with `crn`, or 404.
pub async fn find(db: &Database, crn: &str) -> Result<Manager, ApiError> {
    let client = db.client().await?;
    let staff = case_detail::community_manager_staff(&client, crn)
        .await?
        .ok_or_else(|| ApiError::not_found("Person", "crn", crn))?;
    Ok(Manager::from(staff))
}
