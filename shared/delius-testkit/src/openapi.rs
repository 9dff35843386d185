//! Responses checked against `docs/openapi.yaml`: the document is read once,
//! and each documented response schema is compiled once (JSON Schema 2020-12,
//! the dialect of OpenAPI 3.1, with formats such as `date` and `date-time`
//! checked), so every route test can afford to validate what it gets.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// `docs/openapi.yaml` as JSON.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = crate::repo_root().join("docs/openapi.yaml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("docs/openapi.yaml is not YAML: {e}"))
    })
}

/// What a local `$ref` (`#/components/...`) points at, followed to the end.
pub fn deref(value: &Value) -> &Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("only local refs: {reference}"));
            deref(document().pointer(pointer).unwrap_or_else(|| panic!("unresolved $ref {reference}")))
        }
        None => value,
    }
}

/// The documented response of `method path` for `status`, if any.
pub fn response(method: &str, path: &str, status: u16) -> Option<&'static Value> {
    let operation = document()["paths"].get(path)?.get(method.to_ascii_lowercase())?;
    operation["responses"].get(status.to_string()).map(deref)
}

/// The compiled schema of a documented JSON response; `None` when the
/// response is documented without a body.
fn validator(method: &str, path: &str, status: u16) -> Option<&'static jsonschema::Validator> {
    type Cache = Mutex<HashMap<String, Option<&'static jsonschema::Validator>>>;
    static VALIDATORS: OnceLock<Cache> = OnceLock::new();
    let key = format!("{method} {path} {status}");
    let mut cache = VALIDATORS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    *cache.entry(key.clone()).or_insert_with(|| {
        let documented =
            response(method, path, status).unwrap_or_else(|| panic!("{key}: the status is not in docs/openapi.yaml"));
        let schema = documented.pointer("/content/application~1json/schema")?;
        // The schema with the document's components beside it, so that its
        // `#/components/...` references resolve.
        let mut root = match schema {
            Value::Object(map) => map.clone(),
            other => panic!("{key}: schema is not an object: {other}"),
        };
        root.insert("components".into(), document()["components"].clone());
        let compiled = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("{key}: the documented schema does not compile: {e}"));
        Some(&*Box::leak(Box::new(compiled)))
    })
}

/// Panics unless `docs/openapi.yaml` documents `status` for `method path`
/// (`path` as templated in the route table) and `body` fits it: a JSON body
/// that validates against the schema, or no body where none is documented.
pub fn assert_documented(method: &str, path: &str, status: u16, body: Option<&Value>) {
    let key = format!("{method} {path} {status}");
    match (validator(method, path, status), body) {
        (Some(validator), Some(body)) => {
            let errors: Vec<String> =
                validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
            assert!(errors.is_empty(), "{key}: the body does not fit docs/openapi.yaml: {errors:#?}\n{body:#}");
        }
        (Some(_), None) => panic!("{key}: docs/openapi.yaml documents a JSON body, the response has none"),
        (None, Some(body)) => panic!("{key}: docs/openapi.yaml documents no body, the response has {body}"),
        (None, None) => {}
    }
}

/// As [`assert_documented`], for an API Gateway route key (`GET /probation-cases/{crn}`).
pub fn assert_route_documented(route_key: &str, status: u16, body: Option<&Value>) {
    let (method, path) = route_key.split_once(' ').unwrap_or_else(|| panic!("not a route key: {route_key}"));
    assert_documented(method, path, status, body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fails(method: &str, path: &str, status: u16, body: Option<Value>) -> String {
        let result = std::panic::catch_unwind(|| assert_documented(method, path, status, body.as_ref()));
        match result {
            Ok(()) => String::new(),
            Err(e) => e.downcast_ref::<String>().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn documented_bodies_pass_and_others_fail_with_the_reason() {
        let error = json!({"status": 404, "message": "Person with crn of X1 not found"});
        assert_eq!(fails("GET", "/probation-cases/{crn}", 404, Some(error.clone())), "");
        assert_eq!(fails("GET", "/probation-cases/{nomsId}/crn", 200, Some(json!({"crn": "X123123"}))), "");
        assert!(fails("GET", "/probation-cases/{nomsId}/crn", 200, Some(json!({}))).contains("crn"));
        assert!(fails("GET", "/probation-cases/{crn}", 418, Some(error.clone())).contains("not in docs/openapi.yaml"));
        assert!(fails("GET", "/probation-cases/{crn}", 404, Some(json!({"message": "no status"}))).contains("status"));
        assert!(fails("GET", "/probation-cases/{crn}", 404, None).contains("has none"));
        // Formats are checked.
        let mappa = json!({"startDate": "28/07/2022"});
        assert!(fails("GET", "/probation-cases/{crn}/mappa", 200, Some(mappa)).contains("date"));
        let mappa = json!({"startDate": "2022-07-28", "level": 2, "category": 1});
        assert_eq!(fails("GET", "/probation-cases/{crn}/mappa", 200, Some(mappa)), "");
    }
}
