//! The CSV of `inviteMembers`: one email per line, an optional second
//! column with the role, an optional header row (first cell `email`).
//! Blank lines are skipped. Limits (1 MiB, 1,000 rows) are checked before
//! any row is looked at; a bad row is reported per item, never the file.

use super::invitations::Invitee;
use super::Role;
use crate::error::{AppError, AppResult};

pub const MAX_BYTES: usize = 1024 * 1024;
pub const MAX_ROWS: usize = 1_000;

fn cell(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(t)
        .trim()
}

fn role(s: &str) -> Option<Role> {
    match s
        .trim()
        .to_ascii_uppercase()
        .replace([' ', '-'], "_")
        .as_str()
    {
        "" | "MEMBER" => Some(Role::Member),
        "ADMIN" => Some(Role::Admin),
        "BILLING_MANAGER" | "BILLING" => Some(Role::BillingManager),
        _ => None,
    }
}

/// Rows of the file as invitees whose `field` is `["csv", "<line number>"]`
/// (1-based, as a spreadsheet shows it). A row whose role is unknown comes
/// back as an error item.
pub fn parse(bytes: &[u8]) -> AppResult<Vec<Result<Invitee, (String, AppError)>>> {
    if bytes.len() > MAX_BYTES {
        return Err(AppError::bad_input(&["csv"], "the CSV file is over 1 MiB"));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| AppError::bad_input(&["csv"], "the CSV file is not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows: Vec<(usize, &str)> = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.split(',').all(|c| cell(c).is_empty()))
        .collect();
    if let Some((_, first)) = rows.first() {
        if cell(first.split(',').next().unwrap_or("")).eq_ignore_ascii_case("email") {
            rows.remove(0);
        }
    }
    if rows.len() > MAX_ROWS {
        return Err(AppError::bad_input(
            &["csv"],
            format!("the CSV file has {} rows; at most {MAX_ROWS}", rows.len()),
        ));
    }
    Ok(rows
        .into_iter()
        .map(|(line, l)| {
            let mut cells = l.split(',');
            let email = cell(cells.next().unwrap_or("")).to_string();
            let field = vec!["csv".to_string(), line.to_string()];
            let role_cell = cells.next().map(cell).unwrap_or("");
            match role(role_cell) {
                Some(role) => Ok(Invitee { email, role, field }),
                None => {
                    let mut f = field;
                    f.push("role".into());
                    Err((
                        email,
                        AppError::BadInput {
                            message: format!("unknown role {role_cell:?}"),
                            field: f,
                        },
                    ))
                }
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_blank_lines_and_roles() {
        let rows = parse(b"Email,Role\r\na@x.io\r\n\r\nb@x.io, admin\nc@x.io,boss\n").unwrap();
        assert_eq!(rows.len(), 3);
        let a = rows[0].as_ref().ok().unwrap();
        assert_eq!((a.email.as_str(), a.role), ("a@x.io", Role::Member));
        assert_eq!(a.field, ["csv", "2"]);
        let b = rows[1].as_ref().ok().unwrap();
        assert_eq!((b.role, b.field[1].as_str()), (Role::Admin, "4"));
        assert!(rows[2].is_err());
    }

    #[test]
    fn limits_refuse_the_file() {
        let many: String = (0..1001).map(|i| format!("u{i}@x.io\n")).collect();
        assert!(parse(many.as_bytes()).is_err());
        assert!(parse(&vec![b'a'; MAX_BYTES + 1]).is_err());
    }
}
