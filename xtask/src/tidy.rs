//! Repository rules checked as ordinary tests, so `cargo test --workspace`
//! (and therefore `cargo xtask ci`) enforces them:
//!
//! - xtask stays std-only;
//! - every `*-store` feature has its own CI feature set;
//! - `features.md` and the crate docs' feature list (`src/lib.rs`) agree
//!   with `Cargo.toml`: same features, same defaults, and the table's
//!   "pulls in" column names exactly the feature's optional dependencies
//!   (with the version `Cargo.toml` asks for, where the table gives one);
//! - the architecture invariants of `docs/ARCHITECTURE.md`, read from the
//!   code of `src/`:
//!   - `src/model/` knows nothing of storage or HTTP: its code reaches none
//!     of `store`, `backend`, `manager`, `gateway` by any path, and names no
//!     `actix` crate (`model_knows_nothing_of_storage_or_http`);
//!   - `src/manager/` and `src/gateway/` never name the key layout,
//!     `store::keys` (`manager_and_gateway_never_name_store_keys`);
//!   - only `src/backend/` names an engine (sled, fjall, postgres, any
//!     `*-store` feature's engine) or has a `cfg` on an engine feature
//!     (`only_backend_names_an_engine`);
//! - every `.rs` file under `src/`, `xtask/src/`, `examples/` and `benches/`
//!   starts with a `//!` module doc (`every_module_starts_with_a_module_doc`);
//! - `docs/DOMAIN.md` lists every route the gateway registers and every
//!   error code the code answers ([`domain_doc`]).
//!
//! The manifests are read with plain line scanning (xtask has no TOML
//! dependency): section headers `[name]`, `key = value` lines and `key = [..]`
//! arrays, possibly over several lines. That covers the manifests of this
//! repository, not every TOML file. Rust files are read with the small lexer
//! in [`source`]: the architecture rules look at code only, so comments (doc
//! comments included) and string literals may mention anything. A test
//! checks that lexer on every Rust file of the repository
//! (`lexer_balances_brackets_in_every_rust_file`).

mod domain_doc;
mod source;

use std::fs;
use std::path::{Path, PathBuf};

use crate::ci::FEATURE_SETS;
use crate::cmd::project_root;
use source::{paths, tokens, Kind};

/// The `key` of every `key = ...` line in section `[section]` of a manifest.
fn section_keys(manifest: &str, section: &str) -> Vec<String> {
    let header = format!("[{section}]");
    let mut inside = false;
    let mut keys = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') && !line.starts_with("[\"") {
            inside = line == header;
            continue;
        }
        if !inside || line.starts_with('#') {
            continue;
        }
        if let Some((key, _)) = line.split_once('=') {
            let key = key.trim();
            let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if bare {
                keys.push(key.to_string());
            }
        }
    }
    keys
}

/// The `[features]` of a manifest: name and the quoted items of its array.
fn features(manifest: &str) -> Vec<(String, Vec<String>)> {
    let mut inside = false;
    let mut result: Vec<(String, Vec<String>)> = Vec::new();
    let mut open = false;
    for line in manifest.lines() {
        let line = line.trim();
        if !open && line.starts_with('[') {
            inside = line == "[features]";
            continue;
        }
        if !inside || line.starts_with('#') || line.is_empty() {
            continue;
        }
        let text = if open {
            line
        } else {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            result.push((key.trim().to_string(), Vec::new()));
            value
        };
        let text = text.split('#').next().unwrap_or_default();
        open = !text.contains(']');
        if let Some((_, items)) = result.last_mut() {
            items.extend(text.split('"').skip(1).step_by(2).map(str::to_string));
        }
    }
    result
}

/// The version requirement of dependency `name` in `[dependencies]`
/// (`name = "1"` or `name = { version = "1", .. }`).
fn dependency_version(manifest: &str, name: &str) -> Option<String> {
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !inside || key.trim() != name {
            continue;
        }
        let value = value.trim();
        let quoted = match value.strip_prefix('{') {
            Some(table) => table.split_once("version")?.1.split_once('=')?.1,
            None => value,
        };
        return quoted.split('"').nth(1).map(str::to_string);
    }
    None
}

/// Rows of the features table: `(feature, default, pulls in)`, for rows whose
/// first cell is a backticked feature name.
fn table_rows(features_md: &str) -> Vec<(String, String, String)> {
    features_md
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), cells.get(2)?.to_string(), cells.get(3)?.to_string()))
        })
        .collect()
}

/// Bullets of the `## Features` section of the crate docs:
/// `(feature, is default)` from lines like `//! - `gateway` (default): ..`.
fn crate_doc_features(lib_rs: &str) -> Vec<(String, bool)> {
    let mut inside = false;
    let mut result = Vec::new();
    for line in lib_rs.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            continue;
        };
        let doc = doc.trim();
        if let Some(heading) = doc.strip_prefix("## ") {
            inside = heading.trim() == "Features";
            continue;
        }
        let Some(rest) = doc.strip_prefix("- `").filter(|_| inside) else {
            continue;
        };
        if let Some((name, after)) = rest.split_once('`') {
            result.push((name.to_string(), after.trim_start().starts_with("(default)")));
        }
    }
    result
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn section_keys_reads_only_the_named_section() {
    let manifest = "[features]\n# comment = no\ndefault = [\"gateway\"]\nsled-store = [\n  \"dep:sled\",\n]\n\n[dependencies]\nhex = \"0.4\"\n";
    assert_eq!(section_keys(manifest, "features"), ["default", "sled-store"]);
    assert_eq!(section_keys(manifest, "dependencies"), ["hex"]);
    assert!(section_keys(manifest, "dev-dependencies").is_empty());
}

#[test]
fn xtask_has_no_dependencies() {
    let manifest = read(&project_root().join("xtask").join("Cargo.toml"));
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let keys = section_keys(&manifest, section);
        assert!(keys.is_empty(), "xtask/Cargo.toml [{section}] lists {keys:?}: xtask must stay std-only");
    }
}

#[test]
fn every_store_feature_has_its_own_ci_feature_set() {
    let manifest = read(&project_root().join("Cargo.toml"));
    let features = section_keys(&manifest, "features");
    let stores: Vec<&String> = features.iter().filter(|f| f.ends_with("-store")).collect();
    assert!(!stores.is_empty(), "root Cargo.toml declares no `*-store` feature; found {features:?}");
    for store in stores {
        let wanted = format!("--features {store}");
        assert!(
            FEATURE_SETS.iter().any(|set| set.name == wanted),
            "backend feature `{store}` has no `{wanted}` feature set in xtask/src/ci.rs"
        );
    }
    for wanted in ["default", "--all-features", "--no-default-features"] {
        assert!(FEATURE_SETS.iter().any(|set| set.name == wanted), "missing {wanted}");
    }
}

#[test]
fn features_parses_multi_line_arrays_and_comments() {
    let manifest = "[features]\ndefault = [\"gateway\"] # on\ngateway = [\n  \"dep:a\",\n  \"dep:b\", # b\n]\nx = []\n[dependencies]\na = { version = \"=1.2\", optional = true }\nb = \"3\"\n";
    assert_eq!(
        features(manifest),
        [
            ("default".to_string(), vec!["gateway".to_string()]),
            ("gateway".to_string(), vec!["dep:a".to_string(), "dep:b".to_string()]),
            ("x".to_string(), vec![]),
        ]
    );
    assert_eq!(dependency_version(manifest, "a").as_deref(), Some("=1.2"));
    assert_eq!(dependency_version(manifest, "b").as_deref(), Some("3"));
    assert_eq!(dependency_version(manifest, "c"), None);
}

#[test]
fn features_table_and_crate_docs_agree_with_the_manifest() {
    let root = project_root();
    let manifest = read(&root.join("Cargo.toml"));
    let table = table_rows(&read(&root.join("features.md")));
    let docs = crate_doc_features(&read(&root.join("src").join("lib.rs")));
    let all = features(&manifest);
    let defaults: Vec<&String> =
        all.iter().find(|(name, _)| name == "default").map(|(_, items)| items.iter().collect()).unwrap_or_default();
    let declared: Vec<&(String, Vec<String>)> = all.iter().filter(|(name, _)| name != "default").collect();
    assert!(!declared.is_empty(), "Cargo.toml declares no features");

    let mut problems = Vec::new();
    for (name, items) in &declared {
        let is_default = defaults.contains(&name);
        match table.iter().find(|(row, _, _)| row == name) {
            None => problems.push(format!("features.md has no row for `{name}`")),
            Some((_, default, pulls)) => {
                let want = if is_default { "yes" } else { "no" };
                if default != want {
                    problems
                        .push(format!("features.md says `{name}` default is {default:?}, Cargo.toml says {want:?}"));
                }
                problems.extend(pulls_in_problems(&manifest, name, items, pulls));
            }
        }
        match docs.iter().find(|(doc, _)| doc == name) {
            None => problems.push(format!("src/lib.rs `## Features` has no bullet for `{name}`")),
            Some((_, doc_default)) if *doc_default != is_default => problems.push(format!(
                "src/lib.rs marks `{name}` as {}default, Cargo.toml does not agree",
                if *doc_default { "" } else { "not " }
            )),
            Some(_) => {}
        }
    }
    for (row, _, _) in &table {
        if !declared.iter().any(|(name, _)| name == row) {
            problems.push(format!("features.md lists `{row}`, which Cargo.toml does not declare"));
        }
    }
    for (doc, _) in &docs {
        if !declared.iter().any(|(name, _)| name == doc) {
            problems.push(format!("src/lib.rs lists feature `{doc}`, which Cargo.toml does not declare"));
        }
    }
    assert!(problems.is_empty(), "features out of sync:\n  {}", problems.join("\n  "));
}

/// Compares a table's "pulls in" cell (`sled 0.34.7`, `actix-web, clap`,
/// `-`) with the feature's `dep:` items.
fn pulls_in_problems(manifest: &str, feature: &str, items: &[String], cell: &str) -> Vec<String> {
    let deps: Vec<&str> = items.iter().filter_map(|i| i.strip_prefix("dep:")).collect();
    let listed: Vec<(&str, Option<&str>)> = cell
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty() && *item != "-")
        .map(|item| {
            let mut words = item.split_whitespace();
            (words.next().unwrap_or_default(), words.next())
        })
        .collect();
    let mut problems = Vec::new();
    for dep in &deps {
        if !listed.iter().any(|(name, _)| name == dep) {
            problems.push(format!("features.md: `{feature}` pulls in {dep}, not listed"));
        }
    }
    for (name, version) in &listed {
        if !deps.contains(name) {
            problems
                .push(format!("features.md: `{feature}` lists {name}, which is not one of its dependencies {deps:?}"));
            continue;
        }
        if let Some(version) = version {
            let wanted = dependency_version(manifest, name);
            let wanted = wanted.as_deref().map(|v| v.trim_start_matches(['=', '^', '~']));
            if wanted != Some(*version) {
                problems
                    .push(format!("features.md: `{feature}` says {name} {version}, Cargo.toml asks for {wanted:?}"));
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------
// Architecture rules (docs/ARCHITECTURE.md, "Architecture invariants").
//
// Each rule is a pure function from a file's text to the lines that break it;
// the `#[test]`s walk the tree and list every offending `file:line`. Only code
// counts: comments (`//`, `//!`, `///`, `/* */`, intra-doc links included)
// and string literals are prose and data, so they may name anything.
// ---------------------------------------------------------------------------

/// The name the binary and the integration tests use for the library crate.
const CRATE_NAME: &str = "commons_gateway";

/// The modules `src/model/` must not reach.
const NOT_FOR_MODEL: [&str; 4] = ["store", "backend", "manager", "gateway"];

/// Engines named even before they have a feature (a future `postgres-store`);
/// every `<engine>-store` feature of `Cargo.toml` adds its `<engine>`.
const KNOWN_ENGINES: [&str; 3] = ["sled", "fjall", "postgres"];

/// Every `.rs` file under `dir` (relative to `root`), recursively, sorted by
/// path: `(path relative to root with '/', text)`. A missing `dir` has none.
fn rust_files(root: &Path, dir: &str) -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root.join(dir), &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            (name.join("/"), read(&path))
        })
        .collect()
}

/// The module a file under `src/` is, from the crate root:
/// `src/model/error.rs` is `model::error`, `src/model/mod.rs` is `model`,
/// `src/lib.rs` (and `src/main.rs`) the root.
fn module_of(path: &str) -> Vec<String> {
    let path = path.strip_prefix("src/").unwrap_or(path);
    let path = path.strip_suffix(".rs").unwrap_or(path);
    let mut module: Vec<String> = path.split('/').map(str::to_string).collect();
    if matches!(module.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        module.pop();
    }
    module
}

/// Names the crate root imports (`use`, `pub use`) from one of `modules`:
/// `lib.rs`'s `pub use manager::CommonsManager` makes `crate::CommonsManager`
/// a path into `manager`. (A glob import, `pub use store::*`, cannot be
/// followed; this repository has none.)
fn root_imports_from(lib_rs: &str, modules: &[&str]) -> Vec<String> {
    paths(&tokens(lib_rs), &[])
        .into_iter()
        .filter(|path| path.module.is_empty())
        .filter_map(|path| {
            let resolved = path.resolve(&[CRATE_NAME])?;
            let (first, _) = resolved.first()?;
            if modules.contains(&first.as_str()) {
                path.binds
            } else {
                None
            }
        })
        .collect()
}

/// Lines of a `src/model/` file (module `module`) whose code reaches
/// `store`, `backend`, `manager` or `gateway`, by any path: `crate::store`,
/// `super::super::store`, `super::store` from `model/mod.rs`,
/// `commons_gateway::store`, `use crate::{store, ..}`, or a crate-root name
/// `lib.rs` imports from them (`root_imports`, e.g. `crate::CommonsManager`);
/// or that name `actix` (any identifier starting with `actix`).
fn model_reaches_storage_or_http(text: &str, module: &[String], root_imports: &[String]) -> Vec<usize> {
    let tokens = tokens(text);
    let mut lines: Vec<usize> = tokens
        .iter()
        .filter(|t| matches!(&t.kind, Kind::Ident(name) if name.to_ascii_lowercase().starts_with("actix")))
        .map(|t| t.line)
        .collect();
    for path in paths(&tokens, module) {
        let Some(resolved) = path.resolve(&[CRATE_NAME]) else {
            continue;
        };
        if let Some((first, line)) = resolved.first() {
            if NOT_FOR_MODEL.contains(&first.as_str()) || root_imports.contains(first) {
                lines.push(*line);
            }
        }
    }
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// Lines of a file (module `module`) whose code names the store's key
/// layout: a path that resolves to `crate::store::keys` or into it, or any
/// path with a `keys::` segment (`keys::ANCHOR` after `use crate::store::keys`
/// or an alias of `store`). What `src/store/mod.rs` chooses to re-export from
/// `keys` (`store::Entity`) is the store's own API and not followed.
fn names_store_keys(text: &str, module: &[String]) -> Vec<usize> {
    let mut lines = Vec::new();
    for path in paths(&tokens(text), module) {
        if let Some(resolved) = path.resolve(&[CRATE_NAME]) {
            if let [(store, _), (keys, line), ..] = resolved.as_slice() {
                if store == "store" && keys == "keys" {
                    lines.push(*line);
                }
            }
        }
        let inner = &path.segments[..path.segments.len().saturating_sub(1)];
        lines.extend(inner.iter().filter(|(name, _)| name == "keys").map(|(_, line)| *line));
    }
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// The engines: [`KNOWN_ENGINES`] and `<engine>` of each `<engine>-store`
/// feature of the manifest (as an identifier: `-` becomes `_`).
fn engines(manifest: &str) -> Vec<String> {
    let mut engines: Vec<String> = KNOWN_ENGINES.iter().map(|e| e.to_string()).collect();
    for (feature, _) in features(manifest) {
        if let Some(engine) = feature.strip_suffix("-store") {
            engines.push(engine.replace('-', "_"));
        }
    }
    engines.sort();
    engines.dedup();
    engines
}

/// The lowercase words of an identifier: `SledCommonsStore` is `sled`,
/// `commons`, `store`; `FJALL_DIR` is `fjall`, `dir`.
fn words(ident: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in ident.split('_').filter(|p| !p.is_empty()) {
        let mut word = String::new();
        let mut prev_lower = false;
        for c in part.chars() {
            if c.is_uppercase() && prev_lower {
                words.push(std::mem::take(&mut word));
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            word.extend(c.to_lowercase());
        }
        words.push(word);
    }
    words
}

/// Lines whose code names an engine of `engines`: an identifier that is the
/// engine or has it as a word (`sled::Db`, `use fjall`, `extern crate sled`,
/// `SledCommonsStore`, `open_sled`), or `feature = "<engine feature>"` (any
/// `*-store` feature, or one named after an engine) wherever it stands:
/// `cfg`, `cfg_attr`, `cfg!`, `cfg_if!`.
fn names_an_engine(text: &str, engines: &[String]) -> Vec<usize> {
    let tokens = tokens(text);
    let mut lines = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let Kind::Ident(name) = &token.kind else {
            continue;
        };
        let lower = name.to_lowercase();
        let words = words(name);
        if engines.iter().any(|engine| *engine == lower || words.contains(engine)) {
            lines.push(token.line);
        }
        if name == "feature" && tokens.get(i + 1).map(|t| &t.kind) == Some(&Kind::Punct('=')) {
            if let Some(Kind::Str(value)) = tokens.get(i + 2).map(|t| &t.kind) {
                if value.ends_with("-store") || engines.contains(&value.replace('-', "_")) {
                    lines.push(token.line);
                }
            }
        }
    }
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// Whether the first line of `text` is a `//!` line with some text: the
/// module doc comes first, before attributes (`#![cfg(..)]`) and items, and
/// says in its first line what the module is for.
fn starts_with_module_doc(text: &str) -> bool {
    let first = text.trim_start_matches('\u{feff}').lines().next().unwrap_or_default();
    first.strip_prefix("//!").is_some_and(|rest| !rest.trim().is_empty())
}

/// `path:line: source line` for each line `check` reports in each file.
fn offences(files: &[(String, String)], check: impl Fn(&str, &str) -> Vec<usize>) -> Vec<String> {
    let mut offences = Vec::new();
    for (path, text) in files {
        let source: Vec<&str> = text.lines().collect();
        for line in check(path, text) {
            let code = source.get(line - 1).map(|l| l.trim()).unwrap_or_default();
            offences.push(format!("{path}:{line}: {code}"));
        }
    }
    offences
}

/// `src/model/` knows nothing of storage or HTTP: no code under it reaches
/// `crate::store`, `backend`, `manager` or `gateway` by any path (see
/// [`model_reaches_storage_or_http`]) or names actix. Comments, doc comments
/// included, may mention them as words (a doc may say the gateway maps an
/// error to HTTP 404); string literals are data, not code.
#[test]
fn model_knows_nothing_of_storage_or_http() {
    let root = project_root();
    let root_imports = root_imports_from(&read(&root.join("src").join("lib.rs")), &NOT_FOR_MODEL);
    let files = rust_files(&root, "src/model");
    assert!(!files.is_empty(), "no .rs file under src/model/");
    let offences = offences(&files, |path, text| model_reaches_storage_or_http(text, &module_of(path), &root_imports));
    assert!(
        offences.is_empty(),
        "src/model/ must know nothing of storage or HTTP (docs/ARCHITECTURE.md), but this code reaches \
         crate::store, backend, manager or gateway, or names actix:\n  {}\n\
         A rule refuses with a `Refusal` (src/model/error.rs); the manager's `CommonsError` wraps \
         refusals and store errors and decides HTTP statuses once (src/manager/error.rs).",
        offences.join("\n  ")
    );
}

/// `src/manager/` and `src/gateway/` never name the store's key layout: no
/// code under them names `store::keys` or a `keys::` path (see
/// [`names_store_keys`]). Comments and string literals may.
#[test]
fn manager_and_gateway_never_name_store_keys() {
    let root = project_root();
    let mut files = rust_files(&root, "src/manager");
    files.extend(rust_files(&root, "src/gateway"));
    assert!(!files.is_empty(), "no .rs file under src/manager/ or src/gateway/");
    let offences = offences(&files, |path, text| names_store_keys(text, &module_of(path)));
    assert!(
        offences.is_empty(),
        "src/manager/ and src/gateway/ must not name the store's key layout (crate::store::keys), but:\n  {}\n\
         Ask CommonsStore for what you need instead (a lookup by DID or domain, a list, a Changes builder \
         that writes the index rows) and keep key names, prefixes and key builders in src/store/.",
        offences.join("\n  ")
    );
}

/// Only `src/backend/` names an engine: no code in another `.rs` file under
/// `src/` names sled, fjall, postgres or the engine of any `*-store` feature
/// (as a path, a `use`, or a word of an identifier such as
/// `SledCommonsStore`), and none has `feature = "<engine>-store"` (in `cfg`,
/// `cfg_attr`, `cfg!`, `cfg_if!`). Comments and string literals may mention
/// engines (an error message may say "rebuild with --features fjall-store");
/// `tests/` is outside `src/` and may select cases by feature.
#[test]
fn only_backend_names_an_engine() {
    let root = project_root();
    let engines = engines(&read(&root.join("Cargo.toml")));
    let files: Vec<(String, String)> =
        rust_files(&root, "src").into_iter().filter(|(path, _)| !path.starts_with("src/backend/")).collect();
    assert!(!files.is_empty(), "no .rs file under src/ outside src/backend/");
    let offences = offences(&files, |_, text| names_an_engine(text, &engines));
    assert!(
        offences.is_empty(),
        "only src/backend/ may name an engine ({}) or cfg on an engine feature (docs/ARCHITECTURE.md), but:\n  {}\n\
         Use the CommonsBackend alias, BACKEND_NAME and OpenBackend instead, and move engine-specific code \
         and its cfg(feature = \"...-store\") into src/backend/.",
        engines.join(", "),
        offences.join("\n  ")
    );
}

/// Every `.rs` file under `src/`, `xtask/src/`, `examples/` and `benches/`
/// starts with a `//!` module doc: its first line, no blank line or
/// attribute before it (no file has a license header to skip). `tests/` is
/// not held to it: its feature-gated files start with `#![cfg(..)]`.
#[test]
fn every_module_starts_with_a_module_doc() {
    let root = project_root();
    let mut files = Vec::new();
    for dir in ["src", "xtask/src", "examples", "benches"] {
        files.extend(rust_files(&root, dir));
    }
    assert!(files.iter().any(|(path, _)| path == "src/lib.rs"), "src/lib.rs not found");
    let missing: Vec<&str> =
        files.iter().filter(|(_, text)| !starts_with_module_doc(text)).map(|(path, _)| path.as_str()).collect();
    assert!(
        missing.is_empty(),
        "these files do not start with a `//!` module doc:\n  {}:1\n\
         Make the first line `//! <what this module is for>` (before any attribute or `use`).",
        missing.join(":1\n  ")
    );
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn module_of_names_the_module_a_file_is() {
    assert_eq!(module_of("src/model/error.rs"), ["model", "error"]);
    assert_eq!(module_of("src/model/mod.rs"), ["model"]);
    assert!(module_of("src/lib.rs").is_empty());
    assert_eq!(module_of("src/store/a/b.rs"), ["store", "a", "b"]);
}

#[test]
fn root_imports_from_follows_lib_rs_imports_into_a_module() {
    let lib_rs = "//! crate::x\npub mod backend;\npub use backend::{CommonsBackend, OpenBackend as Open};\npub use manager::CommonsManager;\npub use model::did::Did;\nuse crate::store::*;\n";
    assert_eq!(root_imports_from(lib_rs, &NOT_FOR_MODEL), ["CommonsBackend", "Open", "CommonsManager"]);
}

#[test]
fn model_rule_catches_every_path_into_storage_or_http() {
    let error_rs = strings(&["model", "error"]);
    let mod_rs = strings(&["model"]);
    let imports = strings(&["CommonsManager"]);
    let check = |text: &str, module: &[String]| model_reaches_storage_or_http(text, module, &imports);
    // Must be caught.
    assert_eq!(check("//! Errors.\n\nuse crate::store::StoreError;\n", &error_rs), [3]);
    assert_eq!(check("use super::super::store::keys;", &error_rs), [1]);
    assert_eq!(check("use super::backend::WriteBatch;", &mod_rs), [1]);
    assert_eq!(check("use crate::{\n    model::did::Did,\n    manager::X,\n};", &error_rs), [3]);
    assert_eq!(check("fn f(e: crate::gateway::error::ApiError) {}", &error_rs), [1]);
    assert_eq!(check("fn f() -> commons_gateway::store::Page {}", &error_rs), [1]);
    assert_eq!(check("fn f(m: &crate::CommonsManager) {}", &error_rs), [1]);
    assert_eq!(check("use actix_web::http::StatusCode;\nfn f() { actix_web::HttpResponse::Ok(); }", &error_rs), [1, 2]);
    assert_eq!(check("#[cfg(test)]\nmod tests {\n    use super::super::super::store::X;\n}", &error_rs), [3]);
    // Must not be caught: prose, data, the model itself, other crates.
    let clean = "//! Maps to HTTP 404 in crate::gateway; see [`crate::store::StoreError`].\n\
                 /// Not the actix `HttpResponse`; the store (`crate::store`) keeps it.\n\
                 use crate::model::did::Did;\n\
                 use super::signing::Signed;\n\
                 use thiserror::Error;\n\
                 // crate::backend::sled\n\
                 /* use crate::manager::X; */\n\
                 const KEY: &str = \"crate::store::keys\";\n\
                 fn store(store: &Store) -> Backend { let backend = store; backend }\n\
                 #[cfg(test)]\nmod tests {\n    use super::super::ids;\n    #[test]\n    fn t() { assert_eq!(\"actix\", \"actix\"); }\n}\n";
    assert_eq!(check(clean, &error_rs), Vec::<usize>::new());
}

#[test]
fn key_rule_catches_store_keys_by_any_path() {
    let identity_rs = strings(&["manager", "identity"]);
    let mod_rs = strings(&["gateway"]);
    // Must be caught.
    assert_eq!(names_store_keys("use crate::store::keys::ANCHOR;", &identity_rs), [1]);
    assert_eq!(names_store_keys("use crate::store::keys::{did_key, HOLDER_DID};", &identity_rs), [1]);
    assert_eq!(names_store_keys("use crate::store::{\n    keys,\n    Changes,\n};", &identity_rs), [2]);
    assert_eq!(names_store_keys("use super::super::store::keys as k;", &identity_rs), [1]);
    assert_eq!(names_store_keys("use super::store::keys::*;", &mod_rs), [1]);
    assert_eq!(names_store_keys("fn f() { let p = keys::member_prefix(d); }", &identity_rs), [1]);
    assert_eq!(names_store_keys("use crate::store as s;\nlet k = s::keys::ANCHOR;", &identity_rs), [2]);
    // Must not be caught.
    let clean = "//! Uses `store::keys` only through CommonsStore.\n\
                 /// The rows `keys::member_prefix` names.\n\
                 use crate::store::{Changes, Entity, Page};\n\
                 fn f(m: &HashMap<K, V>) -> usize { m.keys().count() + \"keys::X\".len() }\n";
    assert_eq!(names_store_keys(clean, &identity_rs), Vec::<usize>::new());
}

#[test]
fn engine_rule_catches_engine_names_and_engine_features_in_code() {
    let engines = engines(
        "[features]\ndefault = []\nsled-store = [\"dep:sled\"]\nrocks-db-store = [\"dep:rocksdb\"]\ngateway = []\n",
    );
    assert_eq!(engines, ["fjall", "postgres", "rocks_db", "sled"]);
    // Must be caught.
    assert_eq!(names_an_engine("use sled::Db;", &engines), [1]);
    assert_eq!(names_an_engine("fn f() -> ::fjall::Keyspace {}", &engines), [1]);
    assert_eq!(names_an_engine("extern crate postgres;", &engines), [1]);
    assert_eq!(names_an_engine("use crate::backend::SledCommonsStore;", &engines), [1]);
    assert_eq!(names_an_engine("let x = backend::sled::open(p);", &engines), [1]);
    assert_eq!(names_an_engine("#[cfg(feature = \"fjall-store\")]\nfn f() {}", &engines), [1]);
    assert_eq!(names_an_engine("#[cfg(any(feature = \"gateway\",\n  feature = \"postgres-store\"))]", &engines), [2]);
    assert_eq!(names_an_engine("if cfg!(feature = \"sled-store\") {}", &engines), [1]);
    assert_eq!(names_an_engine("#[cfg_attr(feature = \"rocks-db-store\", allow(dead_code))]", &engines), [1]);
    // Must not be caught.
    let clean = "//! Backends: sled or fjall, `--features sled-store`.\n\
                 /// Engine name (`memory`, `sled`, `fjall`).\n\
                 #[cfg(feature = \"gateway\")]\n\
                 #[error(\"rebuild with `cargo build --features fjall-store` (or sled-store)\")]\n\
                 fn f() -> &'static str { let path = \"/data/commons.sled\"; sledge(fjallx(BACKEND_NAME)) }\n";
    assert_eq!(names_an_engine(clean, &engines), Vec::<usize>::new());
}

#[test]
fn words_split_snake_and_camel_case() {
    assert_eq!(words("SledCommonsStore"), ["sled", "commons", "store"]);
    assert_eq!(words("FJALL_DIR"), ["fjall", "dir"]);
    assert_eq!(words("open_sled2"), ["open", "sled2"]);
    assert_eq!(words("r2d2Pool"), ["r2d2", "pool"]);
}

#[test]
fn module_doc_must_be_the_first_line() {
    assert!(starts_with_module_doc("//! The store.\n\nuse x;\n"));
    assert!(!starts_with_module_doc("\n//! The store.\n"));
    assert!(!starts_with_module_doc("#![cfg(feature = \"gateway\")]\n//! Gateway tests.\n"));
    assert!(!starts_with_module_doc("/// An item doc.\nfn f() {}\n"));
    assert!(!starts_with_module_doc("//!\n//! Text on the second line.\n"));
    assert!(!starts_with_module_doc("// Copyright.\n//! The store.\n"));
    assert!(!starts_with_module_doc(""));
}

/// The lexer the architecture rules rely on reads every Rust file of the
/// repository with balanced brackets: a string, char literal, lifetime or
/// comment it misread would show as an unbalanced `(`, `[` or `{`.
#[test]
fn lexer_balances_brackets_in_every_rust_file() {
    let root = project_root();
    let mut problems = Vec::new();
    for dir in ["src", "xtask/src", "examples", "benches", "tests"] {
        for (path, text) in rust_files(&root, dir) {
            let mut open: Vec<(char, usize)> = Vec::new();
            for token in tokens(&text) {
                let Kind::Punct(c) = token.kind else {
                    continue;
                };
                let opener = match c {
                    ')' => '(',
                    ']' => '[',
                    '}' => '{',
                    '(' | '[' | '{' => {
                        open.push((c, token.line));
                        continue;
                    }
                    _ => continue,
                };
                if open.pop().map(|(o, _)| o) != Some(opener) {
                    problems.push(format!("{path}:{}: unmatched `{c}`", token.line));
                    break;
                }
            }
            if let Some((c, line)) = open.last() {
                problems.push(format!("{path}:{line}: `{c}` never closed"));
            }
        }
    }
    assert!(problems.is_empty(), "tidy's Rust lexer misreads:\n  {}", problems.join("\n  "));
}
