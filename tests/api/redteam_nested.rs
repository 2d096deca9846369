//! Red team of issue 16's nested reads: every list read under a list is
//! now read for all the parents of its level at once (`batch::page_in_group`,
//! `batch::permitted`), and `nodes(ids:)` groups its ids by kind. Each
//! attack asks, as an ordinary member, a billing manager, a service account
//! or a sign-in link's scoped session, for something through a nested list
//! or `nodes(ids:)`, and compares the answer with what the same principal
//! gets asking for the object alone and with rules.md.
//!
//! The scene (`scene`):
//! - `acme`: admin (ADMIN), billing (BILLING_MANAGER), member (MEMBER), a
//!   service account; `temp`, a second ADMIN, assigned the member's seat,
//!   issued a token, then was removed (its token stays, revoked).
//! - `other` (the outsider's): member and billing are MEMBERs there, with
//!   seats and tokens; a service account, an invitation, a sign-in link
//!   for billing, a message.
//! - `mine`: the member's own organization (member ADMIN), with a token,
//!   a service account and an invitation.
//! - `far` (the outsider's): temp is a MEMBER there; nobody of acme is.
//! - billing's scoped session: a link minted by acme's admin.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::helpers::links::redeem;
use crate::helpers::*;

const ADD: &str = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { role } } }";
const REMOVE: &str =
    "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { removedAccountId } }";
const INVITE: &str = "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { invitation { id } error { code } } } }";
const LINK: &str = "mutation($i: CreateSignInTokenInput!) { createSignInToken(input: $i) { url signInToken { id } } }";
const MESSAGE: &str =
    "mutation($i: MessageMembersInput!) { messageMembers(input: $i) { recipients } }";
const INBOX: &str = "{ viewer { messages { nodes { id subject } } } }";

struct Scene {
    app: TestApp,
    w: World,
    mine: String,
    far: String,
    temp_id: String,
    /// acme's service account JWT.
    sa: String,
    /// billing's sign-in link session, scoped to acme.
    link: String,
    /// Access token ids by "who@org".
    tokens: BTreeMap<&'static str, String>,
    /// Message ids by subject.
    messages: BTreeMap<String, String>,
    inv_acme: String,
    inv_other: String,
    inv_mine: String,
    sa_acme_id: String,
    sa_other_id: String,
    sa_mine_id: String,
    link_other_id: String,
    link_acme_id: String,
}

async fn issue(app: &TestApp, token: &str, org: &str) -> String {
    app.expect_data(Some(token), ISSUE, json!({"i": {"organization": org}}))
        .await["issueAccessToken"]["accessToken"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn assign(app: &TestApp, token: &str, org: &str, accounts: &[&String]) {
    let accounts: Vec<String> = accounts.iter().map(|a| a.to_string()).collect();
    let r = app.assign(token, org, &accounts).await;
    for res in arr(&r.expect_data()["assignSeats"]["results"]) {
        assert!(res["error"].is_null(), "{}", r.body);
    }
}

async fn invite(app: &TestApp, token: &str, org: &str, email: &str) -> String {
    let d = app
        .expect_data(
            Some(token),
            INVITE,
            json!({"i": {"organization": org, "invitees": [{"email": email}]}}),
        )
        .await;
    d["inviteMembers"]["results"][0]["invitation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{d}"))
        .to_string()
}

async fn link(app: &TestApp, by: &str, account: &str, org: &str) -> (String, String) {
    let d = app
        .expect_data(
            Some(by),
            LINK,
            json!({"i": {"account": account, "organization": org}}),
        )
        .await;
    let l = &d["createSignInToken"];
    (
        l["url"].as_str().unwrap().to_string(),
        l["signInToken"]["id"].as_str().unwrap().to_string(),
    )
}

async fn message(app: &TestApp, by: &str, org: &str, subject: &str) {
    app.expect_data(
        Some(by),
        MESSAGE,
        json!({"i": {"organization": org, "subject": subject, "body": "body"}}),
    )
    .await;
}

async fn scene() -> Scene {
    // The walks below ask every list at its default page (100): well over
    // the default cost limit, which an attacker would meet with `first: 3`
    // everywhere; permissions do not depend on page sizes.
    let app = TestApp::spawn_with(|c| c.max_complexity = 1_000_000_000).await;
    let w = app.world().await;
    let add = |org: &str, email: &str, role: &str| json!({"i": {"organization": org, "account": email, "role": role}});
    for email in ["member@example.com", "billing@example.com"] {
        app.expect_data(
            Some(&w.site_admin),
            ADD,
            add(&w.other_org_id, email, "MEMBER"),
        )
        .await;
    }
    let mine = app.create_org(&w.member, "mine").await;
    let far = app.create_org(&w.outsider, "far").await;
    let (temp, temp_id) = app
        .user(&w.admin, &w.org_id, "temp@example.com", "ADMIN")
        .await;
    app.expect_data(
        Some(&w.site_admin),
        ADD,
        add(&far, "temp@example.com", "MEMBER"),
    )
    .await;
    // Seats and tokens. The member's acme seat is assigned by temp.
    assign(&app, &w.admin, &w.org_id, &[&w.admin_id, &w.billing_id]).await;
    assign(&app, &temp, &w.org_id, &[&w.member_id, &temp_id]).await;
    assign(
        &app,
        &w.outsider,
        &w.other_org_id,
        &[&w.outsider_id, &w.member_id, &w.billing_id],
    )
    .await;
    assign(&app, &w.member, &mine, &[&w.member_id]).await;
    let mut tokens = BTreeMap::new();
    tokens.insert("admin@acme", issue(&app, &w.admin, &w.org_id).await);
    tokens.insert("billing@acme", issue(&app, &w.billing, &w.org_id).await);
    tokens.insert("member@acme", issue(&app, &w.member, &w.org_id).await);
    tokens.insert("temp@acme", issue(&app, &temp, &w.org_id).await);
    tokens.insert(
        "outsider@other",
        issue(&app, &w.outsider, &w.other_org_id).await,
    );
    tokens.insert(
        "member@other",
        issue(&app, &w.member, &w.other_org_id).await,
    );
    tokens.insert(
        "billing@other",
        issue(&app, &w.billing, &w.other_org_id).await,
    );
    tokens.insert("member@mine", issue(&app, &w.member, &mine).await);
    // temp leaves acme: its token stays (revoked), its seat assignments too.
    app.expect_data(
        Some(&w.admin),
        REMOVE,
        json!({"i": {"organization": w.org_id, "account": temp_id}}),
    )
    .await;
    let (sa_acme_id, cid, secret) = app.service_account(&w.admin, &w.org_id, "acme-sa").await;
    let sa = app.sa_token(&cid, &secret).await;
    // An event of acme's log whose actor is the service account.
    invite(&app, &sa, &w.org_id, "by-sa@example.com").await;
    let (sa_other_id, _, _) = app
        .service_account(&w.outsider, &w.other_org_id, "other-sa")
        .await;
    let (sa_mine_id, _, _) = app.service_account(&w.member, &mine, "mine-sa").await;
    let inv_acme = invite(&app, &w.admin, &w.org_id, "invitee-acme@example.com").await;
    let inv_other = invite(
        &app,
        &w.outsider,
        &w.other_org_id,
        "invitee-other@example.com",
    )
    .await;
    let inv_mine = invite(&app, &w.member, &mine, "invitee-mine@example.com").await;
    let (_, link_other_id) = link(&app, &w.outsider, &w.billing_id, &w.other_org_id).await;
    let (url, link_acme_id) = link(&app, &w.admin, &w.billing_id, &w.org_id).await;
    let link_jwt = redeem(&app, &url).await.unwrap();
    message(&app, &w.admin, &w.org_id, "acme hello").await;
    message(&app, &w.outsider, &w.other_org_id, "other secret").await;
    message(&app, &w.outsider, &far, "far secret").await;
    let mut messages = BTreeMap::new();
    for who in [&w.member, &w.outsider] {
        let d = app.expect_data(Some(who), INBOX, json!({})).await;
        for m in d["viewer"]["messages"]["nodes"].as_array().unwrap() {
            messages.insert(
                m["subject"].as_str().unwrap().to_string(),
                m["id"].as_str().unwrap().to_string(),
            );
        }
    }
    assert_eq!(messages.len(), 3, "{messages:?}");
    Scene {
        app,
        w,
        mine,
        far,
        temp_id,
        sa,
        link: link_jwt,
        tokens,
        messages,
        inv_acme,
        inv_other,
        inv_mine,
        sa_acme_id,
        sa_other_id,
        sa_mine_id,
        link_other_id,
        link_acme_id,
    }
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not a list: {v}"))
}

fn handles(memberships: &Value) -> BTreeSet<String> {
    arr(&memberships["nodes"])
        .iter()
        .map(|m| m["organization"]["handle"].as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The ids of the non-null entries of a `nodes(ids:)` answer.
fn present(nodes: &Value) -> BTreeSet<String> {
    arr(nodes)
        .iter()
        .filter(|n| !n.is_null())
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

/// A sign-in link's scoped session walks every list it can reach from the
/// viewer, three levels deep: it stays in its organization at every level
/// (memberships of every account, their organizations' tokens, its inbox),
/// and `nodes(ids:)` of everything outside it is null.
#[tokio::test]
async fn scoped_session_deep_walk_stays_in_its_organization() {
    let s = scene().await;
    let w = &s.w;
    let q = "{ viewer { id memberships { nodes { organization { handle members { nodes { account { id email memberships { nodes { organization { handle accessTokens { nodes { id account { id } } } members { totalCount } } } } } } } } } } messages { nodes { subject organization { handle } } } } organizations { nodes { handle } } }";
    // Control: billing's own session reaches `other` through the same query.
    let own = s.app.expect_data(Some(&w.billing), q, json!({})).await;
    assert_eq!(
        handles(&own["viewer"]["memberships"]),
        set(&["acme", "other"])
    );
    let d = s.app.expect_data(Some(&s.link), q, json!({})).await;
    let v = &d["viewer"];
    assert_eq!(handles(&v["memberships"]), set(&["acme"]), "{d}");
    assert_eq!(arr(&d["organizations"]["nodes"]).len(), 1, "{d}");
    let members = &v["memberships"]["nodes"][0]["organization"]["members"]["nodes"];
    assert_eq!(arr(members).len(), 3, "{d}");
    for m in arr(members) {
        let acc = &m["account"];
        assert_eq!(handles(&acc["memberships"]), set(&["acme"]), "{acc}");
        for n in arr(&acc["memberships"]["nodes"]) {
            // BILLING_MANAGER: only its own tokens.
            for t in arr(&n["organization"]["accessTokens"]["nodes"]) {
                assert_eq!(t["account"]["id"], json!(w.billing_id), "{d}");
                assert_eq!(t["id"], json!(s.tokens["billing@acme"]), "{d}");
            }
        }
    }
    let subjects: Vec<&Value> = arr(&v["messages"]["nodes"])
        .iter()
        .map(|m| &m["subject"])
        .collect();
    assert_eq!(subjects, vec!["acme hello"], "{d}");
    // nodes(ids:) of everything the session must not see, with acme's
    // own things as control, and nested lists under the organizations.
    let ids = vec![
        w.org_id.clone(),
        w.other_org_id.clone(),
        s.far.clone(),
        s.mine.clone(),
        s.tokens["billing@acme"].clone(),
        s.tokens["billing@other"].clone(),
        s.tokens["member@other"].clone(),
        s.messages["acme hello"].clone(),
        s.messages["other secret"].clone(),
        s.inv_other.clone(),
        s.link_other_id.clone(),
        s.sa_other_id.clone(),
        w.outsider_id.clone(),
        w.member_id.clone(),
    ];
    let d = s
        .app
        .expect_data(
            Some(&s.link),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Organization { members { nodes { account { memberships { nodes { organization { handle } } } } } } } } }",
            json!({"ids": ids}),
        )
        .await;
    assert_eq!(
        present(&d["nodes"]),
        set(&[
            &w.org_id,
            &s.tokens["billing@acme"],
            &s.messages["acme hello"],
            &w.member_id,
        ]),
        "{d}"
    );
    let acme = &d["nodes"][0];
    for m in arr(&acme["members"]["nodes"]) {
        assert_eq!(handles(&m["account"]["memberships"]), set(&["acme"]), "{d}");
    }
    let alone = s
        .app
        .expect_data(
            Some(&s.link),
            "{ other: organization(handle: \"other\") { id } far: organization(handle: \"far\") { id } }",
            json!({}),
        )
        .await;
    assert!(
        alone["other"].is_null() && alone["far"].is_null(),
        "{alone}"
    );
}

/// An ordinary member (MEMBER of acme and other, ADMIN of mine) lists the
/// memberships of every account of every organization it is in: each
/// account's memberships are those `node(id:)` of that account shows it
/// (organizations both belong to), also when asked twice with different
/// arguments (aliases).
#[tokio::test]
async fn member_walk_sees_memberships_only_in_shared_organizations() {
    let s = scene().await;
    let w = &s.w;
    let q = "{ viewer { memberships { nodes { organization { handle members { nodes { account { id email all: memberships { nodes { organization { handle } } } one: memberships(first: 1) { nodes { organization { handle } } } last: memberships(last: 1) { nodes { organization { handle } } } } } } } } } } }";
    let d = s.app.expect_data(Some(&w.member), q, json!({})).await;
    assert_eq!(
        handles(&d["viewer"]["memberships"]),
        set(&["acme", "other", "mine"])
    );
    let mut seen: BTreeMap<String, Value> = BTreeMap::new();
    for m in arr(&d["viewer"]["memberships"]["nodes"]) {
        for n in arr(&m["organization"]["members"]["nodes"]) {
            let acc = &n["account"];
            let id = acc["id"].as_str().unwrap().to_string();
            if let Some(before) = seen.get(&id) {
                assert_eq!(before, acc, "one account, two answers under two parents");
            }
            seen.insert(id, acc.clone());
        }
    }
    assert!(seen.contains_key(&w.outsider_id));
    assert!(!seen.contains_key(&s.temp_id));
    for (id, batched) in &seen {
        let alone = s
            .app
            .expect_data(
                Some(&w.member),
                "query($a: ID!) { node(id: $a) { ... on Account { id email all: memberships { nodes { organization { handle } } } one: memberships(first: 1) { nodes { organization { handle } } } last: memberships(last: 1) { nodes { organization { handle } } } } } }",
                json!({"a": id}),
            )
            .await;
        assert_eq!(&alone["node"], batched, "account {id}: nested vs alone");
    }
    // The outsider is also in far and scratch-two: never shown.
    assert_eq!(
        handles(&seen[&w.outsider_id]["all"]),
        set(&["other"]),
        "{}",
        seen[&w.outsider_id]
    );
    // nodes(ids:) mixing organizations the member is and is not in.
    let d = s
        .app
        .expect_data(
            Some(&w.member),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Organization { handle members { nodes { account { id memberships { nodes { organization { handle } } } } } } } } }",
            json!({"ids": [w.org_id, s.far, w.other_org_id, s.mine, "bm9wZQ"]}),
        )
        .await;
    assert!(d["nodes"][1].is_null() && d["nodes"][4].is_null(), "{d}");
    for i in [0, 2, 3] {
        for n in arr(&d["nodes"][i]["members"]["nodes"]) {
            let id = n["account"]["id"].as_str().unwrap();
            assert_eq!(
                n["account"]["memberships"], seen[id]["all"],
                "{id} under nodes({i})"
            );
        }
    }
}

/// Tokens under a list of organizations where the member's role differs
/// (MEMBER in acme and other, ADMIN in mine): its own only where it is not
/// ADMIN, however the list is reached (memberships, nodes, organizations)
/// and filtered (aliases with `account:` and `active:`).
#[tokio::test]
async fn member_batched_access_tokens_are_its_own_where_not_admin() {
    let s = scene().await;
    let w = &s.w;
    let sel = "handle all: accessTokens { totalCount nodes { id account { id } } } admins: accessTokens(account: $admin) { totalCount nodes { id } } outsiders: accessTokens(account: $outsider) { totalCount nodes { id } } inactive: accessTokens(active: false) { totalCount nodes { id } }";
    let vars = json!({"admin": w.admin_id, "outsider": w.outsider_id, "ids": [w.org_id, w.other_org_id, s.mine]});
    let q = format!(
        "query($admin: ID!, $outsider: ID!, $ids: [ID!]!) {{ viewer {{ memberships {{ nodes {{ organization {{ {sel} }} }} }} }} organizations {{ nodes {{ {sel} }} }} nodes(ids: $ids) {{ ... on Organization {{ {sel} }} }} }}"
    );
    let d = s.app.expect_data(Some(&w.member), &q, vars.clone()).await;
    let mut answers: Vec<&Value> = Vec::new();
    answers.extend(
        arr(&d["viewer"]["memberships"]["nodes"])
            .iter()
            .map(|m| &m["organization"]),
    );
    answers.extend(arr(&d["organizations"]["nodes"]).iter());
    answers.extend(arr(&d["nodes"]).iter());
    assert_eq!(answers.len(), 9);
    for org in answers {
        let handle = org["handle"].as_str().unwrap();
        let alone = s
            .app
            .expect_data(
                Some(&w.member),
                &format!("query($admin: ID!, $outsider: ID!, $h: String!) {{ organization(handle: $h) {{ {sel} }} }}"),
                json!({"admin": w.admin_id, "outsider": w.outsider_id, "h": handle}),
            )
            .await;
        assert_eq!(&alone["organization"], org, "{handle}: nested vs alone");
        let ids: BTreeSet<String> = arr(&org["all"]["nodes"])
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect();
        let want = match handle {
            "acme" => set(&[&s.tokens["member@acme"]]),
            "other" => set(&[&s.tokens["member@other"]]),
            "mine" => set(&[&s.tokens["member@mine"]]),
            h => panic!("{h}"),
        };
        assert_eq!(ids, want, "{handle}: {org}");
        assert_eq!(org["admins"]["totalCount"], 0, "{handle}: {org}");
        assert_eq!(org["outsiders"]["totalCount"], 0, "{handle}: {org}");
        assert_eq!(org["inactive"]["totalCount"], 0, "{handle}: {org}");
    }
    // nodes(ids:) of tokens: its own, never others'.
    let all: Vec<&String> = s.tokens.values().collect();
    let d = s
        .app
        .expect_data(
            Some(&w.member),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": all }),
        )
        .await;
    assert_eq!(
        present(&d["nodes"]),
        set(&[
            &s.tokens["member@acme"],
            &s.tokens["member@other"],
            &s.tokens["member@mine"],
        ])
    );
    // The billing manager of acme, MEMBER of other: its own in both.
    let d = s.app.expect_data(Some(&w.billing), &q, vars).await;
    for m in arr(&d["viewer"]["memberships"]["nodes"]) {
        for t in arr(&m["organization"]["all"]["nodes"]) {
            assert_eq!(t["account"]["id"], json!(w.billing_id), "{d}");
        }
    }
}

/// acme's service account walks into the accounts of its organization and
/// their memberships: only acme's, at every level; `nodes(ids:)` of other
/// organizations and of their objects is null, also with nested lists.
#[tokio::test]
async fn service_account_walk_stays_in_its_organization() {
    let s = scene().await;
    let w = &s.w;
    let q = "{ organizations { nodes { handle seats { assignments { nodes { account { id } assignedBy { id email memberships { nodes { organization { handle } } } } } } } members { nodes { account { id email memberships { nodes { organization { handle accessTokens { nodes { id } } seats { assignments { nodes { account { id } assignedBy { id email } } } } } } } } } } } } }";
    let d = s.app.expect_data(Some(&s.sa), q, json!({})).await;
    let orgs = arr(&d["organizations"]["nodes"]);
    assert_eq!(orgs.len(), 1, "{d}");
    let mut assigned_by_temp = 0;
    for a in arr(&orgs[0]["seats"]["assignments"]["nodes"]) {
        if a["assignedBy"]["id"] == json!(s.temp_id) {
            assigned_by_temp += 1;
            assert!(a["assignedBy"]["email"].is_null(), "{a}");
            assert_eq!(arr(&a["assignedBy"]["memberships"]["nodes"]).len(), 0);
        }
    }
    assert_eq!(assigned_by_temp, 1, "{d}");
    for m in arr(&orgs[0]["members"]["nodes"]) {
        let acc = &m["account"];
        assert_eq!(handles(&acc["memberships"]), set(&["acme"]), "{acc}");
        for n in arr(&acc["memberships"]["nodes"]) {
            for a in arr(&n["organization"]["seats"]["assignments"]["nodes"]) {
                if a["assignedBy"]["id"] == json!(s.temp_id) {
                    assert!(a["assignedBy"]["email"].is_null(), "{a}");
                }
            }
        }
    }
    // The member alone: acme's membership only, though it is in three.
    let alone = s
        .app
        .expect_data(
            Some(&s.sa),
            "query($a: ID!) { node(id: $a) { ... on Account { email memberships { nodes { organization { handle } } } } } }",
            json!({"a": w.member_id}),
        )
        .await;
    assert_eq!(handles(&alone["node"]["memberships"]), set(&["acme"]));
    let ids = vec![
        w.org_id.clone(),
        w.other_org_id.clone(),
        s.mine.clone(),
        s.far.clone(),
        s.tokens["member@acme"].clone(),
        s.tokens["member@other"].clone(),
        s.tokens["member@mine"].clone(),
        s.inv_acme.clone(),
        s.inv_other.clone(),
        s.inv_mine.clone(),
        s.sa_acme_id.clone(),
        s.sa_other_id.clone(),
        s.sa_mine_id.clone(),
        s.link_other_id.clone(),
        s.link_acme_id.clone(),
        s.messages["acme hello"].clone(),
        w.outsider_id.clone(),
        s.temp_id.clone(),
        w.member_id.clone(),
    ];
    let d = s
        .app
        .expect_data(
            Some(&s.sa),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Organization { members { nodes { account { memberships { nodes { organization { handle } } } } } } accessTokens { nodes { id } } invitations { nodes { id } } } } }",
            json!({ "ids": ids }),
        )
        .await;
    // A service account sees its organization, its tokens and
    // invitations and the accounts of its members; not service accounts,
    // sign-in links, messages, nor anything of another organization.
    assert_eq!(
        present(&d["nodes"]),
        set(&[
            &w.org_id,
            &s.tokens["member@acme"],
            &s.inv_acme,
            &w.member_id,
        ]),
        "{d}"
    );
    for m in arr(&d["nodes"][0]["members"]["nodes"]) {
        assert_eq!(handles(&m["account"]["memberships"]), set(&["acme"]));
    }
}

/// A member of acme lists seats (through the pool and through the members
/// page, alone and under a list): the seat temp assigned before it was
/// removed names temp, who shares no organization with the member — no
/// email, no memberships, as `node(id:)` of temp (null) implies.
#[tokio::test]
async fn seat_assigned_by_a_stranger_shows_no_email_nor_memberships() {
    let s = scene().await;
    let w = &s.w;
    let by = "assignedBy { id email memberships { nodes { organization { handle } } } }";
    let q = format!(
        "{{ acme: organization(handle: \"acme\") {{ seats {{ assignments {{ nodes {{ account {{ id }} {by} }} }} }} members {{ nodes {{ account {{ id }} seat {{ assignedAt {by} }} }} }} }} viewer {{ memberships {{ nodes {{ organization {{ handle seats {{ assignments {{ nodes {{ account {{ id }} {by} }} }} }} members {{ nodes {{ account {{ id }} seat {{ {by} }} }} }} }} }} }} }} }}"
    );
    for who in [&w.member, &w.billing, &s.link] {
        let d = s.app.expect_data(Some(who), &q, json!({})).await;
        let text = d.to_string();
        assert!(text.contains(&s.temp_id), "temp assigned a seat: {d}");
        assert!(!text.contains("temp@example.com"), "temp's email: {d}");
        assert!(!text.contains("\"far\""), "temp's membership in far: {d}");
        let alone = s
            .app
            .expect_data(
                Some(who),
                "query($a: ID!) { node(id: $a) { id } account(id: $a) { id } }",
                json!({"a": s.temp_id}),
            )
            .await;
        assert!(
            alone["node"].is_null() && alone["account"].is_null(),
            "{alone}"
        );
    }
}

/// acme's admin and service account list acme's access tokens: temp's
/// (revoked when temp was removed) is among them. temp now shares no
/// organization with either — `node(id:)` of temp is null for both, and
/// an account's email is for "members of an organization it belongs to"
/// (rules.md) — so `AccessToken.account` must not show temp's email, nor
/// memberships. (The audit log does this right: its accounts' emails are
/// shown only to members of the event's organization.)
#[tokio::test]
async fn former_members_email_must_not_show_through_access_tokens() {
    let s = scene().await;
    let w = &s.w;
    let tok = "accessTokens { nodes { id active account { id email memberships { nodes { organization { handle } } } } } }";
    let q = format!(
        "{{ organization(handle: \"acme\") {{ {tok} }} organizations {{ nodes {{ handle {tok} }} }} }}"
    );
    let mut leaks: Vec<String> = Vec::new();
    for (who, token) in [("admin", &w.admin), ("service account", &s.sa)] {
        let alone = s
            .app
            .expect_data(
                Some(token),
                "query($a: ID!) { node(id: $a) { ... on Account { email } } account(id: $a) { email } }",
                json!({"a": s.temp_id}),
            )
            .await;
        assert!(
            alone["node"].is_null() && alone["account"].is_null(),
            "{who}: {alone}"
        );
        let d = s.app.expect_data(Some(token), &q, json!({})).await;
        let mut lists: Vec<(&str, &Value)> = vec![("organization(handle:)", &d["organization"])];
        lists.extend(
            arr(&d["organizations"]["nodes"])
                .iter()
                .map(|o| ("organizations", o)),
        );
        let mut found = 0;
        for (path, org) in lists {
            for t in arr(&org["accessTokens"]["nodes"]) {
                if t["id"] == json!(s.tokens["temp@acme"]) {
                    found += 1;
                    assert_eq!(t["active"], false);
                    assert_eq!(arr(&t["account"]["memberships"]["nodes"]).len(), 0);
                    if !t["account"]["email"].is_null() {
                        leaks.push(format!("{who}, {path} {{ accessTokens }}: {t}"));
                    }
                }
            }
        }
        assert_eq!(found, 2, "{who}: {d}");
        // nodes(ids:) of the token: the same answer.
        let d = s
            .app
            .expect_data(
                Some(token),
                "query($ids: [ID!]!) { nodes(ids: $ids) { ... on AccessToken { account { id email } } } }",
                json!({"ids": [s.tokens["temp@acme"], s.tokens["admin@acme"]]}),
            )
            .await;
        assert!(!d["nodes"][0].is_null(), "{who}: {d}");
        if !d["nodes"][0]["account"]["email"].is_null() {
            leaks.push(format!("{who}, nodes(ids:): {}", d["nodes"][0]));
        }
    }
    assert!(
        leaks.is_empty(),
        "the email of an account the caller shares no organization with, through AccessToken.account:\n{}",
        leaks.join("\n")
    );
}

/// Lists only some roles may read, under a list of organizations where the
/// caller's role differs: `nodes(ids:)` of acme and other (MEMBER) and mine
/// (ADMIN) as the member, acme (BILLING_MANAGER) and other (MEMBER) as
/// billing. Each organization answers as alone: FORBIDDEN where the role
/// does not allow it, and nothing of it anywhere in the answer.
#[tokio::test]
async fn role_gated_lists_under_a_list_follow_each_organizations_role() {
    let s = scene().await;
    let w = &s.w;
    // (field, selection).
    let fields = [
        (
            "serviceAccounts",
            "serviceAccounts { totalCount nodes { id name } }",
        ),
        (
            "invitations",
            "invitations { totalCount nodes { id email } }",
        ),
        ("signInTokens", "signInTokens { totalCount nodes { id } }"),
        (
            "auditLog",
            "auditLog(first: 100) { totalCount nodes { id action } }",
        ),
        (
            "resourceUsage",
            "resourceUsage { members activeAccessTokens serviceAccounts pendingInvitations }",
        ),
        ("usage", "usage { metric buckets { value } }"),
    ];
    // Rows of acme and other nobody here may read.
    let secrets = [
        "acme-sa",
        "other-sa",
        "invitee-acme@example.com",
        "invitee-other@example.com",
        s.link_other_id.as_str(),
        s.link_acme_id.as_str(),
    ];
    struct Case<'a> {
        who: &'a str,
        ids: Vec<&'a String>,
        /// Per id, the fields it may read.
        allowed: Vec<&'a [&'a str]>,
    }
    let all: &[&str] = &[
        "serviceAccounts",
        "invitations",
        "signInTokens",
        "auditLog",
        "resourceUsage",
        "usage",
    ];
    let billing: &[&str] = &["resourceUsage", "usage"];
    let none: &[&str] = &[];
    let cases = [
        Case {
            who: &w.member,
            ids: vec![&w.org_id, &w.other_org_id, &s.mine],
            allowed: vec![none, none, all],
        },
        Case {
            who: &w.billing,
            ids: vec![&w.org_id, &w.other_org_id],
            allowed: vec![billing, none],
        },
        Case {
            who: &s.link,
            ids: vec![&w.org_id, &w.other_org_id],
            allowed: vec![billing, none],
        },
    ];
    for case in &cases {
        for (name, sel) in fields {
            let q = format!(
                "query($ids: [ID!]!) {{ nodes(ids: $ids) {{ id ... on Organization {{ handle {sel} }} }} }}"
            );
            let r = s
                .app
                .gql(Some(case.who), &q, json!({"ids": case.ids}))
                .await;
            let text = r.body.to_string();
            for (i, id) in case.ids.iter().enumerate() {
                let node = &r.body["data"]["nodes"][i];
                let alone_q = format!(
                    "query($id: ID!) {{ node(id: $id) {{ id ... on Organization {{ handle {sel} }} }} }}"
                );
                let alone = s.app.gql(Some(case.who), &alone_q, json!({"id": id})).await;
                let alone_node = &alone.body["data"]["node"];
                if case.allowed[i].contains(&name) {
                    assert!(!node.is_null(), "{name} of {id}: {}", r.body);
                    assert_eq!(node, alone_node, "{name} of {id}: nested vs alone");
                } else {
                    // FORBIDDEN: no value for the field (async-graphql
                    // leaves the node without it, or nulls the node).
                    assert!(node[name].is_null(), "{name} of {id}: {}", r.body);
                    assert!(
                        alone_node[name].is_null(),
                        "{name} of {id} alone: {}",
                        alone.body
                    );
                }
            }
            for secret in secrets {
                assert!(!text.contains(secret), "{name}: {secret} in {text}");
            }
            let codes: BTreeSet<&str> = r.body["errors"]
                .as_array()
                .map(|e| {
                    e.iter()
                        .map(|e| e["extensions"]["code"].as_str().unwrap_or("?"))
                        .collect()
                })
                .unwrap_or_default();
            assert!(
                codes.iter().all(|c| *c == "FORBIDDEN" || *c == "NOT_FOUND"),
                "{name}: {}",
                r.body
            );
        }
    }
}

/// Cursors of one organization's page used under a list of others: each
/// organization's page after that cursor is its own page after it (as
/// alone), never rows of the organization the cursor came from; a cursor
/// of another kind of list is refused as alone.
#[tokio::test]
async fn cursors_from_one_organization_do_not_open_another() {
    let s = scene().await;
    let w = &s.w;
    let first = s
        .app
        .expect_data(
            Some(&w.member),
            "{ a: organization(handle: \"acme\") { members(first: 1) { pageInfo { endCursor } } } m: organization(handle: \"mine\") { accessTokens(first: 1) { pageInfo { endCursor } } invitations(first: 1) { pageInfo { endCursor } } } }",
            json!({}),
        )
        .await;
    let member_cursor = first["a"]["members"]["pageInfo"]["endCursor"].clone();
    let token_cursor = first["m"]["accessTokens"]["pageInfo"]["endCursor"].clone();
    let inv_cursor = first["m"]["invitations"]["pageInfo"]["endCursor"].clone();
    let sel = "handle members(first: 5, after: $mc) { nodes { account { id } } } before: members(last: 5, before: $mc) { nodes { account { id } } } accessTokens(first: 5, after: $tc) { nodes { id account { id } } } tokensBefore: accessTokens(last: 5, before: $tc) { nodes { id account { id } } }";
    let vars =
        json!({"mc": member_cursor, "tc": token_cursor, "ids": [w.org_id, w.other_org_id, s.mine]});
    let q = format!(
        "query($mc: String, $tc: String, $ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Organization {{ {sel} }} }} viewer {{ memberships {{ nodes {{ organization {{ {sel} }} }} }} }} }}"
    );
    let d = s.app.expect_data(Some(&w.member), &q, vars.clone()).await;
    let mut orgs: Vec<&Value> = arr(&d["nodes"]).iter().collect();
    orgs.extend(
        arr(&d["viewer"]["memberships"]["nodes"])
            .iter()
            .map(|m| &m["organization"]),
    );
    for org in orgs {
        let h = org["handle"].as_str().unwrap();
        let alone = s
            .app
            .expect_data(
                Some(&w.member),
                &format!("query($mc: String, $tc: String, $h: String!) {{ organization(handle: $h) {{ {sel} }} }}"),
                json!({"mc": member_cursor, "tc": token_cursor, "h": h}),
            )
            .await;
        assert_eq!(&alone["organization"], org, "{h}: nested vs alone");
        for key in ["accessTokens", "tokensBefore"] {
            for t in arr(&org[key]["nodes"]) {
                assert_eq!(t["account"]["id"], json!(w.member_id), "{h}: {org}");
            }
        }
    }
    // A cursor of invitations (of mine) under the members of other lists:
    // refused or ignored the same way under a list as alone.
    let q = "query($c: String, $ids: [ID!]!) { nodes(ids: $ids) { ... on Organization { handle members(after: $c) { nodes { id } } accessTokens(after: $c) { nodes { id } } } } }";
    let r = s
        .app
        .gql(
            Some(&w.member),
            q,
            json!({"c": inv_cursor, "ids": [w.org_id, w.other_org_id]}),
        )
        .await;
    let alone = s
        .app
        .gql(
            Some(&w.member),
            q,
            json!({"c": inv_cursor, "ids": [w.other_org_id]}),
        )
        .await;
    assert_eq!(r.code(), alone.code(), "{} vs {}", r.body, alone.body);
    assert!(
        r.code().is_some(),
        "a cursor of another list is refused: {}",
        r.body
    );
}

/// Messages are read only by their recipients: under a list of accounts
/// every inbox but the caller's is empty; `nodes(ids:)` of messages the
/// caller did not receive (or, for a scoped session, of another
/// organization) is null.
#[tokio::test]
async fn other_peoples_messages_stay_out_of_lists_and_nodes() {
    let s = scene().await;
    let w = &s.w;
    let q = "{ viewer { memberships { nodes { organization { handle members { nodes { account { id messages { totalCount nodes { id subject } } } } } } } } } }";
    for (who, me, want) in [
        (
            &w.member,
            &w.member_id,
            set(&["acme hello", "other secret"]),
        ),
        (
            &w.billing,
            &w.billing_id,
            set(&["acme hello", "other secret"]),
        ),
        (&s.link, &w.billing_id, set(&["acme hello"])),
    ] {
        let d = s.app.expect_data(Some(who), q, json!({})).await;
        for m in arr(&d["viewer"]["memberships"]["nodes"]) {
            for n in arr(&m["organization"]["members"]["nodes"]) {
                let acc = &n["account"];
                let got: BTreeSet<String> = arr(&acc["messages"]["nodes"])
                    .iter()
                    .map(|m| m["subject"].as_str().unwrap().to_string())
                    .collect();
                if acc["id"] == json!(me) {
                    assert_eq!(got, want, "{d}");
                } else {
                    assert!(got.is_empty(), "another's inbox: {acc}");
                    assert_eq!(acc["messages"]["totalCount"], 0, "{acc}");
                }
            }
        }
        let ids: Vec<&String> = s.messages.values().collect();
        let d = s
            .app
            .expect_data(
                Some(who),
                "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Message { subject organization { handle } sender { id } } } }",
                json!({ "ids": ids }),
            )
            .await;
        let got: BTreeSet<String> = arr(&d["nodes"])
            .iter()
            .filter(|n| !n.is_null())
            .map(|n| n["subject"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "{d}");
    }
}

/// `nodes(ids:)` of objects of organizations the caller may not see
/// registers those organizations with the visible ones as one list level
/// (`batch::keep_visible` registers before it filters): the lists under
/// the visible objects' organizations are then read for all of them at
/// once, which a service account or a scoped session (one organization)
/// never gets otherwise. Each visible organization must answer as alone,
/// and the acting service account of audit events stays hidden from a
/// service account (person admins only).
#[tokio::test]
async fn forced_batch_through_invisible_ids_answers_as_alone() {
    let s = scene().await;
    let w = &s.w;
    let org_sel = "handle members { totalCount nodes { account { id email memberships { nodes { organization { handle } } } } } } accessTokens { totalCount nodes { id account { id } } } seats { used assignments { nodes { account { id } assignedBy { id email } } } } member(account: $temp) { id }";
    let audit_sel = "handle auditLog(first: 100) { totalCount nodes { action actor { id email } actorServiceAccount { name } targetAccount { id email } } } invitations { totalCount nodes { email invitedBy { id email } } } resourceUsage { members activeAccessTokens pendingInvitations serviceAccounts } member(account: $temp) { id }";
    let tokens: Vec<&String> = s.tokens.values().collect();
    let invitations = [&s.inv_acme, &s.inv_other, &s.inv_mine];
    let cases: [(&str, &String, &[&str]); 4] = [
        ("service account", &s.sa, &["acme"]),
        ("scoped session", &s.link, &["acme"]),
        ("member", &w.member, &["acme", "other", "mine"]),
        ("billing", &w.billing, &["acme", "other"]),
    ];
    for (who, token, visible) in cases {
        for (sel, gated) in [(org_sel, false), (audit_sel, true)] {
            let q = format!(
                "query($ids: [ID!]!, $temp: ID!) {{ tokens: nodes(ids: $ids) {{ id ... on AccessToken {{ organization {{ {sel} }} }} ... on Invitation {{ organization {{ {sel} }} }} }} }}"
            );
            let mut ids: Vec<&String> = tokens.clone();
            ids.extend(invitations);
            let r = s
                .app
                .gql(Some(token), &q, json!({"ids": ids, "temp": s.temp_id}))
                .await;
            let mut handles_seen = BTreeSet::new();
            let data = &r.body["data"]["tokens"];
            assert!(data.is_array(), "{who}: {}", r.body);
            for n in arr(data) {
                let org = &n["organization"];
                let Some(h) = org["handle"].as_str() else {
                    continue;
                };
                assert!(visible.contains(&h), "{who} reached {h}: {}", r.body);
                handles_seen.insert(h.to_string());
                let alone = s
                    .app
                    .gql(
                        Some(token),
                        &format!("query($h: String!, $temp: ID!) {{ organization(handle: $h) {{ {sel} }} }}"),
                        json!({"h": h, "temp": s.temp_id}),
                    )
                    .await;
                assert_eq!(
                    org, &alone.body["data"]["organization"],
                    "{who}, {h}: under nodes(ids:) vs alone"
                );
            }
            if !gated {
                assert!(r.body["errors"].is_null(), "{who}: {}", r.body);
                assert!(!handles_seen.is_empty(), "{who}: {}", r.body);
            }
            let text = r.body.to_string();
            assert!(!text.contains("temp@example.com"), "{who}: {text}");
            for other in [
                "invitee-other@example.com",
                "invitee-mine@example.com",
                "other-sa",
            ] {
                if !(who == "member" && other == "invitee-mine@example.com") {
                    assert!(!text.contains(other), "{who}: {other} in {text}");
                }
            }
            if who == "service account" {
                assert!(
                    !text.contains("acme-sa"),
                    "{who} sees service accounts: {text}"
                );
            }
        }
    }
}
