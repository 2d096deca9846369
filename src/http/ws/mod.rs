//! GraphQL over websocket, both subprotocols, written here because the
//! library's server uses other close codes and has no init timeout:
//!
//! * `graphql-transport-ws` (the graphql-ws library): close 4400 bad
//!   message, 4401 subscribe before ack, 4403 init refused, 4408 init
//!   timeout, 4409 duplicate id, 4429 second init, 1009 message too big.
//! * legacy `graphql-ws` (subscriptions-transport-ws): connection_error then
//!   close 4403 on a refused init; `ka` keep-alives.
//!
//! Every operation (`subscribe` / `start`) goes through the same pipeline
//! as an HTTP request (pipeline.rs): the principal is read afresh from the
//! bearer token kept since connection_init (an expired JWT or a deleted
//! account or service account closes the socket with 4403), with a fresh
//! `Caller`; then the rate limit, NUL check, alias cap, usage counting,
//! timeout (queries and mutations), error codes and metrics.
//!
//! Outgoing messages go through a bounded queue: a client that does not
//! read stalls only its own subscriptions, which then fall behind the event
//! bus and are told so and ended (see graphql/subscription.rs).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Request as GqlRequest;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::domain::authn::authenticate_session;
use crate::error::AppError;
use crate::http::AppState;
use operation::{start, Credential, Session};

mod operation;

pub const MAX_MESSAGE: usize = 64 * 1024;
pub const MAX_SUBSCRIPTIONS: usize = 100;
/// Frames written per flush at most.
const WRITE_BATCH: usize = 64;
/// Frames queued per socket: room for one event on every subscription of a
/// full socket twice over, so an event's burst does not park its senders.
const OUT_QUEUE: usize = 2 * MAX_SUBSCRIPTIONS + 16;
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Proto {
    TransportWs,
    Legacy,
}

impl Proto {
    fn next(self) -> &'static str {
        match self {
            Proto::TransportWs => "next",
            Proto::Legacy => "data",
        }
    }
}

/// Browsers always send Origin on websockets: allow the server's own origin
/// and the configured CORS origins, refuse others (cross-site websocket
/// hijacking). Non-browser clients send none.
fn origin_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let same = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        == Some(host);
    same || origin == state.services.config.public_url()
        || state
            .services
            .config
            .cors_origins
            .iter()
            .any(|o| o.trim() == origin)
}

pub async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&state, &headers) {
        return (axum::http::StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    let offered = headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let proto = if offered
        .split(',')
        .any(|p| p.trim() == "graphql-transport-ws")
        || offered.is_empty()
    {
        Proto::TransportWs
    } else {
        Proto::Legacy
    };
    ws.protocols(["graphql-transport-ws", "graphql-ws"])
        .max_message_size(4 * MAX_MESSAGE)
        .on_upgrade(move |socket| run(socket, state, proto, peer))
}

fn text(v: Value) -> Message {
    Message::Text(v.to_string().into())
}

/// `{"type": …, "id": …, "payload": …}` as a text frame.
fn frame<P: serde::Serialize>(kind: &str, id: &str, payload: &P) -> Message {
    #[derive(serde::Serialize)]
    struct Frame<'a, P> {
        #[serde(rename = "type")]
        kind: &'a str,
        id: &'a str,
        payload: &'a P,
    }
    let body = serde_json::to_string(&Frame { kind, id, payload })
        .unwrap_or_else(|_| r#"{"type":"error"}"#.to_string());
    Message::Text(body.into())
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.to_string().into(),
    }))
}

type Subs = Arc<Mutex<HashMap<String, tokio::task::AbortHandle>>>;

async fn run(socket: WebSocket, state: AppState, proto: Proto, peer: SocketAddr) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut out_rx) = mpsc::channel::<Message>(OUT_QUEUE);
    let writer = tokio::spawn(async move {
        // Frames already queued go out in one flush (one write instead of one
        // per frame): an event fanned out to this socket's subscriptions
        // arrives as a burst.
        'write: while let Some(first) = out_rx.recv().await {
            let mut next = Some(first);
            let mut fed = 0;
            while let Some(m) = next.take() {
                let closing = matches!(m, Message::Close(_));
                if sink.feed(m).await.is_err() || closing {
                    let _ = sink.flush().await;
                    break 'write;
                }
                fed += 1;
                if fed < WRITE_BATCH {
                    next = out_rx.try_recv().ok();
                }
            }
            if sink.flush().await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let subs: Subs = Default::default();
    if let Some(session) = handshake(&mut stream, &out, &state, proto, peer).await {
        let session = Arc::new(session);
        let keepalive = (proto == Proto::Legacy).then(|| {
            let out = out.clone();
            tokio::spawn(async move {
                let mut t = tokio::time::interval(Duration::from_secs(20));
                loop {
                    t.tick().await;
                    if out.send(text(json!({"type": "ka"}))).await.is_err() {
                        break;
                    }
                }
            })
        });
        loop {
            // Also stop reading once the writer is gone (it closed the socket).
            let msg = tokio::select! {
                m = stream.next() => m,
                _ = out.closed() => break,
            };
            let Some(Ok(msg)) = msg else { break };
            let Some(raw) = incoming(msg, &out).await else {
                break;
            };
            if !handle(&raw, proto, &state, &session, &out, &subs).await {
                break;
            }
        }
        if let Some(k) = keepalive {
            k.abort();
        }
    }
    for (_, h) in subs.lock().drain() {
        h.abort();
    }
    drop(out);
    let _ = writer.await;
}

/// The text of a message; None when the connection is over (or too big).
async fn incoming(msg: Message, out: &mpsc::Sender<Message>) -> Option<String> {
    match msg {
        Message::Text(t) if t.len() > MAX_MESSAGE => {
            let _ = out.send(close(1009, "message too big")).await;
            None
        }
        Message::Text(t) => Some(t.to_string()),
        Message::Binary(_) => {
            let _ = out
                .send(close(4400, "binary messages are not supported"))
                .await;
            None
        }
        Message::Close(_) => None,
        Message::Ping(_) | Message::Pong(_) => Some(String::new()),
    }
}

/// Wait for connection_init (with a timeout), authenticate, acknowledge.
async fn handshake(
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
    out: &mpsc::Sender<Message>,
    state: &AppState,
    proto: Proto,
    peer: SocketAddr,
) -> Option<Session> {
    let first = tokio::time::timeout(INIT_TIMEOUT, async {
        loop {
            match stream.next().await {
                Some(Ok(m)) => match incoming(m, out).await {
                    Some(t) if t.is_empty() => continue,
                    other => return other,
                },
                _ => return None,
            }
        }
    })
    .await;
    let raw = match first {
        Err(_) => {
            let _ = out
                .send(close(4408, "Connection initialisation timeout"))
                .await;
            return None;
        }
        Ok(None) => return None,
        Ok(Some(raw)) => raw,
    };
    let msg: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
    match msg["type"].as_str() {
        Some("connection_init") => {}
        Some("subscribe") | Some("start") => {
            let _ = out.send(close(4401, "Unauthorized")).await;
            return None;
        }
        _ => {
            let _ = out.send(close(4400, "expected connection_init")).await;
            return None;
        }
    }
    let payload = &msg["payload"];
    let auth = payload["Authorization"]
        .as_str()
        .or_else(|| payload["authorization"].as_str());
    let accepted = match auth {
        Some(a) => match authenticate_session(&state.services, Some(a)).await {
            Ok((p, _)) => !p.is_anonymous(),
            Err(AppError::Unauthenticated) => false,
            // Refused like a bad credential; logged with an id of its own.
            Err(e) => {
                e.log(&uuid::Uuid::now_v7().to_string());
                false
            }
        },
        None => false,
    };
    let (true, Some(auth)) = (accepted, auth) else {
        if proto == Proto::Legacy {
            let _ = out
                .send(text(
                    json!({"type": "connection_error", "payload": {"message": "Forbidden"}}),
                ))
                .await;
        }
        let _ = out.send(close(4403, "Forbidden")).await;
        return None;
    };
    let session = Session {
        credential: Credential::new(auth),
        peer,
    };
    let _ = out.send(text(json!({"type": "connection_ack"}))).await;
    if proto == Proto::Legacy {
        let _ = out.send(text(json!({"type": "ka"}))).await;
    }
    Some(session)
}

/// One client message after the handshake; false ends the connection.
async fn handle(
    raw: &str,
    proto: Proto,
    state: &AppState,
    session: &Arc<Session>,
    out: &mpsc::Sender<Message>,
    subs: &Subs,
) -> bool {
    if raw.is_empty() {
        return true;
    }
    let Ok(msg) = serde_json::from_str::<Value>(raw) else {
        let _ = out.send(close(4400, "invalid message")).await;
        return false;
    };
    let id = msg["id"].as_str().map(str::to_string);
    match (msg["type"].as_str(), id) {
        (Some("connection_init"), _) => {
            let _ = out
                .send(close(4429, "Too many initialisation requests"))
                .await;
            false
        }
        (Some("ping"), _) if proto == Proto::TransportWs => {
            let _ = out.send(text(json!({"type": "pong"}))).await;
            true
        }
        (Some("pong"), _) => true,
        (Some("subscribe"), Some(id)) | (Some("start"), Some(id)) => {
            let Ok(req) = serde_json::from_value::<GqlRequest>(msg["payload"].clone()) else {
                let _ = out.send(close(4400, "invalid subscribe payload")).await;
                return false;
            };
            start(id, req, proto, state, session, out, subs).await
        }
        (Some("complete"), Some(id)) | (Some("stop"), Some(id)) => {
            if let Some(h) = subs.lock().remove(&id) {
                h.abort();
                if proto == Proto::Legacy {
                    let _ = out.try_send(text(json!({"type": "complete", "id": id})));
                }
            }
            true
        }
        (Some("connection_terminate"), _) => false,
        _ => {
            let _ = out.send(close(4400, "invalid message")).await;
            false
        }
    }
}
