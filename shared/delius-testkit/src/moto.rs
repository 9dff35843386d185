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

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}
