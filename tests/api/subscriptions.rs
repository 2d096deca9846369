//! seatChanges over a real websocket, both subprotocols.

use serde_json::{json, Value};

const SUB: &str = "subscription($o: ID!) { seatChanges(organization: $o) { kind used limit account { id } organization { handle } occurredAt } }";
const PURCHASE: &str = "mutation($i: PurchaseSeatsInput!) { purchaseSeats(input: $i) { organization { plan { seatLimit } } } }";

async fn events_flow(legacy: bool) {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let mut c = Client::ready(&app.base, legacy, &w.billing).await;
    c.subscribe("s1", SUB, json!({"o": w.org_id})).await;
    // Give the subscription a moment to register before the first change.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await
        .expect_data();
    let e = c.next_data(5).await.expect("ASSIGNED event");
    let e = &e["data"]["seatChanges"];
    assert_eq!(e["kind"], "ASSIGNED");
    assert_eq!(
        (e["used"].as_i64(), e["limit"].as_i64()),
        (Some(1), Some(5))
    );
    assert_eq!(e["account"]["id"], w.member_id.as_str());
    assert_eq!(e["organization"]["handle"], "acme");
    app.gql(
        Some(&w.admin),
        REVOKE_SEATS,
        json!({"i": {"organization": w.org_id, "accounts": [w.member_id]}}),
    )
    .await
    .expect_data();
    let e = c.next_data(5).await.expect("REVOKED event");
    assert_eq!(e["data"]["seatChanges"]["kind"], "REVOKED");
    assert_eq!(e["data"]["seatChanges"]["used"], 0);
    app.expect_data(
        Some(&w.billing),
        PURCHASE,
        json!({"i": {"organization": w.org_id, "quantity": 3}}),
    )
    .await;
    let e = c.next_data(5).await.expect("LIMIT_CHANGED event");
    assert_eq!(e["data"]["seatChanges"]["kind"], "LIMIT_CHANGED");
    assert_eq!(e["data"]["seatChanges"]["limit"], 8);
    assert_eq!(e["data"]["seatChanges"]["account"], Value::Null);
    // Another organization's changes are not delivered.
    app.assign(
        &w.outsider,
        &w.other_org_id,
        std::slice::from_ref(&w.outsider_id),
    )
    .await
    .expect_data();
    assert_eq!(c.next_data(1).await, None);
}

#[tokio::test]
async fn seat_events_over_graphql_transport_ws() {
    events_flow(false).await;
}

#[tokio::test]
async fn seat_events_over_legacy_graphql_ws() {
    events_flow(true).await;
}

#[tokio::test]
async fn who_may_subscribe() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // No token, or a bad one: the connection is refused with 4403.
    for legacy in [false, true] {
        let mut c = Client::connect(&app.base, legacy).await;
        let got = c.init(None).await;
        let got = if legacy && matches!(&got, Got::Msg(m) if m["type"] == "connection_error") {
            c.recv(5).await
        } else {
            got
        };
        assert_eq!(got, Got::Closed(4403), "legacy={legacy}");
        let mut c = Client::connect(&app.base, legacy).await;
        let got = c.init(Some("not-a-jwt")).await;
        let got = if legacy {
            c.recv(5).await.max_closed(got)
        } else {
            got
        };
        assert_eq!(got, Got::Closed(4403));
    }
    // MEMBER: FORBIDDEN; outsider: NOT_FOUND; admins, site admins, billing, service accounts: yes.
    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "watcher").await;
    let sa = app.sa_token(&cid, &secret).await;
    for (who, token, expect) in [
        ("member", &w.member, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
        ("admin", &w.admin, None),
        ("site admin", &w.site_admin, None),
        ("service account", &sa, None),
    ] {
        let mut c = Client::ready(&app.base, false, token).await;
        c.subscribe("x", SUB, json!({"o": w.org_id})).await;
        match expect {
            Some(code) => match c.recv(5).await {
                Got::Msg(m) => {
                    let errors = if m["type"] == "error" {
                        m["payload"].clone()
                    } else {
                        m["payload"]["errors"].clone()
                    };
                    assert_eq!(errors[0]["extensions"]["code"], code, "{who}: {m}");
                }
                other => panic!("{who}: {other:?}"),
            },
            None => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                app.expect_data(
                    Some(&w.admin),
                    PURCHASE,
                    json!({"i": {"organization": w.org_id, "quantity": 1}}),
                )
                .await;
                assert!(c.next_data(5).await.is_some(), "{who} receives");
            }
        }
    }
}

trait MaxClosed {
    fn max_closed(self, other: Got) -> Got;
}
impl MaxClosed for Got {
    /// Legacy refusals send connection_error first, then close.
    fn max_closed(self, other: Got) -> Got {
        match (self, other) {
            (Got::Closed(c), _) | (_, Got::Closed(c)) => Got::Closed(c),
            (a, _) => a,
        }
    }
}

async fn ends_when_access_shrinks(demote: bool) {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let mut c = Client::ready(&app.base, false, &w.billing).await;
    c.subscribe("s", SUB, json!({"o": w.org_id})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await
        .expect_data();
    assert!(c.next_data(5).await.is_some());
    if demote {
        let role = "mutation($i: UpdateMemberRoleInput!) { updateMemberRole(input: $i) { membership { role } } }";
        app.expect_data(
            Some(&w.admin),
            role,
            json!({"i": {"organization": w.org_id, "account": w.billing_id, "role": "MEMBER"}}),
        )
        .await;
    } else {
        let rm =
            "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { removedAccountId } }";
        app.expect_data(
            Some(&w.admin),
            rm,
            json!({"i": {"organization": w.org_id, "account": w.billing_id}}),
        )
        .await;
    }
    app.gql(
        Some(&w.admin),
        REVOKE_SEATS,
        json!({"i": {"organization": w.org_id, "accounts": [w.member_id]}}),
    )
    .await
    .expect_data();
    match c.recv(5).await {
        Got::Msg(m) => assert_eq!(
            m,
            json!({"type": "complete", "id": "s"}),
            "no further event, the subscription completes"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.next_data(1).await, None);
}

#[tokio::test]
async fn removal_mid_stream_ends_the_subscription() {
    ends_when_access_shrinks(false).await;
}

#[tokio::test]
async fn demotion_to_member_mid_stream_ends_the_subscription() {
    ends_when_access_shrinks(true).await;
}

#[tokio::test]
async fn deleting_the_service_account_ends_its_subscription() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (id, cid, secret) = app.service_account(&w.admin, &w.org_id, "watcher").await;
    let sa = app.sa_token(&cid, &secret).await;
    let mut c = Client::ready(&app.base, false, &sa).await;
    c.subscribe("s", SUB, json!({"o": w.org_id})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.expect_data(
        Some(&w.admin),
        "mutation($i: ServiceAccountIdInput!) { deleteServiceAccount(input: $i) { deletedId } }",
        json!({"i": {"id": id}}),
    )
    .await;
    app.expect_data(
        Some(&w.admin),
        PURCHASE,
        json!({"i": {"organization": w.org_id, "quantity": 1}}),
    )
    .await;
    assert_eq!(
        c.recv(5).await,
        Got::Msg(json!({"type": "complete", "id": "s"}))
    );
}

#[tokio::test]
async fn protocol_violations_close_with_the_protocol_codes() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // Subscribe before connection_init: 4401.
    let mut c = Client::connect(&app.base, false).await;
    c.subscribe("a", SUB, json!({"o": w.org_id})).await;
    assert_eq!(c.recv(5).await, Got::Closed(4401));
    // A second connection_init: 4429.
    let mut c = Client::ready(&app.base, false, &w.admin).await;
    assert_eq!(c.init(Some(&w.admin)).await, Got::Closed(4429));
    // A duplicate subscription id: 4409.
    let mut c = Client::ready(&app.base, false, &w.admin).await;
    c.subscribe("dup", SUB, json!({"o": w.org_id})).await;
    c.subscribe("dup", SUB, json!({"o": w.org_id})).await;
    assert_eq!(c.recv(5).await, Got::Closed(4409));
    // A message over 64 KiB: 1009.
    let mut c = Client::ready(&app.base, false, &w.admin).await;
    c.send(json!({"type": "subscribe", "id": "big", "payload": {"query": "x".repeat(70_000)}}))
        .await;
    assert_eq!(c.recv(5).await, Got::Closed(1009));
    // Garbage: 4400.
    let mut c = Client::ready(&app.base, false, &w.admin).await;
    c.socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            "{not json".into(),
        ))
        .await
        .unwrap();
    assert_eq!(c.recv(5).await, Got::Closed(4400));
    // Queries work over the socket too.
    let mut c = Client::ready(&app.base, false, &w.admin).await;
    c.subscribe("q", "{ viewer { email } }", json!({})).await;
    assert_eq!(
        c.next_data(5).await.unwrap()["data"]["viewer"]["email"],
        "admin@example.com"
    );
    assert_eq!(
        c.recv(5).await,
        Got::Msg(json!({"type": "complete", "id": "q"}))
    );
}

use futures_util::SinkExt;

use crate::helpers::ws::{Client, Got};
use crate::helpers::*;

/// A full socket (100 subscriptions) gets every event on every subscription,
/// in commit order: each change is a burst of 100 frames, more than the
/// writer sends per flush, so a frame lost between two flushes shows here.
#[tokio::test]
async fn a_full_socket_gets_every_event_on_every_subscription_in_order() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let mut c = Client::ready(&app.base, false, &w.admin).await;
    const SUBS: usize = 100;
    const CHANGES: usize = 6;
    let q = "subscription($o: ID!) { seatChanges(organization: $o) { kind used } }";
    for i in 0..SUBS {
        c.subscribe(&format!("s{i}"), q, json!({"o": w.org_id}))
            .await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for i in 0..CHANGES {
        let m = if i % 2 == 0 { ASSIGN } else { REVOKE_SEATS };
        app.expect_data(
            Some(&w.admin),
            m,
            json!({"i": {"organization": w.org_id, "accounts": [w.member_id]}}),
        )
        .await;
    }
    let mut seen: std::collections::HashMap<String, Vec<(String, i64)>> = Default::default();
    for _ in 0..SUBS * CHANGES {
        match c.recv(5).await {
            Got::Msg(m) if m["type"] == "next" => {
                let e = &m["payload"]["data"]["seatChanges"];
                seen.entry(m["id"].as_str().unwrap().to_string())
                    .or_default()
                    .push((
                        e["kind"].as_str().unwrap().into(),
                        e["used"].as_i64().unwrap(),
                    ));
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }
    let expected: Vec<(String, i64)> = (0..CHANGES)
        .map(|i| {
            if i % 2 == 0 {
                ("ASSIGNED".to_string(), 1)
            } else {
                ("REVOKED".to_string(), 0)
            }
        })
        .collect();
    assert_eq!(seen.len(), SUBS);
    for (id, events) in &seen {
        assert_eq!(events, &expected, "subscription {id}");
    }
    assert_eq!(c.next_data(1).await, None, "no event twice");
}

/// A member removed with a seat: the REVOKED event names the account, but
/// its email shows only to those who still share an organization with it
/// (red-team finding of issue 16: the same hole as access tokens).
#[tokio::test]
async fn a_removed_members_email_does_not_show_in_its_seat_event() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let mut c = Client::ready(&app.base, false, &w.admin).await;
    c.subscribe(
        "s",
        "subscription($o: ID!) { seatChanges(organization: $o) { kind account { id email } } }",
        json!({"o": w.org_id}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await
        .expect_data();
    let e = c.next_data(5).await.expect("ASSIGNED event");
    assert_eq!(
        e["data"]["seatChanges"]["account"]["email"],
        "member@example.com"
    );
    app.expect_data(
        Some(&w.admin),
        "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { removedAccountId } }",
        json!({"i": {"organization": w.org_id, "account": w.member_id}}),
    )
    .await;
    let e = c.next_data(5).await.expect("REVOKED event");
    let e = &e["data"]["seatChanges"];
    assert_eq!(e["kind"], "REVOKED");
    assert_eq!(e["account"]["id"], w.member_id.as_str());
    assert_eq!(e["account"]["email"], Value::Null, "{e}");
}
