//! A TCP proxy that can turn into a black hole: while stalled it accepts
//! connections and forwards nothing, and connections that were open stop
//! forwarding for good (as when a route, a NAT entry or a pooler's server goes
//! away without a reset). Only a client-side deadline gets a caller out.
//! [`BlackHole::restore`] makes new connections work again. [`SilentListener`]
//! is the black hole with nothing behind it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

pub struct BlackHole {
    pub port: u16,
    stalled: Arc<AtomicBool>,
    tasks: Arc<std::sync::Mutex<JoinSet<()>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl BlackHole {
    /// Forwards 127.0.0.1:`port` to `upstream` until stalled.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<BlackHole> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let stalled = Arc::new(AtomicBool::new(false));
        let tasks = Arc::new(std::sync::Mutex::new(JoinSet::new()));
        let accept = tokio::spawn({
            let (stalled, tasks) = (stalled.clone(), tasks.clone());
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let stalled = stalled.clone();
                    tasks.lock().unwrap().spawn(forward(client, upstream, stalled));
                }
            }
        });
        Ok(BlackHole { port, stalled, tasks, accept })
    }

    /// From now on nothing is forwarded, on old and new connections.
    pub fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    /// New connections are forwarded again (stalled ones stay dead).
    pub fn restore(&self) {
        self.stalled.store(false, Ordering::SeqCst);
    }

    /// `url` with its host and port replaced by this proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let mut parsed = url::Url::parse(url).expect("a database URL");
        parsed.set_host(Some("127.0.0.1")).expect("a host");
        parsed.set_port(Some(self.port)).expect("a port");
        parsed.to_string()
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.accept.abort();
        self.tasks.lock().unwrap().abort_all();
    }
}

async fn forward(client: TcpStream, upstream: SocketAddr, stalled: Arc<AtomicBool>) {
    if stalled.load(Ordering::SeqCst) {
        return hold(client).await;
    }
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = pump(&mut client_read, &mut server_write, &stalled);
    let down = pump(&mut server_read, &mut client_write, &stalled);
    // Once stalled, both directions park with their sockets open.
    tokio::join!(up, down);
}

async fn pump(from: &mut (impl AsyncReadExt + Unpin), to: &mut (impl AsyncWriteExt + Unpin), stalled: &AtomicBool) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stalled.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// Keeps the connection open and silent.
async fn hold(client: TcpStream) {
    let _client = client;
    std::future::pending::<()>().await;
}

/// A listener on 127.0.0.1 that accepts connections, counts them and never
/// answers or closes them: a database, directory or endpoint that hangs.
/// Dropping it closes the listener and every connection it holds.
pub struct SilentListener {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl SilentListener {
    pub async fn start() -> std::io::Result<SilentListener> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let accept = tokio::spawn({
            let accepted = accepted.clone();
            async move {
                let mut held = Vec::new();
                while let Ok((socket, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    held.push(socket);
                }
            }
        });
        Ok(SilentListener { port, accepted, accept })
    }

    /// The connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
