//! Personas and the world they live in: site admins, people and managed
//! members, organizations, plans, seats and service accounts, made through
//! the public API (the site admin through `create-admin`'s code path), and
//! the GraphQL documents they are made with.

use serde_json::json;

use super::http::Resp;
use super::TestApp;

pub const PASSWORD: &str = "correct horse battery";

pub fn global_id(kind: &str, id: uuid::Uuid) -> String {
    use orgraph::graphql::ids::{encode, NodeKind};
    let kind = NodeKind::ALL.into_iter().find(|k| k.as_str() == kind);
    encode(kind.expect("a node kind"), id).0
}

/// A world for permission tests: one organization with a site admin, an
/// ADMIN, a BILLING_MANAGER, a MEMBER and an outsider who belongs to another
/// organization.
pub struct World {
    pub site_admin: String,
    pub admin: String,
    pub admin_id: String,
    pub billing: String,
    pub billing_id: String,
    pub member: String,
    pub member_id: String,
    pub outsider: String,
    pub outsider_id: String,
    pub org_id: String,
    pub handle: String,
    pub other_org_id: String,
}

pub const CREATE_ORG: &str = "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id handle } } }";
pub const CREATE_USER: &str = "mutation($i: CreateUserInput!) { createUser(input: $i) { account { id } membership { id role } } }";

impl TestApp {
    /// A site admin through the same code path as `orgraph create-admin`.
    pub async fn site_admin(&self, email: &str) -> (String, String) {
        let acc =
            orgraph::domain::accounts::create_admin(&self.state.services, email, Some(PASSWORD))
                .await
                .expect("create admin");
        let token = self.sign_in(email, PASSWORD).await;
        (token, global_id("Account", acc.id))
    }

    pub async fn create_org(&self, token: &str, handle: &str) -> String {
        let d = self
            .expect_data(
                Some(token),
                CREATE_ORG,
                json!({ "i": { "handle": handle, "name": format!("Org {handle}") } }),
            )
            .await;
        d["createOrganization"]["organization"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Create a PERSON member with a password and sign them in.
    pub async fn user(
        &self,
        admin_token: &str,
        org_id: &str,
        email: &str,
        role: &str,
    ) -> (String, String) {
        let d = self
            .expect_data(
                Some(admin_token),
                CREATE_USER,
                json!({ "i": { "organization": org_id, "email": email, "password": PASSWORD, "role": role } }),
            )
            .await;
        let id = d["createUser"]["account"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        (self.sign_in(email, PASSWORD).await, id)
    }

    pub async fn world(&self) -> World {
        let (site_admin, _) = self.site_admin("root@example.com").await;
        // People are created by the site admin in scratch organizations (one
        // each, so the outsider shares no organization with acme's people),
        // then create their own organizations and become their admins.
        let scratch1 = self.create_org(&site_admin, "scratch-one").await;
        let scratch2 = self.create_org(&site_admin, "scratch-two").await;
        let (admin, admin_id) = self
            .user(&site_admin, &scratch1, "admin@example.com", "MEMBER")
            .await;
        let (outsider, outsider_id) = self
            .user(&site_admin, &scratch2, "outsider@example.com", "MEMBER")
            .await;
        let org_id = self.create_org(&admin, "acme").await;
        let other_org_id = self.create_org(&outsider, "other").await;
        let (billing, billing_id) = self
            .user(&admin, &org_id, "billing@example.com", "BILLING_MANAGER")
            .await;
        let (member, member_id) = self
            .user(&admin, &org_id, "member@example.com", "MEMBER")
            .await;
        // The outsider must not share an organization with acme's people.
        World {
            site_admin,
            admin,
            admin_id,
            billing,
            billing_id,
            member,
            member_id,
            outsider,
            outsider_id,
            org_id,
            handle: "acme".into(),
            other_org_id,
        }
    }
}

pub const ASSIGN: &str = "mutation($i: SeatAccountsInput!) { assignSeats(input: $i) { results { account seat { assignedAt } error { code field } } seats { limit used available } } }";
pub const REVOKE_SEATS: &str = "mutation($i: SeatAccountsInput!) { revokeSeats(input: $i) { results { account error { code } } seats { used } } }";
pub const ISSUE: &str = "mutation($i: IssueAccessTokenInput!) { issueAccessToken(input: $i) { secret accessToken { id prefix expiresAt active account { id } } } }";
pub const SET_PLAN: &str = "mutation($i: SetPlanInput!) { setPlan(input: $i) { organization { plan { seatLimit endsOn } } } }";
pub const CREATE_SA: &str = "mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { clientSecret serviceAccount { id name clientId } } }";

impl TestApp {
    /// `n` MANAGED members (no password: no argon2 cost) of an organization.
    pub async fn managed_members(&self, token: &str, org_id: &str, n: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let d = self
                .expect_data(
                    Some(token),
                    CREATE_USER,
                    json!({"i": {"organization": org_id, "firstName": format!("m{i}")}}),
                )
                .await;
            ids.push(
                d["createUser"]["account"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        ids
    }

    pub async fn set_plan(
        &self,
        site_admin: &str,
        org_id: &str,
        limit: i64,
        ends_on: Option<&str>,
    ) -> Resp {
        let mut i = json!({"organization": org_id, "name": "team", "seatLimit": limit, "startsOn": "2026-01-01"});
        if let Some(e) = ends_on {
            i["endsOn"] = json!(e);
        }
        self.gql(Some(site_admin), SET_PLAN, json!({ "i": i }))
            .await
    }

    pub async fn assign(&self, token: &str, org_id: &str, accounts: &[String]) -> Resp {
        self.gql(
            Some(token),
            ASSIGN,
            json!({"i": {"organization": org_id, "accounts": accounts}}),
        )
        .await
    }

    /// A service account: (id, client id, client secret).
    pub async fn service_account(
        &self,
        admin: &str,
        org_id: &str,
        name: &str,
    ) -> (String, String, String) {
        let d = self
            .expect_data(
                Some(admin),
                CREATE_SA,
                json!({"i": {"organization": org_id, "name": name}}),
            )
            .await;
        let sa = &d["createServiceAccount"];
        (
            sa["serviceAccount"]["id"].as_str().unwrap().to_string(),
            sa["serviceAccount"]["clientId"]
                .as_str()
                .unwrap()
                .to_string(),
            sa["clientSecret"].as_str().unwrap().to_string(),
        )
    }
}
