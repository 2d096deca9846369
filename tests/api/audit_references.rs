//! The audit log stores raw UUIDs for the objects a record names; the API
//! shows them as global IDs, as before (migration m20261204_000001 rewrote
//! the rows that held global IDs).

use migration::MigratorTrait;

use crate::helpers::*;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

const LOG: &str = "{ organization(handle: \"acme\") { auditLog(first: 100, action: \"token.issue\") { nodes { data } } } }";

async fn stored_token_data(app: &TestApp) -> Value {
    use orgraph::entity::audit_event;
    let row = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("token.issue"))
        .one(&app.state.services.db.conn)
        .await
        .unwrap()
        .expect("a token.issue row");
    serde_json::from_str(&row.data).unwrap()
}

#[tokio::test]
async fn stored_references_are_raw_and_the_api_shows_global_ids_across_the_migration() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    assert!(app
        .assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await
        .expect_data()["assignSeats"]["results"][0]["error"]
        .is_null());
    let d = app
        .expect_data(
            Some(&w.admin),
            ISSUE,
            json!({"i": {"organization": w.org_id, "account": w.member_id}}),
        )
        .await;
    let token_id = d["issueAccessToken"]["accessToken"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let shown = |d: Value| d["organization"]["auditLog"]["nodes"][0]["data"].clone();

    let api = shown(app.expect_data(Some(&w.admin), LOG, json!({})).await);
    assert_eq!(api["token"], token_id.as_str(), "the API shows a global ID");
    assert_eq!(
        stored_token_data(&app).await["token"],
        links::uuid_of(&token_id).as_str(),
        "the database holds the raw UUID"
    );

    // Back to before the migration: the row holds the global ID, as rows
    // written by earlier releases do; the API shows it unchanged.
    let conn = &app.state.services.db.conn;
    migration::Migrator::down(conn, Some(1)).await.unwrap();
    assert_eq!(stored_token_data(&app).await["token"], token_id.as_str());
    let before = shown(app.expect_data(Some(&w.admin), LOG, json!({})).await);
    assert_eq!(before, api);

    // The upgrade rewrites it; the API answer is the same.
    migration::Migrator::up(conn, None).await.unwrap();
    assert_eq!(
        stored_token_data(&app).await["token"],
        links::uuid_of(&token_id).as_str()
    );
    assert_eq!(
        shown(app.expect_data(Some(&w.admin), LOG, json!({})).await),
        api
    );
    assert_eq!(
        api["prefix"],
        d["issueAccessToken"]["accessToken"]["prefix"]
    );
}
