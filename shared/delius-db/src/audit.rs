//! The Delius audit trail (`audited_interaction`).
//!
//! Every audited write follows one pattern, [`audited`]: the work runs in a
//! transaction; on success the `P` row is written inside that transaction
//! (sent in the same flight as the work's last write, see
//! [`AuditTrail::success`]) and commits with it; on failure the work is
//! rolled back and the `F` row is written on the bare connection, so it
//! survives the rollback.
//!
//! `record` takes any `tokio_postgres::GenericClient`: pass `&**tx` for a
//! transaction and `&**client` for a pooled connection.

use std::fmt::Display;

use chrono::NaiveDateTime;
use tokio_postgres::GenericClient;
use tokio_postgres::types::Type;

use crate::db::{Client, Database};
use crate::error::DbError;
use crate::transaction::Transaction;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Success => "P",
            Outcome::Failure => "F",
        }
    }
}

/// Audit parameters, kept in insertion order and written as `key='value'`
/// pairs joined by `,`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters(Vec<(&'static str, String)>);

impl Parameters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a parameter; setting the same key again replaces its value in place.
    pub fn set(&mut self, key: &'static str, value: impl ToString) {
        let value = value.to_string();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The column value, cut to the column's 500 characters.
    pub fn to_column(&self) -> String {
        let text = self.0.iter().map(|(k, v)| format!("{k}='{v}'")).collect::<Vec<_>>().join(",");
        text.chars().take(500).collect()
    }
}

/// Writes one audit row. The primary key is (date_time, interaction, user): if
/// another row holds the same microsecond, the next free microsecond is used.
pub async fn record<C: GenericClient>(
    client: &C,
    business_interaction_code: &str,
    user_id: i64,
    at: NaiveDateTime,
    outcome: Outcome,
    parameters: &Parameters,
) -> Result<(), DbError> {
    let params = parameters.to_column();
    for attempt in 0..20 {
        let date_time = at + chrono::Duration::microseconds(attempt);
        // Typed, on the unnamed statement: parse and execute in one round
        // trip (a plain `execute` would prepare first, then execute).
        let written = client
            .query_typed(
                "INSERT INTO audited_interaction \
                   (date_time, business_interaction_id, user_id, outcome, interaction_parameters) \
                 SELECT $1, business_interaction_id, $3, $4, $5 FROM business_interaction \
                 WHERE business_interaction_code = $2 \
                 ON CONFLICT DO NOTHING \
                 RETURNING 1",
                &[
                    (&date_time, Type::TIMESTAMP),
                    (&business_interaction_code, Type::VARCHAR),
                    (&user_id, Type::INT8),
                    (&outcome.code(), Type::BPCHAR),
                    (&params, Type::VARCHAR),
                ],
            )
            .await?
            .len();
        if written == 1 {
            return Ok(());
        }
        let known = client
            .query_typed(
                "SELECT 1 FROM business_interaction WHERE business_interaction_code = $1",
                &[(&business_interaction_code, Type::VARCHAR)],
            )
            .await?;
        if known.is_empty() {
            return Err(DbError::NotFound(format!(
                "BusinessInteraction with code of {business_interaction_code} not found"
            )));
        }
    }
    Err(DbError::NotFound(format!("no free audit time slot for {business_interaction_code}")))
}

/// Who does what, for the audit rows of one piece of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditTrail {
    /// `business_interaction.business_interaction_code`.
    pub business_interaction: &'static str,
    pub user_id: i64,
    /// When the work started (the rows' `date_time`).
    pub at: NaiveDateTime,
    /// Written with either row; the work may add to them as it learns ids.
    pub parameters: Parameters,
}

/// Proof that the `P` row is written in the transaction: only
/// [`AuditTrail::success`] makes one, and [`Finish::Commit`] needs one.
#[derive(Debug)]
pub struct SuccessRecorded(());

/// How audited work ends when it did not fail.
#[derive(Debug)]
pub enum Finish<T> {
    /// Keep what was written, the `P` row with it.
    Commit(T, SuccessRecorded),
    /// Nothing to keep (for example a replayed request): roll back, no audit row.
    RollBack(T),
}

impl AuditTrail {
    pub fn new(business_interaction: &'static str, user_id: i64, at: NaiveDateTime) -> AuditTrail {
        AuditTrail { business_interaction, user_id, at, parameters: Parameters::new() }
    }

    /// Writes the `P` row in `tx`. Poll it together with the work's last
    /// write (`tokio::try_join!`) and it costs no round trip of its own; in
    /// the rare case its time slot is taken it tries the next ones.
    pub async fn success(&self, tx: &Transaction) -> Result<SuccessRecorded, DbError> {
        record(&**tx, self.business_interaction, self.user_id, self.at, Outcome::Success, &self.parameters).await?;
        Ok(SuccessRecorded(()))
    }
}

/// Runs `work` in a transaction on `client` (its first statements go out
/// with `BEGIN`): [`Finish::Commit`] commits, [`Finish::RollBack`] rolls
/// back; an error rolls back and writes the `F` row after the rollback (in
/// the same flight), a failure to write it is logged.
pub async fn audited<T, E, W>(db: &Database, client: Client, trail: &mut AuditTrail, work: W) -> Result<T, E>
where
    W: AsyncFnOnce(&Transaction, &mut AuditTrail) -> Result<Finish<T>, E>,
    E: From<DbError> + Display,
{
    let mut tx = Transaction::new(client, db.begin_statement());
    let finished = {
        let (begun, done) = tokio::join!(biased; tx.begin(), work(&tx, trail));
        begun.map_err(E::from).and(done)
    };
    let failure = match finished {
        Ok(Finish::Commit(value, SuccessRecorded(()))) => match tx.commit().await {
            Ok(()) => return Ok(value),
            Err(e) => E::from(e),
        },
        Ok(Finish::RollBack(value)) => {
            tx.rollback().await;
            return Ok(value);
        }
        Err(failure) => failure,
    };
    let trail = &*trail;
    let written = tx
        .rollback_then(async |connection| {
            record(connection, trail.business_interaction, trail.user_id, trail.at, Outcome::Failure, &trail.parameters)
                .await
        })
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, failure = %failure, "could not write the failure audit row");
    }
    Err(failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_keep_order_and_replace_in_place() {
        let mut p = Parameters::new();
        p.set("offenderId", 12);
        p.set("eventId", 34);
        p.set("offenderId", 13);
        assert_eq!(p.to_column(), "offenderId='13',eventId='34'");
        assert_eq!(Parameters::new().to_column(), "");
    }
}
