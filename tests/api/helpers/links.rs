//! Sign-in links and the JWTs they yield.

use base64::Engine;
use serde_json::Value;

use super::TestApp;

/// Follow a sign-in URL: the JWT, or the HTTP status it was refused with.
pub async fn redeem(app: &TestApp, url: &str) -> Result<String, u16> {
    let res = app.http.get(url).send().await.unwrap();
    if res.status() != 200 {
        return Err(res.status().as_u16());
    }
    let v: Value = res.json().await.unwrap();
    Ok(v["access_token"].as_str().unwrap().to_string())
}

/// A JWT's claims (not verified: the tests read what the server wrote).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

/// The uuid inside a global ID.
pub fn uuid_of(global: &str) -> String {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(global)
        .unwrap();
    String::from_utf8(raw)
        .unwrap()
        .split_once(':')
        .unwrap()
        .1
        .to_string()
}
