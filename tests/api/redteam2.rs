//! Red team 2: attacks on the websocket pipeline, scoped sign-in links and
//! account claiming, reproduced through the public API. Each test asserts the
//! secure behaviour: a test that fails marks an open hole.

use serde_json::{json, Value};

use crate::helpers::smtp::SmtpSink;
use crate::helpers::ws::{Client, Got};
use crate::helpers::{TestApp, World, CREATE_USER, PASSWORD};

const INVITE: &str = "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { email invitation { id } error { code } } } }";
const ACCEPT: &str =
    "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { membership { role } } }";
const MINT: &str = "mutation($i: CreateSignInTokenInput!) { createSignInToken(input: $i) { token url signInToken { id active } } }";
const SUB: &str = "subscription($o: ID!) { seatChanges(organization: $o) { kind used } }";
const VIEWER: &str = "{ viewer { id email } }";

async fn setup() -> (SmtpSink, TestApp, World) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    (sink, app, w)
}

async fn mailed_token(app: &TestApp, sink: &SmtpSink, to: &str, nth: usize) -> String {
    let m = sink.wait_mail(to, "invitation", nth).await;
    let prefix = format!("{}/invitations/accept?token=", app.base);
    let link = m.line_starting(&prefix).expect("accept link");
    link[prefix.len()..].to_string()
}

/// acme's ADMIN provisions `victim@example.com` with a password of their
/// choosing (so they can sign in as it until it is claimed).
async fn provision(app: &TestApp, w: &World, role: &str) -> String {
    let d = app
        .expect_data(
            Some(&w.admin),
            CREATE_USER,
            json!({"i": {"organization": w.org_id, "email": "victim@example.com", "password": PASSWORD, "role": role}}),
        )
        .await;
    d["createUser"]["account"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The address owner claims the account through `other`'s invitation, signed
/// out, with their own password.
async fn claim(app: &TestApp, sink: &SmtpSink, w: &World) {
    app.expect_data(
        Some(&w.outsider),
        INVITE,
        json!({"i": {"organization": w.other_org_id, "invitees": [{"email": "victim@example.com", "role": "MEMBER"}]}}),
    )
    .await;
    let token = mailed_token(app, sink, "victim@example.com", 1).await;
    let r = app
        .gql(
            None,
            ACCEPT,
            json!({"i": {"token": token, "password": "the owner's own passphrase", "firstName": "Owner"}}),
        )
        .await;
    assert_eq!(
        r.expect_data()["acceptInvitation"]["membership"]["role"],
        "MEMBER"
    );
}

async fn redeem(app: &TestApp, url: &str) -> Result<String, u16> {
    let res = app.http.get(url).send().await.unwrap();
    if res.status() != 200 {
        return Err(res.status().as_u16());
    }
    let v: Value = res.json().await.unwrap();
    Ok(v["access_token"].as_str().unwrap().to_string())
}

/// FINDING: the claim "ends every earlier session" (README, Security), but a
/// sign-in link session the provisioner opened before the claim carries no
/// session epoch and is not checked against it: it keeps acting as the
/// claimed account, and a link minted before the claim still redeems.
#[tokio::test]
async fn claim_ends_sign_in_link_sessions_opened_before_it() {
    let (sink, app, w) = setup().await;
    let victim = provision(&app, &w, "MEMBER").await;
    let link = app
        .expect_data(Some(&w.admin), MINT, json!({"i": {"account": victim}}))
        .await;
    let url = link["createSignInToken"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let session = redeem(&app, &url).await.expect("redeem before the claim");
    let unused = app
        .expect_data(Some(&w.admin), MINT, json!({"i": {"account": victim}}))
        .await;
    let unused_url = unused["createSignInToken"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.expect_data(Some(&session), VIEWER, json!({})).await["viewer"]["id"],
        victim
    );

    claim(&app, &sink, &w).await;

    let redeemed = redeem(&app, &unused_url).await.is_ok();
    let r = app.gql(Some(&session), VIEWER, json!({})).await;
    assert!(
        r.status == 401 && !redeemed,
        "after the claim a pre-claim sign-in session still acts as the claimed account ({}: {}) and a link minted before the claim redeems: {redeemed}",
        r.status, r.body
    );
}

/// FINDING: the claim does not end subscriptions opened before it. The
/// provisioner (acme's ADMIN, who chose the password) signs in as the
/// provisioned account, which its owner also uses and which is BILLING_MANAGER
/// of `other` (where the provisioner has no role), and subscribes to
/// `other`'s seatChanges. The owner claims the account to lock the
/// provisioner out; the provisioner's subscription keeps delivering `other`'s
/// seat events (account ids, counts) until its JWT expires (15 min default):
/// the claim emits no access-changed event and the re-check does not read the
/// session epoch.
#[tokio::test]
async fn claim_ends_subscriptions_opened_before_it() {
    let (sink, app, w) = setup().await;
    app.set_plan(&w.site_admin, &w.other_org_id, 10, None)
        .await
        .expect_data();
    provision(&app, &w, "MEMBER").await;
    let owner_session = app.sign_in("victim@example.com", PASSWORD).await;
    // The owner joins `other` as BILLING_MANAGER, signed in.
    app.expect_data(
        Some(&w.outsider),
        INVITE,
        json!({"i": {"organization": w.other_org_id, "invitees": [{"email": "victim@example.com", "role": "BILLING_MANAGER"}]}}),
    )
    .await;
    let token = mailed_token(&app, &sink, "victim@example.com", 1).await;
    app.expect_data(Some(&owner_session), ACCEPT, json!({"i": {"token": token}}))
        .await;
    // The provisioner, with the password they chose, watches `other`.
    let provisioner_session = app.sign_in("victim@example.com", PASSWORD).await;
    let mut ws = Client::ready(&app.base, false, &provisioner_session).await;
    ws.subscribe("s", SUB, json!({"o": w.other_org_id})).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.assign(
        &w.outsider,
        &w.other_org_id,
        std::slice::from_ref(&w.outsider_id),
    )
    .await
    .expect_data();
    assert!(
        ws.next_data(5).await.is_some(),
        "subscription live before the claim"
    );

    // The owner claims the account through a third organization's invitation.
    let third = app.create_org(&w.billing, "third").await;
    app.expect_data(
        Some(&w.billing),
        INVITE,
        json!({"i": {"organization": third, "invitees": [{"email": "victim@example.com", "role": "MEMBER"}]}}),
    )
    .await;
    let token = mailed_token(&app, &sink, "victim@example.com", 2).await;
    app.expect_data(
        None,
        ACCEPT,
        json!({"i": {"token": token, "password": "the owner's own passphrase"}}),
    )
    .await;
    // The provisioner is locked out of HTTP...
    assert_eq!(
        app.gql(Some(&provisioner_session), VIEWER, json!({}))
            .await
            .status,
        401
    );
    // ...but `other`'s next seat event still reaches their socket.
    let victim_id = app
        .expect_data(
            Some(
                &app.sign_in("victim@example.com", "the owner's own passphrase")
                    .await,
            ),
            VIEWER,
            json!({}),
        )
        .await["viewer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.assign(&w.outsider, &w.other_org_id, &[victim_id])
        .await
        .expect_data();
    match ws.recv(3).await {
        Got::Msg(m) if m["type"] == "next" && m["payload"]["data"]["seatChanges"].is_object() => {
            panic!(
                "the pre-claim subscription still delivers `other`'s events after the claim: {m}"
            )
        }
        _ => {}
    }
}

/// Refused: a person JWT and a websocket opened before the claim die with it
/// (401 over HTTP, 4403 on the socket's next operation), and the provisioner's
/// password no longer signs in.
#[tokio::test]
async fn claim_ends_jwts_and_socket_operations_and_the_provisioner_password() {
    let (sink, app, w) = setup().await;
    provision(&app, &w, "MEMBER").await;
    let old = app.sign_in("victim@example.com", PASSWORD).await;
    let mut ws = Client::ready(&app.base, true, &old).await;
    claim(&app, &sink, &w).await;
    assert_eq!(app.gql(Some(&old), VIEWER, json!({})).await.status, 401);
    ws.subscribe("1", VIEWER, json!({})).await;
    assert_eq!(ws.recv(5).await, Got::Closed(4403));
    let res = app
        .token_request(&[
            ("grant_type", "password"),
            ("username", "victim@example.com"),
            ("password", PASSWORD),
        ])
        .await;
    assert_eq!(res.status(), 400);
    // Claimed once: a second invitation signed out is ALREADY_EXISTS.
    let third = app.create_org(&w.billing, "third").await;
    app.expect_data(
        Some(&w.billing),
        INVITE,
        json!({"i": {"organization": third, "invitees": [{"email": "victim@example.com", "role": "MEMBER"}]}}),
    )
    .await;
    let token = mailed_token(&app, &sink, "victim@example.com", 2).await;
    let r = app
        .gql(
            None,
            ACCEPT,
            json!({"i": {"token": token, "password": "attacker passphrase 123"}}),
        )
        .await;
    assert_eq!(r.code(), Some("ALREADY_EXISTS"));
}

const RESEND: &str = "mutation($i: InvitationIdsInput!) { resendInvitations(input: $i) { results { email invitation { id role status expiresAt } error { code } } } }";

/// FINDING: service accounts "never make anyone ADMIN" (README footnote ²
/// on invite/resend), but resendInvitations has no such check: a service
/// account revives an ADMIN invitation that expired (new token, seven more
/// days), and the invitee becomes ADMIN with the revived link.
#[tokio::test]
async fn service_account_cannot_revive_an_expired_admin_invitation() {
    let (sink, app, w) = setup().await;
    let d = app
        .expect_data(
            Some(&w.admin),
            INVITE,
            json!({"i": {"organization": w.org_id, "invitees": [{"email": "boss@example.com", "role": "ADMIN"}]}}),
        )
        .await;
    let inv = d["inviteMembers"]["results"][0]["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, client_id, secret) = app.service_account(&w.admin, &w.org_id, "ci").await;
    // The ADMIN invitation lapses unanswered.
    app.clock.advance(chrono::Duration::days(8));
    let sa = app.sa_token(&client_id, &secret).await;
    let r = app
        .expect_data(Some(&sa), RESEND, json!({"i": {"ids": [inv]}}))
        .await;
    let item = &r["resendInvitations"]["results"][0];
    if item["error"]["code"] == "FORBIDDEN" {
        return;
    }
    // Not refused: show the effect, an ADMIN made through the service account.
    let token = mailed_token(&app, &sink, "boss@example.com", 2).await;
    let r = app
        .gql(
            None,
            ACCEPT,
            json!({"i": {"token": token, "password": PASSWORD}}),
        )
        .await;
    panic!(
        "a service account revived an expired ADMIN invitation ({item}); accepting it gave {}",
        r.body
    );
}

/// Refused: a service account cannot invite, create or promote an ADMIN.
#[tokio::test]
async fn service_account_cannot_grant_admin_directly() {
    let (_sink, app, w) = setup().await;
    let (_, client_id, secret) = app.service_account(&w.admin, &w.org_id, "ci").await;
    let sa = app.sa_token(&client_id, &secret).await;
    let d = app
        .expect_data(
            Some(&sa),
            INVITE,
            json!({"i": {"organization": w.org_id, "invitees": [{"email": "boss@example.com", "role": "ADMIN"}]}}),
        )
        .await;
    assert_eq!(
        d["inviteMembers"]["results"][0]["error"]["code"],
        "FORBIDDEN"
    );
    let r = app
        .gql(
            Some(&sa),
            CREATE_USER,
            json!({"i": {"organization": w.org_id, "email": "boss2@example.com", "role": "ADMIN"}}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    let r = app
        .gql(
            Some(&sa),
            "mutation($i: UpdateMemberRoleInput!) { updateMemberRole(input: $i) { membership { role } } }",
            json!({"i": {"organization": w.org_id, "account": w.member_id, "role": "ADMIN"}}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
}

/// Someone else: requests from another loopback address (127.0.0.2), as an
/// attacker elsewhere on the network would send them.
fn elsewhere() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap()
}

async fn client_token(app: &TestApp, cid: &str, secret: &str) -> u16 {
    client_token_from(&app.http, app, cid, secret).await
}

async fn client_token_from(http: &reqwest::Client, app: &TestApp, cid: &str, secret: &str) -> u16 {
    http.post(app.url("/oauth/token"))
        .basic_auth(cid, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// FINDING: `/oauth/token` applies the per-client-id limit (10/min) to every
/// client-credentials request before authenticating it, keyed by the client
/// id alone (no IP). Anyone who knows a service account's client id (an
/// identifier, not a secret) keeps its real client from getting tokens with
/// ten junk requests a minute, even though the real secret is verified and
/// cached (which the introspection path honours).
#[tokio::test]
async fn junk_requests_for_a_client_id_do_not_lock_its_real_client_out_of_tokens() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "bot").await;
    assert_eq!(client_token(&app, &cid, &secret).await, 200);
    // The attacker, anonymous and elsewhere, with the client id and any secret.
    let attacker = elsewhere();
    let mut refused = 0;
    for _ in 0..12 {
        if client_token_from(&attacker, &app, &cid, "orgs_not_the_secret").await == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0, "the attacker is still rate-limited");
    assert_eq!(
        client_token(&app, &cid, &secret).await,
        200,
        "the real client with its verified secret is refused tokens"
    );
}

/// Refused: a site admin's account (create-admin) is not claimable, even by
/// someone holding an invitation mailed to its address.
#[tokio::test]
async fn a_site_admin_account_cannot_be_claimed() {
    let (sink, app, w) = setup().await;
    app.expect_data(
        Some(&w.outsider),
        INVITE,
        json!({"i": {"organization": w.other_org_id, "invitees": [{"email": "root@example.com", "role": "MEMBER"}]}}),
    )
    .await;
    let token = mailed_token(&app, &sink, "root@example.com", 1).await;
    let r = app
        .gql(
            None,
            ACCEPT,
            json!({"i": {"token": token, "password": "attacker passphrase 123"}}),
        )
        .await;
    assert_eq!(r.code(), Some("ALREADY_EXISTS"));
    app.sign_in("root@example.com", PASSWORD).await;
}

/// Refused: a sign-in link session on a websocket loses its running
/// subscription when an admin expires the link, and its next operation
/// closes the socket with 4403.
#[tokio::test]
async fn an_expired_link_ends_its_websocket_session() {
    let (_sink, app, w) = setup().await;
    app.set_plan(&w.site_admin, &w.org_id, 10, None)
        .await
        .expect_data();
    let link = app
        .expect_data(
            Some(&w.admin),
            MINT,
            json!({"i": {"account": w.billing_id}}),
        )
        .await;
    let url = link["createSignInToken"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let link_id = link["createSignInToken"]["signInToken"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let session = redeem(&app, &url).await.unwrap();
    let mut ws = Client::ready(&app.base, true, &session).await;
    ws.subscribe("s", SUB, json!({"o": w.org_id})).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await
        .expect_data();
    assert!(ws.next_data(5).await.is_some());
    app.expect_data(
        Some(&w.admin),
        "mutation($i: ExpireSignInTokenInput!) { expireSignInToken(input: $i) { expired } }",
        json!({"i": {"id": link_id}}),
    )
    .await;
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.billing_id))
        .await
        .expect_data();
    loop {
        match ws.recv(3).await {
            Got::Msg(m)
                if m["type"] == "data" && m["payload"]["data"]["seatChanges"].is_object() =>
            {
                panic!("an expired link's subscription still delivers: {m}")
            }
            Got::Msg(m)
                if m["type"] == "complete" || m["type"] == "error" || m["type"] == "data" =>
            {
                break
            }
            Got::Msg(_) => continue,
            _ => break,
        }
    }
    ws.subscribe("q", VIEWER, json!({})).await;
    loop {
        match ws.recv(5).await {
            Got::Closed(c) => {
                assert_eq!(c, 4403);
                break;
            }
            Got::Msg(m) if m["type"] == "data" && m["payload"]["data"]["viewer"].is_object() => {
                panic!("an expired link's socket still runs operations: {m}")
            }
            Got::Msg(_) => continue,
            Got::Nothing => panic!("no close"),
        }
    }
}

/// FINDING: sign-in links the claimed account minted before the claim (as
/// ADMIN of an organization of its own) survive the claim. The provisioner,
/// signed in with the password they chose, mints a link for a member of the
/// owner's organization `zeta`; after the owner claims the account to lock
/// them out, the link still redeems and its session acts as that member in
/// `zeta` (the minter, the claimed account, is still zeta's ADMIN).
#[tokio::test]
async fn claim_expires_links_the_account_minted_before_it() {
    let (sink, app, w) = setup().await;
    provision(&app, &w, "MEMBER").await;
    // The owner uses the account: creates `zeta` and invites a colleague.
    let owner = app.sign_in("victim@example.com", PASSWORD).await;
    let zeta = app.create_org(&owner, "zeta").await;
    app.expect_data(
        Some(&owner),
        INVITE,
        json!({"i": {"organization": zeta, "invitees": [{"email": "zed@example.com", "role": "MEMBER"}]}}),
    )
    .await;
    let token = mailed_token(&app, &sink, "zed@example.com", 1).await;
    app.expect_data(
        None,
        ACCEPT,
        json!({"i": {"token": token, "password": PASSWORD}}),
    )
    .await;
    let zed = app.sign_in("zed@example.com", PASSWORD).await;
    let zed_id = app.expect_data(Some(&zed), VIEWER, json!({})).await["viewer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The provisioner, with the same password, mints a link in zeta.
    let provisioner = app.sign_in("victim@example.com", PASSWORD).await;
    let link = app
        .expect_data(
            Some(&provisioner),
            MINT,
            json!({"i": {"account": zed_id, "organization": zeta}}),
        )
        .await;
    let url = link["createSignInToken"]["url"]
        .as_str()
        .unwrap()
        .to_string();

    claim(&app, &sink, &w).await;
    assert_eq!(
        app.gql(Some(&provisioner), VIEWER, json!({})).await.status,
        401
    );

    match redeem(&app, &url).await {
        Err(_) => {}
        Ok(jwt) => {
            let r = app
                .gql(
                    Some(&jwt),
                    "query($h: String!) { organization(handle: $h) { handle } }",
                    json!({"h": "zeta"}),
                )
                .await;
            panic!("a link the provisioner minted before the claim still signs in as a zeta member: {}", r.body);
        }
    }
}

/// FINDING (same cause, introspection side): the argon2 gate per client id
/// also refuses the real secret whenever it is not cached yet (after a
/// restart, or right after a rotation): ten junk attempts a minute from
/// anywhere keep the real client out of /oauth/introspect too.
#[tokio::test]
async fn junk_secrets_for_a_client_id_do_not_lock_out_its_uncached_real_secret() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (sa_id, cid, _) = app.service_account(&w.admin, &w.org_id, "bot").await;
    // A fresh secret, never verified yet.
    let d = app
        .expect_data(
            Some(&w.admin),
            "mutation($i: ServiceAccountIdInput!) { rotateServiceAccountSecret(input: $i) { clientSecret } }",
            json!({"i": {"id": sa_id}}),
        )
        .await;
    let secret = d["rotateServiceAccountSecret"]["clientSecret"]
        .as_str()
        .unwrap()
        .to_string();
    let attacker = elsewhere();
    let mut refused = 0;
    for _ in 0..12 {
        let r = attacker
            .post(app.url("/oauth/introspect"))
            .basic_auth(&cid, Some("orgs_not_the_secret"))
            .form(&[("token", "orgt_x")])
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0, "the attacker is still rate-limited");
    let r = app.introspect_response(&cid, &secret, "orgt_x").await;
    assert_eq!(
        r.status(),
        200,
        "the real, rotated secret is refused after junk attempts by someone else"
    );
}

/// FINDING (same family): credentials the provisioner minted with the
/// account's authority before the claim outlive it. Signed in as the
/// provisioned account, which its owner uses as ADMIN of `zeta`, the
/// provisioner issues an `orgt_` access token for the account in zeta and
/// creates a zeta service account; after the owner's claim both still work
/// (the token introspects active, the service account gets JWTs and acts in
/// zeta). The claim ends JWT sessions only.
#[tokio::test]
async fn claim_revokes_credentials_the_account_minted_before_it() {
    let (sink, app, w) = setup().await;
    let victim = provision(&app, &w, "MEMBER").await;
    let owner = app.sign_in("victim@example.com", PASSWORD).await;
    let zeta = app.create_org(&owner, "zeta").await;
    app.set_plan(&w.site_admin, &zeta, 5, None)
        .await
        .expect_data();
    app.assign(&owner, &zeta, std::slice::from_ref(&victim))
        .await
        .expect_data();
    // The provisioner's session, with the password they chose.
    let provisioner = app.sign_in("victim@example.com", PASSWORD).await;
    let d = app
        .expect_data(
            Some(&provisioner),
            crate::helpers::ISSUE,
            json!({"i": {"organization": zeta, "name": "kept"}}),
        )
        .await;
    let orgt = d["issueAccessToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, kept_cid, kept_secret) = app.service_account(&provisioner, &zeta, "kept").await;

    claim(&app, &sink, &w).await;
    assert_eq!(
        app.gql(Some(&provisioner), VIEWER, json!({})).await.status,
        401
    );

    // The owner's own introspecting client, created after the claim.
    let owner = app
        .sign_in("victim@example.com", "the owner's own passphrase")
        .await;
    let (_, cid, secret) = app.service_account(&owner, &zeta, "gateway").await;
    let i = app.introspect(&cid, &secret, &orgt).await;
    let kept_sa = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(&kept_cid, Some(&kept_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status();
    assert!(
        i["active"] == false && kept_sa != 200,
        "after the claim the provisioner's orgt_ token introspects {i} and their service account gets tokens ({kept_sa})"
    );
}
