//! The test harness: a fresh database, the Workload stand-in (a real local
//! HTTP server with the token endpoint), the function's own resources, and
//! helpers to read rows.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{NaiveDate, NaiveDateTime};
use delius_db::Database;
use delius_testkit::testing::TestDb;
use delius_testkit::workload::WorkloadStandIn;
use lambda_runtime::{Context, LambdaEvent};
use workforce_allocations::Allocations;
use workforce_allocations::config::Settings;

/// `createdDate` of every sample detail (2022-07-28T10:30:54.023+01:00), as
/// Delius stores it.
pub fn allocated_at() -> NaiveDateTime {
    at("2022-07-28 10:30:54")
}

pub fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

pub struct Harness {
    pub test_db: TestDb,
    pub db: Database,
    pub workload: WorkloadStandIn,
    pub allocations: Allocations,
    pub client: tokio_postgres::Client,
}

impl Harness {
    pub async fn new() -> Harness {
        Self::with(|_| {}).await
    }

    /// With the settings adjusted (SPOD03 flag, timeouts, allow-list...).
    pub async fn with(configure: impl FnOnce(&mut Settings)) -> Harness {
        let test_db = TestDb::new().await;
        let workload = WorkloadStandIn::start().await;
        let mut settings = settings_for(&workload);
        configure(&mut settings);
        let allocations = Allocations::new(&settings).expect("http client");
        let db = test_db.database("HMPPSAllocations", 2);
        let client = test_db.client().await;
        Harness { test_db, db, workload, allocations, client }
    }

    /// A sample from `events/sqs`, pointed at this harness' stand-in.
    pub fn event(&self, file: &str) -> SqsEvent {
        let path = format!("{}/../../events/sqs/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&self.workload.rewrite(&text)).expect("an SQS event")
    }

    pub async fn invoke(&self, event: SqsEvent) -> SqsBatchResponse {
        invoke_with(&self.db, &self.allocations, event).await
    }

    /// Serves `body` at `path` (ahead of the stand-in's own samples).
    pub async fn serve_detail(&self, path: &str, body: serde_json::Value) {
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .and(wiremock::matchers::path(path))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(body))
            .mount(self.workload.server())
            .await;
    }

    pub fn detail_url(&self, path: &str) -> String {
        format!("{}{path}", self.workload.uri())
    }
}

pub fn settings_for(workload: &WorkloadStandIn) -> Settings {
    let env = workload.env();
    Settings::from_lookup(|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).expect("settings")
}

pub async fn invoke_with(db: &Database, allocations: &Allocations, event: SqsEvent) -> SqsBatchResponse {
    workforce_allocations::handle(db, allocations, LambdaEvent::new(event, Context::default()))
        .await
        .expect("the batch is handled")
}

/// The message ids reported as failed.
pub fn failures(response: &SqsBatchResponse) -> Vec<String> {
    response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect()
}

/// One SQS record with an SNS envelope around a domain event.
pub fn record(message_id: &str, event_type: &str, detail_url: Option<&str>, crn: Option<&str>) -> SqsMessage {
    let mut event = serde_json::json!({
        "eventType": event_type,
        "version": 1,
        "description": "test allocation",
        "occurredAt": "2022-07-28T10:30:55.0123+01:00",
        "additionalInformation": {"allocationId": message_id},
    });
    if let Some(url) = detail_url {
        event["detailUrl"] = url.into();
    }
    if let Some(crn) = crn {
        event["personReference"] = serde_json::json!({"identifiers": [{"type": "CRN", "value": crn}]});
    }
    let envelope = serde_json::json!({
        "Type": "Notification",
        "MessageId": format!("sns-{message_id}"),
        "Message": event.to_string(),
        "MessageAttributes": {"eventType": {"Type": "String", "Value": event_type}},
    });
    raw_record(message_id, &envelope.to_string())
}

pub fn raw_record(message_id: &str, body: &str) -> SqsMessage {
    serde_json::from_value(serde_json::json!({
        "messageId": message_id,
        "receiptHandle": "AQEBtest==",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-2:000000000000:allocations",
        "awsRegion": "eu-west-2",
    }))
    .unwrap()
}

pub fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let records: Vec<serde_json::Value> = records.iter().map(|r| serde_json::to_value(r).unwrap()).collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

/// A detail body in Workload's shape, with the dev dataset's defaults.
pub fn detail(extra: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({
        "id": "test-allocation",
        "staffCode": "N02ABS1",
        "teamCode": "N02ABS",
        "createdDate": "2022-07-28T10:30:54.023+01:00",
    });
    merged(body, extra)
}

/// `body` with the fields of `extra` set over its own.
pub fn merged(mut body: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

// ---------------------------------------------------------------------------
// Two allocations of one parent at once

/// When the later allocation of [`allocate_concurrently`] is made.
pub fn later_at() -> NaiveDateTime {
    at("2022-07-29 10:00:00")
}

/// Sends `first` and, at the same time, a message of `event_type` for X123456
/// whose detail is `later` allocating N02ABSX at [`later_at`], on separate
/// pools (so separate connections and transactions); both are recorded.
pub async fn allocate_concurrently(h: &Harness, first: SqsEvent, event_type: &str, later: serde_json::Value) {
    let path = "/allocation/concurrent/later";
    let body = detail(serde_json::json!({"staffCode": "N02ABSX", "createdDate": "2022-07-29T10:00:00+01:00"}));
    h.serve_detail(path, merged(body, later)).await;
    let second = batch(vec![record("m-second", event_type, Some(&h.detail_url(path)), Some("X123456"))]);
    let (db_a, db_b) = (h.test_db.database("HMPPSAllocations", 1), h.test_db.database("HMPPSAllocations", 1));
    let (a, b) = tokio::join!(invoke_with(&db_a, &h.allocations, first), invoke_with(&db_b, &h.allocations, second));
    assert_eq!((failures(&a), failures(&b)), (vec![], vec![]));
}

/// A manager's staff, allocation date, end date and active flag.
pub type Link = (i64, NaiveDateTime, Option<NaiveDateTime>, i16);

/// The parent's managers, oldest first, as [`Link`]s.
pub async fn manager_chain(c: &tokio_postgres::Client, table: Table, parent_id: i64) -> Vec<Link> {
    managers(c, table, parent_id)
        .await
        .into_iter()
        .map(|(m, _, _)| (m.staff_id, m.allocation_date, m.end_date, m.active_flag))
        .collect()
}

/// The seeded manager (N02UAT from 2022-07-01 10:30), then `sample`'s
/// (N02ABS1 from [`allocated_at`]), then the later one (N02ABSX from
/// [`later_at`]), each ending where the next starts; only the last active.
pub fn seeded_sample_later(ids: &Ids) -> Vec<Link> {
    let (seeded, t1, t2) = (at("2022-07-01 10:30:00"), allocated_at(), later_at());
    vec![(ids.staff_uat, seeded, Some(t1), 0), (ids.staff_abs1, t1, Some(t2), 0), (ids.staff_spo, t2, None, 1)]
}

/// A person, an event and a requirement allocation were recorded (with the
/// person's responsible officer and five contacts), nothing else.
pub fn assert_one_of_each_kind(before: &Counts, after: &Counts) {
    assert_eq!(
        (after.offender_manager, after.order_manager, after.rqmnt_manager, after.responsible_officer, after.contact),
        (
            before.offender_manager + 1,
            before.order_manager + 1,
            before.rqmnt_manager + 1,
            before.responsible_officer + 1,
            before.contact + 5
        )
    );
}

// ---------------------------------------------------------------------------
// One message against a fresh database: arrange, send, and the expected outcomes

pub const MESSAGE: &str = "m-1";

/// Serves `body` as the detail of one message (`kind` = person, event,
/// requirements or licence-conditions), runs the arranging SQL first, and returns the harness with
/// the counts from before the message.
pub async fn case(
    arrange: &str,
    kind: &str,
    body: serde_json::Value,
    crn: Option<&str>,
) -> (Harness, Counts, Vec<String>) {
    let h = Harness::new().await;
    if !arrange.is_empty() {
        h.client.batch_execute(arrange).await.unwrap_or_else(|e| panic!("{arrange}: {:?}", e.as_db_error()));
    }
    let (_, before, failed) = case_on(&h, kind, body, crn).await;
    (h, before, failed)
}

/// As [`case`], on an existing harness: (the harness' URL, counts before,
/// failed message ids).
pub async fn case_on(
    h: &Harness,
    kind: &str,
    body: serde_json::Value,
    crn: Option<&str>,
) -> (String, Counts, Vec<String>) {
    let before = counts(&h.client).await;
    let path = format!("/allocation/{kind}/case");
    h.serve_detail(&path, body).await;
    let url = h.detail_url(&path);
    let event = batch(vec![record(MESSAGE, "test.allocated", Some(&url), crn)]);
    let failed = failures(&h.invoke(event).await);
    (url, before, failed)
}

pub fn person(extra: serde_json::Value) -> serde_json::Value {
    merged(detail(serde_json::json!({"crn": "X123456"})), extra)
}

pub fn event(number: i64, extra: serde_json::Value) -> serde_json::Value {
    merged(detail(serde_json::json!({"eventNumber": number})), extra)
}

pub fn requirement(id: i64, number: i64) -> serde_json::Value {
    detail(serde_json::json!({"requirementId": id, "eventNumber": number}))
}

/// Reported failed; nothing written but one `F` row.
pub async fn assert_failed_with_audit(h: &Harness, before: Counts, failed: &[String], code: &str, params: String) {
    assert_eq!(failed, [MESSAGE.to_string()]);
    assert_eq!(counts(&h.client).await, before, "nothing is written");
    let user = Ids::load(&h.client).await.user;
    assert_eq!(audits(&h.client).await, vec![(code.into(), user, "F".into(), params)]);
}

/// Consumed; nothing written but one `F` row.
pub async fn assert_ignored_with_audit(h: &Harness, before: Counts, failed: &[String], code: &str, params: String) {
    assert_eq!(failed, Vec::<String>::new(), "ignorable outcomes are consumed");
    assert_eq!(counts(&h.client).await, before, "nothing is written");
    let user = Ids::load(&h.client).await.user;
    assert_eq!(audits(&h.client).await, vec![(code.into(), user, "F".into(), params)]);
}

pub async fn person_params(h: &Harness) -> String {
    format!("offenderId='{}'", offender_id(&h.client, "X123456").await)
}

pub async fn event_params(h: &Harness, number: &str) -> String {
    let (o, e) = (offender_id(&h.client, "X123456").await, event_id(&h.client, "X123456", number).await);
    format!("offenderId='{o}',eventId='{e}'")
}

pub fn licence_condition(id: i64, number: i64) -> serde_json::Value {
    detail(serde_json::json!({"licenceConditionId": id, "eventNumber": number}))
}

/// The audit parameters of a requirement or licence condition (its id under
/// `requirementId`, as Delius records both) of event 1 of X123456.
pub async fn requirement_params(h: &Harness, id: i64) -> String {
    let (o, e) = (offender_id(&h.client, "X123456").await, event_id(&h.client, "X123456", "1").await);
    format!("offenderId='{o}',eventId='{e}',requirementId='{id}'")
}

pub fn pending(table: &str, key: &str, parent: &str) -> String {
    format!(
        "INSERT INTO {table} ({key}, transfer_status_id) \
         SELECT ({parent}), standard_reference_list_id FROM r_standard_reference_list WHERE code_value = 'PN'"
    )
}

// ---------------------------------------------------------------------------
// Arranging rows

/// Adds a requirement to the sentence of `crn`'s live event `event_number`,
/// with main category `main` and sub-category `sub` (of `REQUIREMENT SUB
/// CATEGORY`), as `rqmnt_id` `id` if given; returns its id.
pub async fn add_requirement(
    c: &tokio_postgres::Client,
    id: Option<i64>,
    crn: &str,
    event_number: &str,
    main: &str,
    sub: Option<&str>,
) -> i64 {
    c.query_one(
        "INSERT INTO rqmnt (rqmnt_id, offender_id, disposal_id, rqmnt_type_main_category_id, \
                            rqmnt_type_sub_category_id) \
         SELECT COALESCE($1, nextval('rqmnt_id_seq')), e.offender_id, d.disposal_id, \
                (SELECT rqmnt_type_main_category_id FROM r_rqmnt_type_main_category WHERE code = $4), \
                (SELECT l.standard_reference_list_id FROM r_standard_reference_list l \
                 JOIN r_reference_data_master m USING (reference_data_master_id) \
                 WHERE m.code_set_name = 'REQUIREMENT SUB CATEGORY' AND l.code_value = $5) \
         FROM disposal d JOIN event e ON e.event_id = d.event_id JOIN offender o ON o.offender_id = e.offender_id \
         WHERE o.crn = $2 AND e.event_number = $3 AND e.soft_deleted = 0 \
         RETURNING rqmnt_id",
        &[&id, &crn, &event_number, &main, &sub],
    )
    .await
    .unwrap()
    .get(0)
}

// ---------------------------------------------------------------------------
// Reading rows

/// The rows of an IAPS flag table (`iaps_offender`, `iaps_event`,
/// `iaps_rqmnt`): the flagged id and the flag.
pub async fn iaps_flags(c: &tokio_postgres::Client, table: &str) -> Vec<(i64, i16)> {
    c.query(&format!("SELECT * FROM {table} ORDER BY 1"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

pub async fn one_id(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> i64 {
    client.query_one(sql, params).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

pub struct Ids {
    pub user: i64,
    pub n02: i64,
    pub team_uat: i64,
    pub team_abs: i64,
    pub staff_uat: i64,
    pub staff_abs1: i64,
    pub staff_spo: i64,
}

impl Ids {
    pub async fn load(c: &tokio_postgres::Client) -> Ids {
        Ids {
            user: one_id(c, "SELECT user_id FROM user_ WHERE distinguished_name = 'HMPPSAllocations'", &[]).await,
            n02: one_id(c, "SELECT probation_area_id FROM probation_area WHERE code = 'N02'", &[]).await,
            team_uat: one_id(c, "SELECT team_id FROM team WHERE code = 'N02UAT'", &[]).await,
            team_abs: one_id(c, "SELECT team_id FROM team WHERE code = 'N02ABS'", &[]).await,
            staff_uat: one_id(c, "SELECT staff_id FROM staff WHERE officer_code = 'N02UATU'", &[]).await,
            staff_abs1: one_id(c, "SELECT staff_id FROM staff WHERE officer_code = 'N02ABS1'", &[]).await,
            staff_spo: one_id(c, "SELECT staff_id FROM staff WHERE officer_code = 'N02ABSX'", &[]).await,
        }
    }
}

impl Ids {
    /// `before` after the hand-over at `t`: ended there, no longer active.
    pub fn ended(&self, before: &Manager, t: NaiveDateTime) -> Manager {
        Manager {
            end_date: Some(t),
            active_flag: 0,
            row_version: 1,
            last_updated_user_id: Some(self.user),
            ..before.clone()
        }
    }

    /// A new manager row for N02ABS1 in N02ABS (the samples' allocation),
    /// from `t` to `end_date`, active when open-ended.
    pub fn allocated(
        &self,
        id: i64,
        t: NaiveDateTime,
        end_date: Option<NaiveDateTime>,
        allocation_reason_id: i64,
        transfer_reason_id: Option<i64>,
    ) -> Manager {
        Manager {
            id,
            staff_id: self.staff_abs1,
            staff_employee_id: Some(self.staff_abs1),
            team_id: self.team_abs,
            trust_provider_team_id: Some(self.team_abs),
            trust_provider_flag: 0,
            probation_area_id: self.n02,
            partition_area_id: 0,
            allocation_date: t,
            end_date,
            allocation_reason_id: Some(allocation_reason_id),
            active_flag: i16::from(end_date.is_none()),
            soft_deleted: 0,
            row_version: 0,
            created_by_user_id: Some(self.user),
            last_updated_user_id: Some(self.user),
            transfer_reason_id,
        }
    }

    /// The transfer contact (ETOM, ETOS, ETRC) of a hand-over from the dev
    /// dataset's unallocated staff to N02ABS1 at the samples' `createdDate`.
    pub fn transfer_contact(&self, type_code: &str, offender_id: i64, event_id: Option<i64>) -> Contact {
        Contact {
            type_code: type_code.into(),
            offender_id,
            event_id,
            rqmnt_id: None,
            lic_condition_id: None,
            contact_date: date("2022-07-28"),
            contact_start_time: Some(allocated_at()),
            notes: Some(TRANSFER_NOTES.into()),
            probation_area_id: self.n02,
            team_id: Some(self.team_abs),
            staff_id: Some(self.staff_abs1),
            staff_employee_id: Some(self.staff_abs1),
            trust_provider_team_id: Some(self.team_abs),
            trust_provider_flag: 0,
            sensitive: Some("N".into()),
            partition_area_id: 0,
            soft_deleted: 0,
            row_version: 0,
            created_by_user_id: Some(self.user),
            last_updated_user_id: Some(self.user),
        }
    }
}

/// Checks a current allocation at the samples' `createdDate` to N02ABS1 in
/// N02ABS: `before` (one open-ended manager) was ended then, and the new
/// open-ended manager carries the allocation reason (`dataset`, `code`) and
/// transfer reason; both rows were just written. Returns the new manager.
pub async fn assert_current_handover(
    h: &Harness,
    table: Table,
    parent_id: i64,
    before: &[(Manager, NaiveDateTime, NaiveDateTime)],
    (dataset, code): (&str, &str),
    transfer_reason: Option<&str>,
) -> Manager {
    let ids = Ids::load(&h.client).await;
    let t = allocated_at();
    let after = managers(&h.client, table, parent_id).await;
    assert_eq!(after.len(), 2, "{table:?} {parent_id}: {after:#?}");
    assert_eq!(before.len(), 1);
    assert_eq!(after[0].0, ids.ended(&before[0].0, t));
    assert_recent(after[0].2);
    let (new, created, updated) = &after[1];
    let transfer_reason_id = match transfer_reason {
        Some(code) => Some(transfer_reason_id(&h.client, code).await),
        None => None,
    };
    let reason = reason_id(&h.client, dataset, code).await;
    assert_eq!(*new, ids.allocated(new.id, t, None, reason, transfer_reason_id));
    assert_recent(*created);
    assert_eq!(created, updated);
    new.clone()
}

/// Invokes the function with `event` and expects no failed records.
pub async fn invoke_ok(h: &Harness, event: SqsEvent) {
    assert_eq!(failures(&h.invoke(event).await), Vec::<String>::new());
}

/// The sample file's records at `indexes` only.
pub fn records_of(mut event: SqsEvent, indexes: &[usize]) -> SqsEvent {
    event.records = indexes.iter().map(|&i| event.records[i].clone()).collect();
    event
}

pub async fn offender_id(c: &tokio_postgres::Client, crn: &str) -> i64 {
    one_id(c, "SELECT offender_id FROM offender WHERE crn = $1", &[&crn]).await
}

pub async fn event_id(c: &tokio_postgres::Client, crn: &str, number: &str) -> i64 {
    one_id(
        c,
        "SELECT e.event_id FROM event e JOIN offender o ON o.offender_id = e.offender_id \
         WHERE o.crn = $1 AND e.event_number = $2 AND e.soft_deleted = 0",
        &[&crn, &number],
    )
    .await
}

pub async fn reason_id(c: &tokio_postgres::Client, dataset: &str, code: &str) -> i64 {
    one_id(
        c,
        "SELECT l.standard_reference_list_id FROM r_standard_reference_list l \
         JOIN r_reference_data_master m ON m.reference_data_master_id = l.reference_data_master_id \
         WHERE m.code_set_name = $1 AND l.code_value = $2",
        &[&dataset, &code],
    )
    .await
}

pub async fn transfer_reason_id(c: &tokio_postgres::Client, code: &str) -> i64 {
    one_id(c, "SELECT transfer_reason_id FROM r_transfer_reason WHERE code = $1", &[&code]).await
}

/// A manager row, whatever the table's column names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manager {
    pub id: i64,
    pub staff_id: i64,
    pub staff_employee_id: Option<i64>,
    pub team_id: i64,
    pub trust_provider_team_id: Option<i64>,
    pub trust_provider_flag: i16,
    pub probation_area_id: i64,
    pub partition_area_id: i64,
    pub allocation_date: NaiveDateTime,
    pub end_date: Option<NaiveDateTime>,
    pub allocation_reason_id: Option<i64>,
    pub active_flag: i16,
    pub soft_deleted: i16,
    pub row_version: i64,
    pub created_by_user_id: Option<i64>,
    pub last_updated_user_id: Option<i64>,
    pub transfer_reason_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Offender,
    Order,
    Requirement,
    LicenceCondition,
}

/// The parent's managers, oldest first, with their audit date-times.
pub async fn managers(
    c: &tokio_postgres::Client,
    table: Table,
    parent_id: i64,
) -> Vec<(Manager, NaiveDateTime, NaiveDateTime)> {
    let (name, id, parent, staff, team, transfer) = match table {
        Table::Offender => {
            ("offender_manager", "offender_manager_id", "offender_id", "allocation_staff_id", "team_id", "NULL::bigint")
        }
        Table::Order => (
            "order_manager",
            "order_manager_id",
            "event_id",
            "allocation_staff_id",
            "allocation_team_id",
            "transfer_reason_id",
        ),
        Table::Requirement => (
            "rqmnt_manager",
            "rqmnt_manager_id",
            "rqmnt_id",
            "allocated_staff_id",
            "allocated_team_id",
            "transfer_reason_id",
        ),
        Table::LicenceCondition => (
            "lic_condition_manager",
            "lic_condition_manager_id",
            "lic_condition_id",
            "allocated_staff_id",
            "allocated_team_id",
            "transfer_reason_id",
        ),
    };
    let sql = format!(
        "SELECT {id}, {staff}, staff_employee_id, {team}, trust_provider_team_id, trust_provider_flag, probation_area_id, \
         partition_area_id, allocation_date, end_date, allocation_reason_id, active_flag, soft_deleted, row_version, \
         created_by_user_id, last_updated_user_id, {transfer}, created_datetime, last_updated_datetime \
         FROM {name} WHERE {parent} = $1 ORDER BY allocation_date, {id}"
    );
    c.query(&sql, &[&parent_id])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                Manager {
                    id: r.get(0),
                    staff_id: r.get(1),
                    staff_employee_id: r.get(2),
                    team_id: r.get(3),
                    trust_provider_team_id: r.get(4),
                    trust_provider_flag: r.get(5),
                    probation_area_id: r.get(6),
                    partition_area_id: r.get(7),
                    allocation_date: r.get(8),
                    end_date: r.get(9),
                    allocation_reason_id: r.get(10),
                    active_flag: r.get(11),
                    soft_deleted: r.get(12),
                    row_version: r.get(13),
                    created_by_user_id: r.get(14),
                    last_updated_user_id: r.get(15),
                    transfer_reason_id: r.get(16),
                },
                r.get(17),
                r.get(18),
            )
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsibleOfficer {
    pub id: i64,
    pub offender_manager_id: Option<i64>,
    pub prison_offender_manager_id: Option<i64>,
    pub start_date: NaiveDateTime,
    pub end_date: Option<NaiveDateTime>,
    pub row_version: i64,
    pub created_by_user_id: Option<i64>,
    pub last_updated_user_id: Option<i64>,
}

pub async fn responsible_officers(c: &tokio_postgres::Client, offender_id: i64) -> Vec<ResponsibleOfficer> {
    c.query(
        "SELECT responsible_officer_id, offender_manager_id, prison_offender_manager_id, start_date, end_date, \
         row_version, created_by_user_id, last_updated_user_id FROM responsible_officer \
         WHERE offender_id = $1 ORDER BY start_date, responsible_officer_id",
        &[&offender_id],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| ResponsibleOfficer {
        id: r.get(0),
        offender_manager_id: r.get(1),
        prison_offender_manager_id: r.get(2),
        start_date: r.get(3),
        end_date: r.get(4),
        row_version: r.get(5),
        created_by_user_id: r.get(6),
        last_updated_user_id: r.get(7),
    })
    .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub type_code: String,
    pub offender_id: i64,
    pub event_id: Option<i64>,
    pub rqmnt_id: Option<i64>,
    pub lic_condition_id: Option<i64>,
    pub contact_date: NaiveDate,
    pub contact_start_time: Option<NaiveDateTime>,
    pub notes: Option<String>,
    pub probation_area_id: i64,
    pub team_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub staff_employee_id: Option<i64>,
    pub trust_provider_team_id: Option<i64>,
    pub trust_provider_flag: i16,
    pub sensitive: Option<String>,
    pub partition_area_id: i64,
    pub soft_deleted: i16,
    pub row_version: i64,
    pub created_by_user_id: Option<i64>,
    pub last_updated_user_id: Option<i64>,
}

/// Every contact of the person, in insertion order.
pub async fn contacts(c: &tokio_postgres::Client, offender_id: i64) -> Vec<Contact> {
    c.query(
        "SELECT t.code, c.offender_id, c.event_id, c.rqmnt_id, c.contact_date, c.contact_start_time, c.notes, \
         c.probation_area_id, c.team_id, c.staff_id, c.staff_employee_id, c.trust_provider_team_id, \
         c.trust_provider_flag, c.sensitive, c.partition_area_id, c.soft_deleted, c.row_version, \
         c.created_by_user_id, c.last_updated_user_id, c.lic_condition_id \
         FROM contact c JOIN r_contact_type t ON t.contact_type_id = c.contact_type_id \
         WHERE c.offender_id = $1 ORDER BY c.contact_id",
        &[&offender_id],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| Contact {
        type_code: r.get(0),
        offender_id: r.get(1),
        event_id: r.get(2),
        rqmnt_id: r.get(3),
        contact_date: r.get(4),
        contact_start_time: r.get(5),
        notes: r.get(6),
        probation_area_id: r.get(7),
        team_id: r.get(8),
        staff_id: r.get(9),
        staff_employee_id: r.get(10),
        trust_provider_team_id: r.get(11),
        trust_provider_flag: r.get(12),
        sensitive: r.get(13),
        partition_area_id: r.get(14),
        soft_deleted: r.get(15),
        row_version: r.get(16),
        created_by_user_id: r.get(17),
        last_updated_user_id: r.get(18),
        lic_condition_id: r.get(19),
    })
    .collect()
}

/// (code, user, outcome, parameters) of every audit row, oldest first.
pub async fn audits(c: &tokio_postgres::Client) -> Vec<(String, i64, String, String)> {
    c.query(
        "SELECT b.business_interaction_code, a.user_id, a.outcome, COALESCE(a.interaction_parameters, '') \
         FROM audited_interaction a JOIN business_interaction b ON b.business_interaction_id = a.business_interaction_id \
         ORDER BY a.date_time",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

/// Row counts of every table an allocation writes (audit excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub offender_manager: i64,
    pub order_manager: i64,
    pub rqmnt_manager: i64,
    pub lic_condition_manager: i64,
    pub responsible_officer: i64,
    pub contact: i64,
    pub iaps: i64,
    /// Sum of the managers' and officers' row versions: any update shows.
    pub versions: i64,
}

pub async fn counts(c: &tokio_postgres::Client) -> Counts {
    let r = c
        .query_one(
            "SELECT (SELECT COUNT(*) FROM offender_manager), (SELECT COUNT(*) FROM order_manager), \
             (SELECT COUNT(*) FROM rqmnt_manager), (SELECT COUNT(*) FROM responsible_officer), \
             (SELECT COUNT(*) FROM lic_condition_manager), \
             (SELECT COUNT(*) FROM contact), \
             (SELECT COUNT(*) FROM iaps_offender) + (SELECT COUNT(*) FROM iaps_event) + (SELECT COUNT(*) FROM iaps_rqmnt), \
             (SELECT COALESCE(SUM(row_version), 0) FROM offender_manager)::bigint \
             + (SELECT COALESCE(SUM(row_version), 0) FROM order_manager)::bigint \
             + (SELECT COALESCE(SUM(row_version), 0) FROM rqmnt_manager)::bigint \
             + (SELECT COALESCE(SUM(row_version), 0) FROM lic_condition_manager)::bigint \
             + (SELECT COALESCE(SUM(row_version), 0) FROM responsible_officer)::bigint",
            &[],
        )
        .await
        .unwrap();
    Counts {
        offender_manager: r.get(0),
        order_manager: r.get(1),
        rqmnt_manager: r.get(2),
        responsible_officer: r.get(3),
        lic_condition_manager: r.get(4),
        contact: r.get(5),
        iaps: r.get(6),
        versions: r.get(7),
    }
}

/// `created_datetime` and friends hold London time of the write.
pub fn assert_recent(when: NaiveDateTime) {
    let now = delius_db::time::london_now();
    let age = now - when;
    assert!(age >= chrono::Duration::zero() && age < chrono::Duration::minutes(2), "{when} is not just now ({now})");
}

/// The ETOM/ETOS/ETRC notes for a handover from the dev dataset's
/// unallocated staff and team, on 28/07/2022.
pub const TRANSFER_NOTES: &str = "Transfer Reason: Internal Transfer\n\
Transfer Date: 28/07/2022\n\
From Trust: NPS North East\n\
From Team: Unallocated Team(N02)\n\
From Officer: Unallocated Staff\n\
-------------------------------/\n\n";
