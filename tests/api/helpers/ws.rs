//! A minimal GraphQL websocket client over tokio-tungstenite.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Debug, PartialEq)]
pub enum Got {
    Msg(Value),
    Closed(u16),
    Nothing,
}

pub struct Client {
    pub socket: Socket,
    pub legacy: bool,
}

impl Client {
    pub async fn connect(base: &str, legacy: bool) -> Client {
        let url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
        let mut req = url.into_client_request().unwrap();
        let proto = if legacy {
            "graphql-ws"
        } else {
            "graphql-transport-ws"
        };
        req.headers_mut()
            .insert("sec-websocket-protocol", proto.parse().unwrap());
        let (socket, res) = tokio_tungstenite::connect_async(req)
            .await
            .expect("websocket connect");
        assert_eq!(res.headers()["sec-websocket-protocol"], proto);
        Client { socket, legacy }
    }

    pub async fn send(&mut self, v: Value) {
        self.socket
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    /// The next message (skipping keep-alives), a close code, or nothing within `secs`.
    pub async fn recv(&mut self, secs: u64) -> Got {
        loop {
            match tokio::time::timeout(Duration::from_secs(secs), self.socket.next()).await {
                Err(_) => return Got::Nothing,
                Ok(None) | Ok(Some(Err(_))) => return Got::Closed(0),
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "ka" || v["type"] == "ping" || v["type"] == "pong" {
                        continue;
                    }
                    return Got::Msg(v);
                }
                Ok(Some(Ok(Message::Close(f)))) => {
                    return Got::Closed(f.map(|f| u16::from(f.code)).unwrap_or(0))
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    pub async fn init(&mut self, token: Option<&str>) -> Got {
        let payload = match token {
            Some(t) => json!({"Authorization": format!("Bearer {t}")}),
            None => json!({}),
        };
        self.send(json!({"type": "connection_init", "payload": payload}))
            .await;
        self.recv(5).await
    }

    /// Connect, init and expect an ack.
    pub async fn ready(base: &str, legacy: bool, token: &str) -> Client {
        let mut c = Client::connect(base, legacy).await;
        match c.init(Some(token)).await {
            Got::Msg(m) if m["type"] == "connection_ack" => c,
            other => panic!("no ack: {other:?}"),
        }
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let ty = if self.legacy { "start" } else { "subscribe" };
        self.send(
            json!({"type": ty, "id": id, "payload": {"query": query, "variables": variables}}),
        )
        .await;
    }

    /// The next data payload for a subscription (next / data).
    pub async fn next_data(&mut self, secs: u64) -> Option<Value> {
        match self.recv(secs).await {
            Got::Msg(m) if m["type"] == "next" || m["type"] == "data" => Some(m["payload"].clone()),
            _ => None,
        }
    }
}
