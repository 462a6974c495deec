//! A misbehaving SMTP server: raw tokio TCP on 127.0.0.1 speaking just enough SMTP for
//! lettre, whose [`Behaviour`] the test switches at any moment. The switch applies to new
//! connections and, at their next command, to open ones; [`FaultySmtp::sever`] and
//! [`FaultySmtp::silence`] act on the open ones only, as a relay's idle timeout or a NAT
//! gateway forgetting a connection would.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader},
    net::{TcpListener, TcpStream, tcp::OwnedWriteHalf},
    sync::{oneshot, watch},
    task::JoinHandle,
};

use crate::smtp_sink::{ReceivedMail, received};

/// How often the waits look again.
const POLL: Duration = Duration::from_millis(20);

/// What the server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Speaks SMTP properly and keeps every mail.
    Behave,
    /// The port is closed: connecting is refused. Open connections are cut.
    Refuse,
    /// Connections are accepted and reset at once (RST, no greeting).
    Reset,
    /// Connections are accepted and then nothing is said: no greeting, no reply, ever.
    Stall,
    /// All goes well up to `DATA` and the message; then the connection is closed with no
    /// reply, and the mail is not kept (the server died before queueing it).
    DropAfterData,
    /// As `DropAfterData`, but the server kept the mail before the connection dropped: the
    /// client cannot know it arrived.
    KeepThenDropAfterData,
    /// The mail is kept, but its `250` comes only after this long.
    AcceptSlowly(Duration),
    /// `MAIL FROM` gets `451 4.3.0` (try again later).
    TempFail,
    /// The end of the message gets `554 5.7.1` (refused for good).
    PermFail,
}

/// Counters that [`FaultySmtp::sever`] and [`FaultySmtp::silence`] raise; a connection
/// compares them with their values when it was accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Epoch {
    severed: u64,
    silenced: u64,
}

/// What the acceptor and every connection share. std Mutexes: nothing awaits while one is
/// held.
struct Shared {
    behaviour: Mutex<Behaviour>,
    mails: Mutex<Vec<ReceivedMail>>,
    accepted: AtomicUsize,
    epoch: watch::Sender<Epoch>,
}

impl Shared {
    fn behaviour(&self) -> Behaviour {
        *self.behaviour.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn keep(&self, mail: ReceivedMail) {
        self.mails.lock().unwrap_or_else(PoisonError::into_inner).push(mail);
    }
}

/// The running acceptor: a signal that stops it, and its task (which owns the listener).
struct Acceptor {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// A misbehaving SMTP server on 127.0.0.1.
pub struct FaultySmtp {
    port: u16,
    shared: Arc<Shared>,
    /// `None` while the port is closed ([`Behaviour::Refuse`]).
    acceptor: tokio::sync::Mutex<Option<Acceptor>>,
}

impl FaultySmtp {
    /// A server on a free port, behaving as `behaviour` says.
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port for the faulty SMTP server");
        let port = listener.local_addr().expect("a bound address").port();
        let shared = Arc::new(Shared {
            behaviour: Mutex::new(behaviour),
            mails: Mutex::default(),
            accepted: AtomicUsize::new(0),
            epoch: watch::Sender::new(Epoch::default()),
        });
        let server = Self { port, shared, acceptor: tokio::sync::Mutex::new(None) };
        server.open(listener).await;
        if behaviour == Behaviour::Refuse {
            server.close().await;
        }
        server
    }

    /// `smtp://127.0.0.1:<port>`, for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Behaves as `behaviour` says from now on. `Refuse` closes the port and cuts the open
    /// connections; any other behaviour opens the port again.
    pub async fn set(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().unwrap_or_else(PoisonError::into_inner) = behaviour;
        if behaviour == Behaviour::Refuse {
            self.close().await;
            self.sever();
        } else if self.acceptor.lock().await.is_none() {
            let listener = TcpListener::bind(("127.0.0.1", self.port))
                .await
                .unwrap_or_else(|error| panic!("the faulty SMTP server cannot listen on {} again: {error}", self.port));
            self.open(listener).await;
        }
    }

    /// Closes every open connection from the server's side, as a relay's idle timeout does.
    pub fn sever(&self) {
        self.shared.epoch.send_modify(|epoch| epoch.severed += 1);
    }

    /// Makes every open connection deaf: it takes what the client sends and never answers,
    /// as a connection a NAT gateway forgot does. New connections are not affected.
    pub fn silence(&self) {
        self.shared.epoch.send_modify(|epoch| epoch.silenced += 1);
    }

    /// Connections accepted so far (reset ones included).
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Every mail kept so far, in order.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.shared.mails.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The mails kept so far for `to`.
    pub fn mails_to(&self, to: &str) -> Vec<ReceivedMail> {
        self.mails().into_iter().filter(|mail| mail.to.iter().any(|rcpt| rcpt.eq_ignore_ascii_case(to))).collect()
    }

    /// Waits until `count` mails for `to` were kept; panics after `patience`.
    pub async fn wait_for_count(&self, to: &str, count: usize, patience: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + patience;
        loop {
            let mails = self.mails_to(to);
            if mails.len() >= count {
                return mails;
            }
            assert!(Instant::now() < deadline, "{count} mails for {to} never arrived: {} did", mails.len());
            tokio::time::sleep(POLL).await;
        }
    }

    async fn open(&self, listener: TcpListener) {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept(listener, self.shared.clone(), stopped));
        *self.acceptor.lock().await = Some(Acceptor { stop, task });
    }

    /// Stops accepting and waits until the listener is closed, so the port refuses at once
    /// and can be bound again.
    async fn close(&self) {
        if let Some(Acceptor { stop, task }) = self.acceptor.lock().await.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
    }
}

/// Accepts connections until `stopped`, serving each on a task of its own.
async fn accept(listener: TcpListener, shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    shared.accepted.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(serve(stream, shared.clone()));
                }
            }
        }
    }
}

/// One connection, from greeting to close.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let mut epoch = shared.epoch.subscribe();
    let born = *epoch.borrow_and_update();
    match shared.behaviour() {
        Behaviour::Refuse | Behaviour::Reset => {
            // SO_LINGER 0: closing sends RST instead of FIN.
            let _ = stream.set_zero_linger();
            return;
        }
        Behaviour::Stall => return stall(stream, epoch, born).await,
        _ => {}
    }
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut envelope: (String, Vec<String>) = (String::new(), Vec::new());
    if !say(&mut write, "220 faults.test ESMTP\r\n").await {
        return;
    }
    loop {
        let Some(line) = next_line(&mut lines, &mut epoch, born).await else { return };
        let deaf = epoch.borrow().silenced > born.silenced;
        let behaviour = shared.behaviour();
        match behaviour {
            _ if deaf => continue,
            Behaviour::Stall => continue,
            Behaviour::Refuse | Behaviour::Reset => return,
            _ => {}
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" => "250-faults.test\r\n250 8BITMIME\r\n",
            "HELO" => "250 faults.test\r\n",
            "MAIL" if behaviour == Behaviour::TempFail => "451 4.3.0 Try again later\r\n",
            "MAIL" => {
                envelope = (address_in(&line), Vec::new());
                "250 2.1.0 OK\r\n"
            }
            "RCPT" => {
                envelope.1.push(address_in(&line));
                "250 2.1.5 OK\r\n"
            }
            "DATA" => {
                if !say(&mut write, "354 End data with <CR><LF>.<CR><LF>\r\n").await {
                    return;
                }
                let Some(raw) = message(&mut lines, &mut epoch, born).await else { return };
                let mail = received(envelope.0.clone(), std::mem::take(&mut envelope.1), raw);
                match shared.behaviour() {
                    _ if epoch.borrow().silenced > born.silenced => continue,
                    Behaviour::Stall => continue,
                    Behaviour::DropAfterData | Behaviour::Refuse | Behaviour::Reset => return,
                    Behaviour::KeepThenDropAfterData => {
                        shared.keep(mail);
                        return;
                    }
                    Behaviour::PermFail => "554 5.7.1 Message refused\r\n",
                    Behaviour::AcceptSlowly(delay) => {
                        shared.keep(mail);
                        tokio::time::sleep(delay).await;
                        "250 2.0.0 OK queued\r\n"
                    }
                    Behaviour::Behave | Behaviour::TempFail => {
                        // Kept before the 250 goes out: once the client knows, the test sees it.
                        shared.keep(mail);
                        "250 2.0.0 OK queued\r\n"
                    }
                }
            }
            "NOOP" => "250 2.0.0 OK\r\n",
            "RSET" => {
                envelope = (String::new(), Vec::new());
                "250 2.0.0 OK\r\n"
            }
            "QUIT" => {
                say(&mut write, "221 2.0.0 Bye\r\n").await;
                return;
            }
            _ => "500 5.5.1 Unknown command\r\n",
        };
        if !say(&mut write, answer).await {
            return;
        }
    }
}

/// Holds an accepted connection without a word until the client gives up or it is severed.
async fn stall(mut stream: TcpStream, mut epoch: watch::Receiver<Epoch>, born: Epoch) {
    let mut buffer = [0u8; 1024];
    loop {
        tokio::select! {
            read = stream.read(&mut buffer) => {
                if !matches!(read, Ok(n) if n > 0) {
                    return;
                }
            }
            () = severed(&mut epoch, born) => return,
        }
    }
}

/// The next line from the client; `None` when it closed or the connection was severed.
async fn next_line(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    epoch: &mut watch::Receiver<Epoch>,
    born: Epoch,
) -> Option<String> {
    let mut line = String::new();
    tokio::select! {
        // The select only ever abandons a read when the connection is closing anyway.
        read = lines.read_line(&mut line) => matches!(read, Ok(n) if n > 0).then_some(line),
        () = severed(epoch, born) => None,
    }
}

/// The message after `DATA`, up to the lone `.` line, dot-unstuffed.
async fn message(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    epoch: &mut watch::Receiver<Epoch>,
    born: Epoch,
) -> Option<String> {
    let mut raw = String::new();
    loop {
        let line = next_line(lines, epoch, born).await?;
        if line == ".\r\n" {
            return Some(raw);
        }
        raw.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

/// Completes once the connection accepted at `born` is severed; never otherwise.
async fn severed(epoch: &mut watch::Receiver<Epoch>, born: Epoch) {
    loop {
        if epoch.borrow_and_update().severed > born.severed {
            return;
        }
        if epoch.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Writes `text`; false when the client is gone.
async fn say(write: &mut OwnedWriteHalf, text: &str) -> bool {
    write.write_all(text.as_bytes()).await.is_ok()
}

/// The address between `<` and `>` in `MAIL FROM:<…>` or `RCPT TO:<…>`.
fn address_in(line: &str) -> String {
    line.split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_string())
        .unwrap_or_default()
}
