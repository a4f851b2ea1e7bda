//! The reference docs cover the code: every command the binary parses (walked from its
//! clap definition) has its heading in `docs/cli.md`, and the docs name no command the
//! binary lacks; nothing in the repository's docs points outside it.

use std::collections::BTreeSet;

use clap::CommandFactory;

/// Every command and subcommand, as "backup" or "destinations pause".
fn commands() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for sub in inlet::cli::Cli::command().get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        out.insert(sub.get_name().to_string());
        for nested in sub.get_subcommands().filter(|n| n.get_name() != "help") {
            out.insert(format!("{} {}", sub.get_name(), nested.get_name()));
        }
    }
    out
}

/// The commands `docs/cli.md` has a heading for: "### `inlet providers show NAME`" gives
/// "providers show" (the words before the first placeholder or option).
fn documented(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("### `inlet "))
        .map(|rest| {
            rest.trim_end_matches('`')
                .split_whitespace()
                .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// (in the code but not the docs, in the docs but not the code).
fn gaps(code: &BTreeSet<String>, docs: &BTreeSet<String>) -> (Vec<String>, Vec<String>) {
    (
        code.difference(docs).cloned().collect(),
        docs.difference(code).cloned().collect(),
    )
}

fn cli_md() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md")).expect("docs/cli.md")
}

#[test]
fn every_command_has_its_section_in_docs_cli_md_and_the_docs_name_no_other() {
    let (missing, unknown) = gaps(&commands(), &documented(&cli_md()));
    assert!(
        missing.is_empty(),
        "commands docs/cli.md does not describe: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/cli.md describes commands inlet lacks: {unknown:?}"
    );
}

#[test]
fn the_docs_check_fails_on_a_command_the_docs_lack_and_on_one_the_code_lacks() {
    let docs = documented(&cli_md());
    let mut code = commands();
    assert!(
        code.contains("listen") && code.contains("destinations pause"),
        "{code:?}"
    );
    code.insert("frobnicate".into());
    assert_eq!(gaps(&code, &docs).0, ["frobnicate"]);
    let mut docs = docs;
    docs.insert("defrobnicate".into());
    assert_eq!(gaps(&commands(), &docs).1, ["defrobnicate"]);
}

#[test]
fn no_file_a_user_reads_points_outside_the_repository() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = vec![format!("{root}/README.md"), format!("{root}/src/cli/starter.toml")];
    for entry in std::fs::read_dir(format!("{root}/docs")).expect("docs/") {
        files.push(entry.expect("entry").path().display().to_string());
    }
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        assert!(
            !text.contains("../shared") && !text.contains("CONTRACT"),
            "{file} points outside the repository"
        );
    }
    let starter = std::fs::read_to_string(format!("{root}/src/cli/starter.toml")).expect("starter");
    assert!(
        starter.contains("docs/configuration.md"),
        "inlet init's file points to the reference"
    );
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README");
    for page in [
        "sources",
        "delivery",
        "configuration",
        "cli",
        "http",
        "guarantees",
        "operations",
        "local-development",
        "development",
    ] {
        assert!(
            readme.contains(&format!("(docs/{page}.md)")),
            "README links docs/{page}.md"
        );
        assert!(std::path::Path::new(&format!("{root}/docs/{page}.md")).exists());
    }
}
