//! The Delius audit trail (`audited_interaction`).
//!
//! Every audited write follows one pattern, [`audited`]: the work runs in a
//! transaction; on success the `P` row is written inside that transaction,
//! in the same flight as the work's last writes and `COMMIT` (see
//! [`AuditTrail::commit`]), and commits with it or not at all; on failure
//! the work is rolled back and the `F` row is written on the bare
//! connection, so it survives the rollback.
//!
//! `record` takes a [`Connection`]: pass `tx` for a transaction (it derefs
//! to its connection) and `&client` for a pooled connection.

use std::fmt::Display;

use chrono::NaiveDateTime;
use std::future::Future;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use crate::db::{Client, Database};
use crate::error::DbError;
use crate::statement::Connection;
use crate::transaction::{Transaction, must_write, nothing_written};

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

/// Inserts one audit row at the first free microsecond from `$1` (the primary
/// key is (date_time, interaction, user); twenty are tried, in order); fails
/// with [`must_write!`]'s error when none is free or the business interaction
/// is unknown. No `ON CONFLICT`: a concurrent transaction that took the same
/// free microsecond and has not committed makes this wait and then fail with
/// a unique violation (see [`AuditTrail::commit`]).
const INSERT_AUDIT_ROW: &str = must_write!(
    "INSERT INTO audited_interaction \
       (date_time, business_interaction_id, user_id, outcome, interaction_parameters) \
     SELECT slot.date_time, bi.business_interaction_id, $3, $4, $5 FROM business_interaction bi \
     CROSS JOIN LATERAL ( \
       SELECT $1 + n * interval '1 microsecond' AS date_time FROM generate_series(0, 19) n \
       WHERE NOT EXISTS (SELECT 1 FROM audited_interaction a \
                         WHERE a.date_time = $1 + n * interval '1 microsecond' \
                           AND a.business_interaction_id = bi.business_interaction_id AND a.user_id = $3) \
       ORDER BY n LIMIT 1 \
     ) slot \
     WHERE bi.business_interaction_code = $2 \
     RETURNING 1"
);

/// Sends [`INSERT_AUDIT_ROW`]; one round trip (typed, on the unnamed
/// statement: parse and execute in one message).
async fn insert_row(
    client: &Connection,
    business_interaction_code: &str,
    user_id: i64,
    at: NaiveDateTime,
    outcome: Outcome,
    params: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .query_statement(
            INSERT_AUDIT_ROW,
            &[
                (&at, Type::TIMESTAMP),
                (&business_interaction_code, Type::VARCHAR),
                (&user_id, Type::INT8),
                (&outcome.code(), Type::BPCHAR),
                (&params, Type::VARCHAR),
            ],
        )
        .await?;
    Ok(())
}

/// Writes one audit row on its own (the `F` row after a rollback): at `at`,
/// or if another row holds that microsecond the next free one. A concurrent
/// writer of the same microsecond is waited for and the row tried again.
pub async fn record(
    client: &Connection,
    business_interaction_code: &str,
    user_id: i64,
    at: NaiveDateTime,
    outcome: Outcome,
    parameters: &Parameters,
) -> Result<(), DbError> {
    let params = parameters.to_column();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match insert_row(client, business_interaction_code, user_id, at, outcome, &params).await {
            Ok(()) => return Ok(()),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) && attempts < 3 => continue,
            Err(e) if nothing_written(&e) => return Err(nothing_recorded(client, business_interaction_code).await),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Why no audit row could be written: the business interaction is unknown,
/// or (as good as never) twenty microseconds in a row are taken.
async fn nothing_recorded(client: &Connection, business_interaction_code: &str) -> DbError {
    let known = client
        .query_statement(
            "SELECT 1 FROM business_interaction WHERE business_interaction_code = $1",
            &[(&business_interaction_code, Type::VARCHAR)],
        )
        .await;
    match known {
        Ok(rows) if rows.is_empty() => {
            DbError::NotFound(format!("BusinessInteraction with code of {business_interaction_code} not found"))
        }
        Ok(_) => DbError::NotFound(format!("no free audit time slot for {business_interaction_code}")),
        Err(e) => e.into(),
    }
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

/// Proof that the work committed with its `P` row: only
/// [`AuditTrail::commit`] makes one, and [`Finish::Commit`] needs one.
#[derive(Debug)]
pub struct Committed(());

/// How audited work ends when it did not fail.
#[derive(Debug)]
pub enum Finish<T> {
    /// What was written is kept, the `P` row with it ([`AuditTrail::commit`]).
    Commit(T, Committed),
    /// Nothing to keep (for example a replayed request): roll back, no audit row.
    RollBack(T),
}

impl AuditTrail {
    pub fn new(business_interaction: &'static str, user_id: i64, at: NaiveDateTime) -> AuditTrail {
        AuditTrail { business_interaction, user_id, at, parameters: Parameters::new() }
    }

    /// Ends the work: its last `writes`, the `P` row and `COMMIT` go out in
    /// one flight, in that order ([`Transaction::commit_with`], whose rule
    /// `writes` follows: a join of statement futures that fails exactly when
    /// one of its statements failed on the server, every check of what they
    /// wrote in their SQL). The `P` row, sent after the writes, succeeds only
    /// if every one of them did (a failed statement aborts the transaction
    /// and fails the rest), so it commits with the work or not at all.
    ///
    /// The `P` row takes the first free microsecond in SQL. A concurrent
    /// transaction that took the same one at the same moment (the same user
    /// and interaction, started in the same microsecond) makes it fail with a
    /// unique violation: reported as transient ([`DbError::is_transient`]),
    /// so an allocation is tried again whole and an HTTP write answers 503;
    /// the whole transaction is retried rather than a slot, because the
    /// failed statement has aborted it.
    pub async fn commit<T, E: From<DbError>>(
        &self,
        tx: &Transaction,
        writes: impl Future<Output = Result<T, E>>,
    ) -> Result<Finish<T>, E> {
        let params = self.parameters.to_column();
        // Boxed: the writes of an allocation are a large future, and the
        // callers' futures (a test thread's stack in a debug build) need not
        // carry it twice over.
        let work = Box::pin(async move {
            let p_row = async {
                insert_row(tx, self.business_interaction, self.user_id, self.at, Outcome::Success, &params)
                    .await
                    .map_err(|e| E::from(self.success_not_recorded(e)))
            };
            // `try_join!`: writes that fail before they sent anything end the
            // work at once, so neither the P row nor COMMIT goes out.
            let (value, ()) = tokio::try_join!(biased; writes, p_row)?;
            Ok(Finish::Commit(value, Committed(())))
        });
        tx.commit_with(work).await
    }

    fn success_not_recorded(&self, e: tokio_postgres::Error) -> DbError {
        let code = self.business_interaction;
        if nothing_written(&e) {
            DbError::NotFound(format!(
                "no P audit row written: BusinessInteraction with code of {code} not found, or no free time slot"
            ))
        } else if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            DbError::Contended(format!("the P audit row's time slot for {code} was taken concurrently"))
        } else {
            e.into()
        }
    }
}

/// Runs `work` in a transaction on `client` (its first statements go out
/// with `BEGIN`): [`Finish::Commit`] has committed ([`AuditTrail::commit`]),
/// [`Finish::RollBack`] rolls back; an error rolls back (unless the server
/// has already) and writes the `F` row after the rollback (in the same
/// flight), a failure to write it is logged.
pub async fn audited<T, E, W>(db: &Database, client: Client, trail: &mut AuditTrail, work: W) -> Result<T, E>
where
    W: AsyncFnOnce(&Transaction, &mut AuditTrail) -> Result<Finish<T>, E>,
    E: From<DbError> + Display,
{
    let tx = Transaction::new(client, db.begin_statement());
    let finished = {
        let (begun, done) = tokio::join!(biased; tx.begin(), work(&tx, trail));
        begun.map_err(E::from).and(done)
    };
    let failure = match finished {
        Ok(Finish::Commit(value, Committed(()))) => {
            tx.finish();
            return Ok(value);
        }
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
