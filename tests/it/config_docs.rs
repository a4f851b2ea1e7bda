//! `docs/configuration.md` lists every key the config accepts, and no other. The code's
//! keys come from the config loader itself: a probe puts an unknown key in each table and
//! reads the keys the refusal lists (serde's own field list); the keys every destination
//! kind shares come from `COMMON_KEYS`. The docs' keys are the first column of the table
//! under each section heading.

use std::collections::{BTreeMap, BTreeSet};

/// (the docs' section heading, a config with the unknown key `zz_probe` in that table).
const PROBES: &[(&str, &str)] = &[
    ("`[root]`", "zz_probe = 1\n"),
    ("`[server]`", "[server]\nzz_probe = 1\n"),
    ("`[admin]`", "[admin]\nzz_probe = 1\n"),
    ("`[storage]`", "[storage]\nzz_probe = 1\n"),
    ("`[telemetry]`", "[telemetry]\nzz_probe = 1\n"),
    ("`[alerts]`", "[alerts]\nzz_probe = 1\n"),
    (
        "`[sources.NAME]` (webhooks)",
        "[sources.s]\nscheme = \"stripe\"\nsecrets = [\"x\"]\nzz_probe = 1\n",
    ),
    (
        "`[sources.NAME]` with `kind = \"poll\"`",
        "[sources.p]\nkind = \"poll\"\nzz_probe = 1\n",
    ),
    (
        "`[sources.NAME.cursor]`",
        "[sources.p]\nkind = \"poll\"\nurl = \"http://x\"\n[sources.p.cursor]\nzz_probe = 1\n",
    ),
    (
        "`[sources.NAME.pagination]`",
        "[sources.p]\nkind = \"poll\"\nurl = \"http://x\"\n[sources.p.pagination]\nzz_probe = 1\n",
    ),
    (
        "`[sources.NAME.hydrate]`",
        "[sources.s]\nscheme = \"stripe\"\nsecrets = [\"x\"]\n[sources.s.hydrate]\nzz_probe = 1\n",
    ),
    (
        "`[destinations.NAME.circuit]`",
        "[destinations.d]\nkind = \"http\"\nurl = \"http://x\"\n[destinations.d.circuit]\nzz_probe = 1\n",
    ),
    (
        "`[destinations.NAME.mirror]`",
        "[destinations.d]\nkind = \"postgres\"\nurl = \"postgres://x\"\n[destinations.d.mirror]\nzz_probe = 1\n",
    ),
    ("`[[routes]]`", "[[routes]]\nzz_probe = 1\n"),
    (
        "`[routes.ordering]`",
        "[[routes]]\nfrom = [\"a\"]\nto = [\"b\"]\n[routes.ordering]\nzz_probe = 1\n",
    ),
];

const KINDS: &[&str] = &["http", "file", "slack", "command", "nats", "amqp", "redis", "postgres"];

/// The keys the refusal of `config` lists ("expected one of `a`, `b`" / "expected `a` or `b`").
fn refused_keys(config: &str) -> BTreeSet<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inlet.toml");
    std::fs::write(&path, config).expect("written");
    let error = match inlet::config::Settings::load(&path) {
        Ok(_) => panic!("the probe was accepted: {config}"),
        Err(e) => e.to_string(),
    };
    let listed = error
        .split_once("expected ")
        .unwrap_or_else(|| panic!("no key list in {error:?} for {config}"))
        .1;
    listed.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// Every section of the code with its keys.
fn code() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = PROBES
        .iter()
        .map(|(section, probe)| (section.to_string(), refused_keys(probe)))
        .collect();
    out.insert(
        "`[destinations.NAME]` (every kind)".into(),
        inlet::destinations::COMMON_KEYS.iter().map(|k| k.to_string()).collect(),
    );
    for kind in KINDS {
        let probe = format!("[destinations.d]\nkind = \"{kind}\"\nzz_probe = 1\n");
        out.insert(format!("`kind = \"{kind}\"`"), refused_keys(&probe));
    }
    out
}

/// Every `### ` section of the docs with the keys its table's rows begin with.
fn documented(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            section = Some(heading.trim().to_string());
            out.entry(heading.trim().to_string()).or_default();
        } else if let (Some(s), Some(row)) = (&section, line.strip_prefix("| `"))
            && let Some((key, _)) = row.split_once('`')
        {
            out.entry(s.clone()).or_default().insert(key.to_string());
        }
    }
    out
}

/// What one side has and the other lacks, as "section: key".
fn gaps(
    code: &BTreeMap<String, BTreeSet<String>>,
    docs: &BTreeMap<String, BTreeSet<String>>,
) -> (Vec<String>, Vec<String>) {
    let missing_from = |a: &BTreeMap<String, BTreeSet<String>>, b: &BTreeMap<String, BTreeSet<String>>| {
        let mut out = Vec::new();
        for (section, keys) in a {
            let other = b.get(section);
            if other.is_none() {
                out.push(format!("{section}: (the whole section)"));
                continue;
            }
            for key in keys.iter().filter(|k| !other.is_some_and(|o| o.contains(*k))) {
                out.push(format!("{section}: {key}"));
            }
        }
        out
    };
    (missing_from(code, docs), missing_from(docs, code))
}

fn configuration_md() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md"))
        .expect("docs/configuration.md")
}

#[test]
fn every_config_key_the_code_accepts_is_in_docs_configuration_md_and_the_docs_name_no_other() {
    let (missing, unknown) = gaps(&code(), &documented(&configuration_md()));
    assert!(
        missing.is_empty(),
        "keys docs/configuration.md does not describe: {missing:#?}"
    );
    assert!(
        unknown.is_empty(),
        "keys docs/configuration.md names that the config refuses: {unknown:#?}"
    );
}

#[test]
fn the_config_docs_check_fails_on_a_key_the_docs_lack_and_on_one_the_code_refuses() {
    let docs = documented(&configuration_md());
    let mut code = code();
    assert!(
        code["`[server]`"].contains("max_body"),
        "the probe reads serde's field list"
    );
    code.get_mut("`[server]`").expect("server").insert("zz_new_key".into());
    assert_eq!(gaps(&code, &docs).0, ["`[server]`: zz_new_key"]);
    let mut docs = docs;
    docs.get_mut("`kind = \"redis\"`")
        .expect("redis")
        .insert("zz_gone".into());
    assert_eq!(gaps(&self::code(), &docs).1, ["`kind = \"redis\"`: zz_gone"]);
}

#[test]
fn every_example_in_docs_configuration_md_is_valid_toml() {
    let text = configuration_md();
    let mut examples = 0;
    for block in text.split("```toml\n").skip(1) {
        let body = block.split("```").next().expect("a closed block");
        if let Err(e) = toml::from_str::<toml::Table>(body) {
            panic!("an example is not TOML: {e}\n{body}");
        }
        examples += 1;
    }
    assert!(examples >= 23, "an example per table: {examples}");
}
