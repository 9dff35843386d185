//! The local stack as a process, driven over HTTP as a newcomer would drive
//! `make run`: every route through the real authorizer with a minted token,
//! refusals without one or with the wrong role, every SQS sample through the
//! Lambda Invoke API with the database checked afterwards, and its logs free
//! of tokens and secrets.

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use delius_api::routes::{APPOINTMENT_RW, CASE_DETAIL};
use delius_testkit::process::{Output, OwnedChild, children_of, is_running};
use delius_testkit::testing::TestDb;
use delius_testkit::workload::{CLIENT_SECRET, SAMPLE_ORIGIN};
use serde_json::{Value, json};

/// Stand-in for the database password: the throwaway server trusts local
/// connections, so any password is accepted, and none may reach the logs.
const DB_PASSWORD: &str = "db-password-never-logged";

struct LocalStack {
    child: OwnedChild,
    base: String,
    workload_origin: String,
    output: Arc<Mutex<String>>,
    http: reqwest::Client,
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

fn collect(mut stream: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
}

impl LocalStack {
    /// Starts the stack on `db` (an empty database: the stack migrates and
    /// seeds it itself) and waits until it serves.
    async fn start(db: &TestDb) -> LocalStack {
        let (port, workload_port) = (free_port(), free_port());
        let mut url = url::Url::parse(&db.url).unwrap();
        if url.password().is_none() {
            url.set_password(Some(DB_PASSWORD)).unwrap();
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_local-stack"));
        command
            .env_remove("HMPPS_AUTH_JWKS_URL")
            .env_remove("HMPPS_AUTH_ISSUER")
            .env_remove("HMPPS_AUTH_TOKEN_URL")
            .env_remove("LDAP_URL")
            .env_remove("DB_SECRET_ARN")
            .env("DATABASE_URL", url.as_str())
            .env("PORT", port.to_string())
            .env("LOCAL_WORKLOAD_PORT", workload_port.to_string())
            // As much logging as anyone would switch on.
            .env("RUST_LOG", "debug")
            .env("AWS_LAMBDA_LOG_LEVEL", "debug");
        let mut child = OwnedChild::spawn(command, Output::Piped).expect("the local-stack binary starts");
        let output = Arc::new(Mutex::new(String::new()));
        collect(child.child_mut().stdout.take().unwrap(), output.clone());
        collect(child.child_mut().stderr.take().unwrap(), output.clone());
        let stack = LocalStack {
            child,
            base: format!("http://127.0.0.1:{port}"),
            workload_origin: format!("http://127.0.0.1:{workload_port}"),
            output,
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = stack.http.get(format!("{}/local/token", stack.base)).send().await
                && r.status().is_success()
            {
                return stack;
            }
            assert!(Instant::now() < deadline, "the local stack did not start:\n{}", stack.output());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    async fn token(&self, roles: &[&str]) -> String {
        // Role names are URL-safe.
        let url = format!("{}/local/token?roles={}", self.base, roles.join(","));
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/plain");
        response.text().await.unwrap()
    }

    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, String, Value) {
        let mut request = self.http.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
        (status, content_type, json)
    }

    async fn invoke(&self, function: &str, event: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/2015-03-31/functions/{function}/invocations", self.base))
            .body(event.to_string())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn every_route_answers_through_the_authorizer_with_a_minted_token() {
    let db = TestDb::empty().await;
    let stack = LocalStack::start(&db).await;
    let token = stack.token(&[CASE_DETAIL, APPOINTMENT_RW]).await;
    let token = Some(token.as_str());

    let (status, content_type, body) = stack.call("GET", "/probation-cases/A1234YZ/crn", token, None).await;
    assert_eq!((status, content_type.as_str(), &body), (200, "application/json", &json!({"crn": "X123123"})));

    let (status, _, body) = stack.call("GET", "/probation-cases/X123123", token, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["crn"], "X123123");
    assert_eq!(body["name"], json!({"forename": "Fred", "surname": "Williams"}));
    assert_eq!(body["dateOfBirth"], "1982-08-19");

    let (status, _, body) = stack.call("GET", "/probation-cases/X123123/mappa", token, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["startDate"].is_string(), "{body}");

    let (status, _, body) = stack.call("GET", "/probation-cases/X123123/community-manager", token, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["unallocated"].is_boolean(), "{body}");

    let (status, _, body) = stack.call("GET", "/duty-to-refer-nsi/X123123", token, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["nsiSubType"].is_string() && body["status"].is_string(), "{body}");

    let (status, _, body) = stack
        .call("GET", "/appointments/X123123?page=0&size=10&startDate=2000-01-01&endDate=2100-01-01", token, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["results"].as_array().is_some_and(|r| !r.is_empty()), "{body}");

    let appointment =
        json!({"type": "Health", "start": "2030-04-15T14:32:00.000+01", "duration": "PT30M", "notes": "notes"});
    let (status, _, body) = stack.call("POST", "/appointments/X123123", token, Some(appointment)).await;
    assert_eq!(status, 201, "{body}");

    let case_note = json!({
        "type": "IMMEDIATE_NEEDS_REPORT",
        "dateTime": "2024-04-15T14:32:00+01:00",
        "notes": "Immediate needs report",
        "author": {"prisonCode": "LDN", "forename": "Local", "surname": "Author"}
    });
    let (status, _, body) = stack.call("POST", "/nomis-case-note/X123123", token, Some(case_note)).await;
    assert_eq!(status, 201, "{body}");

    // What was written is in the database the stack prepared.
    let client = db.client().await;
    let appointments: i64 = client
        .query_one(
            "SELECT count(*) FROM contact c JOIN offender o USING (offender_id) \
             WHERE o.crn = 'X123123' AND c.notes = 'notes' AND c.contact_date = DATE '2030-04-15'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(appointments, 1);

    // Bad input is the caller's error, with a problem body.
    let (status, content_type, body) =
        stack.call("POST", "/appointments/X123123", token, Some(json!({"type": "Nope"}))).await;
    assert_eq!((status, content_type.as_str()), (400, "application/json"));
    assert_eq!(body["status"], 400);
}

#[tokio::test]
async fn requests_without_a_token_or_with_the_wrong_role_are_refused() {
    let db = TestDb::empty().await;
    let stack = LocalStack::start(&db).await;
    let reader = stack.token(&[CASE_DETAIL]).await;
    let writer = stack.token(&[APPOINTMENT_RW]).await;

    assert_eq!(stack.call("GET", "/probation-cases/X123123", None, None).await.0, 401);
    assert_eq!(stack.call("GET", "/probation-cases/X123123", Some("not-a-jwt"), None).await.0, 403);
    assert_eq!(stack.call("GET", "/probation-cases/X123123", Some(&writer), None).await.0, 403);
    assert_eq!(stack.call("GET", "/probation-cases/X123123", Some(&reader), None).await.0, 200);
    // GET and POST of /appointments/{crn} need different roles.
    let (status, _, _) = stack
        .call("GET", "/appointments/X123123?page=0&size=1&startDate=2000-01-01&endDate=2100-01-01", Some(&writer), None)
        .await;
    assert_eq!(status, 403);
    let appointment = json!({"type": "Health", "start": "2031-04-15T14:32:00.000+01", "duration": "PT30M"});
    assert_eq!(stack.call("POST", "/appointments/X123123", Some(&reader), Some(appointment.clone())).await.0, 403);
    assert_eq!(stack.call("POST", "/appointments/X123123", Some(&writer), Some(appointment)).await.0, 201);
    // Unknown paths are API Gateway's 404.
    assert_eq!(stack.call("GET", "/nowhere", Some(&reader), None).await.0, 404);
}

/// The officer codes of the current managers the SQS samples allocate.
#[derive(Debug)]
struct CurrentManagers {
    /// Person X123456.
    person: String,
    /// Event 2 of X123456.
    event: String,
    /// Requirement 9001.
    requirement: String,
    /// Licence condition 9501.
    licence_condition: String,
    /// Person T223456 (the historic sample).
    historic_person: String,
}

async fn current_managers(client: &tokio_postgres::Client) -> CurrentManagers {
    let person = "SELECT s.officer_code FROM offender_manager om JOIN offender o USING (offender_id) \
         JOIN staff s ON s.staff_id = om.allocation_staff_id \
         WHERE o.crn = $1 AND om.active_flag = 1 AND om.soft_deleted = 0";
    let event = "SELECT s.officer_code FROM order_manager m JOIN event e USING (event_id) \
         JOIN offender o USING (offender_id) JOIN staff s ON s.staff_id = m.allocation_staff_id \
         WHERE o.crn = 'X123456' AND e.event_number = '2' AND m.active_flag = 1 AND m.soft_deleted = 0";
    let requirement = "SELECT s.officer_code FROM rqmnt_manager m JOIN staff s ON s.staff_id = m.allocated_staff_id \
         WHERE m.rqmnt_id = 9001 AND m.active_flag = 1 AND m.soft_deleted = 0";
    let licence_condition = "SELECT s.officer_code FROM lic_condition_manager m \
         JOIN staff s ON s.staff_id = m.allocated_staff_id \
         WHERE m.lic_condition_id = 9501 AND m.active_flag = 1 AND m.soft_deleted = 0";
    let one = |sql: &'static str, crn: Option<&'static str>| async move {
        let row = match crn {
            Some(crn) => client.query_one(sql, &[&crn]).await,
            None => client.query_one(sql, &[]).await,
        };
        row.unwrap().get::<_, String>(0)
    };
    CurrentManagers {
        person: one(person, Some("X123456")).await,
        event: one(event, None).await,
        requirement: one(requirement, None).await,
        licence_condition: one(licence_condition, None).await,
        historic_person: one(person, Some("T223456")).await,
    }
}

#[tokio::test]
async fn every_sqs_sample_goes_through_the_invoke_api_and_is_recorded() {
    let db = TestDb::empty().await;
    let stack = LocalStack::start(&db).await;
    let sample = |name: &str| {
        let text = std::fs::read_to_string(format!("{}/../events/sqs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        text.replace(SAMPLE_ORIGIN, &stack.workload_origin)
    };
    let client = db.client().await;
    let before = current_managers(&client).await;
    assert!(
        [&before.person, &before.event, &before.requirement, &before.licence_condition].iter().all(|m| *m != "N02ABS1"),
        "the samples allocate to someone new: {before:?}"
    );
    let recorded = [
        "person-allocation.json",
        "event-allocation.json",
        "requirement-allocation.json",
        "licence-condition-allocation.json",
        "historic-allocation.json",
    ];
    // Every sample is sent: a new one must be added here.
    let mut files: Vec<String> = std::fs::read_dir(format!("{}/../events/sqs", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut sent: Vec<String> = recorded.iter().chain(&["mixed-batch.json"]).map(|n| n.to_string()).collect();
    sent.sort();
    assert_eq!(files, sent);
    for name in recorded {
        let (status, response) = stack.invoke("workforce-allocations", &sample(name)).await;
        assert_eq!((status, &response), (200, &json!({"batchItemFailures": []})), "{name}");
    }
    let mixed = sample("mixed-batch.json");
    let ids: Vec<String> = serde_json::from_str::<Value>(&mixed).unwrap()["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["messageId"].as_str().unwrap().to_string())
        .collect();
    let (status, response) = stack.invoke("workforce-allocations", &mixed).await;
    assert_eq!(status, 200);
    assert_eq!(response, json!({"batchItemFailures": [{"itemIdentifier": ids[2]}, {"itemIdentifier": ids[4]}]}));

    let after = current_managers(&client).await;
    assert_eq!(after.person, "N02ABS1");
    assert_eq!(after.event, "N02ABS1");
    assert_eq!(after.requirement, "N02ABS1");
    assert_eq!(after.licence_condition, "N02ABS1");
    // The historic person allocation was slotted into the past: the current
    // manager of T223456 stays.
    assert_eq!(after.historic_person, before.historic_person);

    // Any function answers the Invoke API; unknown ones are Lambda's 404.
    let (status, _) = stack.invoke("no-such-function", "{}").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_logs_never_carry_a_token_or_a_secret() {
    let db = TestDb::empty().await;
    let stack = LocalStack::start(&db).await;
    let token = stack.token(&[CASE_DETAIL]).await;
    // An allowed request, a refused one and a bad token all log decisions.
    assert_eq!(stack.call("GET", "/probation-cases/X123123", Some(&token), None).await.0, 200);
    assert_eq!(stack.call("POST", "/appointments/X123123", Some(&token), Some(json!({}))).await.0, 403);
    let tampered = format!("{}x", &token[..token.len() - 1]);
    assert_eq!(stack.call("GET", "/probation-cases/X123123", Some(&tampered), None).await.0, 403);
    // An allocation fetches a Workload token with the client secret.
    let event = std::fs::read_to_string(format!("{}/../events/sqs/person-allocation.json", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .replace(SAMPLE_ORIGIN, &stack.workload_origin);
    assert_eq!(stack.invoke("workforce-allocations", &event).await.0, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let output = stack.output();
    assert!(output.contains("X123123") || output.contains("probation-case"), "logging is on: {output}");
    let signature = token.rsplit('.').next().unwrap();
    for (what, secret) in [
        ("the bearer token", token.as_str()),
        ("the token's signature", signature),
        ("the Workload client secret", CLIENT_SECRET),
        ("the database password", DB_PASSWORD),
    ] {
        assert!(!output.contains(secret), "{what} appears in the logs:\n{output}");
    }
}

/// The processes the stack started (slapd), by pid, once it serves.
fn started_children(stack: &LocalStack) -> Vec<u32> {
    let children = children_of(stack.child.id());
    assert!(!children.is_empty(), "the stack runs slapd as its child:\n{}", stack.output());
    children
}

#[tokio::test]
async fn sigterm_stops_the_stack_and_every_process_it_started() {
    let db = TestDb::empty().await;
    let mut stack = LocalStack::start(&db).await;
    let children = started_children(&stack);
    let status = stack.child.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "SIGTERM ends the stack cleanly, got {status}:\n{}", stack.output());
    for child in children {
        assert!(!is_running(child), "process {child} outlived the stack");
    }
}

#[tokio::test]
async fn sigkill_to_the_stack_takes_its_stand_ins_within_a_second() {
    let db = TestDb::empty().await;
    let mut stack = LocalStack::start(&db).await;
    let children = started_children(&stack);
    stack.child.kill().unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    while children.iter().any(|&c| is_running(c)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left: Vec<u32> = children.into_iter().filter(|&c| is_running(c)).collect();
    assert!(left.is_empty(), "processes {left:?} outlived the stack by a second");
}
