//! The one route table: which function serves which API path, and the HMPPS
//! Auth role each needs. The authorizer, the functions, the template test and
//! the OpenAPI test all read it from here.

/// Role needed by the read endpoints.
pub const CASE_DETAIL: &str = "PROBATION_API__RESETTLEMENT_PASSPORT__CASE_DETAIL";
/// Role needed by the write endpoints.
pub const APPOINTMENT_RW: &str = "PROBATION_API__RESETTLEMENT_PASSPORT__APPOINTMENT_RW";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// API Gateway path template.
    pub path: &'static str,
    /// The function (crate and binary name) that serves it.
    pub function: &'static str,
    /// Required role, without the `ROLE_` prefix HMPPS Auth puts in `authorities`.
    pub role: &'static str,
}

impl Route {
    /// The API Gateway route key, e.g. `GET /probation-cases/{crn}`.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Whether `path` (a concrete request path) matches this route's template.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        let template: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
        template.len() == actual.len()
            && template
                .iter()
                .zip(&actual)
                .all(|(t, a)| if t.starts_with('{') && t.ends_with('}') { !a.is_empty() } else { t == a })
    }
}

pub const ROUTES: [Route; 8] = [
    Route { method: "GET", path: "/probation-cases/{nomsId}/crn", function: "probation-case-crn", role: CASE_DETAIL },
    Route { method: "GET", path: "/probation-cases/{crn}/mappa", function: "probation-case-mappa", role: CASE_DETAIL },
    Route {
        method: "GET",
        path: "/probation-cases/{crn}/community-manager",
        function: "probation-case-community-manager",
        role: CASE_DETAIL,
    },
    Route { method: "GET", path: "/probation-cases/{crn}", function: "probation-case-detail", role: CASE_DETAIL },
    Route { method: "GET", path: "/duty-to-refer-nsi/{value}", function: "duty-to-refer-nsi", role: CASE_DETAIL },
    Route { method: "GET", path: "/appointments/{crn}", function: "appointments-list", role: CASE_DETAIL },
    Route { method: "POST", path: "/appointments/{crn}", function: "appointment-create", role: APPOINTMENT_RW },
    Route { method: "POST", path: "/nomis-case-note/{crn}", function: "nomis-case-note-create", role: APPOINTMENT_RW },
];

/// The route with this API Gateway route key (`"GET /appointments/{crn}"`).
pub fn by_route_key(route_key: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.route_key() == route_key)
}

/// The route a function serves.
pub fn by_function(function: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.function == function)
}

/// The route a concrete request matches. Literal segments win over
/// parameters, so `/probation-cases/X1/mappa` is the MAPPA route.
pub fn resolve(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES.iter().filter(|r| r.matches(method, path)).min_by_key(|r| r.path.matches('{').count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_concrete_paths_to_their_route() {
        assert_eq!(resolve("GET", "/probation-cases/A1234YZ/crn").unwrap().function, "probation-case-crn");
        assert_eq!(resolve("GET", "/probation-cases/X123123").unwrap().function, "probation-case-detail");
        assert_eq!(resolve("get", "/appointments/X1").unwrap().role, CASE_DETAIL);
        assert_eq!(resolve("POST", "/appointments/X1").unwrap().role, APPOINTMENT_RW);
        assert!(resolve("DELETE", "/appointments/X1").is_none());
        assert!(resolve("GET", "/probation-cases").is_none());
    }

    #[test]
    fn keys_and_functions_are_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert_ne!(a.route_key(), b.route_key());
                assert_ne!(a.function, b.function);
            }
        }
        assert_eq!(by_route_key("POST /nomis-case-note/{crn}").unwrap().function, "nomis-case-note-create");
    }
}
