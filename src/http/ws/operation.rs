//! One websocket operation (`subscribe` / `start`): the request pipeline
//! (pipeline.rs) with websocket framing. The principal is read afresh from
//! the bearer token kept since connection_init, for every operation.

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Request as GqlRequest};
use axum::extract::ws::Message;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{close, frame, text, Proto, Subs, MAX_SUBSCRIPTIONS};
use crate::error::AppError;
use crate::graphql::subscription::SessionExpiry;
use crate::http::pipeline;
use crate::http::AppState;

/// The `Authorization` value of connection_init, kept to authenticate each
/// operation afresh. Never printed: its Debug is `***`.
pub(super) struct Credential(secrecy::SecretString);

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Credential {
    pub(super) fn new(authorization: &str) -> Self {
        Credential(authorization.to_string().into())
    }

    fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
}

/// What an acknowledged socket knows about its client.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) credential: Credential,
    pub(super) peer: SocketAddr,
}

/// Errors for one operation that ran nothing: an `error` frame
/// (graphql-transport-ws), or a `data` frame with the errors and then
/// `complete` (legacy), as a request error of the engine is sent.
fn refused(proto: Proto, id: &str, errors: &Value) -> Vec<Message> {
    match proto {
        Proto::TransportWs => vec![frame("error", id, errors)],
        Proto::Legacy => vec![
            frame("data", id, &json!({ "errors": errors })),
            text(json!({"type": "complete", "id": id})),
        ],
    }
}

async fn send_all(out: &mpsc::Sender<Message>, msgs: Vec<Message>) -> bool {
    for m in msgs {
        if out.send(m).await.is_err() {
            return false;
        }
    }
    true
}

/// One operation, in its own task (so operations of one socket run side by
/// side, and a `complete` from the client aborts one, rolling back what it
/// had open): the pipeline's authentication and admission checks, then the
/// execution.
pub(super) async fn start(
    id: String,
    req: GqlRequest,
    proto: Proto,
    state: &AppState,
    session: &Arc<Session>,
    out: &mpsc::Sender<Message>,
    subs: &Subs,
) -> bool {
    // Locked across the checks, the spawn and the insert, so a task that
    // ends at once cannot remove its entry before it is there.
    let mut s = subs.lock();
    if s.contains_key(&id) {
        drop(s);
        let _ = out.try_send(close(4409, &format!("Subscriber for {id} already exists")));
        return false;
    }
    if s.len() >= MAX_SUBSCRIPTIONS {
        drop(s);
        let err = json!([{"message": format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection"), "extensions": {"code": "QUERY_TOO_COMPLEX"}}]);
        let _ = out.try_send(text(json!({"type": "error", "id": id, "payload": err})));
        return true;
    }
    let (state, session, out, subs2, id2) = (
        state.clone(),
        session.clone(),
        out.clone(),
        subs.clone(),
        id.clone(),
    );
    let task = tokio::spawn(async move {
        let complete = operation(&id2, req, proto, &state, &session, &out).await;
        // Only our own entry: after a `complete` the client may already
        // have started another operation under the same id (red team).
        {
            let me = tokio::task::id();
            let mut s = subs2.lock();
            if s.get(&id2).is_some_and(|h| h.id() == me) {
                s.remove(&id2);
            }
        }
        if complete {
            let _ = out.send(text(json!({"type": "complete", "id": id2}))).await;
        }
    });
    s.insert(id, task.abort_handle());
    true
}

/// The pipeline for one websocket operation; true when `complete` should
/// follow what it sent.
async fn operation(
    id: &str,
    mut req: GqlRequest,
    proto: Proto,
    state: &AppState,
    session: &Session,
    out: &mpsc::Sender<Message>,
) -> bool {
    // Correlates an INTERNAL error of this operation with the log.
    let request_id = uuid::Uuid::now_v7().to_string();
    let (caller, expires) = match pipeline::authenticate(state, Some(session.credential.expose()))
        .await
    {
        Ok((c, e)) if !c.principal.is_anonymous() => (c, e),
        Ok(_) | Err(AppError::Unauthenticated) => {
            // Expired, or the account / service account is gone: the
            // socket ends (the reader stops once the writer has closed).
            let _ = out.send(close(4403, "Forbidden")).await;
            return false;
        }
        Err(e) => {
            e.log(&request_id);
            let errors = json!([{"message": "internal error", "extensions": {"code": "INTERNAL", "requestId": request_id}}]);
            send_all(out, refused(proto, id, &errors)).await;
            return false;
        }
    };
    if let Err(r) = pipeline::admit(state, &caller.principal, session.peer, &mut [&mut req]) {
        send_all(out, refused(proto, id, &r.errors(&request_id))).await;
        return false;
    }
    if pipeline::operation_type(&mut req) == Some(OperationType::Subscription) {
        if let Some(e) = expires {
            req = req.data(SessionExpiry(e));
        }
        stream(state, caller, req, proto, id, &request_id, out).await
    } else {
        once(state, caller, req, proto, id, &request_id, out).await
    }
}

/// A query or mutation: executed by the pipeline (timeout, codes, metrics,
/// usage) and sent as one `next` / `data` frame, or as an `error` frame
/// when nothing ran. True when `complete` should follow.
async fn once(
    state: &AppState,
    caller: crate::domain::Caller,
    req: GqlRequest,
    proto: Proto,
    id: &str,
    request_id: &str,
    out: &mpsc::Sender<Message>,
) -> bool {
    let resp = match pipeline::execute(state, caller, BatchRequest::Single(req), request_id).await {
        Ok(BatchResponse::Single(r)) => r,
        Ok(BatchResponse::Batch(rs)) => rs.into_iter().next().unwrap_or_default(),
        Err(r) => {
            let mut msgs = refused(proto, id, &r.errors(request_id));
            msgs.truncate(1);
            return send_all(out, msgs).await && proto == Proto::Legacy;
        }
    };
    let request_error = resp.data == async_graphql::Value::Null && !resp.errors.is_empty();
    let msg = if request_error && proto == Proto::TransportWs {
        frame("error", id, &resp.errors)
    } else {
        frame(proto.next(), id, &resp)
    };
    out.send(msg).await.is_ok() && !(request_error && proto == Proto::TransportWs)
}

/// A subscription: its events until it ends. Each answer gets the
/// pipeline's error codes; the first one is counted on /metrics (and
/// usage counted once, at the start). True when `complete` should follow.
async fn stream(
    state: &AppState,
    caller: crate::domain::Caller,
    req: GqlRequest,
    proto: Proto,
    id: &str,
    request_id: &str,
    out: &mpsc::Sender<Message>,
) -> bool {
    let label = pipeline::label(state, caller.principal.is_anonymous(), &req);
    pipeline::count_usage(state, &caller.principal, 1);
    let mut s = state.schema.execute_stream(req.data(caller));
    let mut label = Some(label);
    while let Some(mut resp) = s.next().await {
        let outcome = pipeline::post_process(&mut resp, request_id);
        let first = label.is_some();
        if let Some(l) = label.take() {
            pipeline::record(state, l, outcome);
        }
        let request_error =
            first && resp.data == async_graphql::Value::Null && !resp.errors.is_empty();
        // Serialized straight to text (not through a serde_json::Value):
        // with thousands of subscribers this runs once per subscriber
        // for every event.
        let msg = if request_error && proto == Proto::TransportWs {
            frame("error", id, &resp.errors)
        } else {
            frame(proto.next(), id, &resp)
        };
        if out.send(msg).await.is_err() {
            return false;
        }
        if request_error {
            return proto == Proto::Legacy;
        }
    }
    if let Some(l) = label {
        pipeline::record(state, l, "ok");
    }
    true
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_session_never_prints_its_bearer_token() {
        let s = super::Session {
            credential: super::Credential::new("Bearer eyJhbGciOi.secret.sig"),
            peer: "127.0.0.1:1".parse().unwrap(),
        };
        let printed = format!("{s:?} {:?}", s.credential);
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("***"), "{printed}");
    }
}
