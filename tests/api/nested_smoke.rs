//! Issue 16, every batched read in one query: the fields of several
//! organizations (and of their members' accounts) read under a list answer
//! exactly as each organization asked alone, as a site admin and as a
//! member, and do not cost a statement per organization.

use serde_json::json;

use crate::helpers::TestApp;

const ORG_FIELDS: &str = r#"
  handle viewerRole
  members(first: 2, role: MEMBER) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { role seat { assignedAt assignedBy { id email } } account { id email memberships(first: 3) { totalCount nodes { role organization { handle } } } messages(first: 2) { totalCount nodes { subject } } } } }
  seats { limit used available assignments(first: 2) { totalCount nodes { assignedAt account { email } assignedBy { email } } } }
  resourceUsage { members admins billingManagers seatsUsed seatLimit pendingInvitations serviceAccounts activeAccessTokens }
  serviceAccounts(first: 2) { totalCount nodes { name createdBy { email } } }
  invitations(first: 2, status: PENDING) { totalCount nodes { email invitedBy { email } } }
  accessTokens(first: 5) { totalCount nodes { name account { email } } }
  auditLog(first: 3) { totalCount nodes { action actor { email } actorServiceAccount { name } } }
  signInTokens(first: 2) { totalCount nodes { id } }
"#;

/// A second list of the same members beside the first: answers as alone
/// too (its statements may overlap the first's, see batch.rs).
const ALIASED: &str = r#"
  handle everyone: members(last: 3) { totalCount pageInfo { hasNextPage hasPreviousPage } nodes { account { email memberships(first: 1) { totalCount } } } }
  members(first: 2) { nodes { account { memberships(first: 1) { totalCount } } } }
"#;

async fn seed(app: &TestApp, n: usize) -> (String, String, Vec<String>) {
    let (root, _) = app.site_admin("root@example.com").await;
    let hub = app.create_org(&root, "hub").await;
    let (member, member_id) = app.user(&root, &hub, "mem@example.com", "MEMBER").await;
    let mut handles = Vec::new();
    for i in 0..n {
        let handle = format!("org-{i}");
        let org = app.create_org(&root, &handle).await;
        app.expect_data(
            Some(&root),
            "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
            json!({"i": {"organization": org, "account": member_id, "role": if i % 2 == 0 { "ADMIN" } else { "MEMBER" }}}),
        )
        .await;
        let managed = app.managed_members(&root, &org, i % 4).await;
        app.set_plan(&root, &org, 10, None).await;
        if !managed.is_empty() {
            app.assign(&root, &org, &managed[..1]).await;
        }
        if i % 3 == 0 {
            app.service_account(&root, &org, "bot").await;
            app.expect_data(
                Some(&root),
                "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { __typename } }",
                json!({"i": {"organization": org, "invitees": [{"email": format!("x{i}@example.com")}]}}),
            )
            .await;
        }
        handles.push(handle);
    }
    (root, member, handles)
}

async fn compare(app: &TestApp, token: &str, n: usize, fields: &str) -> u64 {
    let list = format!(
        "query {{ viewer {{ memberships(first: {n}) {{ nodes {{ organization {{ {fields} }} }} }} }} }}"
    );
    let before = app.sql_count().await;
    let r = app.gql(Some(token), &list, json!({})).await;
    let cost = app.sql_count().await - before;
    let body = r.body.clone();
    let nodes = body["data"]["viewer"]["memberships"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for node in &nodes {
        let handle = node["organization"]["handle"].as_str().unwrap();
        let alone = app
            .gql(
                Some(token),
                &format!("query($h: String!) {{ organization(handle: $h) {{ {fields} }} }}"),
                json!({"h": handle}),
            )
            .await;
        let alone = alone.body.clone();
        assert_eq!(
            node["organization"], alone["data"]["organization"],
            "{handle} under a list and alone"
        );
    }
    cost
}

#[tokio::test]
async fn organizations_under_a_list_answer_as_alone() {
    let app = TestApp::spawn().await;
    let (root, member, _) = seed(&app, 7).await;
    compare(&app, &member, 8, ALIASED).await;
    compare(&app, &root, 8, ALIASED).await;
    let small = compare(&app, &member, 3, ORG_FIELDS).await;
    let large = compare(&app, &member, 8, ORG_FIELDS).await;
    eprintln!("statements: 3 orgs {small}, 8 orgs {large}");
    // Ten list fields under each organization: one statement per
    // organization and field would be 50 more for 8 than for 3. Objects
    // named by two sibling lists (an account that is a member and the
    // assigner of a seat) may be read once per list that named them, so
    // the two counts need not be equal (batch.rs); what may not happen is
    // a statement per organization.
    assert!(
        large <= small + 4,
        "statements grow with the list: {small} for 3, {large} for 8"
    );
}

/// Reads are cached for a request, and a document may hold several
/// mutations: the second one's payload shows what the second one wrote
/// (the caller's role in the organization it created, its members), not
/// what the first one's payload had read.
#[tokio::test]
async fn a_second_mutations_payload_sees_its_own_write() {
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("root@example.com").await;
    let hub = app.create_org(&root, "hub").await;
    let (member, _) = app.user(&root, &hub, "mem@example.com", "MEMBER").await;
    let d = app
        .expect_data(
            Some(&member),
            r#"mutation {
              a: createOrganization(input: {handle: "first-one", name: "A"}) {
                organization { viewerRole members { totalCount } } }
              b: createOrganization(input: {handle: "second-one", name: "B"}) {
                organization { viewerRole members { totalCount nodes { role } } } }
            }"#,
            json!({}),
        )
        .await;
    for k in ["a", "b"] {
        let o = &d[k]["organization"];
        assert_eq!(o["viewerRole"], "ADMIN", "{k}: {d}");
        assert_eq!(o["members"]["totalCount"], 1, "{k}: {d}");
    }
    assert_eq!(
        d["b"]["organization"]["members"]["nodes"][0]["role"],
        "ADMIN"
    );
}
