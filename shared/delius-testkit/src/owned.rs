//! Child processes that end with their owner (however it ends), run as the
//! `postgres` user when the tests run as root (PostgreSQL and PgBouncer refuse
//! root), with their output in a log file and their folder removed on drop.

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A temporary folder, removed on drop; owned by the server user when root.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> io::Result<TempDir> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        fs::create_dir_all(&path)?;
        if let Some((uid, gid)) = server_user() {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
        }
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes a file the server user can read (and owns, for keys).
    pub fn write(&self, name: &str, contents: &str, mode: u32) -> io::Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.0.join(name);
        fs::write(&path, contents)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        if let Some((uid, gid)) = server_user() {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
        }
        Ok(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `postgres`'s uid and gid when this process is root, else `None`.
fn server_user() -> Option<(u32, u32)> {
    // SAFETY: getuid has no preconditions; getpwnam's result is read at once.
    unsafe {
        if libc::getuid() != 0 {
            return None;
        }
        let pw = libc::getpwnam(c"postgres".as_ptr());
        if pw.is_null() {
            return None;
        }
        Some(((*pw).pw_uid, (*pw).pw_gid))
    }
}

/// `program` set up to run as the server user (when root), killed when the
/// thread that starts it ends, reading nothing from stdin.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    command.stdin(Stdio::null());
    let user = server_user();
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if let Some((uid, gid)) = user
                && (libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0)
            {
                return Err(io::Error::last_os_error());
            }
            // After the user change, which would clear it. The owner may have
            // died before this line: then go at once.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 || libc::getppid() != parent {
                return Err(io::Error::other("the owner is gone"));
            }
            Ok(())
        });
    }
    command
}

/// A running server: killed (and reaped) on drop.
pub struct OwnedChild(pub Child);

impl OwnedChild {
    /// Starts `command` with stdout and stderr appended to `log`.
    pub fn spawn(mut command: Command, log: &Path) -> io::Result<OwnedChild> {
        let file = fs::OpenOptions::new().create(true).append(true).open(log)?;
        command.stdout(file.try_clone()?).stderr(file);
        Ok(OwnedChild(command.spawn()?))
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `command` to completion; its output in the error when it fails.
pub fn run(mut command: Command) -> io::Result<()> {
    let output = command.stdout(Stdio::piped()).stderr(Stdio::piped()).output()?;
    if output.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{:?} failed ({}): {}{}",
        command.get_program(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}

/// A free TCP port of 127.0.0.1 (it may be taken before use: callers retry).
pub fn free_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// Waits until `port` accepts connections or `child` exits.
pub fn wait_for_port(child: &mut OwnedChild, port: u16, log: &Path, what: &str) -> io::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let address = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
    loop {
        if let Some(status) = child.0.try_wait()? {
            let log = fs::read_to_string(log).unwrap_or_default();
            return Err(io::Error::other(format!("{what} exited ({status}): {log}")));
        }
        if std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(io::Error::other(format!("{what} did not accept connections in time")));
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}
