//! Hostile input: every operation of the schema (read by introspection)
//! with wrong types, huge strings, NUL bytes, negative and huge page sizes,
//! forged cursors and IDs of other types: every answer is a well-formed
//! GraphQL error with a contract code — never a 500, never a panic.

use serde_json::{json, Value};

use crate::helpers::*;

const CODES: &[&str] = &[
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "ALREADY_EXISTS",
    "SEAT_LIMIT_REACHED",
    "NO_SEAT",
    "NOT_A_MEMBER",
    "LAST_ADMIN",
    "CANNOT_CHANGE_OWN_ROLE",
    "INVITATION_EXPIRED",
    "INVITATION_NOT_PENDING",
    "RATE_LIMITED",
    "QUERY_TOO_COMPLEX",
];

fn check(what: &str, r: &Resp) {
    assert!(r.status < 500, "{what}: HTTP {} {}", r.status, r.body);
    if let Some(errors) = r.body["errors"].as_array() {
        for e in errors {
            let code = e["extensions"]["code"].as_str().unwrap_or("<none>");
            assert!(
                CODES.contains(&code),
                "{what}: error without a contract code: {e}"
            );
            assert!(e["message"].is_string());
        }
    }
}

/// Mutation field names and their input type names, from introspection.
async fn mutations(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let d = app
        .expect_data(Some(token), "{ __schema { mutationType { fields { name args { name type { kind ofType { name } } } } } } }", json!({}))
        .await;
    d["__schema"]["mutationType"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["args"][0]["type"]["ofType"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_mutation_with_garbage_answers_with_contract_codes() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let huge = "x".repeat(200_000);
    let other_kind = w.member_id.clone(); // an Account ID where other types are expected
    let garbage_inputs = [
        json!(null),
        json!(42),
        json!("a string"),
        json!({}),
        json!({"organization": w.org_id}),
        json!({"organization": "not-an-id", "id": "%%%", "ids": ["@@"], "accounts": ["\u{0000}"], "account": "\u{0000}", "token": huge, "name": huge, "email": "\u{0000}@x.y"}),
        json!({"organization": other_kind, "id": other_kind, "ids": [other_kind], "accounts": [w.org_id], "account": w.org_id, "token": "orgt_forged", "name": "n\u{0000}", "handle": "h\u{0000}", "quantity": -1, "seatLimit": 2_147_483_647, "startsOn": "2026-13-45", "expiresInSeconds": -5, "subject": huge, "body": "", "users": [{"email": huge}], "invitees": [{"email": 7}]}),
    ];
    for token in [Some(w.admin.as_str()), Some(w.member.as_str()), None] {
        for (name, input_type) in mutations(&app, &w.admin).await {
            for (n, input) in garbage_inputs.iter().enumerate() {
                let q =
                    format!("mutation($i: {input_type}!) {{ {name}(input: $i) {{ __typename }} }}");
                let r = app.gql(token, &q, json!({ "i": input })).await;
                check(&format!("{name} #{n}"), &r);
            }
        }
    }
}

#[tokio::test]
async fn connections_and_lookups_with_garbage_answer_with_contract_codes() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let d = app
        .expect_data(
            Some(&w.admin),
            "{ organizations(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let real_cursor = d["organizations"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let pages = [
        json!({"first": -1}),
        json!({"first": 2_147_483_647}),
        json!({"last": -5}),
        json!({"first": 1, "last": 1}),
        json!({"after": "forged"}),
        json!({"after": real_cursor}),
        json!({"before": "\u{0000}"}),
        json!({"after": "x".repeat(10_000)}),
        json!({"first": "ten"}),
    ];
    let fields = [
        "organization(handle: \"acme\") { members(first: $first, after: $after, last: $last, before: $before) { totalCount } }",
        "organization(handle: \"acme\") { accessTokens(first: $first, after: $after, last: $last, before: $before) { totalCount } }",
        "organization(handle: \"acme\") { serviceAccounts(first: $first, after: $after, last: $last, before: $before) { totalCount } }",
        "organization(handle: \"acme\") { seats { assignments(first: $first, after: $after, last: $last, before: $before) { totalCount } } }",
        "organizations(first: $first, after: $after, last: $last, before: $before) { totalCount }",
        "viewer { memberships(first: $first, after: $after, last: $last, before: $before) { totalCount } }",
    ];
    for f in fields {
        for p in &pages {
            let q = format!(
                "query($first: Int, $after: String, $last: Int, $before: String) {{ {f} }}"
            );
            check(f, &app.gql(Some(&w.admin), &q, p.clone()).await);
        }
    }
    for id in [
        "",
        "\u{0000}",
        "%%%",
        &"A".repeat(100_000),
        &w.member_id,
        &global_id("AuditEvent", uuid::Uuid::now_v7()),
    ] {
        for q in [
            "query($id: ID!) { node(id: $id) { id } }",
            "query($id: ID!) { account(id: $id) { id } }",
            "query($id: ID!) { nodes(ids: [$id, $id]) { id } }",
        ] {
            check(q, &app.gql(Some(&w.admin), q, json!({"id": id})).await);
        }
        let q = "query($h: String!) { organization(handle: $h) { id } }";
        check(q, &app.gql(Some(&w.admin), q, json!({"h": id})).await);
    }
    // Malformed documents and bodies.
    for body in [
        json!({"query": "{"}),
        json!({"query": 5}),
        json!({"query": "{ viewer { id } }", "variables": "nope"}),
        json!([]),
        json!("text"),
    ] {
        let res = app
            .http
            .post(app.url("/graphql"))
            .bearer_auth(&w.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().as_u16() < 500, "{body}");
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if let Some(errors) = v["errors"].as_array() {
            assert!(
                errors.iter().all(|e| e["extensions"]["code"].is_string()),
                "{v}"
            );
        }
    }
    // Invalid UTF-8 in a multipart part.
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({"query": "{ viewer { id } }"}).to_string(),
        )
        .text("map", "{}")
        .part(
            "0",
            reqwest::multipart::Part::bytes(vec![0xff, 0xfe, 0x00, 0xc3]).file_name("x.csv"),
        );
    let res = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&w.admin)
        .header("x-orgraph-csrf", "1")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(res.status().as_u16() < 500);
}

#[tokio::test]
async fn nul_characters_are_bad_input_everywhere() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let r = app
        .gql(
            Some(&w.admin),
            "query($h: String!) { organization(handle: $h) { id } }",
            json!({"h": "ac\u{0000}me"}),
        )
        .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    let r = app.gql(Some(&w.admin), "query($s: String) { organization(handle: \"acme\") { members(search: $s) { totalCount } } }", json!({"s": "\u{0000}"})).await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    let r = app
        .token_request(&[
            ("grant_type", "password"),
            ("username", "a\u{0000}@b.co"),
            ("password", "x"),
        ])
        .await;
    assert_eq!(r.status(), 400);
    let r = app
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", "orgc_\u{0000}"),
            ("client_secret", "x"),
        ])
        .await;
    assert_eq!(r.status(), 400);
}
