//! Security review, critical finding: "any signed-in person can act as any
//! non-admin account" (open org creation → onboard the victim's existing
//! account → mint a sign-in link → act in the victim's other
//! organizations). Each step is tried here through the public API, over
//! HTTP and the websocket, and must be refused.

use serde_json::{json, Value};

use crate::helpers::links::{claims, redeem, uuid_of};
use crate::helpers::ws::{Client, Got};
use crate::helpers::*;

const CREATE: &str = "mutation($i: CreateSignInTokenInput!) { createSignInToken(input: $i) { token url expiresAt signInToken { id active } } }";
const EXPIRE: &str =
    "mutation($i: ExpireSignInTokenInput!) { expireSignInToken(input: $i) { expired } }";
const ONBOARD: &str = "mutation($i: OnboardUsersInput!) { onboardUsers(input: $i) { results { email membership { id } accessToken { id } invitation { id status } error { code } } } }";
const PURCHASE: &str = "mutation($i: PurchaseSeatsInput!) { purchaseSeats(input: $i) { organization { plan { seatLimit } } } }";
const ROLE: &str =
    "mutation($i: UpdateMemberRoleInput!) { updateMemberRole(input: $i) { membership { role } } }";
const REMOVE: &str =
    "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { removedAccountId } }";
const ADD: &str = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { role } } }";
const LINKS: &str = "query($h: String!) { organization(handle: $h) { signInTokens(first: 10) { totalCount nodes { id active createdAt expiresAt expiredAt lastUsedAt account { id } createdBy { id } organization { handle } } } } }";

async fn mint(app: &TestApp, by: &str, account: &str) -> Value {
    app.expect_data(Some(by), CREATE, json!({"i": {"account": account}}))
        .await["createSignInToken"]
        .clone()
}

/// The review's reproduction, step by step: the attacker never gets the
/// victim into an organization, so never gets a link for them.
#[tokio::test]
async fn an_outsider_cannot_pull_an_existing_account_in_and_sign_in_as_it() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let evil = app.create_org(&w.outsider, "evil").await;
    // onboardUsers with the victim's email: an invitation, no membership.
    let d = app
        .expect_data(
            Some(&w.outsider),
            ONBOARD,
            json!({"i": {"organization": evil, "users": [{"email": "billing@example.com"}]}}),
        )
        .await;
    let r = &d["onboardUsers"]["results"][0];
    assert!(r["error"].is_null(), "{r}");
    assert!(r["membership"].is_null(), "{r}");
    assert!(r["accessToken"].is_null(), "{r}");
    assert_eq!(r["invitation"]["status"], "PENDING");
    // createUser with it: no account change, no membership; an invitation.
    let r = app
        .gql(
            Some(&w.outsider),
            CREATE_USER,
            json!({"i": {"organization": evil, "email": "billing@example.com", "password": "attacker-chosen-password", "firstName": "Owned"}}),
        )
        .await;
    assert_eq!(r.code(), Some("ALREADY_EXISTS"), "{}", r.body);
    app.sign_in("billing@example.com", PASSWORD).await;
    let members = app
        .expect_data(
            Some(&w.outsider),
            "query($h: String!) { organization(handle: $h) { members { totalCount } invitations { totalCount } } }",
            json!({"h": "evil"}),
        )
        .await;
    assert_eq!(members["organization"]["members"]["totalCount"], 1);
    assert_eq!(members["organization"]["invitations"]["totalCount"], 1);
    let v = app
        .expect_data(
            Some(&w.billing),
            "{ viewer { firstName memberships { totalCount } } }",
            json!({}),
        )
        .await;
    assert!(v["viewer"]["firstName"].is_null(), "names untouched");
    assert_eq!(v["viewer"]["memberships"]["totalCount"], 1);
    // So there is no organization to mint a link in.
    assert_eq!(
        app.gql(
            Some(&w.outsider),
            CREATE,
            json!({"i": {"account": w.billing_id}})
        )
        .await
        .code(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.gql(
            Some(&w.outsider),
            CREATE,
            json!({"i": {"account": w.billing_id, "organization": evil}})
        )
        .await
        .code(),
        Some("NOT_FOUND")
    );
}

/// A link's session acts in the organization it was minted for and is a
/// stranger everywhere else — over HTTP and over the websocket.
#[tokio::test]
async fn a_link_session_is_a_stranger_outside_its_organization() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // The member is also BILLING_MANAGER of the outsider's organization.
    app.expect_data(
        Some(&w.site_admin),
        ADD,
        json!({"i": {"organization": w.other_org_id, "account": "member@example.com", "role": "BILLING_MANAGER"}}),
    )
    .await;
    let link = mint(&app, &w.admin, &w.member_id).await;
    let jwt = redeem(&app, link["url"].as_str().unwrap()).await.unwrap();
    let c = claims(&jwt);
    assert_eq!(c["sub"], uuid_of(&w.member_id));
    assert_eq!(c["org"], uuid_of(&w.org_id), "{c}");
    assert_eq!(c["act"]["sub"], uuid_of(&w.admin_id), "{c}");
    // Control: the member's own session may buy seats in the other organization.
    let own = app.sign_in("member@example.com", PASSWORD).await;
    let buy = json!({"i": {"organization": w.other_org_id, "quantity": 1}});
    assert!(app
        .gql(Some(&own), PURCHASE, buy.clone())
        .await
        .code()
        .is_none());
    // The link's session may not, and sees nothing of it.
    assert_eq!(
        app.gql(Some(&jwt), PURCHASE, buy).await.code(),
        Some("NOT_FOUND")
    );
    let d = app
        .expect_data(
            Some(&jwt),
            "query($o: ID!) { viewer { memberships { nodes { organization { handle } } } } organizations { nodes { handle } } other: organization(handle: \"other\") { id } acme: organization(handle: \"acme\") { handle viewerRole } node(id: $o) { id } }",
            json!({"o": w.other_org_id}),
        )
        .await;
    assert_eq!(
        d["viewer"]["memberships"]["nodes"],
        json!([{"organization": {"handle": "acme"}}])
    );
    assert_eq!(d["organizations"]["nodes"], json!([{"handle": "acme"}]));
    assert!(d["other"].is_null());
    assert!(d["node"].is_null());
    assert_eq!(d["acme"]["viewerRole"], "MEMBER");
    // Nor can it found organizations, or see the outsider's account.
    let r = app
        .gql(
            Some(&jwt),
            CREATE_ORG,
            json!({"i": {"handle": "via-link", "name": "x"}}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    let d = app
        .expect_data(
            Some(&jwt),
            "query($a: ID!) { node(id: $a) { id } }",
            json!({"a": w.outsider_id}),
        )
        .await;
    assert!(d["node"].is_null(), "shares only `other` with the outsider");
    // Over the websocket: the same answers.
    let mut ws = Client::ready(&app.base, false, &jwt).await;
    ws.subscribe(
        "q",
        "query { other: organization(handle: \"other\") { id } acme: organization(handle: \"acme\") { handle } }",
        json!({}),
    )
    .await;
    let d = ws.next_data(5).await.expect("an answer");
    assert!(d["data"]["other"].is_null(), "{d}");
    assert_eq!(d["data"]["acme"]["handle"], "acme");
    ws.subscribe(
        "s",
        "subscription($o: ID!) { seatChanges(organization: $o) { used } }",
        json!({"o": w.other_org_id}),
    )
    .await;
    loop {
        match ws.recv(5).await {
            Got::Msg(m) if m["id"] == "q" => continue,
            Got::Msg(m) => {
                assert_eq!(m["id"], "s");
                assert!(
                    m.to_string().contains("NOT_FOUND"),
                    "seatChanges of another organization: {m}"
                );
                break;
            }
            other => panic!("no answer to the subscription: {other:?}"),
        }
    }
}

/// A site admin's link grants the member's rights in one organization,
/// never the site admin's.
#[tokio::test]
async fn a_site_admins_link_never_grants_site_admin_rights() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let link = mint(&app, &w.site_admin, &w.member_id).await;
    let jwt = redeem(&app, link["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(
        app.gql(
            Some(&jwt),
            "{ organizations(all: true) { totalCount } }",
            json!({})
        )
        .await
        .code(),
        Some("FORBIDDEN")
    );
    let r = app
        .gql(
            Some(&jwt),
            SET_PLAN,
            json!({"i": {"organization": w.org_id, "name": "x", "seatLimit": 100, "startsOn": "2026-01-01"}}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    // And no link for an organization's ADMIN, even from a site admin.
    assert_eq!(
        app.gql(
            Some(&w.site_admin),
            CREATE,
            json!({"i": {"account": w.admin_id, "organization": w.org_id}})
        )
        .await
        .code(),
        Some("FORBIDDEN")
    );
}

/// The rules are read again on redemption and on every request: promote
/// the target, demote or remove the minter, remove the target — the
/// session stops at once (401) and the link no longer redeems.
#[tokio::test]
async fn a_link_dies_when_what_allowed_it_changes() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let me = "{ viewer { id } }";
    let role =
        |acc: &str, r: &str| json!({"i": {"organization": w.org_id, "account": acc, "role": r}});

    // 1. The target becomes ADMIN.
    let link = mint(&app, &w.admin, &w.member_id).await;
    let url = link["url"].as_str().unwrap().to_string();
    let jwt = redeem(&app, &url).await.unwrap();
    assert_eq!(app.gql(Some(&jwt), me, json!({})).await.status, 200);
    app.expect_data(Some(&w.admin), ROLE, role(&w.member_id, "ADMIN"))
        .await;
    assert_eq!(app.gql(Some(&jwt), me, json!({})).await.status, 401);
    assert_eq!(redeem(&app, &url).await, Err(401));
    app.expect_data(Some(&w.admin), ROLE, role(&w.member_id, "MEMBER"))
        .await;
    assert_eq!(redeem(&app, &url).await, Err(401), "expired, not paused");

    // 2. The minter is demoted (the billing manager is made ADMIN to mint).
    app.expect_data(Some(&w.admin), ROLE, role(&w.billing_id, "ADMIN"))
        .await;
    let link = mint(&app, &w.billing, &w.member_id).await;
    let url = link["url"].as_str().unwrap().to_string();
    let jwt = redeem(&app, &url).await.unwrap();
    assert_eq!(app.gql(Some(&jwt), me, json!({})).await.status, 200);
    app.expect_data(Some(&w.admin), ROLE, role(&w.billing_id, "MEMBER"))
        .await;
    assert_eq!(app.gql(Some(&jwt), me, json!({})).await.status, 401);
    assert_eq!(redeem(&app, &url).await, Err(401));

    // 3. The minter is removed.
    app.expect_data(Some(&w.admin), ROLE, role(&w.billing_id, "ADMIN"))
        .await;
    let link = mint(&app, &w.billing, &w.member_id).await;
    let url = link["url"].as_str().unwrap().to_string();
    let jwt = redeem(&app, &url).await.unwrap();
    app.expect_data(
        Some(&w.admin),
        REMOVE,
        json!({"i": {"organization": w.org_id, "account": w.billing_id}}),
    )
    .await;
    assert_eq!(app.gql(Some(&jwt), me, json!({})).await.status, 401);
    assert_eq!(redeem(&app, &url).await, Err(401));

    // 4. The target is removed.
    let link = mint(&app, &w.admin, &w.member_id).await;
    let url = link["url"].as_str().unwrap().to_string();
    let jwt = redeem(&app, &url).await.unwrap();
    app.expect_data(
        Some(&w.admin),
        REMOVE,
        json!({"i": {"organization": w.org_id, "account": w.member_id}}),
    )
    .await;
    assert_eq!(app.gql(Some(&jwt), me, json!({})).await.status, 401);
    assert_eq!(redeem(&app, &url).await, Err(401));

    // Every link above is listed, expired.
    let d = app
        .expect_data(Some(&w.admin), LINKS, json!({"h": "acme"}))
        .await;
    let links = &d["organization"]["signInTokens"];
    assert_eq!(links["totalCount"], 4);
    for l in links["nodes"].as_array().unwrap() {
        assert_eq!(l["active"], false, "{l}");
        assert!(l["expiredAt"].is_string(), "{l}");
    }
}

/// Admins list an organization's links (never the secret), expire any by
/// id — which ends its session at once — and every step is audited.
#[tokio::test]
async fn links_are_listed_expired_by_id_and_audited() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let link = mint(&app, &w.admin, &w.member_id).await;
    let url = link["url"].as_str().unwrap().to_string();
    let secret = link["token"].as_str().unwrap().to_string();
    let jwt = redeem(&app, &url).await.unwrap();
    // Outside its organization the session is a stranger, even to leave.
    let r = app
        .gql(
            Some(&jwt),
            "mutation($i: LeaveOrganizationInput!) { leaveOrganization(input: $i) { organization { id } } }",
            json!({"i": {"organization": w.other_org_id}}),
        )
        .await;
    assert_eq!(r.code(), Some("NOT_FOUND"));
    // Inside it, its acts are audited with the admin behind them.
    app.expect_data(
        Some(&w.site_admin),
        SET_PLAN,
        json!({"i": {"organization": w.org_id, "name": "p", "seatLimit": 5, "startsOn": "2026-01-01"}}),
    )
    .await;
    app.expect_data(
        Some(&w.admin),
        ASSIGN_ONE,
        json!({"i": {"organization": w.org_id, "accounts": [w.member_id]}}),
    )
    .await;
    app.expect_data(
        Some(&jwt),
        "mutation($i: IssueAccessTokenInput!) { issueAccessToken(input: $i) { accessToken { id } } }",
        json!({"i": {"organization": w.org_id, "name": "via-link"}}),
    )
    .await;
    // Listed for the organization's admins, with who and when; no secret.
    let d = app
        .expect_data(Some(&w.admin), LINKS, json!({"h": "acme"}))
        .await;
    let l = &d["organization"]["signInTokens"]["nodes"][0];
    assert_eq!(l["account"]["id"], w.member_id.as_str());
    assert_eq!(l["createdBy"]["id"], w.admin_id.as_str());
    assert_eq!(l["organization"]["handle"], "acme");
    assert_eq!(l["active"], true);
    assert!(l["lastUsedAt"].is_string(), "redeemed: {l}");
    assert!(!d.to_string().contains(&secret));
    let fields = app
        .expect_data(
            Some(&w.admin),
            "{ __type(name: \"SignInToken\") { fields { name } } }",
            json!({}),
        )
        .await
        .to_string();
    assert!(
        !fields.contains("\"token\"") && !fields.contains("hash"),
        "{fields}"
    );
    // Only its admins: others get FORBIDDEN or see no organization.
    for who in [&w.billing, &w.member] {
        let r = app.gql(Some(who), LINKS, json!({"h": "acme"})).await;
        assert_eq!(r.code(), Some("FORBIDDEN"));
    }
    let r = app
        .gql(Some(&w.outsider), LINKS, json!({"h": "acme"}))
        .await;
    assert!(r.data()["organization"].is_null());
    let r = app
        .expect_data(
            Some(&w.outsider),
            "query($i: ID!) { node(id: $i) { id } }",
            json!({"i": l["id"]}),
        )
        .await;
    assert!(r["node"].is_null());
    // Nobody but its organization's admins may expire it.
    for who in [&w.outsider, &w.member, &jwt] {
        let r = app
            .gql(Some(who), EXPIRE, json!({"i": {"id": l["id"]}}))
            .await;
        assert!(
            matches!(r.code(), Some("FORBIDDEN") | Some("NOT_FOUND")),
            "{}",
            r.body
        );
    }
    let r = app
        .gql(
            Some(&w.admin),
            EXPIRE,
            json!({"i": {"id": l["id"], "token": secret}}),
        )
        .await;
    assert_eq!(
        r.code(),
        Some("BAD_USER_INPUT"),
        "exactly one of id and token"
    );
    // Expired by id: the session ends at once.
    assert_eq!(
        app.gql(Some(&jwt), "{ viewer { id } }", json!({}))
            .await
            .status,
        200
    );
    let d = app
        .expect_data(Some(&w.admin), EXPIRE, json!({"i": {"id": l["id"]}}))
        .await;
    assert_eq!(d["expireSignInToken"]["expired"], true);
    assert_eq!(
        app.gql(Some(&jwt), "{ viewer { id } }", json!({}))
            .await
            .status,
        401
    );
    assert_eq!(redeem(&app, &url).await, Err(401));
    // Audited: mint, redeem, expire; the session's token issue names the admin.
    let d = app
        .expect_data(
            Some(&w.admin),
            "{ organization(handle: \"acme\") { auditLog(first: 100) { nodes { action actor { id } targetAccount { id } data } } } }",
            json!({}),
        )
        .await;
    let events = d["organization"]["auditLog"]["nodes"].as_array().unwrap();
    let find = |a: &str| {
        events
            .iter()
            .find(|e| e["action"] == a)
            .unwrap_or_else(|| panic!("no {a} event in {events:?}"))
    };
    for a in [
        "signin_token.create",
        "signin_token.redeem",
        "signin_token.expire",
    ] {
        let e = find(a);
        assert_eq!(e["targetAccount"]["id"], w.member_id.as_str(), "{a}");
        assert_eq!(e["data"]["signInToken"], l["id"], "{a}");
    }
    let issued = find("token.issue");
    assert_eq!(issued["actor"]["id"], w.member_id.as_str());
    assert_eq!(issued["data"]["impersonatedBy"], w.admin_id.as_str());
    assert_eq!(issued["data"]["signInToken"], l["id"]);
}

const ASSIGN_ONE: &str =
    "mutation($i: SeatAccountsInput!) { assignSeats(input: $i) { results { error { code } } } }";

/// A link session's seatChanges subscription ends when the link is expired.
#[tokio::test]
async fn a_link_sessions_subscription_ends_with_its_link() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let link = mint(&app, &w.admin, &w.billing_id).await;
    let jwt = redeem(&app, link["url"].as_str().unwrap()).await.unwrap();
    let mut ws = Client::ready(&app.base, false, &jwt).await;
    ws.subscribe(
        "s",
        "subscription($o: ID!) { seatChanges(organization: $o) { kind used } }",
        json!({"o": w.org_id}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let seat = |acc: &str| json!({"i": {"organization": w.org_id, "accounts": [acc]}});
    app.expect_data(Some(&w.admin), ASSIGN_ONE, seat(&w.member_id))
        .await;
    let d = ws.next_data(5).await.expect("the first seat change");
    assert_eq!(d["data"]["seatChanges"]["kind"], "ASSIGNED", "{d}");
    app.expect_data(
        Some(&w.admin),
        EXPIRE,
        json!({"i": {"id": link["signInToken"]["id"]}}),
    )
    .await;
    app.expect_data(Some(&w.admin), ASSIGN_ONE, seat(&w.billing_id))
        .await;
    match ws.recv(5).await {
        Got::Msg(m) => assert_eq!(m["type"], "complete", "no event after expiry: {m}"),
        other => panic!("the subscription should complete: {other:?}"),
    }
}
