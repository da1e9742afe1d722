//! Repository rules checked as ordinary tests, so `cargo test --workspace`
//! (and therefore `cargo xtask ci`) enforces them:
//!
//! - xtask stays std-only;
//! - every `*-store` feature has its own CI feature set;
//! - `features.md` and the crate docs' feature list (`src/lib.rs`) agree
//!   with `Cargo.toml`: same features, same defaults, and the table's
//!   "pulls in" column names exactly the feature's optional dependencies
//!   (with the version `Cargo.toml` asks for, where the table gives one).
//!
//! The manifests are read with plain line scanning (xtask has no TOML
//! dependency): section headers `[name]`, `key = value` lines and `key = [..]`
//! arrays, possibly over several lines. That covers the manifests of this
//! repository, not every TOML file.

use std::fs;
use std::path::Path;

use crate::ci::FEATURE_SETS;
use crate::cmd::project_root;

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
