//! Secrets Manager access: one fetch per secret per container.
//!
//! The SDK honours `AWS_ENDPOINT_URL` (local emulation with moto) and the usual
//! region and credential variables.

use std::future::Future;
use std::pin::Pin;

use aws_config::BehaviorVersion;
use serde::Deserialize;

use crate::error::DbError;

/// Reads the string value of a secret.
///
/// The SDK's futures are very deep types, and every handler awaits this one
/// (through the first `Database::client` call), so it is boxed and its type
/// erased here, once: no caller needs a raised `recursion_limit` or a
/// `Box::pin` of its own.
pub fn secret_string(secret_arn: &str) -> Pin<Box<dyn Future<Output = Result<String, DbError>> + Send + '_>> {
    Box::pin(async move {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let client = aws_sdk_secretsmanager::Client::new(&config);
        let output = client.get_secret_value().secret_id(secret_arn).send().await.map_err(|e| {
            DbError::Credentials(format!("{secret_arn}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))
        })?;
        output
            .secret_string()
            .map(str::to_owned)
            .ok_or_else(|| DbError::Credentials(format!("{secret_arn} has no string value")))
    })
}

/// Reads a JSON secret into `T`.
pub async fn secret_json<T: for<'de> Deserialize<'de>>(secret_arn: &str) -> Result<T, DbError> {
    let text = secret_string(secret_arn).await?;
    // serde's message names the field, never the value.
    serde_json::from_str(&text)
        .map_err(|e| DbError::Credentials(format!("{secret_arn} is not in the expected format: {e}")))
}

/// The RDS secret format: `{host, port, username, password, dbname}`.
#[derive(Deserialize)]
pub struct RdsSecret {
    pub host: String,
    #[serde(deserialize_with = "port_number_or_string")]
    pub port: u16,
    pub username: String,
    pub password: String,
    #[serde(default = "default_dbname")]
    pub dbname: String,
}

fn default_dbname() -> String {
    "postgres".to_string()
}

// RDS writes the port as a number; hand-made secrets often write a string.
fn port_number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Port {
        Number(u16),
        Text(String),
    }
    match Port::deserialize(d)? {
        Port::Number(n) => Ok(n),
        Port::Text(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

impl RdsSecret {
    pub fn to_pg_config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config.host(&self.host).port(self.port).user(&self.username).password(&self.password).dbname(&self.dbname);
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rds_secret_accepts_numeric_and_text_ports() {
        let s: RdsSecret = serde_json::from_str(
            r#"{"engine":"postgres","host":"db","port":5432,"username":"u","password":"p","dbname":"delius","dbInstanceIdentifier":"x"}"#,
        )
        .unwrap();
        assert_eq!((s.host.as_str(), s.port, s.dbname.as_str()), ("db", 5432, "delius"));
        let s: RdsSecret =
            serde_json::from_str(r#"{"host":"db","port":"6543","username":"u","password":"p"}"#).unwrap();
        assert_eq!((s.port, s.dbname.as_str()), (6543, "postgres"));
    }
}
