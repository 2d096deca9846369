//! Subscription fan-out benchmark (issue 5). Starts the release server on
//! SQLite, opens 1,000 then 10,000 concurrent `seatChanges` subscriptions
//! (100 per websocket, the per-socket cap), makes 100 seat changes and prints
//! the commit-to-receipt latency (p50/p99), events lost and the server's
//! peak RSS. Run: `cargo bench --bench subscriptions [-- 1000 10000]`.
//! A figure printer, not a test: it asserts nothing about timing.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const CHANGES: usize = 100;
const PER_SOCKET: usize = 100;

fn peak_rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// A `/proc/<pid>/status` figure in KiB (VmHWM: peak, VmRSS: now).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0)
}

async fn gql(http: &reqwest::Client, base: &str, jwt: &str, q: &str, v: Value) -> Value {
    let r: Value = http
        .post(format!("{base}/graphql"))
        .bearer_auth(jwt)
        .json(&json!({"query": q, "variables": v}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["errors"].is_null(), "{r}");
    r["data"].clone()
}

async fn run(subscribers: usize) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin = env!("CARGO_BIN_EXE_orgraph");
    let env = |c: &mut Command| {
        c.env("ORGRAPH_DATA_DIR", dir.path())
            .env("RUST_LOG", "warn");
    };
    let mut c = Command::new(bin);
    env(&mut c);
    assert!(c
        .args([
            "create-admin",
            "--email",
            "b@example.com",
            "--password",
            "bench password 1"
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success());
    let mut c = Command::new(bin);
    env(&mut c);
    let mut server = c
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    while http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tok: Value = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "b@example.com"),
            ("password", "bench password 1"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = tok["access_token"].as_str().unwrap().to_string();
    let d = gql(&http, &base, &jwt, "mutation { createOrganization(input: {handle: \"bench\", name: \"Bench\"}) { organization { id } } }", json!({})).await;
    let org = d["createOrganization"]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = gql(
        &http,
        &base,
        &jwt,
        "mutation($o: ID!) { createUser(input: {organization: $o}) { account { id } } }",
        json!({"o": org}),
    )
    .await;
    let member = d["createUser"]["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let received = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<f64>::with_capacity(subscribers * CHANGES)));
    let sockets = subscribers.div_ceil(PER_SOCKET);
    let mut tasks = Vec::new();
    let ready = Arc::new(AtomicU64::new(0));
    for s in 0..sockets {
        let (base, jwt, org) = (base.clone(), jwt.clone(), org.clone());
        let (received, latencies, ready) = (received.clone(), latencies.clone(), ready.clone());
        let n = PER_SOCKET.min(subscribers - s * PER_SOCKET);
        tasks.push(tokio::spawn(async move {
            let mut req = format!("{}/graphql/ws", base.replace("http", "ws")).into_client_request().unwrap();
            req.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
            ws.send(Message::Text(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {jwt}")}}).to_string().into())).await.unwrap();
            ws.next().await.unwrap().unwrap();
            for i in 0..n {
                let m = json!({"type": "subscribe", "id": format!("s{i}"), "payload": {"query": "subscription($o: ID!) { seatChanges(organization: $o) { kind used occurredAt } }", "variables": {"o": org}}});
                ws.send(Message::Text(m.to_string().into())).await.unwrap();
            }
            ready.fetch_add(1, Ordering::SeqCst);
            let mut mine = 0;
            while mine < n * CHANGES {
                let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(Duration::from_secs(30), ws.next()).await else { break };
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] != "next" {
                    continue;
                }
                let at = v["payload"]["data"]["seatChanges"]["occurredAt"].as_str().unwrap();
                let at = chrono::DateTime::parse_from_rfc3339(at).unwrap().with_timezone(&chrono::Utc);
                let lat = (chrono::Utc::now() - at).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                latencies.lock().push(lat);
                received.fetch_add(1, Ordering::SeqCst);
                mine += 1;
            }
        }));
    }
    while ready.load(Ordering::SeqCst) < sockets as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the last subscribe messages be processed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Memory held by the idle subscriptions, before any event flows.
    let idle_rss = status_kib(server.id(), "VmRSS:");
    let started = Instant::now();
    for i in 0..CHANGES {
        let q = if i % 2 == 0 {
            "assignSeats"
        } else {
            "revokeSeats"
        };
        let m = format!("mutation($o: ID!, $a: ID!) {{ {q}(input: {{organization: $o, accounts: [$a]}}) {{ seats {{ used }} }} }}");
        gql(&http, &base, &jwt, &m, json!({"o": org, "a": member})).await;
    }
    let changes_took = started.elapsed();
    for t in tasks {
        let _ = t.await;
    }
    let rss = peak_rss_kib(server.id());
    let _ = server.kill();
    let _ = server.wait();
    let mut l = latencies.lock().clone();
    l.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let expected = (subscribers * CHANGES) as u64;
    let got = received.load(Ordering::SeqCst);
    println!(
        "subscribers={subscribers:>6} sockets={sockets:>4} changes={CHANGES} delivered={got}/{expected} lost={} p50={:.1}ms p99={:.1}ms max={:.1}ms changes_took={:.2}s server_idle_rss={:.1}MiB server_peak_rss={:.1}MiB",
        expected - got,
        pct(0.50),
        pct(0.99),
        l.last().copied().unwrap_or(f64::NAN),
        changes_took.as_secs_f64(),
        idle_rss as f64 / 1024.0,
        rss as f64 / 1024.0
    );
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if args.is_empty() {
        vec![1_000, 10_000]
    } else {
        args
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for n in sizes {
        rt.block_on(run(n));
    }
}
