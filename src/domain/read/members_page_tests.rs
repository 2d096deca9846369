//! The members page's statement and decoder (members_page.rs) against each
//! other, on the SQL text and on real rows of an in-memory SQLite database.
//! tests/api/plain_lists.rs holds the page to what whole rows answer over HTTP.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectOptions, Database, DatabaseBackend, Statement, Value};

use super::*;

fn first(limit: u64) -> PageRequest {
    PageRequest {
        limit,
        backward: false,
        after: None,
        before: None,
        newest_first: false,
    }
}

/// The statement lists exactly the columns `decode` reads, in its
/// order, and joins only what it reads from.
#[test]
fn the_statement_lists_what_decode_reads() {
    let req = PageRequest {
        limit: 10,
        backward: false,
        after: None,
        before: None,
        newest_first: false,
    };
    let org = Uuid::now_v7();
    let sql = |cols: MemberColumns| {
        let sel = req.apply(
            members_of(Some(org), &MembersFilter::default()).unwrap(),
            membership::Column::Id,
        );
        with_columns(sel, cols).build(DatabaseBackend::Sqlite).sql
    };
    let select_list = |s: &str| s[..s.find(" FROM ").unwrap()].to_string();

    let bare = sql(MemberColumns::default());
    assert!(!bare.contains("JOIN"), "{bare}");
    assert_eq!(
        select_list(&bare).matches(", ").count() + 1,
        MEMBERSHIP_IN_ORG_COLUMNS.len()
    );

    let mut names = AccountColumns::default();
    names.insert(AccountColumn::LastName);
    names.insert(AccountColumn::Kind);
    let s = sql(MemberColumns {
        seat: SeatColumns::AssignedAt,
        account: Some(names),
    });
    let list = select_list(&s);
    let at = |c: &str| list.find(c).unwrap_or_else(|| panic!("{c} in {list}"));
    assert!(at("\"assigned_at\"") < at("\"kind\"") && at("\"kind\"") < at("\"last_name\""));
    assert!(
        !list.contains("\"email\"") && !list.contains("assigned_by"),
        "{list}"
    );
    assert!(
        s.contains("LEFT JOIN \"seats\"") && s.contains("INNER JOIN \"accounts\""),
        "{s}"
    );

    // An account shown by its id alone needs no join.
    let s = sql(MemberColumns {
        seat: SeatColumns::Whole,
        account: Some(AccountColumns::default()),
    });
    assert!(!s.contains("accounts"), "{s}");
    assert_eq!(
        select_list(&s).matches(", ").count() + 1,
        MEMBERSHIP_IN_ORG_COLUMNS.len() + 4
    );
}

#[test]
fn a_set_lists_its_columns_in_page_order() {
    let mut s = AccountColumns::default();
    assert!(s.is_empty());
    s.insert(AccountColumn::CreatedAt);
    s.insert(AccountColumn::Email);
    assert_eq!(
        s.iter().collect::<Vec<_>>(),
        [AccountColumn::Email, AccountColumn::CreatedAt]
    );
    assert_eq!(
        AccountColumns::all().iter().count(),
        AccountColumn::ALL.len()
    );
    // A set indexes by discriminant: ALL is in declaration order.
    for (i, c) in AccountColumn::ALL.into_iter().enumerate() {
        assert_eq!(c as usize, i);
    }
}

/// A migrated in-memory database (one connection: each has its own).
async fn database() -> DatabaseConnection {
    let mut opts = ConnectOptions::new("sqlite::memory:");
    opts.max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let conn = Database::connect(opts).await.unwrap();
    use migration::MigratorTrait;
    migration::Migrator::up(&conn, None).await.unwrap();
    conn
}

async fn insert(conn: &DatabaseConnection, sql: &str, values: Vec<Value>) {
    conn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Sqlite,
        sql,
        values,
    ))
    .await
    .unwrap();
}

struct World {
    org: Uuid,
    at: DateTime<Utc>,
    /// (membership, account) of a seated person and of a seatless MANAGED account.
    person: (Uuid, Uuid),
    managed: (Uuid, Uuid),
    seat: Uuid,
}

async fn world(conn: &DatabaseConnection) -> World {
    let at = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
        .unwrap()
        .to_utc();
    let w = World {
        org: Uuid::now_v7(),
        at,
        person: (Uuid::now_v7(), Uuid::now_v7()),
        managed: (Uuid::now_v7(), Uuid::now_v7()),
        seat: Uuid::now_v7(),
    };
    insert(
        conn,
        "INSERT INTO organizations (id, handle, name, storage_enabled, notebooks_enabled, plan_name, seat_limit, plan_starts_on, created_at, updated_at) VALUES (?, 'acme', 'Acme', 1, 1, 'free', 5, '2026-12-01', ?, ?)",
        vec![w.org.into(), at.into(), at.into()],
    )
    .await;
    for (id, kind, email, first) in [
        (w.person.1, "PERSON", Some("p@example.com"), Some("Pat")),
        (w.managed.1, "MANAGED", None, None),
    ] {
        insert(
            conn,
            "INSERT INTO accounts (id, kind, email, first_name, last_name, is_site_admin, created_at, updated_at) VALUES (?, ?, ?, ?, 'Last', 0, ?, ?)",
            vec![
                id.into(),
                kind.into(),
                email.map(str::to_string).into(),
                first.map(str::to_string).into(),
                at.into(),
                at.into(),
            ],
        )
        .await;
    }
    for (m, a, role) in [
        (w.person.0, w.person.1, "ADMIN"),
        (w.managed.0, w.managed.1, "MEMBER"),
    ] {
        insert(
            conn,
            "INSERT INTO memberships (id, organization_id, account_id, role, created_at) VALUES (?, ?, ?, ?, ?)",
            vec![m.into(), w.org.into(), a.into(), role.into(), at.into()],
        )
        .await;
    }
    insert(
        conn,
        "INSERT INTO seats (id, organization_id, account_id, assigned_at, assigned_by_account_id) VALUES (?, ?, ?, ?, ?)",
        vec![w.seat.into(), w.org.into(), w.person.1.into(), at.into(), w.person.1.into()],
    )
    .await;
    w
}

/// Each combination of columns decodes into the row it read, with `None`
/// exactly where it did not read.
#[tokio::test]
async fn rows_hold_what_was_read_and_none_where_nothing_was() {
    let conn = database().await;
    let w = world(&conn).await;
    let page = |cols: MemberColumns| {
        let conn = conn.clone();
        async move {
            read(&conn, w.org, &MembersFilter::default(), &first(10), cols)
                .await
                .unwrap()
        }
    };

    // Memberships alone.
    let p = page(MemberColumns::default()).await;
    assert_eq!(
        (p.rows.len(), p.has_next, p.has_previous),
        (2, false, false)
    );
    let ids: Vec<_> = p.rows.iter().map(|r| r.membership.id).collect();
    assert_eq!(ids, [w.person.0, w.managed.0]);
    for r in &p.rows {
        assert!(r.seat.is_none() && r.account.is_none());
        assert_eq!(
            (r.membership.organization_id, r.membership.created_at),
            (w.org, w.at)
        );
    }
    assert_eq!(p.rows[0].membership.role, crate::domain::Role::Admin);
    assert_eq!(p.rows[1].membership.account_id, w.managed.1);

    // When the seat was assigned, and two of the account's columns.
    let mut some = AccountColumns::default();
    some.insert(AccountColumn::Kind);
    some.insert(AccountColumn::FirstName);
    let p = page(MemberColumns {
        seat: SeatColumns::AssignedAt,
        account: Some(some),
    })
    .await;
    match &p.rows[0].seat {
        Some(Some(SeatView::AssignedAt {
            organization_id,
            account_id,
            assigned_at,
        })) => assert_eq!(
            (*organization_id, *account_id, *assigned_at),
            (w.org, w.person.1, w.at)
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(p.rows[1].seat, Some(None)),
        "the managed member holds no seat"
    );
    let person = p.rows[0].account.as_deref().unwrap();
    assert_eq!(
        person,
        &AccountView {
            kind: Some(AccountKind::Person),
            first_name: Some(Some("Pat".into())),
            ..AccountView::id_only(w.person.1)
        }
    );
    let managed = p.rows[1].account.as_deref().unwrap();
    assert_eq!(
        (managed.kind, &managed.first_name),
        (Some(AccountKind::Managed), &Some(None))
    );
    assert!(managed.email.is_none() && managed.created_at.is_none());

    // Everything: the same as the whole rows.
    let p = page(MemberColumns {
        seat: SeatColumns::Whole,
        account: Some(AccountColumns::all()),
    })
    .await;
    match &p.rows[0].seat {
        Some(Some(SeatView::Whole(s))) => {
            assert_eq!(
                (s.id, s.organization_id, s.account_id),
                (w.seat, w.org, w.person.1)
            );
            assert_eq!(
                (s.assigned_at, s.assigned_by_account_id),
                (w.at, Some(w.person.1))
            );
            assert_eq!(s.assigned_by_service_account_id, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(p.rows[1].seat, Some(None)));
    let whole = |id: Uuid| {
        let conn = conn.clone();
        async move {
            let m = account::Entity::find_by_id(id).one(&conn).await.unwrap();
            AccountView::of(m.unwrap(), true)
        }
    };
    assert_eq!(
        p.rows[0].account.as_deref().unwrap(),
        &whole(w.person.1).await
    );
    assert_eq!(
        p.rows[1].account.as_deref().unwrap(),
        &whole(w.managed.1).await
    );

    // An account shown by its id alone: no join, the id.
    let p = page(MemberColumns {
        seat: SeatColumns::None,
        account: Some(AccountColumns::default()),
    })
    .await;
    assert_eq!(
        p.rows[1].account.as_deref().unwrap(),
        &AccountView::id_only(w.managed.1)
    );

    // Filters and paging go with any columns.
    let seated = MembersFilter {
        has_seat: Some(true),
        ..Default::default()
    };
    let p = read(&conn, w.org, &seated, &first(10), MemberColumns::default())
        .await
        .unwrap();
    assert_eq!(p.rows.len(), 1);
    assert_eq!(p.total.get().await.unwrap(), 1);
    let p = read(
        &conn,
        w.org,
        &MembersFilter::default(),
        &first(1),
        MemberColumns::default(),
    )
    .await
    .unwrap();
    assert_eq!((p.rows.len(), p.has_next), (1, true));
}
