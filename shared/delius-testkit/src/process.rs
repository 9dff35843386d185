//! Processes the project starts for itself (slapd, moto's server, the local
//! stack under test) end when their owner ends, however it ends: `Drop` on a
//! normal exit or a panicking test, and the kernel's parent-death signal when
//! the owner is killed (SIGTERM, SIGKILL) or never drops the value (a
//! stand-in held in a `static`).
//!
//! Two details make that hold:
//! - `PR_SET_PDEATHSIG` fires when the *thread* that forked the child ends,
//!   not the process. Test threads end after each test, so every owned child
//!   is forked by one keeper thread that lives as long as the process.
//! - A child never inherits the caller's standard output: a process left
//!   holding it would keep `out=$(make ...)` or a CI step waiting. Its output
//!   goes to a log file, to a pipe its owner reads, or nowhere.
//!
//! PostgreSQL and PgBouncer refuse to run as root: [`as_server_user`] makes a
//! command run as `postgres` when the tests run as root, and
//! [`ScratchDir::for_server`] gives that user the child's folder.

use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Where an owned child's standard output and error go.
pub enum Output {
    /// Discarded.
    Null,
    /// Appended to this file (created if missing), both streams.
    Log(PathBuf),
    /// Pipes the owner takes from [`OwnedChild::child_mut`] and must drain.
    Piped,
}

/// Makes `command`'s process receive SIGKILL when the thread that spawns it
/// ends (with its process). For commands spawned elsewhere (the benchmark's
/// `tokio::process` children); [`OwnedChild::spawn`] does it for its own.
pub fn end_with_parent(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec the closure only makes two
    // async-signal-safe system calls and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before the signal was armed.
            if libc::getppid() != parent {
                return Err(io::Error::other("the parent ended before the child started"));
            }
            Ok(())
        });
    }
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// The keeper thread's mailbox: it forks every owned child, and never ends
/// before the process does.
fn keeper() -> &'static Mutex<mpsc::Sender<SpawnRequest>> {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    KEEPER.get_or_init(|| {
        let (sender, requests) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("owned-children".into())
            .spawn(move || {
                for (mut command, reply) in requests {
                    let _ = reply.send(command.spawn());
                }
                // All senders gone: only at process exit (the sender is static).
                loop {
                    std::thread::park();
                }
            })
            .expect("start the thread that owns child processes");
        Mutex::new(sender)
    })
}

/// A child process that ends with its owner: dropping the value kills and
/// reaps it, and the parent-death signal kills it if the owner dies first.
pub struct OwnedChild {
    child: Child,
    name: String,
}

impl OwnedChild {
    /// Spawns `command` with no standard input and its output sent to `output`.
    pub fn spawn(mut command: Command, output: Output) -> io::Result<OwnedChild> {
        let name = command.get_program().to_string_lossy().into_owned();
        command.stdin(Stdio::null());
        match output {
            Output::Null => {
                command.stdout(Stdio::null()).stderr(Stdio::null());
            }
            Output::Log(path) => {
                let log = fs::OpenOptions::new().create(true).append(true).open(&path)?;
                command.stdout(log.try_clone()?).stderr(log);
            }
            Output::Piped => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
        }
        end_with_parent(&mut command);
        let (reply, child) = mpsc::channel();
        keeper()
            .lock()
            .map_err(|_| io::Error::other("the keeper thread's lock is poisoned"))?
            .send((command, reply))
            .map_err(|_| io::Error::other("the keeper thread is gone"))?;
        let child = child.recv().map_err(|_| io::Error::other("the keeper thread is gone"))??;
        Ok(OwnedChild { child, name })
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The program's name, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The exit status, if it has ended.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// The child itself, e.g. to take its pipes. Do not wait on it elsewhere.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Asks it to stop with SIGTERM, waits up to `grace`, then kills it.
    pub fn terminate(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        // SAFETY: kill(2) on our own unreaped child: the pid cannot be reused yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill()
    }

    /// Waits for it to end by itself.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait()
    }

    /// Kills it now and reaps it.
    pub fn kill(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        let _ = self.child.kill();
        self.child.wait()
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// A fresh temporary directory for a child's files, removed on drop. Its name
/// carries the owner's pid, so a directory left by an owner that was killed
/// (no `Drop`) is removed by the next [`ScratchDir::new`].
pub struct ScratchDir {
    path: PathBuf,
    /// The user the directory and the files written into it belong to, when
    /// not this process's.
    owner: Option<(u32, u32)>,
}

const SCRATCH_PREFIX: &str = "delius-owned-";

impl ScratchDir {
    /// A new directory at [`scratch_path`].
    pub fn new(what: &str) -> io::Result<ScratchDir> {
        let path = scratch_path(what);
        fs::create_dir_all(&path)?;
        Ok(ScratchDir { path, owner: None })
    }

    /// A new directory for a child started with [`as_server_user`]: owned by
    /// that user, as are the files [`ScratchDir::write`] puts in it.
    pub fn for_server(what: &str) -> io::Result<ScratchDir> {
        let mut dir = ScratchDir::new(what)?;
        dir.owner = server_user();
        if let Some((uid, gid)) = dir.owner {
            std::os::unix::fs::chown(&dir.path, Some(uid), Some(gid))?;
        }
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the file `name` (relative to the directory) with `mode`, owned
    /// by the directory's user (a server reads only keys it owns).
    pub fn write(&self, name: &str, contents: &str, mode: u32) -> io::Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path.join(name);
        fs::write(&path, contents)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
        }
        Ok(path)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// `postgres`'s uid and gid when this process is root, else `None`.
fn server_user() -> Option<(u32, u32)> {
    // SAFETY: getuid has no preconditions; getpwnam's result is read at once,
    // before any other call could reuse its buffer.
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

/// Makes `command` run as `postgres` when this process is root (PostgreSQL
/// and PgBouncer refuse root); otherwise leaves it as it is. Call it before
/// [`OwnedChild::spawn`]: a user change clears the parent-death signal, so it
/// must happen before `spawn` arms that (pre-exec steps run in the order they
/// were added).
pub fn as_server_user(command: &mut Command) {
    let Some((uid, gid)) = server_user() else { return };
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Runs `command` to completion as an owned child (killed if its owner dies
/// first), its output appended to `log`; the log is in the error when it fails.
pub fn run(command: Command, log: &Path) -> io::Result<()> {
    let mut child = OwnedChild::spawn(command, Output::Log(log.to_path_buf()))?;
    let status = child.wait()?;
    if status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{} failed ({status}): {}",
        child.name(),
        fs::read_to_string(log).unwrap_or_default()
    )))
}

/// A free TCP port of 127.0.0.1 (it may be taken before use: callers retry).
pub fn free_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// Waits up to `timeout` until `port` of 127.0.0.1 accepts connections. Fails
/// at once when `child` exits (with `log`'s contents), and on the timeout.
pub fn wait_for_port(child: &mut OwnedChild, port: u16, log: &Path, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    let address = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
    loop {
        if let Some(status) = child.try_wait()? {
            let log = fs::read_to_string(log).unwrap_or_default();
            return Err(io::Error::other(format!("{} exited ({status}): {log}", child.name())));
        }
        if std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!("{} did not accept connections on {port} in time", child.name())));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A fresh path `<tmp>/delius-owned-<pid>-<what>-<random>` (not created) for
/// a child's files; its owner removes it when done. Removes first the
/// directories of owners that no longer run (killed before their `Drop`).
pub fn scratch_path(what: &str) -> PathBuf {
    sweep_orphaned_dirs();
    std::env::temp_dir().join(format!(
        "{SCRATCH_PREFIX}{}-{what}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// Removes the scratch directories whose owner process no longer exists.
fn sweep_orphaned_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(SCRATCH_PREFIX)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            // A log file, or a directory.
            let _ = fs::remove_file(entry.path()).or_else(|_| fs::remove_dir_all(entry.path()));
        }
    }
}

/// Whether a process with this id exists (and is not a zombie).
pub fn is_running(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// The ids of the live children of `pid` (read from `/proc/<pid>/stat` of
/// every process: its fourth field is the parent's id).
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| {
            fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                let Some((_, rest)) = stat.rsplit_once(") ") else { return false };
                let mut fields = rest.split_whitespace();
                let state = fields.next().unwrap_or("Z");
                state != "Z" && fields.next().and_then(|p| p.parse::<u32>().ok()) == Some(pid)
            })
        })
        .collect()
}
