//! A small SMTP server for tests: listens on loopback, speaks enough SMTP
//! for lettre (EHLO/HELO, MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT), and
//! keeps what it received. It can be stopped and started again on the same
//! port to play an outage.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

#[derive(Clone, Debug)]
pub struct Received {
    pub rcpt: Vec<String>,
    pub raw: String,
}

impl Received {
    /// Unfolded header lines (name, value).
    fn headers(&self) -> Vec<(String, String)> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or("");
        let mut out: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = out.last_mut() {
                    last.1.push_str(line);
                }
            } else if let Some((k, v)) = line.split_once(':') {
                out.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        out
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers()
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn to(&self) -> String {
        self.header("To").unwrap_or_default()
    }
    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }
    pub fn kind(&self) -> String {
        self.header("X-Orgraph-Kind").unwrap_or_default()
    }

    /// The body, with quoted-printable undone when the mail used it.
    pub fn body(&self) -> String {
        let body = self
            .raw
            .split_once("\r\n\r\n")
            .map(|x| x.1)
            .unwrap_or("")
            .to_string();
        let qp = self
            .header("Content-Transfer-Encoding")
            .map(|v| v.eq_ignore_ascii_case("quoted-printable"))
            .unwrap_or(false);
        let body = if qp { decode_qp(&body) } else { body };
        body.replace("\r\n", "\n")
    }

    /// The first body line that starts with `prefix` (a link or a secret
    /// stands on a line of its own).
    pub fn line_starting(&self, prefix: &str) -> Option<String> {
        self.body()
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(str::to_string)
    }
}

fn decode_qp(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Shared {
    mails: Mutex<Vec<Received>>,
    arrived: Notify,
}

pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        // A port `restart` can have back: see process::free_port.
        let listener = TcpListener::bind(("127.0.0.1", super::process::free_port()))
            .await
            .expect("bind sink");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            mails: Mutex::new(Vec::new()),
            arrived: Notify::new(),
        });
        let sink = SmtpSink {
            port,
            shared,
            task: Mutex::new(None),
        };
        sink.serve(listener);
        sink
    }

    fn serve(&self, listener: TcpListener) {
        let shared = self.shared.clone();
        let task = tokio::spawn(async move {
            // Connections live in this set: aborting the task drops them all.
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    Ok((stream, _)) = listener.accept() => {
                        conns.spawn(session(stream, shared.clone()));
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        *self.task.lock() = Some(task);
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Close the port and every open connection.
    pub async fn stop(&self) {
        let task = self.task.lock().take();
        if let Some(t) = task {
            t.abort();
            let _ = t.await;
        }
    }

    /// Listen again on the same port.
    pub async fn restart(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("re-bind sink port");
        self.serve(listener);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.mails.lock().clone()
    }

    /// Mails addressed to `to`.
    pub fn to(&self, to: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.rcpt.iter().any(|r| r == to))
            .collect()
    }

    /// Wait (at most 20 s) until at least `n` mails arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let notified = self.shared.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} mails, got {}", self.received().len());
            }
        }
    }

    /// Wait until a mail to `to` with kind `kind` arrived and return the latest.
    pub async fn wait_mail(&self, to: &str, kind: &str, count: usize) -> Received {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let notified = self.shared.arrived.notified();
            let got: Vec<Received> = self
                .to(to)
                .into_iter()
                .filter(|m| m.kind() == kind)
                .collect();
            if got.len() >= count {
                return got.last().cloned().unwrap();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no {kind} mail #{count} to {to}; got {:?}", self.received());
            }
        }
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    if w.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let mut rcpt = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 ok\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            rcpt.clear();
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            let addr = cmd[8..]
                .trim()
                .trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or("")
                .to_string();
            rcpt.push(addr);
            b"250 ok\r\n"
        } else if upper == "RSET" {
            rcpt.clear();
            b"250 ok\r\n"
        } else if upper == "DATA" {
            if w.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut raw = String::new();
            loop {
                line.clear();
                match r.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                raw.push_str(l);
            }
            shared.mails.lock().push(Received {
                rcpt: std::mem::take(&mut rcpt),
                raw,
            });
            shared.arrived.notify_waiters();
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = w.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 not implemented\r\n"
        };
        if w.write_all(reply).await.is_err() {
            return;
        }
    }
}
