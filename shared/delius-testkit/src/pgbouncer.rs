//! PgBouncer in `pool_mode = transaction` in front of the test server, as RDS
//! Proxy multiplexes in production: consecutive transactions of one client
//! connection may run on different server connections, so anything a client
//! leaves on a server connection (named statements, session settings, session
//! advisory locks) breaks. Dropping the value stops it and removes its folder;
//! it also dies with the thread that started it.

use std::io;
use std::process::Command;
use std::time::Duration;

use crate::process::{self, Output, OwnedChild, ScratchDir};

const START_TIMEOUT: Duration = Duration::from_secs(15);

pub struct PgBouncer {
    pub port: u16,
    child: Option<OwnedChild>,
    dir: ScratchDir,
}

/// How PgBouncer sizes its pools.
#[derive(Debug, Clone, Copy)]
pub struct PoolSizes {
    /// Server connections per database and user.
    pub server_connections: u32,
    pub max_client_connections: u32,
}

impl Default for PoolSizes {
    fn default() -> Self {
        // Several server connections, so that consecutive transactions really
        // may land on different ones.
        PoolSizes { server_connections: 4, max_client_connections: 400 }
    }
}

impl PgBouncer {
    /// In front of the PostgreSQL server of `server_url` (trust auth, as the
    /// throwaway servers are), every database passed through.
    pub fn start(server_url: &str, sizes: PoolSizes) -> io::Result<PgBouncer> {
        let upstream = url::Url::parse(server_url).map_err(io::Error::other)?;
        let host = upstream.host_str().unwrap_or("127.0.0.1").to_string();
        let upstream_port = upstream.port().unwrap_or(5432);
        let user = if upstream.username().is_empty() { "postgres" } else { upstream.username() }.to_string();
        let dir = ScratchDir::for_server("pgbouncer")?;
        let log = dir.path().join("pgbouncer.log");
        let mut last_error = None;
        for _ in 0..5 {
            let port = process::free_port()?;
            let config = format!(
                "[databases]\n* = host={host} port={upstream_port} user={user}\n\n\
                 [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = any\npool_mode = transaction\ndefault_pool_size = {}\nmax_client_conn = {}\n\
                 max_db_connections = {}\nserver_reset_query =\nserver_round_robin = 1\n\
                 ignore_startup_parameters = extra_float_digits,options\n\
                 pidfile = {}/pgbouncer.pid\nlogfile =\nlog_connections = 0\nlog_disconnections = 0\n",
                sizes.server_connections,
                sizes.max_client_connections,
                sizes.server_connections,
                dir.path().display(),
            );
            let ini = dir.write("pgbouncer.ini", &config, 0o644)?;
            let mut command = Command::new("/usr/sbin/pgbouncer");
            command.arg(&ini);
            process::as_server_user(&mut command);
            let mut child = OwnedChild::spawn(command, Output::Log(log.clone()))?;
            match process::wait_for_port(&mut child, port, &log, START_TIMEOUT) {
                Ok(()) => return Ok(PgBouncer { port, child: Some(child), dir }),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("pgbouncer did not start")))
    }

    /// `url` (a database of the server behind) reached through PgBouncer.
    pub fn url_for(&self, url: &str) -> String {
        let mut parsed = url::Url::parse(url).expect("a database URL");
        parsed.set_host(Some("127.0.0.1")).expect("a host");
        parsed.set_port(Some(self.port)).expect("a port");
        parsed.to_string()
    }

    /// Makes PgBouncer open `n` server connections to the database of `url`
    /// (it opens them only on demand): `n` clients hold a transaction each at
    /// once. With `server_round_robin`, later transactions then rotate over
    /// them, so a statement left on one server connection is missing on the next.
    pub async fn open_server_connections(&self, url: &str, n: usize) {
        let mut clients = Vec::new();
        for _ in 0..n {
            let (client, connection) =
                tokio_postgres::connect(&self.url_for(url), tokio_postgres::NoTls).await.expect("connect to pgbouncer");
            tokio::spawn(connection);
            client.batch_execute("BEGIN; SELECT 1").await.expect("begin");
            clients.push(client);
        }
        for client in &clients {
            client.batch_execute("COMMIT").await.expect("commit");
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(OwnedChild::id)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        self.child.take();
    }
}
