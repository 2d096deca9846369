//! The HTTP client side of a TestApp: GraphQL requests and their answer
//! (`Resp`), and the OAuth endpoints (token, introspection).

use serde_json::{json, Value};

use super::TestApp;

pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Resp {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    /// The first error's extensions.code, if any.
    pub fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }
    /// The data of an answer that must have no errors; panics (showing the
    /// body) otherwise.
    pub fn expect_data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none() || self.body["errors"].is_null(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }
}

impl TestApp {
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Resp {
        let mut req = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        Resp { status, body }
    }

    /// Run a mutation/query that must succeed and return its data,
    /// panicking on errors.
    pub async fn expect_data(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let r = self.gql(token, query, variables).await;
        r.expect_data().clone()
    }

    pub async fn token_request(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/token"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let res = self
            .token_request(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ])
            .await;
        assert_eq!(res.status(), 200, "sign-in of {email} failed");
        let v: Value = res.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    /// The client-credentials grant with HTTP Basic.
    pub async fn sa_token(&self, client_id: &str, secret: &str) -> String {
        let res = self
            .http
            .post(self.url("/oauth/token"))
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// RFC 7662 introspection authenticated as a service account.
    pub async fn introspect(&self, client_id: &str, secret: &str, token: &str) -> Value {
        let res = self.introspect_response(client_id, secret, token).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// The raw answer to an introspection (for refusals).
    pub async fn introspect_response(
        &self,
        client_id: &str,
        secret: &str,
        token: &str,
    ) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/introspect"))
            .basic_auth(client_id, Some(secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
    }
}
