//! `docs/openapi.yaml` stays true to the route table: every route is there
//! with its function as operation id, its role and its path parameters, and
//! nothing else; every `$ref` resolves; every status a route can answer is
//! documented with its body (and no other); and the sample request bodies of
//! `events/apigw` (the real client's) fit the documented request schemas. The
//! route tests validate every response they read against the document
//! (`delius_testkit::openapi`, through `delius_testkit::apigw`).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use delius_api::routes::ROUTES;
use serde_yaml_ng::Value;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn root() -> &'static Path {
    delius_testkit::repo_root()
}

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("docs/openapi.yaml")).expect("docs/openapi.yaml");
        serde_yaml_ng::from_str(&text).expect("docs/openapi.yaml is YAML")
    })
}

/// The value a local `$ref` (`#/components/...`) points at.
fn resolve(reference: &str) -> &'static Value {
    let pointer = reference.strip_prefix("#/").unwrap_or_else(|| panic!("only local refs: {reference}"));
    pointer.split('/').fold(document(), |v, key| v.get(key).unwrap_or_else(|| panic!("unresolved $ref {reference}")))
}

fn deref(v: &'static Value) -> &'static Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => deref(resolve(r)),
        None => v,
    }
}

fn operation(method: &str, path: &str) -> &'static Value {
    document()["paths"]
        .get(path)
        .and_then(|p| p.get(method.to_ascii_lowercase()))
        .unwrap_or_else(|| panic!("{method} {path} is not in docs/openapi.yaml"))
}

#[test]
fn every_route_is_documented_with_its_function_and_role_and_nothing_else() {
    let mut documented = BTreeSet::new();
    for (path, item) in document()["paths"].as_mapping().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                documented.insert(format!("{} {}", method.to_ascii_uppercase(), path.as_str().unwrap()));
            }
        }
    }
    let routes: BTreeSet<String> = ROUTES.iter().map(|r| r.route_key()).collect();
    assert_eq!(documented, routes);

    for route in ROUTES {
        let op = operation(route.method, route.path);
        assert_eq!(op["operationId"].as_str(), Some(route.function), "{}", route.route_key());
        let roles: Vec<&str> = op["security"][0]["hmppsAuth"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{}: no hmppsAuth security", route.route_key()))
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(roles, vec![route.role], "{}", route.route_key());
    }
}

#[test]
fn path_parameters_match_the_templates() {
    for route in ROUTES {
        let op = operation(route.method, route.path);
        let declared: BTreeSet<&str> = op["parameters"]
            .as_sequence()
            .map(|ps| ps.iter().map(deref).filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap()).collect())
            .unwrap_or_default();
        let templated: BTreeSet<&str> =
            route.path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        assert_eq!(declared, templated, "{}", route.route_key());
        for p in op["parameters"].as_sequence().unwrap().iter().map(deref).filter(|p| p["in"] == "path") {
            assert_eq!(p["required"], Value::Bool(true), "{}: path parameters are required", route.route_key());
        }
    }
}

#[test]
fn every_operation_documents_the_refusals_and_every_ref_resolves() {
    for route in ROUTES {
        let responses = &operation(route.method, route.path)["responses"];
        for status in ["401", "403"] {
            assert!(responses.get(status).is_some(), "{} lacks {status}", route.route_key());
        }
        assert!(
            responses.as_mapping().unwrap().keys().any(|k| k.as_str().is_some_and(|s| s.starts_with('2'))),
            "{} has no success response",
            route.route_key()
        );
    }
    fn walk(v: &'static Value) {
        match v {
            Value::Mapping(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                    resolve(r);
                }
                m.values().for_each(walk);
            }
            Value::Sequence(s) => s.iter().for_each(walk),
            _ => {}
        }
    }
    walk(document());
}

/// Checks `value` against the subset of JSON Schema the document uses.
fn check(schema: &'static Value, value: &serde_json::Value, at: &str) {
    let schema = deref(schema);
    if let Some(allowed) = schema.get("enum").and_then(Value::as_sequence) {
        let ok = allowed.iter().any(|a| serde_json::to_value(a).unwrap() == *value);
        assert!(ok, "{at}: {value} is not one of the documented values");
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let object = value.as_object().unwrap_or_else(|| panic!("{at}: expected an object"));
            let properties = schema["properties"].as_mapping().unwrap();
            for required in schema.get("required").and_then(Value::as_sequence).into_iter().flatten() {
                assert!(object.contains_key(required.as_str().unwrap()), "{at}: {required:?} missing");
            }
            for (key, v) in object {
                let property = properties.get(key.as_str()).unwrap_or_else(|| panic!("{at}: {key} is not documented"));
                check(property, v, &format!("{at}.{key}"));
            }
        }
        Some("string") => assert!(value.is_string(), "{at}: expected a string"),
        Some("integer") => assert!(value.is_i64() || value.is_u64(), "{at}: expected an integer"),
        Some("boolean") => assert!(value.is_boolean(), "{at}: expected a boolean"),
        Some("array") => {
            for (i, item) in value.as_array().unwrap_or_else(|| panic!("{at}: expected an array")).iter().enumerate() {
                check(&schema["items"], item, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

#[test]
fn the_sample_request_bodies_fit_the_documented_schemas() {
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("events/apigw")).unwrap() {
        let path = entry.unwrap().path();
        let event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Some(body) = event.get("body").and_then(|b| b.as_str()) else { continue };
        let route_key = event["routeKey"].as_str().unwrap();
        let route = ROUTES.iter().find(|r| r.route_key() == route_key).expect("a known route");
        let schema = &operation(route.method, route.path)["requestBody"]["content"]["application/json"]["schema"];
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        check(schema, &body, &path.file_name().unwrap().to_string_lossy());
        checked += 1;
    }
    assert!(checked >= 2, "the POST samples were found");
}

/// The statuses each route can answer. Every route: 400 (a path parameter
/// missing, from the handler frame), 401 (no `Authorization` header, from API
/// Gateway), 403 (the authorizer, or a caller without the role), 500 (data
/// Delius should not hold, such as several active community managers) and
/// 503 (the database or the directory did not answer in time).
fn answerable(function: &str) -> BTreeSet<u16> {
    let own: &[u16] = match function {
        "probation-case-crn"
        | "probation-case-mappa"
        | "probation-case-community-manager"
        | "probation-case-detail"
        | "duty-to-refer-nsi" => &[200, 404],
        // An unknown CRN is an empty page.
        "appointments-list" => &[200],
        // 200: a replay of the same `uuid`; 409: a clash with a future appointment;
        // 413: a body over the handler frame's limit.
        "appointment-create" => &[200, 201, 404, 409, 413],
        "nomis-case-note-create" => &[201, 404, 413],
        other => panic!("{other}: add its statuses here"),
    };
    own.iter().chain(&[400, 401, 403, 500, 503]).copied().collect()
}

#[test]
fn every_status_a_route_can_answer_is_documented_and_no_other() {
    for route in ROUTES {
        let documented: BTreeSet<u16> = operation(route.method, route.path)["responses"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(documented, answerable(route.function), "{}", route.route_key());
    }
}

#[test]
fn every_error_status_documents_the_problem_body() {
    use delius_testkit::openapi::assert_documented;
    for route in ROUTES {
        for status in answerable(route.function).into_iter().filter(|s| *s >= 400 && *s != 401) {
            let problem = serde_json::json!({"status": status, "message": "what went wrong"});
            assert_documented(route.method, route.path, status, Some(&problem));
        }
        // API Gateway's own refusals carry only a message.
        let gateway = serde_json::json!({"message": "Unauthorized"});
        assert_documented(route.method, route.path, 401, Some(&gateway));
        let gateway = serde_json::json!({"message": "Forbidden"});
        assert_documented(route.method, route.path, 403, Some(&gateway));
    }
    // Validation failures name the fields.
    let fields = serde_json::json!({"status": 400, "message": "Validation failure",
        "fields": [{"type": "NotBlank", "message": "must not be blank", "field": "notes"}]});
    assert_documented("POST", "/nomis-case-note/{crn}", 400, Some(&fields));
}

#[test]
fn success_bodies_are_documented_as_the_routes_answer_them() {
    use delius_testkit::openapi::assert_documented;
    // POST /appointments/{crn} answers the contact's id and the URN, on 201 and on a replay's 200.
    let created = serde_json::json!({"id": 1, "urn": "urn:uk:gov:hmpps:resettlement-passport-service:appointment:x"});
    assert_documented("POST", "/appointments/{crn}", 201, Some(&created));
    assert_documented("POST", "/appointments/{crn}", 200, Some(&created));
    // The case note is created without a body.
    assert_documented("POST", "/nomis-case-note/{crn}", 201, None);
}
