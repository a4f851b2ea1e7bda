//! The dependency rule of ARCHITECTURE.md, enforced: each top-level module of `src/` may
//! name only the modules the rule allows it (`crate::…` paths in its files), and the few
//! narrow edges the rule lists by path. A new edge is a decision to write down there first.

use std::path::Path;

/// Module → the modules it may use.
const RULE: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("signature", &[]),
    ("providers", &["signature"]),
    ("routing", &["destinations", "domain"]),
    (
        "config",
        &["destinations", "domain", "providers", "routing", "signature"],
    ),
    (
        "sources",
        &[
            "config",
            "domain",
            "pace",
            "providers",
            "signature",
            "store",
            "telemetry",
        ],
    ),
    ("pace", &["domain"]),
    ("destinations", &["domain", "signature"]),
    ("telemetry", &["domain"]),
    ("store", &["domain", "telemetry"]),
    (
        "workers",
        &[
            "config",
            "destinations",
            "domain",
            "pace",
            "sources",
            "store",
            "telemetry",
        ],
    ),
    (
        "http",
        &[
            "config",
            "destinations",
            "domain",
            "sources",
            "store",
            "telemetry",
            "workers",
        ],
    ),
];

/// Narrow edges outside the rule: (the file's folder, the path it may use). None today;
/// an entry here is a decision written down in ARCHITECTURE.md first.
const NARROW: &[(&str, &str)] = &[];

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::…` path a file names (braced groups split into their members).
fn paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let path = &rest[..end];
        if rest[end..].starts_with('{') && path.ends_with("::") {
            let close = rest[end..].find('}').map_or(rest.len(), |c| end + c);
            for member in rest[end + 1..close].split(',') {
                found.push(format!("{path}{}", member.trim()));
            }
        } else {
            found.push(path.to_string());
        }
    }
    found
}

#[test]
fn every_module_uses_only_what_the_dependency_rule_allows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut broken = Vec::new();
    for (module, allowed) in RULE {
        let mut list = Vec::new();
        let dir = root.join("src").join(module);
        if dir.is_dir() {
            files(&dir, &mut list);
        } else {
            list.push(root.join("src").join(format!("{module}.rs")));
        }
        for file in list {
            let rel = file
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&file).expect("readable file");
            for path in paths(&text) {
                let target = path
                    .trim_start_matches("crate::")
                    .split("::")
                    .next()
                    .unwrap_or_default();
                if target.is_empty() || target == *module || allowed.contains(&target) {
                    continue;
                }
                if NARROW
                    .iter()
                    .any(|(folder, p)| rel.starts_with(folder) && path.starts_with(p))
                {
                    continue;
                }
                broken.push(format!("{rel}: {path}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "edges the dependency rule does not allow:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_rule_has_no_cycles() {
    // Depth-first over RULE.
    fn visit(m: &str, stack: &mut Vec<String>) -> Result<(), String> {
        if stack.iter().any(|s| s == m) {
            return Err(format!("{} -> {m}", stack.join(" -> ")));
        }
        stack.push(m.to_string());
        let deps = RULE.iter().find(|(n, _)| *n == m).map_or(&[][..], |(_, d)| *d);
        for d in deps {
            visit(d, stack)?;
        }
        stack.pop();
        Ok(())
    }
    for (m, _) in RULE {
        visit(m, &mut Vec::new()).unwrap_or_else(|cycle| panic!("a cycle: {cycle}"));
    }
}
