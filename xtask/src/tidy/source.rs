//! Rust source read just well enough for the architecture rules in
//! [`super`]: tokens with their line numbers, comments (doc comments
//! included) dropped and string literals kept apart from code, and the paths
//! the code names (`a::b::c`, with `use` trees expanded), each resolvable
//! against the module it is written in.
//!
//! This is a lexer, not a parser: it knows comments, (raw, byte, C) strings,
//! char literals and lifetimes, identifiers (raw ones too), `::` and single
//! punctuation, and it follows inline `mod name { .. }` blocks so `super`
//! resolves correctly inside `mod tests`. Macros' token trees are read like
//! any other code.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An identifier or keyword (`r#type` is `type`).
    Ident(String),
    /// A string literal's contents, escapes as written.
    Str(String),
    /// `::`.
    PathSep,
    /// Any other single punctuation character.
    Punct(char),
    /// A number, char literal or lifetime.
    Other,
}

/// A token and the (1-based) line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub line: usize,
    pub kind: Kind,
}

/// The tokens of `text`, without comments.
pub fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start_line = line;
        let mut push = |kind: Kind| out.push(Token { line: start_line, kind });
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if c == '"' {
            let (end, value) = quoted(&chars, i);
            line += value.matches('\n').count();
            push(Kind::Str(value));
            i = end;
        } else if c == '\'' {
            i = char_or_lifetime_end(&chars, i);
            push(Kind::Other);
        } else if c.is_alphabetic() || c == '_' {
            let end = ident_end(&chars, i);
            let word: String = chars[i..end].iter().collect();
            let hashes = chars[end..].iter().take_while(|&&h| h == '#').count();
            if matches!(word.as_str(), "r" | "br" | "cr") && at(end + hashes) == '"' {
                let (end, value) = raw_quoted(&chars, end + hashes, hashes);
                line += value.matches('\n').count();
                push(Kind::Str(value));
                i = end;
            } else if matches!(word.as_str(), "b" | "c") && at(end) == '"' {
                let (end, value) = quoted(&chars, end);
                line += value.matches('\n').count();
                push(Kind::Str(value));
                i = end;
            } else if word == "b" && at(end) == '\'' {
                i = char_or_lifetime_end(&chars, end);
                push(Kind::Other);
            } else if word == "r" && hashes == 1 && (at(end + 1).is_alphabetic() || at(end + 1) == '_') {
                let raw_end = ident_end(&chars, end + 1);
                push(Kind::Ident(chars[end + 1..raw_end].iter().collect()));
                i = raw_end;
            } else {
                push(Kind::Ident(word));
                i = end;
            }
        } else if c.is_ascii_digit() {
            i = ident_end(&chars, i);
            push(Kind::Other);
        } else if c == ':' && at(i + 1) == ':' {
            push(Kind::PathSep);
            i += 2;
        } else {
            push(Kind::Punct(c));
            i += 1;
        }
    }
    out
}

fn ident_end(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    i
}

/// `"..."` starting at `open`: the index after the closing quote and the
/// contents.
fn quoted(chars: &[char], open: usize) -> (usize, String) {
    let mut i = open + 1;
    while i < chars.len() && chars[i] != '"' {
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    let end = i.min(chars.len());
    (end + 1, chars[open + 1..end].iter().collect())
}

/// `"..."#` (with `hashes` hashes) starting at `open`.
fn raw_quoted(chars: &[char], open: usize, hashes: usize) -> (usize, String) {
    let mut i = open + 1;
    while i < chars.len() {
        if chars[i] == '"' && chars[i + 1..].iter().take(hashes).filter(|&&h| h == '#').count() == hashes {
            return (i + 1 + hashes, chars[open + 1..i].iter().collect());
        }
        i += 1;
    }
    (chars.len(), chars[open + 1..].iter().collect())
}

/// The end of a char literal (`'a'`, `'\n'`, `'\u{1F600}'`) or lifetime
/// (`'a`, `'static`) starting at `quote`.
fn char_or_lifetime_end(chars: &[char], quote: usize) -> usize {
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    if at(quote + 1) == '\\' {
        let mut i = quote + 3;
        while i < chars.len() && chars[i] != '\'' {
            i += 1;
        }
        i + 1
    } else if at(quote + 2) == '\'' {
        quote + 3
    } else {
        ident_end(chars, quote + 1)
    }
}

/// A path the code names, with the line of each segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPath {
    /// The module the path is written in, from the crate root: the file's
    /// module and any inline `mod name { .. }` around the path.
    pub module: Vec<String>,
    /// Written with a leading `::` (an extern crate).
    pub global: bool,
    /// The segments as written (`super`, `self`, `crate` included).
    pub segments: Vec<(String, usize)>,
    /// For a `use` leaf: the name it brings into scope (its last segment or
    /// its `as` alias). `None` for globs, `as _` and paths outside `use`.
    pub binds: Option<String>,
}

impl NamedPath {
    /// The path from the crate root, each segment with a line (segments
    /// implied by `self`/`super`/a relative path get the first segment's
    /// line), or `None` for a path written with a leading `::`. A path that
    /// starts with `crate`, `$crate` or one of `crate_names` is absolute;
    /// `self` and `super` are relative to [`NamedPath::module`]; any other
    /// path is taken as relative to the module too (a child item, or an
    /// extern crate, which then resolves to nothing of this crate).
    pub fn resolve(&self, crate_names: &[&str]) -> Option<Vec<(String, usize)>> {
        let first = self.segments.first()?;
        if self.global {
            return None;
        }
        let implied = |module: &[String]| module.iter().map(|m| (m.clone(), first.1)).collect::<Vec<_>>();
        if first.0 == "crate" || crate_names.contains(&first.0.as_str()) {
            return Some(self.segments[1..].to_vec());
        }
        if first.0 == "self" {
            let mut path = implied(&self.module);
            path.extend_from_slice(&self.segments[1..]);
            return Some(path);
        }
        let supers = self.segments.iter().take_while(|(s, _)| s == "super").count();
        let mut module = self.module.clone();
        module.truncate(module.len().saturating_sub(supers));
        let mut path = implied(&module);
        path.extend_from_slice(&self.segments[supers..]);
        Some(path)
    }
}

/// Every path in `tokens`, written in a file whose module is `file_module`:
/// each leaf of each `use` tree, and each `a::b::c` (or single identifier)
/// elsewhere.
pub fn paths(tokens: &[Token], file_module: &[String]) -> Vec<NamedPath> {
    let mut out = Vec::new();
    let mut module = file_module.to_vec();
    let mut open_mods: Vec<usize> = Vec::new();
    let mut depth = 0;
    let ident = |i: usize| match tokens.get(i).map(|t| &t.kind) {
        Some(Kind::Ident(name)) => Some(name.as_str()),
        _ => None,
    };
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].kind {
            Kind::Ident(word) if word == "use" => {
                i += 1;
                use_tree(tokens, &mut i, (&[], false), &module, &mut out);
                while i < tokens.len() && tokens[i].kind != Kind::Punct(';') {
                    i += 1;
                }
                continue;
            }
            Kind::Ident(word) if word == "mod" && tokens.get(i + 2).map(|t| &t.kind) == Some(&Kind::Punct('{')) => {
                if let Some(name) = ident(i + 1) {
                    module.push(name.to_string());
                    open_mods.push(depth + 1);
                }
                i += 2;
                continue;
            }
            Kind::Punct('{') => depth += 1,
            Kind::Punct('}') => {
                if open_mods.last() == Some(&depth) {
                    open_mods.pop();
                    module.pop();
                }
                depth -= usize::from(depth > 0);
            }
            Kind::Ident(_) | Kind::PathSep => {
                let prev = i.checked_sub(1).map(|p| &tokens[p].kind);
                let global = tokens[i].kind == Kind::PathSep;
                let starts = if global {
                    !matches!(prev, Some(Kind::Ident(_) | Kind::Punct('>'))) && ident(i + 1).is_some()
                } else {
                    prev != Some(&Kind::PathSep)
                };
                if starts {
                    let mut j = i + usize::from(global);
                    let mut segments = Vec::new();
                    while let Some(name) = ident(j) {
                        segments.push((name.to_string(), tokens[j].line));
                        if tokens[j + 1..].first().map(|t| &t.kind) != Some(&Kind::PathSep) || ident(j + 2).is_none() {
                            break;
                        }
                        j += 2;
                    }
                    out.push(NamedPath { module: module.clone(), global, segments, binds: None });
                    i = j + 1;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// One `use` tree at `*i` (after `use`, or inside a `{ .. }` group), under
/// `prefix` (its segments, and whether it was written with a leading `::`):
/// pushes a [`NamedPath`] per leaf and leaves `*i` after the tree.
fn use_tree(
    tokens: &[Token],
    i: &mut usize,
    (prefix, prefix_global): (&[(String, usize)], bool),
    module: &[String],
    out: &mut Vec<NamedPath>,
) {
    let kind = |i: usize| tokens.get(i).map(|t| &t.kind);
    let mut segments = prefix.to_vec();
    let mut global = prefix_global;
    let mut named = false;
    loop {
        match kind(*i) {
            Some(Kind::PathSep) => {
                global |= segments.is_empty();
                *i += 1;
            }
            Some(Kind::Ident(name)) => {
                // `self` in a group names the group's prefix itself.
                if !(name == "self" && segments.len() == prefix.len() && !prefix.is_empty()) {
                    segments.push((name.clone(), tokens[*i].line));
                }
                named = true;
                *i += 1;
                if kind(*i) != Some(&Kind::PathSep) {
                    break;
                }
            }
            Some(Kind::Punct('*')) => {
                *i += 1;
                out.push(NamedPath { module: module.to_vec(), global, segments, binds: None });
                return;
            }
            Some(Kind::Punct('{')) => {
                *i += 1;
                loop {
                    match kind(*i) {
                        None => return,
                        Some(Kind::Punct('}')) => {
                            *i += 1;
                            return;
                        }
                        Some(Kind::Punct(',')) => *i += 1,
                        _ => {
                            let before = *i;
                            use_tree(tokens, i, (&segments, global), module, out);
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
            }
            _ => break,
        }
    }
    if !named {
        return;
    }
    let mut binds = segments.last().map(|(name, _)| name.clone());
    if matches!(kind(*i), Some(Kind::Ident(word)) if word == "as") {
        binds = match kind(*i + 1) {
            Some(Kind::Ident(alias)) if alias != "_" => Some(alias.clone()),
            _ => None,
        };
        *i += 2;
    }
    out.push(NamedPath { module: module.to_vec(), global, segments, binds });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        tokens(text).into_iter().map(|t| t.kind).collect()
    }

    fn ident(name: &str) -> Kind {
        Kind::Ident(name.to_string())
    }

    /// `a::b::c` for each path, and what a `use` leaf binds.
    fn written(text: &str, module: &[&str]) -> Vec<(String, Option<String>)> {
        let module: Vec<String> = module.iter().map(|m| m.to_string()).collect();
        paths(&tokens(text), &module)
            .into_iter()
            .map(|p| {
                let names: Vec<&str> = p.segments.iter().map(|(s, _)| s.as_str()).collect();
                (format!("{}{}", if p.global { "::" } else { "" }, names.join("::")), p.binds)
            })
            .collect()
    }

    fn resolved(text: &str, module: &[&str]) -> Vec<String> {
        let module: Vec<String> = module.iter().map(|m| m.to_string()).collect();
        paths(&tokens(text), &module)
            .into_iter()
            .filter(|p| p.segments.len() > 1)
            .filter_map(|p| p.resolve(&["my_crate"]))
            .map(|r| r.iter().map(|(s, line)| format!("{s}@{line}")).collect::<Vec<_>>().join("::"))
            .collect()
    }

    #[test]
    fn comments_are_dropped_and_strings_kept_apart() {
        let text = "//! crate::store\n/// sled::Db\nfn f() { /* a /* nested */ b */ g(\"crate::store\", r#\"x\"y\"#, b\"z\", 'q', '\\'', 'a) }\n";
        assert_eq!(
            kinds(text),
            [
                ident("fn"),
                ident("f"),
                Kind::Punct('('),
                Kind::Punct(')'),
                Kind::Punct('{'),
                ident("g"),
                Kind::Punct('('),
                Kind::Str("crate::store".to_string()),
                Kind::Punct(','),
                Kind::Str("x\"y".to_string()),
                Kind::Punct(','),
                Kind::Str("z".to_string()),
                Kind::Punct(','),
                Kind::Other,
                Kind::Punct(','),
                Kind::Other,
                Kind::Punct(','),
                Kind::Other,
                Kind::Punct(')'),
                Kind::Punct('}'),
            ]
        );
    }

    #[test]
    fn lines_count_through_comments_and_strings() {
        let text = "/* one\ntwo */ a\n\"three\nfour\" b\n// five\nr#type";
        let lines: Vec<(usize, Kind)> = tokens(text).into_iter().map(|t| (t.line, t.kind)).collect();
        assert_eq!(
            lines,
            [(2, ident("a")), (3, Kind::Str("three\nfour".to_string())), (4, ident("b")), (6, ident("type"))]
        );
    }

    #[test]
    fn use_trees_expand_to_one_path_per_leaf() {
        let text = "use crate::store::{self, keys::{A, B as C}, *};\npub(crate) use ::sled as _;\nuse a::b;\nuse ::{fjall::Db};";
        let got = written(text, &[]);
        let want = [
            ("crate::store", Some("store")),
            ("crate::store::keys::A", Some("A")),
            ("crate::store::keys::B", Some("C")),
            ("crate::store", None),
            ("::sled", None),
            ("a::b", Some("b")),
            ("::fjall::Db", Some("Db")),
        ];
        let want: Vec<(String, Option<String>)> =
            want.iter().map(|(p, b)| (p.to_string(), b.map(str::to_string))).collect();
        let uses: Vec<_> = got.into_iter().filter(|(p, _)| p != "pub" && p != "crate").collect();
        assert_eq!(uses, want);
    }

    #[test]
    fn code_paths_stop_at_generics_and_method_calls() {
        let got: Vec<String> = written("let x = keys::ANCHOR.len() + Vec::<u8>::new(); ::fjall::Db", &[])
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(got, ["let", "x", "keys::ANCHOR", "len", "Vec", "u8", "::fjall::Db"]);
    }

    #[test]
    fn paths_resolve_from_the_module_they_are_written_in() {
        let text = "use super::super::store::X;\nmod tests {\n  use super::super::y;\n  fn f() { self::z(); }\n}\nmy_crate::w::V; sub::u; ::ext::t; $crate::m::n";
        assert_eq!(
            resolved(text, &["model", "error"]),
            [
                "store@1::X@1",
                "model@3::y@3",
                "model@4::error@4::tests@4::z@4",
                "w@6::V@6",
                "model@6::error@6::sub@6::u@6",
                "m@6::n@6",
            ]
        );
        assert_eq!(resolved("use super::store;", &["model"]), ["store@1"]);
    }
}
