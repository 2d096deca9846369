//! Members: creation, roles, the last-admin rules under concurrency,
//! pagination, filters, and SQL statement counts.

use serde_json::{json, Value};

use crate::helpers::*;

const ROLE: &str =
    "mutation($i: UpdateMemberRoleInput!) { updateMemberRole(input: $i) { membership { role } } }";
const REMOVE: &str =
    "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { removedAccountId } }";
const LEAVE: &str = "mutation($i: LeaveOrganizationInput!) { leaveOrganization(input: $i) { organization { handle } } }";
const ADD: &str = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { role account { email } } } }";
const MEMBERS: &str = "query($h: String!, $first: Int, $after: String, $last: Int, $before: String, $role: Role, $hasSeat: Boolean, $search: String) {
  organization(handle: $h) { members(first: $first, after: $after, last: $last, before: $before, role: $role, hasSeat: $hasSeat, search: $search) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { role account { email } } } } } }";

async fn admins(app: &TestApp, token: &str) -> usize {
    let d = app
        .expect_data(Some(token), MEMBERS, json!({"h": "acme", "role": "ADMIN"}))
        .await;
    d["organization"]["members"]["totalCount"].as_u64().unwrap() as usize
}

#[tokio::test]
async fn create_user_makes_person_and_managed_accounts() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let d = app
        .expect_data(
            Some(&w.admin),
            CREATE_USER,
            json!({"i": {"organization": w.org_id, "firstName": "Robo", "lastName": "Bot"}}),
        )
        .await;
    let id = d["createUser"]["account"]["id"].as_str().unwrap();
    let q = "query($id: ID!) { account(id: $id) { kind email firstName lastName } }";
    let a = app.expect_data(Some(&w.admin), q, json!({"id": id})).await;
    assert_eq!(
        a["account"],
        json!({"kind": "MANAGED", "email": null, "firstName": "Robo", "lastName": "Bot"})
    );
    // A managed account cannot have a password; a person needs 10..=256 chars.
    let r = app
        .gql(
            Some(&w.admin),
            CREATE_USER,
            json!({"i": {"organization": w.org_id, "password": "0123456789"}}),
        )
        .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    for (pw, ok) in [
        ("012345678", false),
        ("0123456789", true),
        (&"p".repeat(256)[..], true),
        (&"p".repeat(257)[..], false),
    ] {
        let email = format!("pw{}@example.com", pw.len());
        let r = app
            .gql(
                Some(&w.admin),
                CREATE_USER,
                json!({"i": {"organization": w.org_id, "email": email, "password": pw}}),
            )
            .await;
        assert_eq!(
            r.code().is_none(),
            ok,
            "password of {} chars: {}",
            pw.len(),
            r.body
        );
        if !ok {
            assert_eq!(
                r.body["errors"][0]["extensions"]["field"],
                json!(["password"])
            );
        }
    }
    for (first, ok) in [("f".repeat(100), true), ("f".repeat(101), false)] {
        let r = app
            .gql(
                Some(&w.admin),
                CREATE_USER,
                json!({"i": {"organization": w.org_id, "firstName": first}}),
            )
            .await;
        assert_eq!(r.code().is_none(), ok);
    }
    // A taken email is ALREADY_EXISTS, whatever its case.
    let r = app
        .gql(
            Some(&w.admin),
            CREATE_USER,
            json!({"i": {"organization": w.org_id, "email": "MEMBER@example.com"}}),
        )
        .await;
    assert_eq!(r.code(), Some("ALREADY_EXISTS"));
    let r = app
        .gql(
            Some(&w.admin),
            CREATE_USER,
            json!({"i": {"organization": w.org_id, "email": "not-an-email"}}),
        )
        .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn member_management_follows_the_permission_table() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    for (who, token, expect) in [
        ("billing", &w.billing, Some("FORBIDDEN")),
        ("member", &w.member, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
        ("admin", &w.admin, None),
        ("site admin", &w.site_admin, None),
    ] {
        let email = format!("{}@new.example", who.replace(' ', "-"));
        let r = app
            .gql(
                Some(token),
                CREATE_USER,
                json!({"i": {"organization": w.org_id, "email": email}}),
            )
            .await;
        assert_eq!(r.code(), expect, "createUser as {who}");
        let r = app
            .gql(Some(token), ROLE, json!({"i": {"organization": w.org_id, "account": w.member_id, "role": "BILLING_MANAGER"}}))
            .await;
        assert_eq!(r.code(), expect, "updateMemberRole as {who}");
    }
    // addMember: site admins only, by email or id.
    for (who, token, expect) in [
        ("admin", &w.admin, Some("FORBIDDEN")),
        ("member", &w.member, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
    ] {
        let r = app
            .gql(
                Some(token),
                ADD,
                json!({"i": {"organization": w.org_id, "account": "outsider@example.com"}}),
            )
            .await;
        assert_eq!(r.code(), expect, "addMember as {who}");
    }
    let d = app
        .expect_data(
            Some(&w.site_admin),
            ADD,
            json!({"i": {"organization": w.org_id, "account": "Outsider@Example.com"}}),
        )
        .await;
    assert_eq!(d["addMember"]["membership"]["role"], "MEMBER");
    let r = app
        .gql(
            Some(&w.site_admin),
            ADD,
            json!({"i": {"organization": w.org_id, "account": w.outsider_id}}),
        )
        .await;
    assert_eq!(r.code(), Some("ALREADY_EXISTS"));
    let r = app
        .gql(
            Some(&w.site_admin),
            ADD,
            json!({"i": {"organization": w.org_id, "account": "ghost@example.com"}}),
        )
        .await;
    assert_eq!(r.code(), Some("NOT_FOUND"));
    // removeMember.
    for (who, token, expect) in [
        ("billing", &w.billing, Some("FORBIDDEN")),
        ("member", &w.member, Some("FORBIDDEN")),
    ] {
        let r = app
            .gql(
                Some(token),
                REMOVE,
                json!({"i": {"organization": w.org_id, "account": w.outsider_id}}),
            )
            .await;
        assert_eq!(r.code(), expect, "removeMember as {who}");
    }
    let d = app
        .expect_data(
            Some(&w.admin),
            REMOVE,
            json!({"i": {"organization": w.org_id, "account": w.outsider_id}}),
        )
        .await;
    assert_eq!(
        d["removeMember"]["removedAccountId"],
        w.outsider_id.as_str()
    );
    let r = app
        .gql(
            Some(&w.admin),
            REMOVE,
            json!({"i": {"organization": w.org_id, "account": w.outsider_id}}),
        )
        .await;
    assert_eq!(r.code(), Some("NOT_FOUND"), "removing a non-member");
}

#[tokio::test]
async fn last_admin_own_role_and_leaving() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // Own role.
    let r = app
        .gql(
            Some(&w.admin),
            ROLE,
            json!({"i": {"organization": w.org_id, "account": w.admin_id, "role": "MEMBER"}}),
        )
        .await;
    assert_eq!(r.code(), Some("CANNOT_CHANGE_OWN_ROLE"));
    // The only admin cannot be demoted or removed, even by a site admin.
    let r = app
        .gql(
            Some(&w.site_admin),
            ROLE,
            json!({"i": {"organization": w.org_id, "account": w.admin_id, "role": "MEMBER"}}),
        )
        .await;
    assert_eq!(r.code(), Some("LAST_ADMIN"));
    let r = app
        .gql(
            Some(&w.site_admin),
            REMOVE,
            json!({"i": {"organization": w.org_id, "account": w.admin_id}}),
        )
        .await;
    assert_eq!(r.code(), Some("LAST_ADMIN"));
    // Admins cannot leave; others can.
    let r = app
        .gql(
            Some(&w.admin),
            LEAVE,
            json!({"i": {"organization": w.org_id}}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    let d = app
        .expect_data(
            Some(&w.member),
            LEAVE,
            json!({"i": {"organization": w.org_id}}),
        )
        .await;
    assert_eq!(d["leaveOrganization"]["organization"]["handle"], "acme");
    let r = app
        .gql(
            Some(&w.member),
            LEAVE,
            json!({"i": {"organization": w.org_id}}),
        )
        .await;
    assert_eq!(r.code(), Some("NOT_FOUND"), "leaving twice");
    let d = app
        .expect_data(
            Some(&w.billing),
            LEAVE,
            json!({"i": {"organization": w.org_id}}),
        )
        .await;
    assert_eq!(d["leaveOrganization"]["organization"]["handle"], "acme");
    assert_eq!(admins(&app, &w.admin).await, 1);
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    for round in 0..20 {
        let email = format!("second{round}@example.com");
        let (second, second_id) = app.user(&w.admin, &w.org_id, &email, "ADMIN").await;
        // Make sure acme has exactly these two admins.
        assert_eq!(admins(&app, &w.admin).await, 2, "round {round}");
        let barrier = tokio::sync::Barrier::new(2);
        let (a, b) = tokio::join!(
            async {
                barrier.wait().await;
                app.gql(Some(&w.admin), ROLE, json!({"i": {"organization": w.org_id, "account": second_id, "role": "MEMBER"}})).await
            },
            async {
                barrier.wait().await;
                app.gql(Some(&second), ROLE, json!({"i": {"organization": w.org_id, "account": w.admin_id, "role": "MEMBER"}})).await
            }
        );
        let successes = [&a, &b].iter().filter(|r| r.code().is_none()).count();
        assert_eq!(successes, 1, "round {round}: {} / {}", a.body, b.body);
        for r in [&a, &b] {
            assert!(
                matches!(r.code(), None | Some("FORBIDDEN") | Some("LAST_ADMIN")),
                "{}",
                r.body
            );
        }
        assert_eq!(admins(&app, &w.site_admin).await, 1, "round {round}");
        // Restore: whoever lost admin... make w.admin the admin again.
        let q = "query($h: String!) { organization(handle: $h) { members(first: 100, role: ADMIN) { nodes { account { id } } } } }";
        let d = app
            .expect_data(Some(&w.site_admin), q, json!({"h": "acme"}))
            .await;
        let remaining = d["organization"]["members"]["nodes"][0]["account"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        if remaining != w.admin_id {
            app.expect_data(
                Some(&w.site_admin),
                ROLE,
                json!({"i": {"organization": w.org_id, "account": w.admin_id, "role": "ADMIN"}}),
            )
            .await;
        }
        app.expect_data(
            Some(&w.site_admin),
            REMOVE,
            json!({"i": {"organization": w.org_id, "account": second_id}}),
        )
        .await;
    }
}

#[tokio::test]
async fn pagination_walks_250_members_each_exactly_once_both_ways() {
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("boss@example.com").await;
    let org = app.create_org(&root, "acme").await;
    // 249 managed users + the creator... the creator is root, a member.
    for i in 0..249 {
        app.expect_data(
            Some(&root),
            CREATE_USER,
            json!({"i": {"organization": org, "email": format!("u{i:03}@example.com")}}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let d = app
            .expect_data(
                Some(&root),
                MEMBERS,
                json!({"h": "acme", "first": 40, "after": after}),
            )
            .await;
        let m = &d["organization"]["members"];
        assert_eq!(m["totalCount"], 250);
        for e in m["edges"].as_array().unwrap() {
            seen.push(e["node"]["account"]["email"].as_str().unwrap().to_string());
        }
        if !m["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = Some(m["pageInfo"]["endCursor"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 250);
    let mut uniq = seen.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 250);

    let mut back = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let d = app
            .expect_data(
                Some(&root),
                MEMBERS,
                json!({"h": "acme", "last": 33, "before": before}),
            )
            .await;
        let m = &d["organization"]["members"];
        let page: Vec<String> = m["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["account"]["email"].as_str().unwrap().to_string())
            .collect();
        back.splice(0..0, page);
        if !m["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
            break;
        }
        before = Some(m["pageInfo"]["startCursor"].as_str().unwrap().to_string());
    }
    assert_eq!(back, seen, "backward walk gives the same order");

    for (args, field) in [
        (json!({"h": "acme", "first": 101}), "first"),
        (json!({"h": "acme", "first": -1}), "first"),
        (json!({"h": "acme", "last": 101}), "last"),
        (json!({"h": "acme", "after": "Zm9yZ2Vk"}), "after"),
    ] {
        let r = app.gql(Some(&root), MEMBERS, args).await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"));
        assert_eq!(r.body["errors"][0]["extensions"]["field"], json!([field]));
    }
    // A real cursor of another connection kind is refused too.
    let d = app
        .expect_data(
            Some(&root),
            "{ organizations(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let org_cursor = d["organizations"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap();
    let r = app
        .gql(
            Some(&root),
            MEMBERS,
            json!({"h": "acme", "after": org_cursor}),
        )
        .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    let d = app
        .expect_data(Some(&root), MEMBERS, json!({"h": "acme", "first": 0}))
        .await;
    assert_eq!(d["organization"]["members"]["edges"], json!([]));
}

#[tokio::test]
async fn members_filters_by_role_and_search() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let count = |d: &Value| d["organization"]["members"]["totalCount"].as_u64().unwrap();
    let d = app
        .expect_data(
            Some(&w.member),
            MEMBERS,
            json!({"h": "acme", "role": "BILLING_MANAGER"}),
        )
        .await;
    assert_eq!(count(&d), 1);
    assert_eq!(
        d["organization"]["members"]["edges"][0]["node"]["account"]["email"],
        "billing@example.com"
    );
    let d = app
        .expect_data(
            Some(&w.member),
            MEMBERS,
            json!({"h": "acme", "search": "BILL"}),
        )
        .await;
    assert_eq!(count(&d), 1);
    let d = app
        .expect_data(
            Some(&w.member),
            MEMBERS,
            json!({"h": "acme", "search": "%"}),
        )
        .await;
    assert_eq!(count(&d), 0, "wildcards are literal");
    let d = app
        .expect_data(
            Some(&w.member),
            MEMBERS,
            json!({"h": "acme", "hasSeat": false}),
        )
        .await;
    assert_eq!(count(&d), 3);
    let d = app
        .expect_data(
            Some(&w.member),
            MEMBERS,
            json!({"h": "acme", "hasSeat": true}),
        )
        .await;
    assert_eq!(count(&d), 0);
}

#[tokio::test]
async fn a_members_page_costs_the_same_few_statements_for_10_and_100() {
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("boss@example.com").await;
    let org = app.create_org(&root, "acme").await;
    for i in 0..120 {
        app.expect_data(Some(&root), CREATE_USER, json!({"i": {"organization": org, "email": format!("u{i:03}@example.com"), "firstName": "U", "lastName": format!("{i}")}})).await;
    }
    let q = "query($n: Int!) { organization(handle: \"acme\") { members(first: $n) { nodes { role joinedAt account { id email firstName lastName } } } } }";
    let mut costs = Vec::new();
    for n in [10, 100] {
        let before = app.sql_count().await;
        let d = app.expect_data(Some(&root), q, json!({"n": n})).await;
        let after = app.sql_count().await;
        assert_eq!(
            d["organization"]["members"]["nodes"]
                .as_array()
                .unwrap()
                .len(),
            n
        );
        costs.push(after - before);
    }
    assert_eq!(costs[0], costs[1], "statements for 10 vs 100 members");
    assert!(costs[1] <= 4, "{} statements for a page of 100", costs[1]);
}
