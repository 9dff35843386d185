//! Arranging and reading rows of a test database in the route tests: what
//! the write routes' tests share.

use chrono::NaiveDateTime;
use serde_json::Value;

/// The one `bigint` that `sql` selects (an id, a count).
pub async fn scalar(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// A timestamp as `to_jsonb` writes it (no offset).
pub fn timestamp(v: &Value) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(v.as_str().expect("timestamp"), "%Y-%m-%dT%H:%M:%S%.f").expect("timestamp format")
}

/// Takes the timestamp `key` out of a row as JSON and checks it lies within
/// `from..=to` (a time the code under test chose).
pub fn take_time_within(object: &mut Value, key: &str, from: NaiveDateTime, to: NaiveDateTime) {
    let value = object.as_object_mut().unwrap().remove(key).unwrap_or_else(|| panic!("{key} missing"));
    let t = timestamp(&value);
    assert!(from <= t && t <= to, "{key} {t} not within {from}..{to}");
}

/// A second active community manager for `crn`: a copy of the active one,
/// newer, and ended (only one open-ended manager fits the unique index) but
/// still flagged active. Delius should never hold two.
pub async fn add_second_active_manager(client: &tokio_postgres::Client, crn: &str) {
    client
        .execute(
            "INSERT INTO offender_manager (offender_id, allocation_staff_id, team_id, probation_area_id, \
                                           allocation_date, end_date, active_flag, soft_deleted) \
             SELECT om.offender_id, om.allocation_staff_id, om.team_id, om.probation_area_id, \
                    om.allocation_date + INTERVAL '1 day', om.allocation_date + INTERVAL '2 days', 1, 0 \
             FROM offender_manager om JOIN offender o USING (offender_id) \
             WHERE o.crn = $1 AND om.active_flag = 1",
            &[&crn],
        )
        .await
        .expect("insert a second active manager");
}

/// SQL that makes the database refuse every `P` (success) audit row with an
/// error: the work of a write fails at its very last statement, in the same
/// flight as `COMMIT`. [`ALLOW_SUCCESS_ROWS`] undoes it.
pub const REFUSE_SUCCESS_ROWS: &str = "CREATE FUNCTION refuse_success() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN IF NEW.outcome = 'P' THEN RAISE EXCEPTION 'no success rows today'; END IF; RETURN NEW; END $$; \
     CREATE TRIGGER refuse_success BEFORE INSERT ON audited_interaction \
     FOR EACH ROW EXECUTE FUNCTION refuse_success()";

/// Undoes [`REFUSE_SUCCESS_ROWS`].
pub const ALLOW_SUCCESS_ROWS: &str = "DROP TRIGGER refuse_success ON audited_interaction";
