//! `docs/DOMAIN.md` describes what the code does and must be kept true by
//! every change. These tests hold it to the two lists that are easiest to let
//! drift: every route the gateway registers has a row in its route table
//! (method and path), and every error code the code can answer (the
//! gateway's own, the refusals', the conflict codes, the store's) has a row
//! in its error tables. A route or code added without its documentation
//! fails `cargo test`.
//!
//! Read with plain text scanning (xtask is std-only): a route is a
//! `.route("<path>", web::<method>()...)` call in `src/gateway/`; an error
//! code is a snake_case string literal that is returned by a `fn code` body,
//! listed in `conflict_codes!`, or passed as the code to `ApiError::new` /
//! `ApiError::bad_request`.

use std::collections::BTreeSet;

/// `(METHOD, path)` of every `.route(...)` call in `text`, the path as
/// registered (without the `/v1` scope).
pub fn routes(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let call = &rest[..closing(rest, '(', ')')];
        let Some(path) = first_string_literal(call) else { continue };
        let method = ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .find(|m| call.contains(&format!("web::{m}()")))
            .map(str::to_uppercase);
        if let Some(method) = method {
            found.push((method, path));
        }
    }
    found
}

/// The byte offset of the `close` that balances an `open` already passed
/// just before `text` starts (the end of `text` when none does).
fn closing(text: &str, open: char, close: char) -> usize {
    let mut depth = 1usize;
    for (i, c) in text.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    text.len()
}

fn first_string_literal(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let len = text[start..].find('"')?;
    Some(text[start..start + len].to_string())
}

/// Whether `s` is a snake_case code: lowercase words joined by `_`.
fn is_code(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') && !s.starts_with('_') && !s.ends_with('_')
}

/// Every string literal in `text` that is a snake_case code.
fn code_literals(text: &str) -> Vec<String> {
    text.split('"').skip(1).step_by(2).filter(|s| is_code(s)).map(str::to_string).collect()
}

/// The error codes in one Rust file: literals inside `fn code` bodies and
/// `conflict_codes!` invocations, and the code argument of
/// `ApiError::new(status, "code", ..)` / `ApiError::bad_request("code", ..)`.
pub fn error_codes(text: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    // The bodies of `fn code(..) .. { .. }` and `conflict_codes! { .. }`.
    for marker in ["fn code(", "conflict_codes! {"] {
        for (at, _) in text.match_indices(marker) {
            let Some(open) = text[at..].find('{') else { continue };
            let body = &text[at + open + 1..];
            codes.extend(code_literals(&body[..closing(body, '{', '}')]));
        }
    }
    // The code argument of the error constructors.
    for marker in ["ApiError::new(", "ApiError::bad_request(", "Self::new(", "Self::bad_request("] {
        for (at, _) in text.match_indices(marker) {
            let args = &text[at + marker.len()..];
            if let Some(code) = first_string_literal(&args[..closing(args, '(', ')')]).filter(|c| is_code(c)) {
                codes.insert(code);
            }
        }
    }
    codes
}

/// The `(METHOD, path)` rows of the route table in `doc` (`| n | METHOD |
/// `path` | ...`).
pub fn documented_routes(doc: &str) -> BTreeSet<(String, String)> {
    doc.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let method = *cells.get(2)?;
            let path = cells.get(3)?.trim_matches('`');
            (["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method) && path.starts_with('/'))
                .then(|| (method.to_string(), path.to_string()))
        })
        .collect()
}

/// The codes in the first two cells of the table rows of `doc` (`| status |
/// `code` |` and `| `code` | status |`).
pub fn documented_codes(doc: &str) -> BTreeSet<String> {
    doc.lines()
        .filter(|line| line.starts_with('|'))
        .flat_map(|line| line.split('|').skip(1).take(2).map(str::trim).collect::<Vec<_>>())
        .filter_map(|cell| cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')))
        .filter(|c| is_code(c))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{read, rust_files};
    use super::*;
    use crate::cmd::project_root;

    /// The `.rs` files directly under `dir` of the repository.
    fn src_files(dir: &str) -> Vec<(String, String)> {
        let prefix = format!("{dir}/");
        rust_files(&project_root(), dir).into_iter().filter(|(path, _)| !path[prefix.len()..].contains('/')).collect()
    }

    #[test]
    fn routes_and_codes_are_read_from_code() {
        let code = r#"cfg.route("/anchors/{id}", web::get().to(read(x)))
            .route(
                "/stewards/{id}/extend-term",
                web::post().to(operator_on(StatusCode::OK, extend)),
            );
            fn code(&self) -> &'static str { match self { A => "invalid_input", B => "not_found" } }
            ApiError::new(StatusCode::FORBIDDEN, "admin_disabled", "operator routes are disabled")
            ApiError::bad_request("invalid_json", format!("x: {e}"))"#;
        assert_eq!(
            routes(code),
            vec![("GET".into(), "/anchors/{id}".into()), ("POST".into(), "/stewards/{id}/extend-term".into())]
        );
        let codes: Vec<String> = error_codes(code).into_iter().collect();
        assert_eq!(codes, ["admin_disabled", "invalid_input", "invalid_json", "not_found"]);
        let doc =
            "| 3 | GET | `/v1/anchors/{id}` | public |\n| 400 | `invalid_input` | x |\n| `revocation_open` | 409 | y |";
        assert!(documented_routes(doc).contains(&("GET".into(), "/v1/anchors/{id}".into())));
        assert_eq!(documented_codes(doc).into_iter().collect::<Vec<_>>(), ["invalid_input", "revocation_open"]);
    }

    #[test]
    fn domain_doc_lists_every_route_and_error_code() {
        let doc = read(&project_root().join("docs/DOMAIN.md"));
        let (doc_routes, doc_codes) = (documented_routes(&doc), documented_codes(&doc));
        let mut missing = Vec::new();
        let mut served = 0;
        for (file, text) in src_files("src/gateway") {
            for (method, path) in routes(&text) {
                served += 1;
                let full = if path.starts_with("/v1") { path.clone() } else { format!("/v1{path}") };
                if !doc_routes.contains(&(method.clone(), full.clone())) {
                    missing.push(format!("route {method} {full} ({file}) has no row in the route table"));
                }
            }
        }
        let mut codes = BTreeSet::new();
        for dir in ["src/gateway", "src/manager", "src/model", "src/store"] {
            for (_, text) in src_files(dir) {
                codes.extend(error_codes(&text));
            }
        }
        for code in &codes {
            if !doc_codes.contains(code) {
                missing.push(format!("error code `{code}` has no row in the error tables"));
            }
        }
        assert!(served > 60, "only {served} routes read from src/gateway: the scanner lost them");
        assert!(codes.len() > 30, "only {} error codes read from src/: the scanner lost them", codes.len());
        assert!(
            missing.is_empty(),
            "docs/DOMAIN.md must describe what the code does; add these rows to it:\n  {}",
            missing.join("\n  ")
        );
    }
}
