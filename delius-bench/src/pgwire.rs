//! The SQL floor: what a handler sends to PostgreSQL, recorded on the wire,
//! and replayed directly with tokio-postgres.
//!
//! A [`Recorder`] is a loopback TCP proxy in front of the server. It reads the
//! frontend/backend protocol as it passes and keeps, per request, every
//! statement executed (its SQL text from the `Parse`, its parameter bytes
//! from the `Bind`) and every simple query (`BEGIN`, `COMMIT`...), grouped in
//! *flights*: what the client sent before it had to wait for an answer. So the
//! floor runs exactly the handler's statements with exactly its parameters,
//! whoever wrote the SQL, and the number of flights is the number of round
//! trips the handler waited for.
//!
//! The proxy can also stand for a network: [`Recorder::set_delay`] holds
//! every answer of the server back by a fixed time, so each round trip the
//! client waits for costs that much more (as between a Lambda function and
//! RDS), while answers to pipelined statements arrive together as they would.
//!
//! Replaying writes on a fresh copy of the database, in the recorded order,
//! reproduces the same rows and the same sequence values, so ids read from one
//! statement and passed to the next stay valid.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::error::Error;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_postgres::types::{Format, IsNull, ToSql, Type};
use tokio_postgres::{Client, Statement};

const SSL_REQUEST: i32 = 80_877_103;
const GSSENC_REQUEST: i32 = 80_877_104;

/// One thing the client asked the server to run.
#[derive(Debug, Clone)]
pub enum Step {
    /// A prepared statement executed with these parameters (binary or text,
    /// as sent).
    Execute { sql: Arc<str>, param_types: Arc<[u32]>, params: Vec<Option<Vec<u8>>>, binary: Vec<bool> },
    /// A simple-protocol query (`BEGIN`, `COMMIT`, `ROLLBACK`...).
    Simple(String),
}

/// What the client sent before it had to wait for an answer: one round trip.
#[derive(Debug, Clone, Default)]
pub struct Flight {
    pub steps: Vec<Step>,
    /// Statements prepared (`Parse`) in this flight.
    pub parses: usize,
}

/// Everything one request (or one batch) sent.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub flights: Vec<Flight>,
}

impl Record {
    /// Round trips waited for, prepares included.
    pub fn round_trips(&self) -> usize {
        self.flights.len()
    }

    pub fn parses(&self) -> usize {
        self.flights.iter().map(|f| f.parses).sum()
    }

    pub fn statements(&self) -> usize {
        self.flights.iter().map(|f| f.steps.len()).sum()
    }

    /// The statements of each round trip, shortened: the shape of the
    /// conversation, for the JSON report.
    pub fn outline(&self) -> Vec<Vec<String>> {
        self.flights
            .iter()
            .map(|f| {
                let mut steps: Vec<String> = f
                    .steps
                    .iter()
                    .map(|s| match s {
                        Step::Execute { sql, .. } => short(sql),
                        Step::Simple(sql) => short(sql),
                    })
                    .collect();
                if f.parses > 0 {
                    steps.push(format!("({} parsed)", f.parses));
                }
                steps
            })
            .collect()
    }
}

#[derive(Default)]
struct Capture {
    /// Flights per proxied connection, in the order they were sent.
    connections: BTreeMap<u64, Vec<Flight>>,
    problems: Vec<String>,
}

/// The recording proxy. Dropping it stops accepting connections.
pub struct Recorder {
    addr: SocketAddr,
    capture: Arc<Mutex<Capture>>,
    /// Added to every round trip, in microseconds.
    delay_us: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Recorder {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Recorder> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let capture = Arc::new(Mutex::new(Capture::default()));
        let delay_us = Arc::new(AtomicU64::new(0));
        let shared = capture.clone();
        let delay = delay_us.clone();
        let accept = tokio::spawn(async move {
            let ids = AtomicU64::new(0);
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let id = ids.fetch_add(1, Ordering::Relaxed);
                let capture = shared.clone();
                let delay = delay.clone();
                connections.spawn(async move {
                    if let Err(e) = proxy(id, client, upstream, capture.clone(), delay).await {
                        lock(&capture).problems.push(format!("connection {id}: {e}"));
                    }
                });
            }
        });
        Ok(Recorder { addr, capture, delay_us, accept })
    }

    /// Holds every answer back by `delay` from now on: one round trip
    /// costs `delay` more.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_us.store(delay.as_micros() as u64, Ordering::SeqCst);
    }

    /// `database_url` pointed at the proxy (same user, password and database).
    pub fn url_for(&self, database_url: &str) -> Result<String, String> {
        let mut url = url::Url::parse(database_url).map_err(|e| format!("DATABASE_URL: {e}"))?;
        url.set_host(Some("127.0.0.1")).map_err(|e| format!("DATABASE_URL: {e}"))?;
        url.set_port(Some(self.addr.port())).map_err(|()| "DATABASE_URL: cannot set the port".to_string())?;
        // The proxy reads the protocol: no TLS between it and the client.
        let others: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "sslmode" && k != "host")
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(others).append_pair("sslmode", "disable");
        Ok(url.to_string())
    }

    /// Everything recorded since the last call, all connections in order of
    /// their first use.
    pub fn take(&self) -> Record {
        let mut capture = lock(&self.capture);
        let flights = capture.connections.values_mut().flat_map(std::mem::take).collect();
        Record { flights }
    }

    /// Protocol surprises (unknown statement names, broken connections).
    pub fn problems(&self) -> Vec<String> {
        lock(&self.capture).problems.clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The TCP address of the server of `database_url`.
pub async fn server_addr(database_url: &str) -> Result<SocketAddr, String> {
    let config: tokio_postgres::Config = database_url.parse().map_err(|e| format!("DATABASE_URL: {e}"))?;
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(_) => return Err("the SQL floor needs a TCP DATABASE_URL (not a Unix socket)".into()),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("{host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}:{port}: no address"))
}

/// What the proxy itself costs: the p50 of a bare round trip (`SELECT 1`,
/// prepared, `requests` times after a warm-up) through it, at each delay of
/// `delays_ms`. Printed beside the latency table, so a reader can tell the
/// proxy's share of a figure from the handler's.
pub async fn bare_round_trips(
    database_url: &str,
    delays_ms: &[f64],
    requests: usize,
) -> Result<Vec<crate::warm::Delayed>, String> {
    let recorder = Recorder::start(server_addr(database_url).await?).await.map_err(|e| e.to_string())?;
    let (client, connection) = tokio_postgres::connect(&recorder.url_for(database_url)?, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    let connection = tokio::spawn(connection);
    let select = client.prepare("SELECT 1").await.map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    for &added_ms in delays_ms {
        recorder.set_delay(Duration::from_secs_f64(added_ms / 1000.0));
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests + requests / 10 {
            let started = Instant::now();
            client.query_one(&select, &[]).await.map_err(|e| e.to_string())?;
            if i >= requests / 10 {
                times.push(crate::stats::ms(started.elapsed()));
            }
        }
        results.push(crate::warm::Delayed {
            added_ms,
            p50_ms: crate::stats::percentile(&times, 50.0),
            p99_ms: crate::stats::percentile(&times, 99.0),
        });
    }
    drop(client);
    let _ = connection.await;
    Ok(results)
}

/// Per-connection state shared by the two directions.
#[derive(Default)]
struct Conversation {
    /// One entry per `Sync` or simple query not yet answered by
    /// `ReadyForQuery`: whether it carried work (not just a `Close`).
    awaiting: Mutex<VecDeque<bool>>,
    /// The client asked for TLS: the server answers with one bare byte.
    ssl_answer_pending: AtomicBool,
}

async fn proxy(
    id: u64,
    client: TcpStream,
    upstream: SocketAddr,
    capture: Arc<Mutex<Capture>>,
    delay_us: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    // The answers are written by a thread of their own (see
    // `deliver_answers`) through a second handle on the client's socket.
    let client = client.into_std()?;
    let answer_writer = client.try_clone()?;
    let mut client_read = TcpStream::from_std(client)?;
    let (mut server_read, mut server_write) = server.into_split();
    let conversation = Arc::new(Conversation::default());
    lock(&capture).connections.insert(id, Vec::new());

    let frontend_state = conversation.clone();
    let frontend = async move {
        let mut reader = Frontend::new(id, capture, frontend_state);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = client_read.read(&mut buf).await?;
            if n == 0 {
                server_write.shutdown().await?;
                return Ok::<_, std::io::Error>(());
            }
            // Book-keeping first: the answer to a Sync must not overtake it.
            reader.feed(&buf[..n]);
            server_write.write_all(&buf[..n]).await?;
        }
    };
    // Answers go through a queue, each released `delay` after it arrived,
    // so a delay adds latency without limiting throughput.
    // An answer counts as received when it is handed to the client, not when
    // the server sent it: a statement the client pipelines before then (late
    // by thread scheduling, say) was not waited for, as on a real network.
    let (answers, delayed) = std::sync::mpsc::channel::<Answer>();
    let received = conversation.clone();
    let backend = async move {
        let mut reader = Backend { pending: Vec::new(), conversation };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = server_read.read(&mut buf).await?;
            if n == 0 {
                // Dropping `answers` ends the delivery once all is handed over.
                return Ok::<_, std::io::Error>(());
            }
            let answered = reader.feed(&buf[..n]);
            let due = Instant::now() + Duration::from_micros(delay_us.load(Ordering::Relaxed));
            if answers.send(Answer { due, bytes: buf[..n].to_vec(), answered }).is_err() {
                return Ok(());
            }
        }
    };
    let deliver = tokio::task::spawn_blocking(move || deliver_answers(&delayed, answer_writer, &received));
    let deliver = async move { deliver.await.map_err(std::io::Error::other)? };
    let (a, b, c) = tokio::join!(frontend, backend, deliver);
    a.and(b).and(c)
}

/// Bytes of the server's to hand to the client at `due`, answering
/// `answered` of the client's Syncs and simple queries.
struct Answer {
    due: Instant,
    bytes: Vec<u8>,
    answered: usize,
}

/// Below this much of a wait the delivery spins rather than sleeps.
const SPIN: Duration = Duration::from_micros(200);

/// Hands each answer to the client when it is due, on a thread of its own:
/// tokio's timer ticks in whole milliseconds, a thread's sleep overshoots by
/// tens of microseconds, and handing a woken thread's result back to a task
/// costs as much again; with a sleep that stops `SPIN` short of the due time,
/// a spin for the rest and the write made here, an added millisecond costs a
/// millisecond. Ends when the backend side drops its sender; then the client
/// sees the end of the stream.
fn deliver_answers(
    delayed: &std::sync::mpsc::Receiver<Answer>,
    mut client: std::net::TcpStream,
    received: &Conversation,
) -> std::io::Result<()> {
    while let Ok(Answer { due, bytes, answered }) = delayed.recv() {
        let wait = due.saturating_duration_since(Instant::now());
        if wait > SPIN {
            std::thread::sleep(wait - SPIN);
        }
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        // Marked answered just before it is handed over, so that no request
        // the client sends after reading it can join its flight.
        {
            let mut awaiting = lock(&received.awaiting);
            for _ in 0..answered {
                // (The startup's ReadyForQuery answers nothing counted.)
                awaiting.pop_front();
            }
        }
        write_all(&mut client, &bytes)?;
    }
    client.shutdown(std::net::Shutdown::Write)
}

/// `write_all` on a socket that tokio left non-blocking (the flag belongs to
/// the socket, shared with the reading handle): a full send buffer is waited
/// out in short sleeps.
fn write_all(client: &mut std::net::TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    use std::io::{ErrorKind, Write};
    while !bytes.is_empty() {
        match client.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_micros(50)),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

struct Frontend {
    id: u64,
    capture: Arc<Mutex<Capture>>,
    conversation: Arc<Conversation>,
    pending: Vec<u8>,
    started: bool,
    /// Work sent since the last Sync.
    working: bool,
    statements: HashMap<String, (Arc<str>, Arc<[u32]>)>,
}

impl Frontend {
    fn new(id: u64, capture: Arc<Mutex<Capture>>, conversation: Arc<Conversation>) -> Frontend {
        Frontend {
            id,
            capture,
            conversation,
            pending: Vec::new(),
            started: false,
            working: false,
            statements: HashMap::new(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            let rest = &self.pending[at..];
            if !self.started {
                // Startup-phase messages have no type byte.
                let Some(len) = read_i32(rest, 0) else { break };
                let len = len.max(4) as usize;
                if rest.len() < len {
                    break;
                }
                match read_i32(rest, 4) {
                    Some(SSL_REQUEST) | Some(GSSENC_REQUEST) => {
                        self.conversation.ssl_answer_pending.store(true, Ordering::SeqCst);
                    }
                    _ => self.started = true,
                }
                at += len;
                continue;
            }
            if rest.len() < 5 {
                break;
            }
            let len = read_i32(rest, 1).unwrap_or(4).max(4) as usize;
            if rest.len() < 1 + len {
                break;
            }
            let kind = rest[0];
            let body = rest[5..1 + len].to_vec();
            at += 1 + len;
            self.message(kind, &body);
        }
        self.pending.drain(..at);
    }

    fn message(&mut self, kind: u8, body: &[u8]) {
        match kind {
            b'P' => {
                let mut r = Reader::new(body);
                let (Some(name), Some(sql)) = (r.cstr(), r.cstr()) else { return };
                let count = r.i16().unwrap_or(0).max(0) as usize;
                let types: Vec<u32> = (0..count).map(|_| r.i32().unwrap_or(0) as u32).collect();
                self.statements.insert(name, (Arc::from(sql.as_str()), Arc::from(types)));
                self.work(|flight| flight.parses += 1);
            }
            b'B' => match self.bind(body) {
                Ok(step) => self.work(|flight| flight.steps.push(step)),
                Err(problem) => lock(&self.capture).problems.push(problem),
            },
            b'Q' => {
                let sql = Reader::new(body).cstr().unwrap_or_default();
                self.work(|flight| flight.steps.push(Step::Simple(sql)));
                // A simple query is answered by its own ReadyForQuery.
                self.working = false;
                lock(&self.conversation.awaiting).push_back(true);
            }
            b'S' => {
                let working = std::mem::take(&mut self.working);
                lock(&self.conversation.awaiting).push_back(working);
            }
            _ => {}
        }
    }

    /// Adds to the current flight, or opens a new one when the client had
    /// nothing in progress (it waited for the server: a round trip).
    fn work(&mut self, add: impl FnOnce(&mut Flight)) {
        let in_flight = self.working || lock(&self.conversation.awaiting).iter().any(|w| *w);
        self.working = true;
        let mut capture = lock(&self.capture);
        let flights = capture.connections.entry(self.id).or_default();
        if !in_flight || flights.is_empty() {
            flights.push(Flight::default());
        }
        if let Some(flight) = flights.last_mut() {
            add(flight);
        }
    }

    fn bind(&self, body: &[u8]) -> Result<Step, String> {
        let mut r = Reader::new(body);
        let broken = || "malformed Bind message".to_string();
        let _portal = r.cstr().ok_or_else(broken)?;
        let name = r.cstr().ok_or_else(broken)?;
        let format_count = r.i16().ok_or_else(broken)?.max(0) as usize;
        let formats: Vec<i16> = (0..format_count).map(|_| r.i16().unwrap_or(0)).collect();
        let count = r.i16().ok_or_else(broken)?.max(0) as usize;
        let mut params = Vec::with_capacity(count);
        for _ in 0..count {
            let len = r.i32().ok_or_else(broken)?;
            params.push(if len < 0 { None } else { Some(r.bytes(len as usize).ok_or_else(broken)?.to_vec()) });
        }
        let binary = (0..count)
            .map(|i| match formats.len() {
                0 => false,
                1 => formats[0] == 1,
                _ => formats.get(i).copied() == Some(1),
            })
            .collect();
        let (sql, param_types) =
            self.statements.get(&name).cloned().ok_or_else(|| format!("Bind of an unknown statement {name:?}"))?;
        Ok(Step::Execute { sql, param_types, params, binary })
    }
}

struct Backend {
    pending: Vec<u8>,
    conversation: Arc<Conversation>,
}

impl Backend {
    /// Reads what the server sent; the number of `ReadyForQuery` messages
    /// completed in it (each ends the answer to one `Sync` or simple query).
    fn feed(&mut self, bytes: &[u8]) -> usize {
        let mut answered = 0;
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        if self.conversation.ssl_answer_pending.swap(false, Ordering::SeqCst) && !self.pending.is_empty() {
            at = 1;
        }
        loop {
            let rest = &self.pending[at..];
            if rest.len() < 5 {
                break;
            }
            let len = read_i32(rest, 1).unwrap_or(4).max(4) as usize;
            if rest.len() < 1 + len {
                break;
            }
            if rest[0] == b'Z' {
                answered += 1;
            }
            at += 1 + len;
        }
        self.pending.drain(..at);
        answered
    }
}

fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    bytes.get(at..at + 4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn cstr(&mut self) -> Option<String> {
        let rest = self.bytes.get(self.at..)?;
        let end = rest.iter().position(|b| *b == 0)?;
        self.at += end + 1;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    fn i16(&mut self) -> Option<i16> {
        let b = self.bytes.get(self.at..self.at + 2)?;
        self.at += 2;
        Some(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Option<i32> {
        let v = read_i32(self.bytes, self.at)?;
        self.at += 4;
        Some(v)
    }

    fn bytes(&mut self, len: usize) -> Option<&'a [u8]> {
        let b = self.bytes.get(self.at..self.at + len)?;
        self.at += len;
        Some(b)
    }
}

// ---------------------------------------------------------------------------
// Replay

/// A recorded parameter, sent back as the very bytes the handler sent.
#[derive(Debug)]
struct RawParam<'a> {
    value: Option<&'a [u8]>,
    binary: bool,
}

impl ToSql for RawParam<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self.value {
            None => Ok(IsNull::Yes),
            Some(bytes) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        if self.binary { Format::Binary } else { Format::Text }
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        self.to_sql(ty, out)
    }
}

/// How the floor sends a request's statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipelining {
    /// In the handler's own flights: the same statements and round trips.
    AsRecorded,
    /// Everything in one flight: the lower bound, whatever depends on what.
    OneFlight,
}

/// Runs recorded requests directly on one connection, statements prepared
/// beforehand.
pub struct Replayer {
    statements: HashMap<Arc<str>, Statement>,
}

impl Replayer {
    /// Prepares every statement of `records` on `client` (not timed).
    pub async fn prepare(client: &Client, records: &[Record]) -> Result<Replayer, String> {
        let mut statements = HashMap::new();
        for step in records.iter().flat_map(|r| &r.flights).flat_map(|f| &f.steps) {
            let Step::Execute { sql, param_types, .. } = step else { continue };
            if statements.contains_key(sql) {
                continue;
            }
            let types: Option<Vec<Type>> = param_types.iter().map(|oid| Type::from_oid(*oid)).collect();
            let prepared = match types {
                Some(types) if !types.is_empty() => client.prepare_typed(sql, &types).await,
                _ => client.prepare(sql).await,
            }
            .map_err(|e| format!("preparing {}: {e}", short(sql)))?;
            statements.insert(sql.clone(), prepared);
        }
        Ok(Replayer { statements })
    }

    /// Runs one recorded request; its wall time.
    pub async fn run(&self, client: &Client, record: &Record, mode: Pipelining) -> Result<Duration, String> {
        let started = Instant::now();
        match mode {
            Pipelining::AsRecorded => {
                for flight in &record.flights {
                    self.flight(client, flight.steps.iter()).await?;
                }
            }
            Pipelining::OneFlight => self.flight(client, record.flights.iter().flat_map(|f| &f.steps)).await?,
        }
        Ok(started.elapsed())
    }

    /// The steps sent together (tokio-postgres pipelines futures polled
    /// together, in the order they are first polled), then all answers read.
    async fn flight<'a>(&self, client: &Client, steps: impl Iterator<Item = &'a Step>) -> Result<(), String> {
        let futures = steps.map(|step| self.step(client, step));
        let results = futures_util::future::join_all(futures).await;
        results.into_iter().collect::<Result<Vec<()>, String>>().map(|_| ())
    }

    async fn step(&self, client: &Client, step: &Step) -> Result<(), String> {
        match step {
            Step::Simple(sql) => client.batch_execute(sql).await.map_err(|e| format!("{}: {e}", short(sql))),
            Step::Execute { sql, params, binary, .. } => {
                let statement = self.statements.get(sql).ok_or_else(|| format!("not prepared: {}", short(sql)))?;
                let raw: Vec<RawParam<'_>> =
                    params.iter().zip(binary).map(|(v, b)| RawParam { value: v.as_deref(), binary: *b }).collect();
                let refs: Vec<&(dyn ToSql + Sync)> = raw.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                client.query(statement, &refs).await.map(|_| ()).map_err(|e| format!("{}: {e}", short(sql)))
            }
        }
    }
}

/// The start of a statement, for messages.
pub fn short(sql: &str) -> String {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 80 { format!("{}…", flat.chars().take(80).collect::<String>()) } else { flat }
}
