//! Hostile input for the four parsers that read client text before anything
//! else does: the CSV importer, the access-token checksum, the cursor decoder
//! and the global-ID decoder. Two halves:
//!
//! * the corpus in `tests/corpus/<parser>/` (hand-made nasty cases: invalid
//!   UTF-8, NUL, BOM + CRLF, unterminated quotes, oversized and multibyte
//!   input) is replayed on every run, with what each must answer;
//! * proptest generates arbitrary input for each parser (no panic, bounded
//!   output, errors are the contract's `BAD_USER_INPUT`/`NOT_FOUND`).
//!
//! cargo-fuzz needs a nightly toolchain, which these machines cannot fetch;
//! proptest on stable covers the same "never panic, never allocate without
//! bound" property, and a failing case is kept in `proptest-regressions/`.

use std::path::PathBuf;

use orgraph::auth::tokens::{access_token_well_formed, new_access_token};
use orgraph::domain::invite_csv::{self, MAX_ROWS};
use orgraph::domain::Role;
use orgraph::error::AppError;
use orgraph::graphql::ids::{self, NodeKind};
use orgraph::graphql::pagination::{decode_cursor, encode_cursor};
use proptest::prelude::*;
use uuid::Uuid;

fn corpus(parser: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(parser);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "corpus {parser} is too small");
    files
}

fn is_bad_input(e: &AppError) -> bool {
    matches!(e, AppError::BadInput { .. })
}

/// What every CSV answer must satisfy, whatever the input.
fn check_csv(bytes: &[u8]) -> Option<Vec<(String, Result<Role, String>)>> {
    match invite_csv::parse(bytes) {
        Err(e) => {
            assert!(is_bad_input(&e), "CSV refused with {e:?}");
            None
        }
        Ok(rows) => {
            assert!(rows.len() <= MAX_ROWS);
            assert!(rows.len() <= bytes.iter().filter(|b| **b == b'\n').count() + 1);
            Some(
                rows.into_iter()
                    .map(|r| match r {
                        Ok(i) => {
                            assert_eq!(i.field[0], "csv");
                            let line: usize = i.field[1].parse().unwrap();
                            assert!(line >= 1);
                            (i.email, Ok(i.role))
                        }
                        Err((email, e)) => {
                            assert!(is_bad_input(&e));
                            (email, Err(format!("{e:?}")))
                        }
                    })
                    .collect(),
            )
        }
    }
}

#[test]
fn csv_corpus() {
    for (name, bytes) in corpus("csv") {
        let rows = check_csv(&bytes);
        match name.as_str() {
            "header-and-roles.csv" => {
                let rows = rows.unwrap();
                assert_eq!(rows.len(), 2);
                assert_eq!(rows[0], ("ana@example.com".into(), Ok(Role::Admin)));
                assert_eq!(rows[1], ("bob@example.com".into(), Ok(Role::Member)));
            }
            "bom-crlf-quotes.csv" => {
                let rows = rows.unwrap();
                assert_eq!(
                    rows,
                    vec![("ana@example.com".into(), Ok(Role::BillingManager))]
                );
            }
            "bad-rows.csv" => {
                let rows = rows.unwrap();
                assert_eq!(rows.len(), 3);
                assert!(
                    rows[0].1.is_err(),
                    "unknown role 'owner' is a per-row error"
                );
                assert_eq!(rows[1], ("ana@example.com".into(), Ok(Role::Member)));
            }
            "invalid-utf8.csv" => assert!(rows.is_none(), "invalid UTF-8 is refused whole"),
            "blank-lines.csv" | "header-only.csv" => assert_eq!(rows.unwrap().len(), 0),
            _ => {}
        }
    }
}

#[test]
fn token_corpus() {
    for (name, bytes) in corpus("token") {
        let s = String::from_utf8_lossy(&bytes);
        assert!(!access_token_well_formed(&s), "{name} passed the checksum");
    }
    assert!(access_token_well_formed(&new_access_token()));
}

#[test]
fn cursor_corpus() {
    let key = [7u8; 32];
    for (name, bytes) in corpus("cursor") {
        let s = String::from_utf8_lossy(&bytes);
        let e = decode_cursor(&key, "Membership", &s, "after").unwrap_err();
        assert!(is_bad_input(&e), "{name}: {e:?}");
    }
}

#[test]
fn id_corpus() {
    for (name, bytes) in corpus("id") {
        let s = String::from_utf8_lossy(&bytes).into_owned();
        let r = ids::decode(&async_graphql::ID(s), NodeKind::Account, &["id"]);
        match name.as_str() {
            // Well-formed, but of another type: NOT_FOUND, as for any id the caller cannot see.
            "org-nil-uuid.txt" => assert!(matches!(r, Err(AppError::NotFound))),
            _ => assert!(matches!(r, Err(ref e) if is_bad_input(e)), "{name}: {r:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn csv_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check_csv(&bytes);
    }

    #[test]
    fn csv_keeps_every_nonblank_line(
        lines in proptest::collection::vec(("[a-z0-9.@ \"]{0,30}", prop::option::of("(admin|member|billing|Billing Manager|owner)")), 0..50)
    ) {
        let text: String = lines
            .iter()
            .map(|(e, r)| match r { Some(r) => format!("{e},{r}\n"), None => format!("{e}\n") })
            .collect();
        let rows = check_csv(text.as_bytes()).unwrap();
        // The importer's rules, restated: a row is a line with a non-blank
        // cell; a first row whose first cell is `email` is a header.
        fn cell(s: &str) -> &str {
            let t = s.trim();
            t.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(t).trim()
        }
        let kept: Vec<&str> = text
            .split('\n')
            .filter(|l| !l.trim().is_empty() && !l.split(',').all(|c| cell(c).is_empty()))
            .collect();
        let header = kept
            .first()
            .map(|l| cell(l.split(',').next().unwrap()).eq_ignore_ascii_case("email"))
            .unwrap_or(false);
        prop_assert_eq!(rows.len(), kept.len() - usize::from(header));
        for ((email, role), (e, r)) in rows.iter().zip(lines.iter().filter(|(e, r)| {
            let l = match r { Some(r) => format!("{e},{r}"), None => e.to_string() };
            kept.contains(&l.as_str())
        }).skip(usize::from(header))) {
            prop_assert_eq!(email, cell(e));
            prop_assert_eq!(role.is_ok(), r.as_deref() != Some("owner"));
        }
    }

    #[test]
    fn token_checksum_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = access_token_well_formed(&s);
        let with_prefix = format!("orgt_{s}");
        let _ = access_token_well_formed(&with_prefix);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_bad_input(id in any::<u128>(), junk in "\\PC{0,120}") {
        let key = [3u8; 32];
        let id = Uuid::from_u128(id);
        let c = encode_cursor(&key, "Account", id);
        prop_assert_eq!(decode_cursor(&key, "Account", &c, "after").unwrap(), id);
        // The same cursor for another connection, or under another key, is forged.
        prop_assert!(decode_cursor(&key, "Membership", &c, "after").is_err());
        prop_assert!(decode_cursor(&[4u8; 32], "Account", &c, "after").is_err());
        if let Err(e) = decode_cursor(&key, "Account", &junk, "after") {
            prop_assert!(is_bad_input(&e));
        }
    }

    #[test]
    fn ids_of_any_text_decode_or_are_refused(junk in "\\PC{0,300}", id in any::<u128>()) {
        let r = ids::decode(&async_graphql::ID(junk), NodeKind::Account, &["id"]);
        prop_assert!(matches!(r, Ok(_) | Err(AppError::NotFound)) || matches!(r, Err(ref e) if is_bad_input(e)));
        let u = Uuid::from_u128(id);
        prop_assert_eq!(ids::decode(&ids::encode(NodeKind::Account, u), NodeKind::Account, &["id"]).unwrap(), u);
    }
}
