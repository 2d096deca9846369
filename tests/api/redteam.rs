//! Red-team findings (outside tester, public API only). Each test asserts
//! the secure behaviour: a test that fails marks a hole that is still open.
//! Tests named `refused_*` guard attacks that were correctly refused.

use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::links::{claims, redeem, uuid_of};
use crate::helpers::ws::{Client, Got};
use crate::helpers::*;

const CREATE_LINK: &str = "mutation($i: CreateSignInTokenInput!) { createSignInToken(input: $i) { token url expiresAt signInToken { id active } } }";
const EXPIRE_LINK: &str =
    "mutation($i: ExpireSignInTokenInput!) { expireSignInToken(input: $i) { expired } }";
const ROLE: &str =
    "mutation($i: UpdateMemberRoleInput!) { updateMemberRole(input: $i) { membership { role } } }";
const REMOVE: &str =
    "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { removedAccountId } }";
const ONBOARD: &str = "mutation($i: OnboardUsersInput!) { onboardUsers(input: $i) { results { email membership { id } accessToken { id } invitation { id status } error { code message } } } }";
const INVITE: &str = "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { email invitation { id status } error { code message } } } }";

async fn mint(app: &TestApp, by: &str, account: &str, org: &str) -> Value {
    app.expect_data(
        Some(by),
        CREATE_LINK,
        json!({"i": {"account": account, "organization": org}}),
    )
    .await["createSignInToken"]
        .clone()
}

fn role(org: &str, acc: &str, r: &str) -> Value {
    json!({"i": {"organization": org, "account": acc, "role": r}})
}

/// Send one operation over the socket and return the first frame that
/// answers it (`next`/`data` payload, or the `error` frame's payload), or
/// `Value::Null` if the socket closed or said nothing.
/// Run one operation on the socket; Null when it gave no data (including
/// a socket the server has closed, which is how it refuses a dead session).
async fn ws_run(ws: &mut Client, id: &str, query: &str, vars: Value) -> Value {
    use futures_util::SinkExt;
    let ty = if ws.legacy { "start" } else { "subscribe" };
    let frame = json!({"type": ty, "id": id, "payload": {"query": query, "variables": vars}});
    if ws
        .socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            frame.to_string().into(),
        ))
        .await
        .is_err()
    {
        return Value::Null;
    }
    loop {
        match ws.recv(5).await {
            Got::Msg(m) if m["id"] == id && m["type"] == "complete" => return Value::Null,
            Got::Msg(m) if m["id"] == id => return m["payload"].clone(),
            Got::Msg(_) => continue,
            _ => return Value::Null,
        }
    }
}

// ---------------------------------------------------------------------------
// Finding 1: a websocket keeps a sign-in link's session alive after the link
// dies; queries and mutations sent as `subscribe` run with the stale session.
// ---------------------------------------------------------------------------

/// The link is expired by id (HTTP answers 401 at once), but on a socket
/// opened before, the session still reads the organization and issues an
/// `orgt_` access token for the member.
#[tokio::test]
async fn ws_link_session_must_die_when_link_is_expired() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await;
    let link = mint(&app, &w.admin, &w.member_id, &w.org_id).await;
    let jwt = redeem(&app, link["url"].as_str().unwrap()).await.unwrap();
    let mut ws = Client::ready(&app.base, false, &jwt).await;
    app.expect_data(
        Some(&w.admin),
        EXPIRE_LINK,
        json!({"i": {"id": link["signInToken"]["id"]}}),
    )
    .await;
    assert_eq!(
        app.gql(Some(&jwt), "{ viewer { id } }", json!({}))
            .await
            .status,
        401,
        "HTTP refuses the dead session"
    );
    let r = ws_run(
        &mut ws,
        "q",
        "{ viewer { id } organization(handle: \"acme\") { members { totalCount } } }",
        json!({}),
    )
    .await;
    let m = ws_run(
        &mut ws,
        "m",
        ISSUE,
        json!({"i": {"organization": w.org_id, "name": "after-expiry"}}),
    )
    .await;
    assert!(
        r["data"]["viewer"].is_null() && r["data"]["organization"].is_null(),
        "a dead link's session still reads over the websocket: {r}; and mutates: {m}"
    );
    assert!(
        m["data"]["issueAccessToken"]["secret"].is_null(),
        "a dead link's session still mints orgt_ tokens over the websocket: {m}"
    );
}

/// Chain: an admin mints a link for a member and opens a socket with it.
/// The admin is then removed from the organization (their links are
/// expired). Later the member is promoted to ADMIN by someone else. The
/// removed admin's old socket now acts as an ADMIN of the organization and
/// creates a fresh ADMIN account for themselves: back in.
#[tokio::test]
async fn ws_removed_minter_must_not_regain_admin_through_stale_link_socket() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // The billing manager is made ADMIN and mints a link for the member.
    app.expect_data(
        Some(&w.admin),
        ROLE,
        role(&w.org_id, &w.billing_id, "ADMIN"),
    )
    .await;
    let link = mint(&app, &w.billing, &w.member_id, &w.org_id).await;
    let jwt = redeem(&app, link["url"].as_str().unwrap()).await.unwrap();
    let mut ws = Client::ready(&app.base, false, &jwt).await;
    // The (rogue) admin is removed; the link dies with them.
    app.expect_data(
        Some(&w.admin),
        REMOVE,
        json!({"i": {"organization": w.org_id, "account": w.billing_id}}),
    )
    .await;
    assert_eq!(
        app.gql(Some(&jwt), "{ viewer { id } }", json!({}))
            .await
            .status,
        401
    );
    // Later, the member is promoted for unrelated reasons.
    app.expect_data(Some(&w.admin), ROLE, role(&w.org_id, &w.member_id, "ADMIN"))
        .await;
    // The old socket creates an ADMIN account with a password it knows.
    let r = ws_run(
        &mut ws,
        "m",
        CREATE_USER,
        json!({"i": {"organization": w.org_id, "email": "backdoor@example.com", "password": PASSWORD, "role": "ADMIN"}}),
    )
    .await;
    if r["data"]["createUser"]["membership"]["role"] == "ADMIN" {
        // Show the consequence: the removed admin signs in as ADMIN again.
        let back = app.sign_in("backdoor@example.com", PASSWORD).await;
        let d = app
            .expect_data(
                Some(&back),
                "{ organization(handle: \"acme\") { viewerRole } }",
                json!({}),
            )
            .await;
        panic!("a removed admin's stale link socket created an ADMIN account: {r}; signed in: {d}");
    }
}

/// An ordinary session's JWT expires after --jwt-ttl; HTTP answers 401, the
/// socket opened with it must not keep running operations forever.
#[tokio::test]
async fn ws_operations_must_stop_when_the_jwt_expires() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let mut ws = Client::ready(&app.base, false, &w.member).await;
    app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        app.gql(Some(&w.member), "{ viewer { id } }", json!({}))
            .await
            .status,
        401,
        "the JWT has expired"
    );
    let r = ws_run(&mut ws, "q", "{ viewer { id email } }", json!({})).await;
    assert!(
        r["data"]["viewer"].is_null(),
        "an expired JWT still runs queries over the websocket: {r}"
    );
}

/// Rights are cached for the socket's lifetime: the per-request loaders
/// (membership, viewer role) live as long as the connection. An ADMIN who is
/// removed keeps reading the organization's invitations, members and audit
/// log through `node(id:)` on a socket opened while they were ADMIN.
#[tokio::test]
async fn ws_removed_admin_must_not_keep_reading_the_organization() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    app.expect_data(
        Some(&w.admin),
        ROLE,
        role(&w.org_id, &w.billing_id, "ADMIN"),
    )
    .await;
    let d = app
        .expect_data(
            Some(&w.admin),
            INVITE,
            json!({"i": {"organization": w.org_id, "invitees": [{"email": "secret-hire@example.com"}]}}),
        )
        .await;
    let inv = d["inviteMembers"]["results"][0]["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The (soon ex-) admin's socket: one ordinary read primes its cache.
    let mut ws = Client::ready(&app.base, false, &w.billing).await;
    let r = ws_run(
        &mut ws,
        "prime",
        "{ organization(handle: \"acme\") { viewerRole } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["organization"]["viewerRole"], "ADMIN", "{r}");
    app.expect_data(
        Some(&w.admin),
        REMOVE,
        json!({"i": {"organization": w.org_id, "account": w.billing_id}}),
    )
    .await;
    // Over HTTP the removed account sees nothing.
    let http = app
        .expect_data(
            Some(&w.billing),
            "query($i: ID!) { node(id: $i) { id } }",
            json!({"i": inv}),
        )
        .await;
    assert!(http["node"].is_null());
    // Over the old socket: the invitation, then the whole organization.
    let q = "query($i: ID!) { node(id: $i) { ... on Invitation { email organization { members { nodes { account { email } } } auditLog(first: 50) { totalCount } invitations { nodes { email } } } } } }";
    let r = ws_run(&mut ws, "q", q, json!({"i": inv})).await;
    assert!(
        r["data"]["node"].is_null(),
        "a removed admin still reads the organization over an old socket: {r}"
    );
}

/// A service account is deleted (say its secret leaked): HTTP answers 401
/// at once, but a socket opened with its JWT keeps ADMIN rights in the
/// organization — here it invites a new ADMIN and removes a member.
#[tokio::test]
async fn ws_deleted_service_account_must_lose_its_rights() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (sa_id, client_id, secret) = app.service_account(&w.admin, &w.org_id, "ci").await;
    let jwt = app.sa_token(&client_id, &secret).await;
    let mut ws = Client::ready(&app.base, false, &jwt).await;
    app.expect_data(
        Some(&w.admin),
        "mutation($i: ServiceAccountIdInput!) { deleteServiceAccount(input: $i) { deletedId } }",
        json!({"i": {"id": sa_id}}),
    )
    .await;
    assert_eq!(
        app.gql(Some(&jwt), "{ organizations { totalCount } }", json!({}))
            .await
            .status,
        401,
        "HTTP refuses the deleted service account"
    );
    let inv = ws_run(
        &mut ws,
        "m1",
        INVITE,
        json!({"i": {"organization": w.org_id, "invitees": [{"email": "intruder@example.com", "role": "ADMIN"}]}}),
    )
    .await;
    let rm = ws_run(
        &mut ws,
        "m2",
        REMOVE,
        json!({"i": {"organization": w.org_id, "account": w.member_id}}),
    )
    .await;
    assert!(
        inv["data"]["inviteMembers"].is_null() && rm["data"]["removeMember"].is_null(),
        "a deleted service account still acts as ADMIN over its socket: invite {inv}; remove {rm}"
    );
}

/// The alias cap (`--max-aliases`, 50 per request) and the per-principal
/// rate limit hold over HTTP; operations sent over the websocket skip both
/// ("one pipeline for every entry point").
#[tokio::test]
async fn ws_operations_must_obey_alias_cap_and_rate_limit() {
    let app = TestApp::spawn_with(|c| c.rate_limit_graphql = 5).await;
    let w = app.world().await;
    let many: String = (0..80).map(|i| format!("a{i}: viewer {{ id }} ")).collect();
    let q = format!("{{ {many} }}");
    let http = app.gql(Some(&w.outsider), &q, json!({})).await;
    assert_eq!(http.code(), Some("QUERY_TOO_COMPLEX"), "{}", http.body);
    let mut ws = Client::ready(&app.base, false, &w.outsider).await;
    let r = ws_run(&mut ws, "aliases", &q, json!({})).await;
    let aliases_ran = r["data"]["a79"]["id"].is_string();
    // Rate limit: 5 a minute. Exhaust it over HTTP, then count what the socket runs.
    let mut limited = false;
    for _ in 0..10 {
        if app
            .gql(Some(&w.outsider), "{ viewer { id } }", json!({}))
            .await
            .status
            == 429
        {
            limited = true;
            break;
        }
    }
    assert!(limited, "HTTP is rate limited");
    let mut ran = 0;
    for i in 0..20 {
        let r = ws_run(&mut ws, &format!("r{i}"), "{ viewer { id } }", json!({})).await;
        if r["data"]["viewer"]["id"].is_string() {
            ran += 1;
        }
    }
    assert!(
        !aliases_ran && ran == 0,
        "over the websocket: 80 aliases ran (cap 50): {aliases_ran}; {ran} of 20 operations ran after HTTP answered 429 (limit 5/min)"
    );
}

// ---------------------------------------------------------------------------
// Finding: open organization creation + createUser(email, password) lets
// anyone register any address with a password of their choosing (no proof
// of owning the address). The real owner is then locked out: a genuine
// invitation mailed to them cannot be accepted, while the squatter signs in.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn createuser_must_not_let_an_outsider_squat_an_email_and_lock_its_owner_out() {
    let sink = crate::helpers::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    let evil = app.create_org(&w.outsider, "evil").await;
    app.expect_data(
        Some(&w.outsider),
        CREATE_USER,
        json!({"i": {"organization": evil, "email": "newhire@example.com", "password": "attacker chosen password", "firstName": "New", "lastName": "Hire"}}),
    )
    .await;
    // The squatter holds the account.
    let squatter = app
        .sign_in("newhire@example.com", "attacker chosen password")
        .await;
    // acme hires the real person and invites them.
    app.expect_data(
        Some(&w.admin),
        INVITE,
        json!({"i": {"organization": w.org_id, "invitees": [{"email": "newhire@example.com"}]}}),
    )
    .await;
    let m = sink.wait_mail("newhire@example.com", "invitation", 1).await;
    let prefix = format!("{}/invitations/accept?token=", app.base);
    let token = m.line_starting(&prefix).unwrap()[prefix.len()..].to_string();
    // The real owner follows the mailed link, signed out (they never had an account).
    let r = app
        .gql(
            None,
            "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { membership { role } } }",
            json!({"i": {"token": token, "password": "the owner's own password", "firstName": "Real"}}),
        )
        .await;
    assert!(
        r.body["errors"].is_null(),
        "the address's owner cannot accept a genuine invitation (an outsider squatted the address): {}",
        r.body
    );
    // The owner now holds it: their password works, the squatter's does
    // not, and the squatter's session ended with the claim.
    app.sign_in("newhire@example.com", "the owner's own password")
        .await;
    let res = app
        .token_request(&[
            ("grant_type", "password"),
            ("username", "newhire@example.com"),
            ("password", "attacker chosen password"),
        ])
        .await;
    assert_eq!(res.status(), 400, "the squatter's password still works");
    assert_eq!(
        app.gql(Some(&squatter), "{ viewer { id } }", json!({}))
            .await
            .status,
        401,
        "the squatter's session outlived the claim"
    );
    // A claimed account is claimed once: the next invitation needs a sign-in.
    let third = app.create_org(&w.billing, "third").await;
    app.expect_data(
        Some(&w.billing),
        INVITE,
        json!({"i": {"organization": third, "invitees": [{"email": "newhire@example.com"}]}}),
    )
    .await;
    let m = sink.wait_mail("newhire@example.com", "invitation", 2).await;
    let token = m.line_starting(&prefix).unwrap()[prefix.len()..].to_string();
    let r = app
        .gql(
            None,
            "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { membership { role } } }",
            json!({"i": {"token": token, "password": "yet another password"}}),
        )
        .await;
    assert_eq!(r.code(), Some("ALREADY_EXISTS"), "{}", r.body);
}

/// Anyone can create an organization, so createUser and onboardUsers are an
/// oracle for "does an account with this email exist on this server":
/// ALREADY_EXISTS ("an account with this email exists") versus a new account
/// (createUser), and `invitation` versus `membership` (onboardUsers). The
/// same question through inviteMembers answers alike for both.
#[tokio::test]
#[ignore = "open: createUser's payload (account and membership non-null in the contract) cannot answer an existing email like a new one; documented in the README"]
async fn createuser_and_onboarding_must_not_reveal_whether_an_email_has_an_account() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let evil = app.create_org(&w.outsider, "evil").await;
    let probe =
        |email: &str| json!({"i": {"organization": evil, "email": email, "firstName": "x"}});
    let existing = app
        .gql(Some(&w.outsider), CREATE_USER, probe("billing@example.com"))
        .await;
    let fresh = app
        .gql(
            Some(&w.outsider),
            CREATE_USER,
            probe("nobody-here@example.com"),
        )
        .await;
    let ob = |email: &str| json!({"i": {"organization": evil, "users": [{"email": email}]}});
    let o_existing = app
        .expect_data(Some(&w.outsider), ONBOARD, ob("member@example.com"))
        .await;
    let o_fresh = app
        .expect_data(Some(&w.outsider), ONBOARD, ob("nobody-else@example.com"))
        .await;
    let shape = |v: &Value| {
        let r = &v["onboardUsers"]["results"][0];
        (r["membership"].is_null(), r["invitation"].is_null())
    };
    assert!(
        existing.code() == fresh.code() && shape(&o_existing) == shape(&o_fresh),
        "existence oracle: createUser existing={:?} ({}) fresh={:?}; onboardUsers existing={:?} fresh={:?}",
        existing.code(),
        existing.body["errors"][0]["message"],
        fresh.code(),
        shape(&o_existing),
        shape(&o_fresh)
    );
}

// ---------------------------------------------------------------------------
// Attacks that were refused (regression guards).
// ---------------------------------------------------------------------------

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

/// Tampered link JWTs: claims edited (drop `sil`/`act`, move `org`), `alg:
/// none`, a foreign `kid`, and a link JWT replayed after its link was
/// superseded — all 401.
#[tokio::test]
async fn refused_tampered_or_replayed_link_jwts() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let link = mint(&app, &w.admin, &w.member_id, &w.org_id).await;
    let jwt = redeem(&app, link["url"].as_str().unwrap()).await.unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut c = claims(&jwt);
    let status = |t: String| {
        let app = &app;
        async move {
            app.gql(Some(&t), "{ viewer { id } }", json!({}))
                .await
                .status
        }
    };
    assert_eq!(status(jwt.clone()).await, 200);
    // Drop the link claims: would be an unscoped session of the member.
    let mut plain = c.clone();
    for k in ["sil", "act", "org"] {
        plain.as_object_mut().unwrap().remove(k);
    }
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(plain.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(status(forged).await, 401);
    // Point it at the other organization.
    c["org"] = json!(uuid_of(&w.other_org_id));
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(c.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(status(forged).await, 401);
    // alg: none, and an unknown kid.
    let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    assert_eq!(status(none).await, 401);
    let kid = format!(
        "{}.{}.{}",
        b64(br#"{"alg":"EdDSA","typ":"JWT","kid":"../../etc/passwd"}"#),
        parts[1],
        parts[2]
    );
    assert_eq!(status(kid).await, 401);
    // Expire the link, mint a new one for the same member: the old JWT
    // stays dead (it names the old link).
    app.expect_data(
        Some(&w.admin),
        EXPIRE_LINK,
        json!({"i": {"id": link["signInToken"]["id"]}}),
    )
    .await;
    let _again = mint(&app, &w.admin, &w.member_id, &w.org_id).await;
    assert_eq!(status(jwt.clone()).await, 401);
    // Over the websocket, a dead link JWT cannot even connect.
    let mut ws = Client::connect(&app.base, false).await;
    assert_eq!(ws.init(Some(&jwt)).await, Got::Closed(4403));
}

/// The link session of a member of two organizations reaches nothing of the
/// second: nested fields, forged node IDs, nodes(), account(), tokens and
/// memberships of the other organization, mutations naming its ids.
#[tokio::test]
async fn refused_link_session_reaching_another_organization() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // The member also belongs to `other` (a site admin sets that up), seated, with a token.
    let add = app
        .expect_data(
            Some(&w.site_admin),
            "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
            json!({"i": {"organization": w.other_org_id, "account": "member@example.com", "role": "BILLING_MANAGER"}}),
        )
        .await;
    let other_membership = add["addMember"]["membership"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.assign(
        &w.outsider,
        &w.other_org_id,
        std::slice::from_ref(&w.member_id),
    )
    .await;
    let own = app.sign_in("member@example.com", PASSWORD).await;
    let tok = app
        .expect_data(
            Some(&own),
            ISSUE,
            json!({"i": {"organization": w.other_org_id, "name": "mine"}}),
        )
        .await;
    let tok_id = tok["issueAccessToken"]["accessToken"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.expect_data(
        Some(&w.outsider),
        "mutation($i: MessageMembersInput!) { messageMembers(input: $i) { recipients } }",
        json!({"i": {"organization": w.other_org_id, "subject": "private", "body": "other-org secret"}}),
    )
    .await;
    let link = mint(&app, &w.admin, &w.member_id, &w.org_id).await;
    let jwt = redeem(&app, link["url"].as_str().unwrap()).await.unwrap();
    let forged_org = global_id("Organization", uuid_of(&w.other_org_id).parse().unwrap());
    let d = app
        .expect_data(
            Some(&jwt),
            "query($m: ID!, $t: ID!, $o: ID!, $a: ID!) {
               viewer { memberships { totalCount } messages { totalCount nodes { body } } }
               m: node(id: $m) { id } t: node(id: $t) { id } o: node(id: $o) { id }
               ns: nodes(ids: [$m, $t, $o, $a]) { id }
               acc: account(id: $a) { id email }
               orgs: organizations { totalCount }
             }",
            json!({"m": other_membership, "t": tok_id, "o": forged_org, "a": w.outsider_id}),
        )
        .await;
    assert_eq!(d["viewer"]["memberships"]["totalCount"], 1, "{d}");
    assert_eq!(d["viewer"]["messages"]["totalCount"], 0, "{d}");
    assert!(
        d["m"].is_null() && d["t"].is_null() && d["o"].is_null(),
        "{d}"
    );
    assert_eq!(d["ns"], json!([null, null, null, null]), "{d}");
    assert!(d["acc"].is_null(), "{d}");
    assert_eq!(d["orgs"]["totalCount"], 1);
    // Mutations naming the other organization's ids.
    for (q, v) in [
        ("mutation($i: RevokeAccessTokenInput!) { revokeAccessToken(input: $i) { accessToken { id } } }", json!({"i": {"id": tok_id}})),
        (ISSUE, json!({"i": {"organization": w.other_org_id}})),
        ("mutation($i: LeaveOrganizationInput!) { leaveOrganization(input: $i) { organization { id } } }", json!({"i": {"organization": w.other_org_id}})),
        ("mutation($i: PurchaseSeatsInput!) { purchaseSeats(input: $i) { organization { id } } }", json!({"i": {"organization": w.other_org_id, "quantity": 1}})),
        (CREATE_LINK, json!({"i": {"account": w.billing_id, "organization": w.org_id}})),
        (CREATE_ORG, json!({"i": {"handle": "from-link", "name": "x"}})),
    ] {
        let r = app.gql(Some(&jwt), q, v).await;
        assert!(
            matches!(r.code(), Some("NOT_FOUND") | Some("FORBIDDEN")),
            "{q}: {}",
            r.body
        );
    }
    // The real owner's token in `other` is untouched.
    let still = app
        .expect_data(
            Some(&own),
            "query($t: ID!) { node(id: $t) { ... on AccessToken { active } } }",
            json!({"t": tok_id}),
        )
        .await;
    assert_eq!(still["node"]["active"], true);
}

/// expireSignInToken by id from another organization's admin answers the
/// same NOT_FOUND as for an id that does not exist, and leaves the link live.
#[tokio::test]
async fn refused_expire_link_by_id_across_organizations() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let link = mint(&app, &w.admin, &w.member_id, &w.org_id).await;
    let real = link["signInToken"]["id"].as_str().unwrap().to_string();
    let fake = global_id("SignInToken", uuid::Uuid::now_v7());
    let a = app
        .gql(Some(&w.outsider), EXPIRE_LINK, json!({"i": {"id": real}}))
        .await;
    let b = app
        .gql(Some(&w.outsider), EXPIRE_LINK, json!({"i": {"id": fake}}))
        .await;
    assert_eq!(a.code(), Some("NOT_FOUND"));
    assert_eq!(
        a.body["errors"][0]["message"],
        b.body["errors"][0]["message"]
    );
    assert_eq!(a.code(), b.code());
    let by_secret = app
        .gql(
            Some(&w.outsider),
            EXPIRE_LINK,
            json!({"i": {"token": link["token"]}}),
        )
        .await;
    assert_eq!(by_secret.code(), Some("NOT_FOUND"));
    assert!(redeem(&app, link["url"].as_str().unwrap()).await.is_ok());
}

/// Remove the member, add them back: the old link stays dead. Past its
/// lifetime on the server's clock, a link no longer redeems or serves.
#[tokio::test]
async fn refused_link_revival_and_use_after_expiry() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let link = mint(&app, &w.admin, &w.member_id, &w.org_id).await;
    let url = link["url"].as_str().unwrap().to_string();
    let jwt = redeem(&app, &url).await.unwrap();
    app.expect_data(
        Some(&w.admin),
        REMOVE,
        json!({"i": {"organization": w.org_id, "account": w.member_id}}),
    )
    .await;
    app.expect_data(
        Some(&w.site_admin),
        "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
        json!({"i": {"organization": w.org_id, "account": w.member_id, "role": "MEMBER"}}),
    )
    .await;
    assert_eq!(
        app.gql(Some(&jwt), "{ viewer { id } }", json!({}))
            .await
            .status,
        401
    );
    assert_eq!(redeem(&app, &url).await, Err(401));
    // A fresh 60-second link, used after 61 seconds.
    let d = app
        .expect_data(
            Some(&w.admin),
            CREATE_LINK,
            json!({"i": {"account": w.member_id, "organization": w.org_id, "expiresInSeconds": 60}}),
        )
        .await;
    let url = d["createSignInToken"]["url"].as_str().unwrap().to_string();
    let jwt = redeem(&app, &url).await.unwrap();
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(
        app.gql(Some(&jwt), "{ viewer { id } }", json!({}))
            .await
            .status,
        401
    );
    assert_eq!(redeem(&app, &url).await, Err(401));
}

/// Nobody joins without consent: createUser (names and password offered),
/// onboardUsers, a CSV upload and inviteMembers with an existing account's
/// email never make it a member nor touch its names or password; addMember
/// is refused to an organization's ADMIN.
#[tokio::test]
async fn refused_pulling_an_existing_account_in() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let evil = app.create_org(&w.outsider, "evil").await;
    let r = app
        .gql(
            Some(&w.outsider),
            CREATE_USER,
            json!({"i": {"organization": evil, "email": " Member@Example.COM ", "password": "attacker chosen password", "firstName": "Owned", "role": "ADMIN"}}),
        )
        .await;
    assert_eq!(r.code(), Some("ALREADY_EXISTS"));
    let r = app
        .gql(
            Some(&w.outsider),
            "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
            json!({"i": {"organization": evil, "account": "member@example.com", "role": "MEMBER"}}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    let d = app
        .expect_data(
            Some(&w.outsider),
            ONBOARD,
            json!({"i": {"organization": evil, "users": [{"email": "MEMBER@example.com", "firstName": "Owned"}, {"email": "billing@example.com"}]}}),
        )
        .await;
    for r in d["onboardUsers"]["results"].as_array().unwrap() {
        assert!(
            r["membership"].is_null() && r["accessToken"].is_null(),
            "{r}"
        );
    }
    // CSV upload.
    let ops = json!({"query": "mutation($i: InviteMembersInput!){inviteMembers(input:$i){results{email invitation{id} error{code}}}}", "variables": {"i": {"organization": evil, "csv": null}}});
    let form = reqwest::multipart::Form::new()
        .text("operations", ops.to_string())
        .text("map", json!({"0": ["variables.i.csv"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(b"email,role\nadmin@example.com,ADMIN\n".to_vec())
                .file_name("p.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let res = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&w.outsider)
        .header("Apollo-Require-Preflight", "true")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Nobody joined evil; the victims' names and passwords are unchanged.
    let m = app
        .expect_data(
            Some(&w.outsider),
            "{ organization(handle: \"evil\") { members { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(m["organization"]["members"]["totalCount"], 1);
    let me = app.sign_in("member@example.com", PASSWORD).await;
    let v = app
        .expect_data(
            Some(&me),
            "{ viewer { firstName memberships { totalCount } } }",
            json!({}),
        )
        .await;
    assert!(v["viewer"]["firstName"].is_null());
    assert_eq!(v["viewer"]["memberships"]["totalCount"], 1);
    let bad = app
        .token_request(&[
            ("grant_type", "password"),
            ("username", "member@example.com"),
            ("password", "attacker chosen password"),
        ])
        .await;
    assert_eq!(bad.status(), 400);
}

/// The Permissions table keeps service accounts out of service-account
/// management and sign-in links ("a service account cannot manage service
/// accounts itself"). But a service account may createUser with a password
/// and role ADMIN, sign in as that person, and then do both: a leaked
/// client secret becomes a person ADMIN that mints impersonation links and
/// creates service accounts which outlive the deletion of the leaked one.
#[tokio::test]
async fn service_account_must_not_escalate_to_a_person_admin() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (_, client_id, secret) = app.service_account(&w.admin, &w.org_id, "ci").await;
    let sa = app.sa_token(&client_id, &secret).await;
    // Directly: refused, as the table says.
    let r = app
        .gql(
            Some(&sa),
            CREATE_SA,
            json!({"i": {"organization": w.org_id, "name": "second"}}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    // Through a person it creates.
    let r = app
        .gql(
            Some(&sa),
            CREATE_USER,
            json!({"i": {"organization": w.org_id, "email": "sa-puppet@example.com", "password": PASSWORD, "role": "ADMIN"}}),
        )
        .await;
    let made_admin = r.body["data"]["createUser"]["membership"]["role"] == "ADMIN";
    let mut escalated = Vec::new();
    if made_admin {
        let person = app.sign_in("sa-puppet@example.com", PASSWORD).await;
        let sa2 = app
            .gql(
                Some(&person),
                CREATE_SA,
                json!({"i": {"organization": w.org_id, "name": "persist"}}),
            )
            .await;
        if sa2.body["data"]["createServiceAccount"]["clientSecret"].is_string() {
            escalated.push("createServiceAccount");
        }
        let link = app
            .gql(
                Some(&person),
                CREATE_LINK,
                json!({"i": {"account": w.member_id, "organization": w.org_id}}),
            )
            .await;
        if link.body["data"]["createSignInToken"]["url"].is_string() {
            escalated.push("createSignInToken");
        }
    }
    assert!(
        !made_admin,
        "a service account created a person ADMIN with a known password ({}), which then could: {escalated:?}",
        r.body
    );
}

/// "Secrets ... never in logs at any level (trace included)": the request
/// span records the path, and `GET /signin/{token}` carries the link's
/// secret in its path, so a debug log holds every redeemed link's secret
/// (which anyone reading the logs can then redeem).
#[tokio::test]
async fn signin_link_secret_must_not_reach_the_logs() {
    use crate::helpers::process;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/orgraph.db?mode=rwc", dir.path().display());
    process::create_admin(&db, dir.path(), "root@example.com");
    let port = process::free_port();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = process::orgraph(&db, dir.path())
        .env("RUST_LOG", "debug")
        .env("ORGRAPH_LOG_FORMAT", "json")
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    process::wait_ready(&base).await;
    let http = reqwest::Client::new();
    let root = process::password_token(&http, &base, "root@example.com", PASSWORD).await;
    let org = process::expect_data(
        &http,
        &base,
        &root,
        CREATE_ORG,
        json!({"i": {"handle": "acme", "name": "Acme"}}),
    )
    .await["createOrganization"]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let acc = process::expect_data(
        &http,
        &base,
        &root,
        CREATE_USER,
        json!({"i": {"organization": org, "firstName": "Bot"}}),
    )
    .await["createUser"]["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let link = process::expect_data(
        &http,
        &base,
        &root,
        CREATE_LINK,
        json!({"i": {"account": acc, "organization": org}}),
    )
    .await;
    let secret = link["createSignInToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = http
        .get(format!("{base}/signin/{secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    process::sigterm(&child);
    process::wait_exit(&mut child, std::time::Duration::from_secs(20)).await;
    let text = std::fs::read_to_string(&log_path).unwrap();
    let leaked = text.lines().filter(|l| l.contains(&secret)).count();
    assert_eq!(
        leaked,
        0,
        "the sign-in link's secret is in {leaked} log lines, e.g. {}",
        text.lines()
            .find(|l| l.contains(&secret))
            .unwrap_or("")
            .chars()
            .take(300)
            .collect::<String>()
    );
}

/// "Anonymous input never grows server state (metric labels ...) without a
/// bound": the operationName of any request, signed in or not, valid or
/// not, becomes a label of orgraph_graphql_requests_total, so a stranger
/// adds a time series (memory, and /metrics size) per request.
#[tokio::test]
async fn anonymous_operation_names_must_not_grow_metric_labels() {
    let app = TestApp::spawn().await;
    for i in 0..200 {
        let _ = app
            .http
            .post(app.url("/graphql"))
            .json(&json!({"query": "{ __typename }", "operationName": format!("junk_op_{i}")}))
            .send()
            .await
            .unwrap();
    }
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = text.lines().filter(|l| l.contains("junk_op_")).count();
    assert!(
        series < 10,
        "{series} metric series were created by anonymous operation names, e.g. {}",
        text.lines().find(|l| l.contains("junk_op_")).unwrap_or("")
    );
}

/// Transport and token guards that held: mutations over GET, multipart
/// without the preflight header, batches over 10, a cursor forged or taken
/// from another list, introspection of another organization's `orgt_` token
/// by a service account, and introspection with a site admin's link session.
#[tokio::test]
async fn refused_transport_cursor_and_introspection_tricks() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // GET mutation.
    let res = app
        .http
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { createOrganization(input: {handle: \"via-get\", name: \"x\"}) { organization { id } } }")])
        .bearer_auth(&w.outsider)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(body["data"]["createOrganization"].is_null(), "{body}");
    // Multipart without the preflight header.
    let ops = json!({"query": "mutation { createOrganization(input: {handle: \"via-form\", name: \"x\"}) { organization { id } } }"});
    let form = reqwest::multipart::Form::new()
        .text("operations", ops.to_string())
        .text("map", "{}");
    let res = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&w.outsider)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(body["data"]["createOrganization"].is_null(), "{body}");
    // Batch of 11.
    let batch: Vec<Value> = (0..11)
        .map(|_| json!({"query": "{ viewer { id } }"}))
        .collect();
    let res = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&w.outsider)
        .json(&batch)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(!body.is_array(), "a batch of 11 ran: {body}");
    // Cursors: forged, and one from another list.
    let d = app
        .expect_data(
            Some(&w.admin),
            "{ organizations(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let org_cursor = d["organizations"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_string();
    for c in [
        org_cursor.clone(),
        b64(b"Membership:00000000-0000-0000-0000-000000000000"),
    ] {
        let r = app
            .gql(
                Some(&w.admin),
                "query($c: String!) { organization(handle: \"acme\") { members(first: 5, after: $c) { totalCount } } }",
                json!({"c": c}),
            )
            .await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.body);
    }
    // Introspection across organizations.
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await;
    let t = app
        .expect_data(
            Some(&w.member),
            ISSUE,
            json!({"i": {"organization": w.org_id}}),
        )
        .await;
    let secret = t["issueAccessToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, cid, csec) = app
        .service_account(&w.outsider, &w.other_org_id, "spy")
        .await;
    let v = app.introspect(&cid, &csec, &secret).await;
    assert_eq!(v, json!({"active": false}));
    let (_, cid, csec) = app.service_account(&w.admin, &w.org_id, "legit").await;
    assert_eq!(app.introspect(&cid, &csec, &secret).await["active"], true);
    // A site admin's link session is no site admin at /oauth/introspect.
    let link = mint(&app, &w.site_admin, &w.member_id, &w.org_id).await;
    let jwt = redeem(&app, link["url"].as_str().unwrap()).await.unwrap();
    let res = app
        .http
        .post(app.url("/oauth/introspect"))
        .bearer_auth(&jwt)
        .form(&[("token", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

/// An organization's name (any signed-in person picks it) goes into mail
/// subjects; CR/LF in it must not become new headers of mail the server
/// sends to other people (invitations).
#[tokio::test]
async fn refused_mail_header_injection_through_the_organization_name() {
    let sink = crate::helpers::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    let r = app
        .gql(
            Some(&w.outsider),
            CREATE_ORG,
            json!({"i": {"handle": "hdr", "name": "Evil\r\nBcc: spy@evil.example\r\nX-Injected: yes"}}),
        )
        .await;
    let Some(org) = r.body["data"]["createOrganization"]["organization"]["id"].as_str() else {
        return; // refused outright: fine
    };
    app.expect_data(
        Some(&w.outsider),
        INVITE,
        json!({"i": {"organization": org, "invitees": [{"email": "target@example.com"}]}}),
    )
    .await;
    let m = sink.wait_mail("target@example.com", "invitation", 1).await;
    assert!(
        m.header("X-Injected").is_none() && m.header("Bcc").is_none(),
        "{}",
        m.raw
    );
    assert!(sink.to("spy@evil.example").is_empty());
    assert_eq!(m.rcpt, vec!["target@example.com".to_string()]);
}

/// The alias cap counts each fragment's aliases once, however often the
/// fragment is spread: 3 fragments of 16 aliases nested in one another
/// stay under the cap of 50 yet run 16^3 aliased fields, each a
/// `memberships` page (one SQL statement each).
#[tokio::test]
async fn alias_cap_must_count_fragment_spreads() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let level = |name: &str, next: Option<&str>| {
        let inner = match next {
            Some(n) => format!("nodes {{ account {{ ...{n} }} }}"),
            None => "totalCount".to_string(),
        };
        let fields: String = (0..16)
            .map(|i| format!("{name}{i}: memberships(first: 1) {{ {inner} }} "))
            .collect();
        format!("fragment {name} on Account {{ {fields} }} ")
    };
    let q = format!(
        "{{ viewer {{ ...A }} }} {}{}{}",
        level("A", Some("B")),
        level("B", Some("C")),
        level("C", None)
    );
    let before = app.sql_count().await;
    let r = app.gql(Some(&w.member), &q, json!({})).await;
    let after = app.sql_count().await;
    let ran = r.body["data"]["viewer"]["A15"]["nodes"][0]["account"]["B15"]["nodes"][0]["account"]
        ["C15"]["totalCount"]
        .is_number();
    assert!(
        !ran,
        "48 counted aliases ran 16^3 = 4096 aliased connections: {} SQL statements for one request ({:?})",
        after - before,
        r.code()
    );
}

/// Race (PostgreSQL; SQLite serializes writers): createSignInToken without
/// `organization` does not lock the organization row, so a link minted
/// while the member is being removed escapes the removal's "expire their
/// links in the same transaction" and comes back to life when the member
/// is added again.
#[tokio::test]
async fn race_link_minted_during_removal_must_not_revive_on_readd() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let add = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }";
    let mut revived = 0;
    let mut minted = 0;
    for _round in 0..15 {
        let mints = (0..4).map(|_| {
            app.gql(
                Some(&w.admin),
                CREATE_LINK,
                json!({"i": {"account": w.member_id, "expiresInSeconds": 3600}}),
            )
        });
        let remove = app.gql(
            Some(&w.admin),
            REMOVE,
            json!({"i": {"organization": w.org_id, "account": w.member_id}}),
        );
        let (links, _) = tokio::join!(futures_util::future::join_all(mints), remove);
        app.expect_data(
            Some(&w.site_admin),
            add,
            json!({"i": {"organization": w.org_id, "account": w.member_id, "role": "MEMBER"}}),
        )
        .await;
        for l in links {
            if let Some(url) = l.body["data"]["createSignInToken"]["url"].as_str() {
                minted += 1;
                if redeem(&app, url).await.is_ok() {
                    revived += 1;
                }
            }
        }
    }
    assert_eq!(
        revived, 0,
        "{revived} of {minted} links minted around a removal work again after the member is re-added"
    );
}
