//! The Delius audit trail (`audited_interaction`).
//!
//! Usage: run the work in a transaction; on success write [`Outcome::Success`]
//! inside that transaction and commit; on failure roll back first and then
//! write [`Outcome::Failure`] on the bare connection, so the `F` row survives
//! the rollback of the failed work.
//!
//! `record` takes any `tokio_postgres::GenericClient`: pass `&*tx` for a pooled
//! transaction and `&**client` for a pooled connection.

use chrono::NaiveDateTime;
use tokio_postgres::GenericClient;
use tokio_postgres::types::Type;

use crate::error::DbError;

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
