//! The in-memory path for member lists (`graphql::plain`): it must give
//! exactly the JSON async-graphql's own path gives, for every plain field,
//! with aliases, `__typename` and fragments, and step aside (to the same
//! answer) whenever the selection needs more. `/metrics` says which path ran.

use serde_json::{json, Value};

use crate::helpers::*;

/// Every plain field of Membership, Seat and Account, with aliases,
/// `__typename`, a named fragment, an inline fragment and `@include`
/// (async-graphql applies @skip/@include before execution). `EXTRA` is
/// replaced by nothing, or by a repeated `role`: the same answer, but a
/// repeated key sends the list down the generic path (which merges it).
const ALL_PLAIN: &str = "
query($h: String!, $more: Boolean!) { organization(handle: $h) { members(first: 100) { nodes {
  __typename id role joinedAt
  seat { __typename assignedAt }
  account { __typename id kind email firstName lastName isSiteAdmin createdAt }
  who: account { mail: email ...Names }
  ... on Membership { since: joinedAt }
  ...Role
  again: role @include(if: $more)
  EXTRA
} } } }
fragment Names on Account { firstName }
fragment Role on Membership { r: role }";

/// (plain, generic) lists resolved so far, from /metrics.
async fn lists(app: &TestApp) -> (u64, u64) {
    let path = |p: &str| format!("orgraph_graphql_lists_total{{path=\"{p}\"}}");
    let plain = app
        .metric(&path("plain"))
        .await
        .expect("plain lists in /metrics");
    let generic = app
        .metric(&path("generic"))
        .await
        .expect("generic lists in /metrics");
    (plain as u64, generic as u64)
}

/// The response body as sent (key order included) and its nodes.
async fn raw(app: &TestApp, token: &str, query: &str, vars: Value) -> (String, Vec<Value>) {
    let text = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v.get("errors").is_none(), "{text}");
    let nodes = v["data"]["organization"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    (text, nodes)
}

async fn nodes(app: &TestApp, token: &str, query: &str, vars: Value) -> Vec<Value> {
    raw(app, token, query, vars).await.1
}

/// The world, `n` managed members and a plan of 10 seats, of which the
/// admin assigned two: to managed member `seated` and to the member.
async fn seated_world(app: &TestApp, n: usize, seated: usize) -> (World, Vec<String>) {
    let w = app.world().await;
    app.set_plan(&w.site_admin, &w.org_id, 10, None).await;
    let managed = app.managed_members(&w.admin, &w.org_id, n).await;
    app.assign(
        &w.admin,
        &w.org_id,
        &[managed[seated].clone(), w.member_id.clone()],
    )
    .await
    .expect_data();
    (w, managed)
}

#[tokio::test]
async fn the_plain_path_answers_exactly_like_the_generic_one() {
    let app = TestApp::spawn().await;
    let (w, managed) = seated_world(&app, 4, 0).await;

    let vars = |more: bool| json!({"h": w.handle, "more": more});
    let plain_q = ALL_PLAIN.replace("EXTRA", "");
    let generic_q = ALL_PLAIN.replace("EXTRA", "role");
    let (p0, g0) = lists(&app).await;
    let (plain_text, plain) = raw(&app, &w.member, &plain_q, vars(false)).await;
    let (more_text, with_more) = raw(&app, &w.member, &plain_q, vars(true)).await;
    let (p1, g1) = lists(&app).await;
    assert_eq!((p1 - p0, g1 - g0), (2, 0), "the plain path answered");

    let (generic_text, generic) = raw(&app, &w.member, &generic_q, vars(false)).await;
    let (generic_more_text, _) = raw(&app, &w.member, &generic_q, vars(true)).await;
    let (p2, g2) = lists(&app).await;
    assert_eq!(
        (p2 - p1, g2 - g1),
        (0, 2),
        "a repeated key takes the generic path"
    );
    // Byte for byte, key order included.
    assert_eq!(plain_text, generic_text);
    assert_eq!(more_text, generic_more_text);
    assert_eq!(plain.len(), generic.len());
    for (a, mut b) in plain.iter().zip(with_more) {
        let again = b.as_object_mut().unwrap().remove("again");
        assert_eq!(again.as_ref(), Some(&a["role"]));
        assert_eq!(a, &b);
    }

    // What the answer holds: 7 members (admin, billing, member, 4 managed),
    // two seated, the member sees co-members' emails, managed have none.
    assert_eq!(plain.len(), 7);
    let seated: Vec<_> = plain.iter().filter(|n| !n["seat"].is_null()).collect();
    assert_eq!(seated.len(), 2);
    assert!(seated
        .iter()
        .all(|n| n["seat"]["__typename"] == "Seat" && n["seat"]["assignedAt"].is_string()));
    let member = plain
        .iter()
        .find(|n| n["account"]["id"] == json!(w.member_id))
        .unwrap();
    assert_eq!(member["__typename"], "Membership");
    assert_eq!(member["role"], "MEMBER");
    assert_eq!(member["r"], "MEMBER");
    assert_eq!(member["since"], member["joinedAt"]);
    assert_eq!(
        member["who"],
        json!({"mail": "member@example.com", "firstName": null})
    );
    assert_eq!(member["account"]["kind"], "PERSON");
    assert_eq!(member["account"]["isSiteAdmin"], false);
    let m0 = plain
        .iter()
        .find(|n| n["account"]["id"] == json!(managed[0]))
        .unwrap();
    assert_eq!(m0["account"]["kind"], "MANAGED");
    assert_eq!(m0["account"]["email"], Value::Null);
    assert!(!m0["seat"].is_null());
    // Keys come out in the order the query asked for them.
    let first = &plain_text[plain_text.find("\"nodes\"").unwrap()..];
    let first = &first[..first.find('}').unwrap()];
    let at = |k: &str| first.find(&format!("\"{k}\":")).unwrap();
    let order = ["__typename", "id", "role", "joinedAt", "seat"];
    assert!(order.windows(2).all(|p| at(p[0]) < at(p[1])), "{first}");
}

#[tokio::test]
async fn selections_that_need_more_take_the_generic_path_with_the_same_answer() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (p0, g0) = lists(&app).await;

    // A field that needs a loader (organization) and a repeated key that
    // async-graphql merges: both go the generic path and still answer.
    let q = "query($h: String!) { organization(handle: $h) { members(first: 100) { nodes {
      role organization { handle } account { id } account { email } } } } }";
    let n = nodes(&app, &w.admin, q, json!({"h": w.handle})).await;
    assert_eq!(n.len(), 3);
    for m in &n {
        assert_eq!(m["organization"]["handle"], "acme");
        assert!(m["account"]["id"].is_string() && m["account"]["email"].is_string());
    }
    // A fragment on an interface: generic too.
    let q = "query($h: String!) { organization(handle: $h) { members(first: 100) { nodes {
      ... on Node { id } role } } } }";
    let n = nodes(&app, &w.admin, q, json!({"h": w.handle})).await;
    assert!(n.iter().all(|m| m["id"].is_string()));
    let (p1, g1) = lists(&app).await;
    assert_eq!((p1 - p0, g1 - g0), (0, 2));

    // Memberships reached from an account were not joined with their
    // account: `account` needs the loader, the generic path serves it.
    let q = "{ viewer { memberships(first: 20) { nodes { role account { email } } } } }";
    let d = app.expect_data(Some(&w.admin), q, json!({})).await;
    let n = d["viewer"]["memberships"]["nodes"].as_array().unwrap();
    assert!(!n.is_empty());
    assert!(n
        .iter()
        .all(|m| m["account"]["email"] == "admin@example.com"));
    // ...and without `account` the same list is plain.
    let q = "{ viewer { memberships(first: 20) { nodes { role joinedAt } } } }";
    app.expect_data(Some(&w.admin), q, json!({})).await;
    let (p2, g2) = lists(&app).await;
    assert_eq!((p2 - p1, g2 - g1), (1, 1));
}

/// A members page reads only the seat and account columns its query shows
/// (look-ahead over `nodes` and `edges { node }`, fragments included).
/// Whatever the selection, each row must answer what the same membership
/// answers through `nodes(ids:)`, which reads whole rows through loaders.
#[tokio::test]
async fn a_page_reading_only_what_it_shows_answers_like_whole_rows() {
    let app = TestApp::spawn().await;
    let (w, _) = seated_world(&app, 3, 1).await;
    const WHOLE: &str = "id role joinedAt
      seat { assignedAt assignedBy { id email } account { id } }
      account { id kind email firstName lastName isSiteAdmin createdAt }";

    let ids: Vec<Value> = nodes(
        &app,
        &w.admin,
        "query($h: String!) { organization(handle: $h) { members(first: 100) { nodes { id } } } }",
        json!({"h": w.handle}),
    )
    .await
    .into_iter()
    .map(|n| n["id"].clone())
    .collect();
    assert_eq!(ids.len(), 6);
    let reference = app
        .expect_data(
            Some(&w.admin),
            &format!(
                "query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Membership {{ {WHOLE} }} }} }}"
            ),
            json!({"ids": ids}),
        )
        .await["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let by_id = |id: &Value| reference.iter().find(|r| &r["id"] == id).unwrap().clone();
    // The member's seat was assigned by the admin: assignedBy is not null
    // in the reference, so a page that drops it would show.
    let member = reference
        .iter()
        .find(|r| r["account"]["id"] == json!(w.member_id))
        .unwrap();
    assert_eq!(member["seat"]["assignedBy"]["email"], "admin@example.com");

    // (selection under a row, the fields of the reference it must equal)
    let cases: [(&str, &[&str]); 7] = [
        ("id account { id }", &["account.id"]),
        ("id seat { assignedAt }", &["seat.assignedAt"]),
        (
            "id seat { assignedAt assignedBy { id email } account { id } }",
            &["seat"],
        ),
        (
            "id account { firstName isSiteAdmin } ...F",
            &["account.firstName", "account.isSiteAdmin", "seat"],
        ),
        (
            "... on Node { id } account { kind createdAt }",
            &["account.kind", "account.createdAt"],
        ),
        (
            "id account { email } account { lastName }",
            &["account.email", "account.lastName"],
        ),
        ("id role joinedAt", &["role", "joinedAt"]),
    ];
    for (sel, fields) in cases {
        for edges in [false, true] {
            let rows = if edges {
                format!("edges {{ node {{ {sel} }} }}")
            } else {
                format!("nodes {{ {sel} }}")
            };
            let mut q = format!(
                "query($h: String!) {{ organization(handle: $h) {{ members(first: 100) {{ {rows} }} }} }}"
            );
            if sel.contains("...F") {
                q.push_str(
                    " fragment F on Membership { seat { assignedAt assignedBy { id email } account { id } } }",
                );
            }
            let d = app
                .expect_data(Some(&w.admin), &q, json!({"h": w.handle}))
                .await;
            let m = &d["organization"]["members"];
            let got: Vec<Value> = if edges {
                m["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["node"].clone())
                    .collect()
            } else {
                m["nodes"].as_array().unwrap().clone()
            };
            assert_eq!(got.len(), 6, "{sel}");
            for row in &got {
                let want = by_id(&row["id"]);
                for f in fields {
                    let ptr = format!("/{}", f.replace('.', "/"));
                    assert_eq!(
                        row.pointer(&ptr),
                        want.pointer(&ptr),
                        "{sel} (edges: {edges}): {f}"
                    );
                    let top = f.split('.').next().unwrap();
                    assert!(row.get(top).is_some(), "{sel}: {top} missing");
                }
            }
        }
    }
}
