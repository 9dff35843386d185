//! moto's server, emulating AWS Secrets Manager for the tests that read a
//! secret through the real AWS SDK. `make tools` installs it into
//! `.tools/venv`; `MOTO_SERVER` names another binary.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{Output, OwnedChild};

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running moto server on a free port of 127.0.0.1. Dropping it stops it.
pub struct MotoServer {
    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL`.
    pub url: String,
    child: OwnedChild,
}

impl MotoServer {
    /// Starts the server and waits until it accepts connections. Panics if it cannot.
    pub async fn start() -> MotoServer {
        let binary = std::env::var("MOTO_SERVER")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| format!("{}/.tools/venv/bin/moto_server", crate::repo_root().display()));
        assert!(std::path::Path::new(&binary).exists(), "{binary} is missing: run `make tools` (or `make test`)");
        let port = crate::process::free_port().expect("a free port");
        let mut command = Command::new(&binary);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let mut child = OwnedChild::spawn(command, Output::Null).unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{binary} exited at start ({status})");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return MotoServer { url: format!("http://127.0.0.1:{port}"), child };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto_server did not start on port {port} within {START_TIMEOUT:?}");
    }

    /// Creates the secret `name` holding `value` through the real AWS SDK;
    /// its ARN. Credentials and region come from the environment (see
    /// [`set_aws_test_environment`]).
    pub async fn create_secret(&self, name: &str, value: &str) -> String {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(&self.url).load().await;
        aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create the secret {name} in moto: {e}"))
            .arn()
            .expect("the new secret's ARN")
            .to_string()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Sets the process-wide variables the AWS SDK reads: a region, test
/// credentials, no instance metadata lookups, and `AWS_ENDPOINT_URL` when
/// `endpoint` is given (moto's URL, or a listener that never answers).
///
/// # Safety
///
/// It writes the environment: call it only where no other thread reads or
/// writes it at the same time (a test binary with one test, before the SDK runs).
pub unsafe fn set_aws_test_environment(endpoint: Option<&str>) {
    let fixed = [
        ("AWS_REGION", "eu-west-2"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    for (key, value) in fixed.into_iter().chain(endpoint.map(|url| ("AWS_ENDPOINT_URL", url))) {
        // SAFETY: the caller's promise.
        unsafe { std::env::set_var(key, value) };
    }
}
