//! Issue 16, "nested reads in one statement per level": every connection
//! and every per-object aggregate that can appear under a list is read for
//! all of the list's parents at once, so the statements of a request are
//! bounded by the query's shape, never by page sizes or the number of ids;
//! and each parent's page, pageInfo, totalCount and errors are exactly
//! what that parent gets asked alone.
//!
//! The fields under test come from introspection, with a table of how to
//! reach a list of each type that owns such fields (`OWNERS`, `paths`): a
//! connection or count added to a type without a path fails
//! `introspection_finds_no_connection_or_count_without_a_path`. The data is
//! `seed`'s: rows written straight through sea-orm (the API would take
//! minutes for this much), around two personas made through the API.
//!
//! Every statement count is taken with the outer list at 10 and at 100
//! parents; the tests print them all and fail, after every answer has been
//! compared, when any pair differs.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use futures_util::stream::{self, StreamExt};
use orgraph::auth::tokens;
use orgraph::entity::enums::{AccountKind, Role, StoredInvitationStatus};
use orgraph::entity::{
    access_token, account, audit_event, invitation, membership, message, message_recipient,
    organization, seat, service_account, sign_in_token,
};
use orgraph::graphql::ids::{self, NodeKind};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, TransactionTrait};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;

// ---------------------------------------------------------------------------
// The seed
// ---------------------------------------------------------------------------

/// Organizations `n000`..`n109` (after `home`, made through the API).
const ORGS: usize = 110;
/// The ordinary member belongs to the first 105 of them (and `home`).
const MIA_ORGS: usize = 105;
/// `n000` and `n001` have 120 members of their own, each of whom also
/// belongs to one to four other organizations.
const BIG: usize = 2;
const BIG_MEMBERS: usize = 120;
/// Members of their own of the other organizations, by index modulo 7.
const SMALL_SIZES: [usize; 7] = [0, 1, 2, 3, 5, 8, 13];
/// An organization without a single member (not even the site admin).
const EMPTY: usize = 105;

fn handle(i: usize) -> String {
    format!("n{i:03}")
}

fn gid(kind: NodeKind, id: Uuid) -> String {
    ids::encode(kind, id).0
}

fn uuid_of(global: &str) -> Uuid {
    ids::parse(global).expect("a global id").1
}

/// The personas and what the seed wrote, by kind, each row with the index
/// of its organization.
struct Seed {
    /// A site admin, member of `home` and of every `n` organization but
    /// `EMPTY` and those whose index is 10 modulo 11 (ADMIN, MEMBER or
    /// BILLING_MANAGER by index modulo 3).
    root: String,
    root_id: Uuid,
    /// An ordinary member of `home` and `n000`..`n104`: ADMIN where the
    /// index is 0 modulo 4, BILLING_MANAGER where 1, MEMBER elsewhere.
    mia: String,
    mia_id: Uuid,
    orgs: Vec<Uuid>,
    /// The accounts made for each organization.
    accounts: Vec<Vec<Uuid>>,
    memberships: Vec<(usize, Uuid)>,
    tokens: Vec<(usize, Uuid)>,
    service_accounts: Vec<(usize, Uuid)>,
    invitations: Vec<(usize, Uuid)>,
    messages: Vec<(usize, Uuid)>,
    audit: Vec<(usize, Uuid)>,
    sign_ins: Vec<(usize, Uuid)>,
}

#[derive(Default)]
struct Rows {
    orgs: Vec<organization::Model>,
    accounts: Vec<account::Model>,
    memberships: Vec<membership::Model>,
    seats: Vec<seat::Model>,
    tokens: Vec<access_token::Model>,
    service_accounts: Vec<service_account::Model>,
    invitations: Vec<invitation::Model>,
    sign_ins: Vec<sign_in_token::Model>,
    audit: Vec<audit_event::Model>,
    messages: Vec<message::Model>,
    recipients: Vec<message_recipient::Model>,
}

/// Multi-row INSERTs, 500 rows at a time (well under both databases'
/// bound-parameter limits).
async fn insert<C, M, A>(db: &C, rows: Vec<M>)
where
    C: ConnectionTrait,
    A: ActiveModelTrait + From<M> + Send,
    M: Clone,
{
    for chunk in rows.chunks(500) {
        <A::Entity as EntityTrait>::insert_many(chunk.iter().cloned().map(A::from))
            .exec_without_returning(db)
            .await
            .expect("insert seed rows");
    }
}

impl Rows {
    async fn write(self, db: &sea_orm::DatabaseConnection) {
        let tx = db.begin().await.unwrap();
        insert::<_, _, organization::ActiveModel>(&tx, self.orgs).await;
        insert::<_, _, account::ActiveModel>(&tx, self.accounts).await;
        insert::<_, _, membership::ActiveModel>(&tx, self.memberships).await;
        insert::<_, _, seat::ActiveModel>(&tx, self.seats).await;
        insert::<_, _, access_token::ActiveModel>(&tx, self.tokens).await;
        insert::<_, _, service_account::ActiveModel>(&tx, self.service_accounts).await;
        insert::<_, _, invitation::ActiveModel>(&tx, self.invitations).await;
        insert::<_, _, sign_in_token::ActiveModel>(&tx, self.sign_ins).await;
        insert::<_, _, audit_event::ActiveModel>(&tx, self.audit).await;
        insert::<_, _, message::ActiveModel>(&tx, self.messages).await;
        insert::<_, _, message_recipient::ActiveModel>(&tx, self.recipients).await;
        tx.commit().await.unwrap();
    }
}

/// The site admin and the member through the API (they sign in), then
/// everything else straight into the database, with contents that vary by
/// organization: sizes 0 to 120, seats for every other member, tokens
/// active, revoked and expired, invitations in every status, service
/// accounts, sign-in links, audit events and messages.
async fn seed(app: &TestApp) -> Seed {
    let (root, root_gid) = app.site_admin("root@example.com").await;
    let home = app.create_org(&root, "home").await;
    let (mia, mia_gid) = app.user(&root, &home, "mia@example.com", "MEMBER").await;
    let (root_id, mia_id) = (uuid_of(&root_gid), uuid_of(&mia_gid));
    let now: DateTime<Utc> = app.clock.now();
    let today = now.date_naive();
    let mut r = Rows::default();
    let mut s = Seed {
        root,
        root_id,
        mia,
        mia_id,
        orgs: Vec::new(),
        accounts: Vec::new(),
        memberships: Vec::new(),
        tokens: Vec::new(),
        service_accounts: Vec::new(),
        invitations: Vec::new(),
        messages: Vec::new(),
        audit: Vec::new(),
        sign_ins: Vec::new(),
    };
    let mut member_of: HashSet<(usize, Uuid)> = HashSet::new();
    // Memberships of the big organizations' accounts elsewhere, written
    // after all the others (their ids come later).
    let mut elsewhere: Vec<(usize, Uuid)> = Vec::new();
    let mut t = 0usize;
    for i in 0..ORGS {
        let org_id = Uuid::now_v7();
        s.orgs.push(org_id);
        let mut members: Vec<(Uuid, Role)> = Vec::new();
        if i < MIA_ORGS {
            let role = [
                Role::Admin,
                Role::BillingManager,
                Role::Member,
                Role::Member,
            ][i % 4];
            members.push((mia_id, role));
        }
        if i % 11 != 10 && i != EMPTY {
            let role = [Role::Admin, Role::Member, Role::BillingManager][i % 3];
            members.push((root_id, role));
        }
        let own_count = if i < BIG {
            BIG_MEMBERS
        } else {
            SMALL_SIZES[i % 7]
        };
        let mut own = Vec::new();
        for k in 0..own_count {
            let id = Uuid::now_v7();
            let person = k.is_multiple_of(5);
            r.accounts.push(account::Model {
                id,
                kind: if person {
                    AccountKind::Person
                } else {
                    AccountKind::Managed
                },
                email: person.then(|| format!("p{k}.o{i}@example.com")),
                first_name: Some(format!("m{k}")),
                last_name: (k % 3 != 2).then(|| format!("O{i}")),
                password_hash: None,
                is_site_admin: false,
                created_at: now,
                updated_at: now,
                claimed_at: person.then_some(now),
                session_epoch: 0,
            });
            let role = match k % 6 {
                0 => Role::Admin,
                1 => Role::BillingManager,
                _ => Role::Member,
            };
            members.push((id, role));
            own.push(id);
            if i < BIG {
                for j in 0..=(k % 4) {
                    elsewhere.push((BIG + (k * 7 + j * 29 + i * 13) % (ORGS - BIG), id));
                }
            }
        }
        let mut seated = 0i32;
        for (j, (acc, role)) in members.iter().enumerate() {
            let mid = Uuid::now_v7();
            member_of.insert((i, *acc));
            r.memberships.push(membership::Model {
                id: mid,
                organization_id: org_id,
                account_id: *acc,
                role: *role,
                created_at: now,
            });
            s.memberships.push((i, mid));
            let is_mia = *acc == mia_id;
            if !(if is_mia {
                i % 3 != 2
            } else {
                j.is_multiple_of(2)
            }) {
                continue;
            }
            seated += 1;
            r.seats.push(seat::Model {
                id: Uuid::now_v7(),
                organization_id: org_id,
                account_id: *acc,
                assigned_at: now,
                assigned_by_account_id: (j % 3 != 1).then_some(root_id),
                assigned_by_service_account_id: None,
            });
            let n_tokens = if is_mia {
                1 + usize::from(i.is_multiple_of(3))
            } else {
                usize::from(j.is_multiple_of(3))
            };
            for _ in 0..n_tokens {
                t += 1;
                let secret = tokens::new_access_token();
                let id = Uuid::now_v7();
                r.tokens.push(access_token::Model {
                    id,
                    organization_id: org_id,
                    account_id: *acc,
                    name: t.is_multiple_of(2).then(|| format!("token {t}")),
                    prefix: tokens::access_token_prefix(&secret),
                    token_hash: tokens::sha256_hex(&secret),
                    scopes: "[]".into(),
                    created_at: now,
                    expires_at: if t % 3 == 2 {
                        now - Duration::days(1)
                    } else {
                        now + Duration::days(30)
                    },
                    last_used_at: None,
                    revoked_at: (t % 3 == 1).then_some(now),
                    issued_by_account_id: Some(root_id),
                    issued_by_service_account_id: None,
                });
                s.tokens.push((i, id));
            }
        }
        r.orgs.push(organization::Model {
            id: org_id,
            handle: handle(i),
            name: format!("Nested {i}"),
            description: i.is_multiple_of(2).then(|| format!("organization {i}")),
            email: i
                .is_multiple_of(3)
                .then(|| format!("contact@o{i}.example.com")),
            link: None,
            storage_enabled: i.is_multiple_of(2),
            notebooks_enabled: i.is_multiple_of(3),
            plan_name: "team".into(),
            // Over-assigned (available 0) where i is 0 modulo 4.
            seat_limit: (seated + (i % 4) as i32 - 1).max(0),
            plan_starts_on: today - chrono::Days::new(30),
            plan_ends_on: (i % 5 != 0).then(|| today + chrono::Days::new(335)),
            created_at: now,
            updated_at: now,
        });
        for k in 0..(i % 7) {
            let id = Uuid::now_v7();
            let status = [
                StoredInvitationStatus::Pending,
                StoredInvitationStatus::Accepted,
                StoredInvitationStatus::Declined,
                StoredInvitationStatus::Revoked,
                StoredInvitationStatus::Pending,
            ][k % 5];
            r.invitations.push(invitation::Model {
                id,
                organization_id: org_id,
                email: format!("inv{k}.o{i}@example.com"),
                role: if k.is_multiple_of(2) {
                    Role::Member
                } else {
                    Role::Admin
                },
                status,
                token_hash: tokens::sha256_hex(&tokens::new_opaque_token()),
                invited_by_account_id: Some(root_id),
                invited_by_service_account_id: None,
                created_at: now,
                last_sent_at: now,
                // The second PENDING one has expired (EXPIRED).
                expires_at: if k % 5 == 4 {
                    now - Duration::days(1)
                } else {
                    now + Duration::days(7)
                },
                send_count: 1 + (k % 3) as i32,
                responded_at: matches!(
                    status,
                    StoredInvitationStatus::Accepted | StoredInvitationStatus::Declined
                )
                .then_some(now),
                accepted_account_id: None,
            });
            s.invitations.push((i, id));
        }
        for k in 0..(i % 3) {
            let id = Uuid::now_v7();
            r.service_accounts.push(service_account::Model {
                id,
                organization_id: org_id,
                name: format!("sa-{k}"),
                client_id: format!("orgc_{}", tokens::random_base62(24)),
                secret_hash: "not a hash: never signs in".into(),
                created_at: now,
                created_by_account_id: Some(root_id),
                last_used_at: None,
                secret_rotated_at: None,
            });
            s.service_accounts.push((i, id));
        }
        if !own.is_empty() {
            for k in 0..(i % 4) {
                let id = Uuid::now_v7();
                r.sign_ins.push(sign_in_token::Model {
                    id,
                    account_id: own[k % own.len()],
                    token_hash: tokens::sha256_hex(&tokens::new_opaque_token()),
                    created_at: now,
                    expires_at: now + Duration::hours(1),
                    expired_at: (k % 2 == 1).then_some(now),
                    created_by_account_id: Some(root_id),
                    organization_id: Some(org_id),
                    last_used_at: None,
                });
                s.sign_ins.push((i, id));
            }
        }
        for k in 0..(i % 5) {
            let id = Uuid::now_v7();
            let action = [
                "seat.assign",
                "member.role_update",
                "token.revoke",
                "member.add",
            ][k % 4];
            let data = match action {
                "member.role_update" => json!({"role": {"before": "MEMBER", "after": "ADMIN"}}),
                _ => json!({}),
            };
            r.audit.push(audit_event::Model {
                id,
                organization_id: Some(org_id),
                action: action.into(),
                actor_account_id: Some(if k.is_multiple_of(2) { root_id } else { mia_id }),
                actor_service_account_id: None,
                target_account_id: members.get(k % members.len().max(1)).map(|m| m.0),
                data: data.to_string(),
                occurred_at: now,
            });
            s.audit.push((i, id));
        }
        if i.is_multiple_of(2) {
            for k in 0..(1 + i % 3) {
                let id = Uuid::now_v7();
                r.messages.push(message::Model {
                    id,
                    organization_id: org_id,
                    sender_account_id: Some(root_id),
                    sender_service_account_id: None,
                    subject: format!("news {k} of {}", handle(i)),
                    body: "Hello **members**".into(),
                    sent_at: now,
                });
                for (acc, _) in &members {
                    r.recipients.push(message_recipient::Model {
                        message_id: id,
                        account_id: *acc,
                        read_at: None,
                    });
                }
                s.messages.push((i, id));
            }
        }
        s.accounts.push(own);
    }
    for (i, acc) in elsewhere {
        if member_of.insert((i, acc)) {
            let id = Uuid::now_v7();
            r.memberships.push(membership::Model {
                id,
                organization_id: s.orgs[i],
                account_id: acc,
                role: Role::Member,
                created_at: now,
            });
            s.memberships.push((i, id));
        }
    }
    r.write(&app.state.services.db.conn).await;
    s
}

// ---------------------------------------------------------------------------
// The schema, by introspection
// ---------------------------------------------------------------------------

const INTROSPECTION: &str = "{ __schema { queryType { name } types { kind name
  interfaces { name } possibleTypes { name }
  fields { name type { ...T } args { name defaultValue type { ...T } } } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

struct Field {
    name: String,
    /// The kind and name of the named type under NON_NULL and LIST.
    kind: String,
    ty: String,
    /// A list (of whatever kind).
    list: bool,
    /// An argument the field cannot be asked without.
    required_args: bool,
}

struct Type {
    fields: Vec<Field>,
    interfaces: Vec<String>,
    possible: Vec<String>,
}

struct Schema {
    query: String,
    types: HashMap<String, Type>,
}

/// The kind and name of the named type under NON_NULL and LIST, and
/// whether there is a LIST.
fn named(t: &Value) -> (String, String, bool) {
    let mut t = t;
    let mut list = false;
    while t["ofType"].is_object() {
        list |= t["kind"] == "LIST";
        t = &t["ofType"];
    }
    (
        t["kind"].as_str().unwrap_or_default().to_string(),
        t["name"].as_str().unwrap_or_default().to_string(),
        list,
    )
}

impl Schema {
    async fn load(app: &TestApp, token: &str) -> Schema {
        let d = app.expect_data(Some(token), INTROSPECTION, json!({})).await;
        let names = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x["name"].as_str().map(String::from))
                .collect()
        };
        let mut types = HashMap::new();
        for t in d["__schema"]["types"].as_array().unwrap() {
            let fields = t["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    let (kind, ty, list) = named(&f["type"]);
                    Field {
                        name: f["name"].as_str().unwrap().to_string(),
                        kind,
                        ty,
                        list,
                        required_args: f["args"].as_array().into_iter().flatten().any(|a| {
                            a["type"]["kind"] == "NON_NULL" && a["defaultValue"].is_null()
                        }),
                    }
                })
                .collect();
            types.insert(
                t["name"].as_str().unwrap().to_string(),
                Type {
                    fields,
                    interfaces: names(&t["interfaces"]),
                    possible: names(&t["possibleTypes"]),
                },
            );
        }
        Schema {
            query: d["__schema"]["queryType"]["name"]
                .as_str()
                .unwrap()
                .to_string(),
            types,
        }
    }

    fn ty(&self, name: &str) -> &Type {
        self.types
            .get(name)
            .unwrap_or_else(|| panic!("type {name} in the schema"))
    }

    /// Object and interface types a query can reach (not the mutations'
    /// payloads, nor the subscription's events).
    fn reachable(&self) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![self.query.clone()];
        while let Some(n) = todo.pop() {
            if !seen.insert(n.clone()) {
                continue;
            }
            let t = self.ty(&n);
            for f in &t.fields {
                if matches!(f.kind.as_str(), "OBJECT" | "INTERFACE") {
                    todo.push(f.ty.clone());
                }
            }
            todo.extend(t.possible.iter().cloned());
        }
        seen
    }

    fn is_connection(&self, ty: &str) -> bool {
        ty.ends_with("Connection") && self.types.contains_key(ty)
    }

    /// The node type of a connection type.
    fn node_of(&self, conn: &str) -> String {
        let f = self.ty(conn).fields.iter().find(|f| f.name == "nodes");
        f.unwrap_or_else(|| panic!("{conn}.nodes")).ty.clone()
    }

    /// Every scalar and enum field of a type that needs no argument.
    fn scalars(&self, ty: &str) -> String {
        let t = self.ty(ty);
        let names: Vec<&str> = t
            .fields
            .iter()
            .filter(|f| matches!(f.kind.as_str(), "SCALAR" | "ENUM") && !f.required_args)
            .map(|f| f.name.as_str())
            .collect();
        names.join(" ")
    }

    /// What an aggregate's value shows: its scalars, and those of the value
    /// objects (not nodes, not connections) inside it.
    fn value(&self, ty: &str, depth: usize) -> String {
        let t = self.ty(ty);
        let mut out = Vec::new();
        for f in &t.fields {
            if f.required_args {
                continue;
            }
            match f.kind.as_str() {
                "SCALAR" | "ENUM" => out.push(f.name.clone()),
                "OBJECT"
                    if depth > 0
                        && !self.is_connection(&f.ty)
                        && !self.ty(&f.ty).interfaces.iter().any(|i| i == "Node") =>
                {
                    out.push(format!("{} {{ {} }}", f.name, self.value(&f.ty, depth - 1)))
                }
                _ => {}
            }
        }
        out.join(" ")
    }

    /// A connection field with its arguments and the selection every test
    /// here reads of a connection.
    fn connection(&self, conn_ty: &str, field: &str, args: &str) -> String {
        format!(
            "{field}{args} {{ totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} edges {{ cursor }} nodes {{ {} }} }}",
            self.scalars(&self.node_of(conn_ty))
        )
    }
}

// ---------------------------------------------------------------------------
// What is under test: the connections and aggregates, and how to reach them
// ---------------------------------------------------------------------------

/// The types a list of parents can be asked for (see `paths`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Base {
    Organization,
    Account,
}

impl Base {
    fn name(self) -> &'static str {
        match self {
            Base::Organization => "Organization",
            Base::Account => "Account",
        }
    }
}

/// Each type that owns a connection or an aggregate: which base's list
/// reaches a list of it, and through which field of the base ("" for the
/// base itself). A type missing here, with such a field, fails the test.
const OWNERS: &[(&str, Base, &str)] = &[
    ("Organization", Base::Organization, ""),
    ("SeatPool", Base::Organization, "seats"),
    ("ResourceUsage", Base::Organization, "resourceUsage"),
    ("Account", Base::Account, ""),
];

/// Int fields that are a column of their own row, read with it: not counts.
const STORED_INTS: &[(&str, &str)] = &[("Invitation", "sendCount"), ("Plan", "seatLimit")];

/// Per-object aggregates that are not an Int: the caller's role (a
/// membership read per organization) and the usage series (counters
/// summed per organization).
const AGGREGATES: &[(&str, &str)] = &[("Organization", "viewerRole"), ("Organization", "usage")];

/// Lists of objects that are part of an aggregate's answer, read with it
/// (any other list of objects below the root counts as a read of its own).
const PARTS: &[(&str, &str)] = &[("UsageSeries", "buckets")];

/// What a connection type holds besides its edges and nodes.
const CONNECTION_FIELDS: &[&str] = &["edges", "nodes", "pageInfo", "totalCount"];

/// One field under test: its owner, name, and the selection of it on the
/// base type (wrapped in the owner's field of the base).
struct Nested {
    owner: String,
    field: String,
    base: Base,
    selection: String,
}

impl Nested {
    fn label(&self) -> String {
        format!("{}.{}", self.owner, self.field)
    }
}

/// Every connection and aggregate a query can reach below the root, with
/// its selection; and what has no way to be tested here (must be empty).
fn nested_fields(s: &Schema) -> (Vec<Nested>, Vec<String>) {
    let mut found = Vec::new();
    let mut unmapped = Vec::new();
    for owner in s.reachable() {
        // Root fields are asked once per request, never under a list
        // (`nodes` has its own test).
        if owner == s.query {
            continue;
        }
        let t = s.ty(&owner);
        if s.is_connection(&owner) {
            for f in &t.fields {
                if !CONNECTION_FIELDS.contains(&f.name.as_str()) {
                    unmapped.push(format!(
                        "{owner}.{}: a connection type's field beyond {CONNECTION_FIELDS:?}",
                        f.name
                    ));
                }
            }
            continue;
        }
        for f in &t.fields {
            let key = (owner.as_str(), f.name.as_str());
            let connection = s.is_connection(&f.ty);
            let objects = f.list && matches!(f.kind.as_str(), "OBJECT" | "INTERFACE" | "UNION");
            let aggregate = (f.ty == "Int" && !STORED_INTS.contains(&key))
                || (objects && !PARTS.contains(&key))
                || AGGREGATES.contains(&key);
            if !connection && !aggregate {
                continue;
            }
            let Some(&(_, base, through)) = OWNERS.iter().find(|o| o.0 == owner) else {
                unmapped.push(format!(
                    "{owner}.{}: no list of {owner} in OWNERS to ask it under",
                    f.name
                ));
                continue;
            };
            if f.required_args {
                unmapped.push(format!(
                    "{owner}.{}: takes a required argument; give it a case here",
                    f.name
                ));
                continue;
            }
            let sel = if connection {
                s.connection(&f.ty, &f.name, "(first: 3)")
            } else if matches!(f.kind.as_str(), "SCALAR" | "ENUM") {
                f.name.clone()
            } else {
                format!("{} {{ {} }}", f.name, s.value(&f.ty, 2))
            };
            found.push(Nested {
                owner: owner.clone(),
                field: f.name.clone(),
                base,
                selection: if through.is_empty() {
                    sel
                } else {
                    format!("{through} {{ {sel} }}")
                },
            });
        }
    }
    (found, unmapped)
}

// ---------------------------------------------------------------------------
// Lists of parents, and each parent's answer
// ---------------------------------------------------------------------------

/// A list of parents of a base type, as one persona asks for it.
struct ListPath {
    name: &'static str,
    base: Base,
    /// The query; `SEL` stands for what each parent shows besides its id.
    query: String,
    /// From `data` to the list, and from one of its items to the parent.
    list: Vec<&'static str>,
    item: Vec<&'static str>,
    /// `nodes(ids:)`: the ids, of which the first n are sent.
    ids: Option<Vec<String>>,
}

impl ListPath {
    fn query(&self, sel: &str) -> String {
        self.query.replace("SEL", sel)
    }

    fn vars(&self, n: usize) -> Value {
        match &self.ids {
            Some(ids) => json!({ "ids": ids[..n] }),
            None => json!({ "n": n }),
        }
    }
}

/// `ids` with `extra` put in at positions `first`, `first + 20`, …: a
/// list of 10 and one of 100 both hold some.
fn interleave(mut ids: Vec<String>, extra: Vec<String>, first: usize) -> Vec<String> {
    for (k, x) in extra.into_iter().take(5).enumerate() {
        ids.insert(first + 20 * k, x);
    }
    ids
}

/// How each persona reaches a list of 100 organizations and one of 100
/// accounts (and of each, through them, of the owners in `OWNERS`).
fn paths(s: &Seed, as_root: bool) -> Vec<ListPath> {
    let org = |i: usize| gid(NodeKind::Organization, s.orgs[i]);
    let acc = |id: Uuid| gid(NodeKind::Account, id);
    let orgs = if as_root {
        (0..ORGS).map(org).collect()
    } else {
        // Hers, and the five she is not in (null: she may not see them).
        interleave(
            (0..MIA_ORGS).map(org).collect(),
            (MIA_ORGS..ORGS).map(org).collect(),
            3,
        )
    };
    // The members of n000, and accounts of organizations she is not in.
    let mut accounts: Vec<String> = [s.mia_id, s.root_id]
        .into_iter()
        .chain(s.accounts[0].iter().copied())
        .map(acc)
        .collect();
    if !as_root {
        let strangers = s.accounts[MIA_ORGS..].iter().flatten().copied();
        accounts = interleave(accounts, strangers.map(acc).collect(), 4);
    }
    let listed = if as_root {
        (
            "organizations(all: true)",
            "organizations(first: $n, all: true)",
        )
    } else {
        ("organizations", "organizations(first: $n)")
    };
    vec![
        ListPath {
            name: listed.0,
            base: Base::Organization,
            query: format!("query($n: Int!) {{ {} {{ nodes {{ id SEL }} }} }}", listed.1),
            list: vec!["organizations", "nodes"],
            item: vec![],
            ids: None,
        },
        ListPath {
            name: "viewer.memberships.organization",
            base: Base::Organization,
            query: "query($n: Int!) { viewer { memberships(first: $n) { nodes { organization { id SEL } } } } }".into(),
            list: vec!["viewer", "memberships", "nodes"],
            item: vec!["organization"],
            ids: None,
        },
        ListPath {
            name: "nodes(organization ids)",
            base: Base::Organization,
            query: "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Organization { id SEL } } }".into(),
            list: vec!["nodes"],
            item: vec![],
            ids: Some(orgs),
        },
        ListPath {
            name: "n000.members.account",
            base: Base::Account,
            query: "query($n: Int!) { organization(handle: \"n000\") { members(first: $n) { nodes { account { id SEL } } } } }".into(),
            list: vec!["organization", "members", "nodes"],
            item: vec!["account"],
            ids: None,
        },
        ListPath {
            name: "nodes(account ids)",
            base: Base::Account,
            query: "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Account { id SEL } } }".into(),
            list: vec!["nodes"],
            item: vec![],
            ids: Some(accounts),
        },
    ]
}

/// One parent's answer.
#[derive(Clone, Debug, PartialEq)]
struct Answer {
    /// The parent as the answer shows it; None when an error above the list
    /// nulled the list, which then says nothing of any parent's data.
    data: Option<Value>,
    /// The errors under the parent: message, extensions and the path from
    /// the parent (locations differ between documents and are left out).
    errors: Vec<Value>,
}

fn error_at(e: &Value, rest: &[Value]) -> Value {
    json!({ "message": e["message"], "extensions": e["extensions"], "path": rest })
}

/// The `n` parents' answers in the answer to a list (`list` leads from
/// `data` to it, `item` from an item to the parent), and the errors that
/// belong to no parent.
fn per_parent(body: &Value, list: &[&str], item: &[&str], n: usize) -> (Vec<Answer>, Vec<Value>) {
    let mut at = Some(&body["data"]);
    for k in list {
        at = at.filter(|v| !v.is_null()).map(|v| &v[*k]);
    }
    let items = at.and_then(Value::as_array);
    let mut out: Vec<Answer> = (0..n)
        .map(|i| Answer {
            data: items.map(|l| {
                let mut v = l.get(i).cloned().unwrap_or(json!("<not in the list>"));
                for k in item {
                    if !v.is_null() {
                        v = v[*k].clone();
                    }
                }
                v
            }),
            errors: Vec::new(),
        })
        .collect();
    let mut stray = Vec::new();
    let (l, m) = (list.len(), item.len());
    for e in body["errors"].as_array().into_iter().flatten() {
        let path = e["path"].as_array().cloned().unwrap_or_default();
        let parent = (path.len() > l + m
            && list.iter().zip(&path).all(|(k, v)| v.as_str() == Some(*k))
            && item
                .iter()
                .zip(&path[l + 1..])
                .all(|(k, v)| v.as_str() == Some(*k)))
        .then(|| path[l].as_u64())
        .flatten()
        .map(|i| i as usize)
        .filter(|i| *i < n);
        match parent {
            Some(i) => out[i].errors.push(error_at(e, &path[l + 1 + m..])),
            None => stray.push(e.clone()),
        }
    }
    for a in &mut out {
        a.errors.sort_by_key(|e| e.to_string());
    }
    (out, stray)
}

fn alone_query(base: Base, sel: &str) -> String {
    format!(
        "query($id: ID!) {{ node(id: $id) {{ ... on {} {{ id {sel} }} }} }}",
        base.name()
    )
}

/// The answer to a `node(id:)` query: the one parent.
fn alone_answer(query: &str, body: &Value) -> Answer {
    assert!(
        body["data"].is_object(),
        "{query} failed as a whole: {body}"
    );
    let mut errors = Vec::new();
    for e in body["errors"].as_array().into_iter().flatten() {
        let path = e["path"].as_array().cloned().unwrap_or_default();
        assert!(
            path.first().and_then(Value::as_str) == Some("node"),
            "{query}: an error outside `node`: {body}"
        );
        errors.push(error_at(e, &path[1..]));
    }
    errors.sort_by_key(|e| e.to_string());
    Answer {
        data: Some(body["data"]["node"].clone()),
        errors,
    }
}

/// Each persona's answers to `node(id:)` queries, asked one at a time
/// (eight in flight).
#[derive(Default)]
struct Alone {
    answers: HashMap<(String, String), Answer>,
}

impl Alone {
    async fn fetch(&mut self, app: &TestApp, token: &str, queries: &[String], ids: &[String]) {
        let mut todo = Vec::new();
        for q in queries {
            for id in ids {
                let key = (q.clone(), id.clone());
                if !self.answers.contains_key(&key) {
                    todo.push(key);
                }
            }
        }
        todo.sort();
        todo.dedup();
        let got: Vec<_> = stream::iter(todo)
            .map(|(q, id)| async move {
                let r = app.gql(Some(token), &q, json!({ "id": id })).await;
                assert_eq!(r.status, 200, "{q} ({id}): {}", r.body);
                let a = alone_answer(&q, &r.body);
                ((q, id), a)
            })
            .buffer_unordered(8)
            .collect()
            .await;
        self.answers.extend(got);
    }

    fn get(&self, query: &str, id: &str) -> &Answer {
        &self.answers[&(query.to_string(), id.to_string())]
    }
}

/// The answers to one query over lists of 10 and of 100 parents, and the
/// statements each took.
struct Measured {
    bodies: [Value; 2],
    statements: [u64; 2],
}

async fn counted(app: &TestApp, token: &str, q: &str, vars: &Value) -> (Value, u64) {
    let before = app.sql_count_now().await;
    let r = app.gql(Some(token), q, vars.clone()).await;
    let after = app.sql_count_now().await;
    assert_eq!(r.status, 200, "{q}: {}", r.body);
    (r.body, after - before)
}

/// `q` with `vars[0]` (10 parents) and `vars[1]` (100). While the counts
/// differ by a statement or two (at most three more times) both are taken
/// again and the smaller of each kept, so that a statement of something
/// else (the mail worker's idle pass) cannot make a difference.
async fn at_10_and_100(app: &TestApp, token: &str, q: &str, vars: [Value; 2]) -> Measured {
    let (b10, mut c10) = counted(app, token, q, &vars[0]).await;
    let (b100, mut c100) = counted(app, token, q, &vars[1]).await;
    for _ in 0..3 {
        if c10 == c100 || c10.abs_diff(c100) > 2 {
            break;
        }
        c10 = c10.min(counted(app, token, q, &vars[0]).await.1);
        c100 = c100.min(counted(app, token, q, &vars[1]).await.1);
    }
    Measured {
        bodies: [b10, b100],
        statements: [c10, c100],
    }
}

/// The ids of a path's first 100 parents (a list whose parents show only
/// their id cannot fail).
async fn parent_ids(app: &TestApp, token: &str, p: &ListPath) -> Vec<String> {
    if let Some(ids) = &p.ids {
        return ids[..100].to_vec();
    }
    let r = app.gql(Some(token), &p.query(""), p.vars(100)).await;
    let (answers, stray) = per_parent(&r.body, &p.list, &p.item, 100);
    assert!(stray.is_empty(), "{}: {}", p.name, r.body);
    answers
        .iter()
        .map(|a| {
            let id = a.data.as_ref().and_then(|d| d["id"].as_str());
            id.unwrap_or_else(|| panic!("the seed gives {} 100 parents: {}", p.name, r.body))
                .to_string()
        })
        .collect()
}

/// What the tests found: answers that differ from the one-at-a-time
/// answers, and statement counts at 10 and 100 parents.
#[derive(Default)]
struct Report {
    mismatches: Vec<String>,
    counts: Vec<(String, [u64; 2])>,
    compared: usize,
    /// Lists an error of one parent nulled as a whole.
    nulled: usize,
}

impl Report {
    fn mismatch(&mut self, what: String) {
        self.mismatches.push(what);
    }

    /// Each parent's answer in a list's answer against its answer alone:
    /// data and errors. (async-graphql leaves a failed field out of its
    /// object, so every parent keeps its own answer. Should a failed field
    /// ever null the whole list instead, as null propagation through
    /// non-null items does, the list shows only the first error the
    /// executor met: then each error shown must be one its parent gets
    /// alone.)
    fn judge<'a>(
        &mut self,
        label: &str,
        parents: &[String],
        (answers, stray): (Vec<Answer>, Vec<Value>),
        alone: impl Fn(&str) -> &'a Answer,
    ) {
        if !stray.is_empty() {
            self.mismatch(format!("{label}: errors of no parent: {stray:?}"));
        }
        if answers.iter().any(|a| a.data.is_none()) {
            self.nulled += 1;
            let shown: usize = answers.iter().map(|a| a.errors.len()).sum();
            if shown == 0 {
                self.mismatch(format!("{label}: the list is null without an error"));
            }
            for (a, id) in answers.iter().zip(parents) {
                for e in &a.errors {
                    if !alone(id).errors.contains(e) {
                        self.mismatch(format!(
                            "{label}: parent {id} has {e} under the list, alone {:?}",
                            alone(id).errors
                        ));
                    }
                }
            }
            return;
        }
        for (i, (a, id)) in answers.iter().zip(parents).enumerate() {
            let b = alone(id);
            self.compared += 1;
            if a != b {
                self.mismatch(format!(
                    "{label}: parent #{i} ({id}) under the list: {a:?}\n    alone: {b:?}"
                ));
            }
        }
    }

    fn count(&mut self, label: String, statements: [u64; 2]) {
        self.counts.push((label, statements));
    }

    /// Print everything; fail on any answer that differs, then on any
    /// count that depends on the list's size.
    fn finish(self, test: &str) {
        eprintln!(
            "{test}: {} parents compared with themselves asked alone; {} lists nulled by an error (compared by their errors)",
            self.compared, self.nulled
        );
        eprintln!("{test}: SQL statements with 10 and with 100 parents:");
        for (label, [a, b]) in &self.counts {
            let mark = if a == b { "" } else { "   <- grows" };
            eprintln!("  {a:>4} {b:>4}  {label}{mark}");
        }
        let shown: Vec<&String> = self.mismatches.iter().take(25).collect();
        assert!(
            self.mismatches.is_empty(),
            "{test}: {} answers differ from the same parents asked alone (first {}):\n{}",
            self.mismatches.len(),
            shown.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
        let grows: Vec<String> = self
            .counts
            .iter()
            .filter(|(_, [a, b])| a != b)
            .map(|(l, [a, b])| format!("  {a} vs {b}: {l}"))
            .collect();
        assert!(
            grows.is_empty(),
            "{test}: every answer is right, but the statements of {} of {} queries depend on the outer list's size (at 10 vs at 100 parents):\n{}",
            grows.len(),
            self.counts.len(),
            grows.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

fn personas(s: &Seed) -> [(&'static str, &str, bool); 2] {
    [("site admin", &s.root, true), ("member", &s.mia, false)]
}

#[tokio::test]
async fn introspection_finds_no_connection_or_count_without_a_path() {
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("root@example.com").await;
    let schema = Schema::load(&app, &root).await;
    let (found, unmapped) = nested_fields(&schema);
    assert!(
        unmapped.is_empty(),
        "fields under a list that no test here reaches (add a path to OWNERS/paths, or a case):\n{}",
        unmapped.join("\n")
    );
    let names: BTreeSet<String> = found.iter().map(Nested::label).collect();
    // What the schema has today: a sanity check of the walk itself.
    for f in [
        "Organization.members",
        "Organization.serviceAccounts",
        "Organization.signInTokens",
        "Organization.accessTokens",
        "Organization.invitations",
        "Organization.auditLog",
        "Organization.viewerRole",
        "Organization.usage",
        "SeatPool.limit",
        "SeatPool.used",
        "SeatPool.available",
        "SeatPool.assignments",
        "ResourceUsage.members",
        "ResourceUsage.activeAccessTokens",
        "Account.messages",
        "Account.memberships",
    ] {
        assert!(names.contains(f), "{f} not found by the walk: {names:?}");
    }
    eprintln!("connections and aggregates under lists: {names:?}");
}

/// Each selection (label, selection on the base) on each path: the
/// statements at 10 and at 100 parents, and every parent's answer against
/// the same parent asked alone.
async fn ask_under_lists(
    app: &TestApp,
    rep: &mut Report,
    who: &str,
    token: &str,
    paths: &[&ListPath],
    cases: &[(String, String)],
) {
    let base = paths[0].base;
    let mut parents = HashMap::new();
    for p in paths {
        parents.insert(p.name, parent_ids(app, token, p).await);
    }
    let all: BTreeSet<String> = parents.values().flatten().cloned().collect();
    let all: Vec<String> = all.into_iter().collect();
    let queries: Vec<String> = cases.iter().map(|c| alone_query(base, &c.1)).collect();
    let mut alone = Alone::default();
    alone.fetch(app, token, &queries, &all).await;
    for p in paths {
        for (name, sel) in cases {
            let label = format!("{who}, {}: {name}", p.name);
            let m = at_10_and_100(app, token, &p.query(sel), [p.vars(10), p.vars(100)]).await;
            rep.count(label.clone(), m.statements);
            let alone_q = alone_query(base, sel);
            for (k, n) in [10, 100].into_iter().enumerate() {
                rep.judge(
                    &format!("{label} ({n} parents)"),
                    &parents[p.name][..n],
                    per_parent(&m.bodies[k], &p.list, &p.item, n),
                    |id| alone.get(&alone_q, id),
                );
            }
        }
    }
}

/// Test 1: every field the walk finds, with the selection built from
/// introspection, on every path of both personas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_and_count_under_a_list_costs_the_same_for_10_and_100_parents() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    let schema = Schema::load(&app, &s.root).await;
    let (fields, unmapped) = nested_fields(&schema);
    assert!(unmapped.is_empty(), "{unmapped:?}");
    let mut rep = Report::default();
    for (who, token, as_root) in personas(&s) {
        let paths = paths(&s, as_root);
        for base in [Base::Organization, Base::Account] {
            let cases: Vec<(String, String)> = fields
                .iter()
                .filter(|f| f.base == base)
                .map(|f| (f.label(), f.selection.clone()))
                .collect();
            let paths: Vec<&ListPath> = paths.iter().filter(|p| p.base == base).collect();
            ask_under_lists(&app, &mut rep, who, token, &paths, &cases).await;
        }
    }
    rep.finish("nested connections and counts");
}

/// A connection field of `owner` with its arguments and the usual selection.
fn conn(s: &Schema, owner: &str, field: &str, args: &str) -> String {
    let f = s.ty(owner).fields.iter().find(|f| f.name == field);
    let f = f.unwrap_or_else(|| panic!("{owner}.{field} in the schema"));
    s.connection(&f.ty, field, args)
}

/// `endCursor` of a page as `token` reads it.
async fn end_cursor(app: &TestApp, token: &str, query: &str, page: &str) -> String {
    let d = app.expect_data(Some(token), query, json!({})).await;
    let c = d.pointer(&format!("{page}/pageInfo/endCursor"));
    c.and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{query}: {d}"))
        .to_string()
}

/// Test 2: first/after, last/before and the filters under a list. The
/// cursors come from one parent's page and apply to every parent (a
/// cursor names a row: the others' pages start or end at its place in
/// their own order). Parents have more rows than the page, fewer, none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_parents_page_cursors_and_filters_under_a_list_are_its_own() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    let schema = Schema::load(&app, &s.root).await;
    let root = s.root.as_str();
    let org_page = |h: &str, sel: &str| format!("{{ organization(handle: \"{h}\") {{ {sel} }} }}");
    let mia = gid(NodeKind::Account, s.mia_id);
    let cursors = [
        ("<m1>", end_cursor(&app, root, &org_page("n000", "members(first: 60) { pageInfo { endCursor } }"), "/organization/members").await),
        ("<m2>", end_cursor(&app, root, &org_page("n050", "members(first: 2) { pageInfo { endCursor } }"), "/organization/members").await),
        ("<t>", end_cursor(&app, root, &org_page("n000", "accessTokens(first: 2) { pageInfo { endCursor } }"), "/organization/accessTokens").await),
        ("<i>", end_cursor(&app, root, &org_page("n006", "invitations(first: 2) { pageInfo { endCursor } }"), "/organization/invitations").await),
        ("<a>", end_cursor(&app, root, &org_page("n004", "auditLog(first: 2) { pageInfo { endCursor } }"), "/organization/auditLog").await),
        ("<l>", end_cursor(&app, root, &org_page("n003", "signInTokens(first: 1) { pageInfo { endCursor } }"), "/organization/signInTokens").await),
        ("<s>", end_cursor(&app, root, &org_page("n001", "seats { assignments(first: 30) { pageInfo { endCursor } } }"), "/organization/seats/assignments").await),
        ("<mem>", end_cursor(&app, root, &format!("{{ node(id: \"{mia}\") {{ ... on Account {{ memberships(first: 50) {{ pageInfo {{ endCursor }} }} }} }} }}"), "/node/memberships").await),
        ("<msg>", end_cursor(&app, &s.mia, "{ viewer { messages(first: 3) { pageInfo { endCursor } } } }", "/viewer/messages").await),
        ("<mia>", mia.clone()),
    ];
    let case = |owner: &str, field: &str, args: &str| {
        let mut real = args.to_string();
        for (name, c) in &cursors {
            real = real.replace(name, &format!("\"{c}\""));
        }
        let sel = conn(&schema, owner, field, &real);
        let sel = if owner == "SeatPool" {
            format!("seats {{ {sel} }}")
        } else {
            sel
        };
        (format!("{owner}.{field}{args}"), sel)
    };
    let mut org_cases: Vec<(String, String)> = [
        ("Organization", "members", "(first: 2)"),
        ("Organization", "members", "(first: 0)"),
        ("Organization", "members", "(first: 2, after: <m1>)"),
        ("Organization", "members", "(last: 2)"),
        ("Organization", "members", "(last: 2, before: <m2>)"),
        ("Organization", "members", "(first: 3, role: ADMIN)"),
        (
            "Organization",
            "members",
            "(last: 3, role: BILLING_MANAGER)",
        ),
        ("Organization", "members", "(first: 3, role: MEMBER)"),
        ("Organization", "members", "(first: 3, hasSeat: true)"),
        ("Organization", "members", "(last: 3, hasSeat: false)"),
        ("Organization", "members", "(first: 3, search: \"m1\")"),
        (
            "Organization",
            "members",
            "(first: 3, search: \"EXAMPLE.COM\")",
        ),
        (
            "Organization",
            "members",
            "(first: 2, role: MEMBER, hasSeat: true, search: \"m\")",
        ),
        ("Organization", "accessTokens", "(first: 2)"),
        ("Organization", "accessTokens", "(first: 2, after: <t>)"),
        ("Organization", "accessTokens", "(last: 2, active: true)"),
        ("Organization", "accessTokens", "(first: 3, active: false)"),
        ("Organization", "accessTokens", "(first: 3, account: <mia>)"),
        ("Organization", "invitations", "(first: 2, status: PENDING)"),
        ("Organization", "invitations", "(first: 3, status: EXPIRED)"),
        ("Organization", "invitations", "(last: 2, status: ACCEPTED)"),
        ("Organization", "invitations", "(first: 2, after: <i>)"),
        (
            "Organization",
            "auditLog",
            "(first: 2, action: \"seat.assign\")",
        ),
        ("Organization", "auditLog", "(last: 1, before: <a>)"),
        (
            "Organization",
            "auditLog",
            "(first: 3, action: \"token.revoke\")",
        ),
        ("Organization", "serviceAccounts", "(last: 1)"),
        ("Organization", "signInTokens", "(first: 1, after: <l>)"),
        ("SeatPool", "assignments", "(first: 2, after: <s>)"),
    ]
    .into_iter()
    .map(|(o, f, a)| case(o, f, a))
    .collect();
    // The same field twice, with other arguments: one statement per
    // (field, arguments).
    let (a, b) = (
        case("Organization", "members", "(first: 1)").1,
        case("Organization", "members", "(last: 1, role: ADMIN)").1,
    );
    org_cases.push((
        "a: members(first: 1) b: members(last: 1, role: ADMIN)".into(),
        format!("a: {a} b: {b}"),
    ));
    let account_cases: Vec<(String, String)> = [
        ("Account", "memberships", "(first: 2)"),
        ("Account", "memberships", "(last: 1)"),
        ("Account", "memberships", "(first: 2, after: <mem>)"),
        ("Account", "messages", "(first: 1)"),
        ("Account", "messages", "(last: 1, before: <msg>)"),
    ]
    .into_iter()
    .map(|(o, f, a)| case(o, f, a))
    .collect();
    let mut rep = Report::default();
    for (who, token, as_root) in personas(&s) {
        let paths = paths(&s, as_root);
        let pick = |names: &[&str]| -> Vec<&ListPath> {
            paths.iter().filter(|p| names.contains(&p.name)).collect()
        };
        let orgs = if as_root {
            pick(&["organizations(all: true)"])
        } else {
            pick(&["organizations", "nodes(organization ids)"])
        };
        ask_under_lists(&app, &mut rep, who, token, &orgs, &org_cases).await;
        let accounts = pick(&["n000.members.account"]);
        ask_under_lists(&app, &mut rep, who, token, &accounts, &account_cases).await;
    }
    rep.finish("pages under a list");
}

/// Ids of every kind for `nodes(ids:)`: per node type a few rows spread
/// over the organizations, one of an organization the member is not in,
/// one that names no row; then malformed ids. Also the ids the member may
/// not see.
fn id_pools(s: &Seed) -> (Vec<Vec<String>>, HashSet<String>) {
    let mut hidden = HashSet::new();
    let mut spread = |kind: NodeKind, rows: &[(usize, Uuid)]| -> Vec<String> {
        let n = rows.len();
        let mut picked: Vec<(usize, Uuid)> = [0, n / 4, n / 2, 3 * n / 4].map(|k| rows[k]).to_vec();
        picked.extend(rows.iter().find(|r| r.0 >= MIA_ORGS));
        let mut out: Vec<String> = picked
            .into_iter()
            .map(|(i, id)| {
                let g = gid(kind, id);
                if i >= MIA_ORGS {
                    hidden.insert(g.clone());
                }
                g
            })
            .collect();
        out.push(gid(kind, Uuid::now_v7()));
        out
    };
    let accounts: Vec<(usize, Uuid)> = s
        .accounts
        .iter()
        .enumerate()
        .flat_map(|(i, a)| a.iter().map(move |id| (i, *id)))
        .collect();
    let orgs: Vec<(usize, Uuid)> = s.orgs.iter().copied().enumerate().collect();
    let mut people = spread(NodeKind::Account, &accounts);
    people.insert(1, gid(NodeKind::Account, s.mia_id));
    people.insert(2, gid(NodeKind::Account, s.root_id));
    let pools = vec![
        people,
        spread(NodeKind::Organization, &orgs),
        spread(NodeKind::Membership, &s.memberships),
        spread(NodeKind::AccessToken, &s.tokens),
        spread(NodeKind::ServiceAccount, &s.service_accounts),
        spread(NodeKind::Invitation, &s.invitations),
        spread(NodeKind::Message, &s.messages),
        spread(NodeKind::AuditEvent, &s.audit),
        spread(NodeKind::SignInToken, &s.sign_ins),
        vec![
            "nope".into(),
            String::new(),
            // "Account:x", "Organization:not-a-uuid", "foo:bar"
            "QWNjb3VudDp4".into(),
            "T3JnYW5pemF0aW9uOm5vdC1hLXV1aWQ".into(),
            "Zm9vOmJhcg".into(),
            // An organization's uuid as an Account's id.
            gid(NodeKind::Account, s.orgs[0]),
            "A".repeat(200),
        ],
    ];
    (pools, hidden)
}

/// Test 3: `nodes(ids:)` with 10 ids (one of each node type and a
/// malformed one) and with 100 of the same kinds, mixed: visible,
/// invisible to the member, unknown, malformed, repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_answers_100_mixed_ids_in_order_for_the_statements_of_10() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    let schema = Schema::load(&app, &s.root).await;
    let kinds = &schema.ty("Node").possible;
    assert_eq!(kinds.len(), NodeKind::ALL.len(), "{kinds:?}");
    let sel = kinds
        .iter()
        .map(|t| format!("... on {t} {{ {} }}", schema.scalars(t)))
        .collect::<Vec<_>>()
        .join(" ");
    let sel = format!("__typename id {sel}");
    let list = format!("query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {sel} }} }}");
    let alone_q = format!("query($id: ID!) {{ node(id: $id) {{ {sel} }} }}");
    let (pools, hidden) = id_pools(&s);
    let ten: Vec<String> = pools.iter().map(|p| p[0].clone()).collect();
    let hundred: Vec<String> = (0..10)
        .flat_map(|r| pools.iter().map(move |p| p[r % p.len()].clone()))
        .collect();
    assert_eq!((ten.len(), hundred.len()), (10, 100));
    let mut rep = Report::default();
    for (who, token, as_root) in personas(&s) {
        let all: BTreeSet<String> = hundred.iter().chain(&ten).cloned().collect();
        let all: Vec<String> = all.into_iter().collect();
        let mut alone = Alone::default();
        alone
            .fetch(&app, token, std::slice::from_ref(&alone_q), &all)
            .await;
        let m = at_10_and_100(
            &app,
            token,
            &list,
            [json!({ "ids": ten }), json!({ "ids": hundred })],
        )
        .await;
        rep.count(
            format!("{who}: nodes(ids:) of every node type"),
            m.statements,
        );
        for (k, ids) in [&ten, &hundred].into_iter().enumerate() {
            let label = format!("{who}: nodes({} ids)", ids.len());
            let (answers, stray) = per_parent(&m.bodies[k], &["nodes"], &[], ids.len());
            let mut shown = 0;
            for (i, (a, id)) in answers.iter().zip(ids.iter()).enumerate() {
                let d = a.data.clone().unwrap_or(Value::Null);
                if !d.is_null() {
                    shown += 1;
                    if d["id"] != json!(id) {
                        rep.mismatch(format!("{label}: entry #{i} is {} for id {id}", d["id"]));
                    }
                }
                if !as_root && hidden.contains(id) && !d.is_null() {
                    rep.mismatch(format!("{label}: the member sees {id}: {d}"));
                }
            }
            eprintln!("{label}: {shown} objects, {} nulls", ids.len() - shown);
            rep.judge(&label, ids, (answers, stray), |id| alone.get(&alone_q, id));
        }
    }
    rep.finish("nodes(ids:)");
}
