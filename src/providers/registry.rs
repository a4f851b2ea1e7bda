//! The provider files built into the binary, parsed once. A file that does not parse is
//! kept as an error (the test suite fails on any), never a panic: a config naming that
//! provider gets the error instead.

use std::sync::OnceLock;

use super::Provider;

mod files {
    include!(concat!(env!("OUT_DIR"), "/providers.rs"));
}

/// Every provider, sorted by name, and the files that failed to load.
pub struct Registry {
    pub providers: Vec<Provider>,
    pub errors: Vec<(String, String)>,
}

/// The providers built into this binary.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| load(files::FILES))
}

/// Parses `(file stem, text)` pairs; a file that does not parse, or names itself other
/// than its file, is kept as an error.
fn load(files: &[(&str, &str)]) -> Registry {
    let mut providers = Vec::new();
    let mut errors = Vec::new();
    for (stem, text) in files {
        match toml::from_str::<Provider>(text) {
            Ok(p) if p.name == *stem => providers.push(p),
            Ok(p) => errors.push((stem.to_string(), format!("its name is {:?}, not its file's", p.name))),
            Err(e) => errors.push((stem.to_string(), e.to_string())),
        }
    }
    providers.sort_by(|a, b| a.name.cmp(&b.name));
    Registry { providers, errors }
}

/// The provider named `name`.
pub fn find(name: &str) -> Option<&'static Provider> {
    registry().providers.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    const GOOD: &str = "name = \"acme\"\ntitle = \"Acme\"\ndocs = \"https://acme.example\"\n[verify]\nfamily = \"hmac\"\nheader = \"X-Acme\"\n";

    #[test]
    fn a_file_that_does_not_parse_or_names_another_provider_is_an_error_not_a_panic() {
        let r = super::load(&[
            ("acme", GOOD),
            ("other", GOOD),
            ("broken", "name = \"broken\"\n[verify]\nfamily = \"rot13\"\n"),
        ]);
        assert_eq!(
            r.providers.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["acme"]
        );
        let names: Vec<&str> = r.errors.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["other", "broken"]);
        assert!(r.errors[0].1.contains("not its file's"), "{:?}", r.errors[0]);
        assert!(
            r.errors[1].1.contains("rot13") || r.errors[1].1.contains("variant"),
            "{:?}",
            r.errors[1]
        );
    }
}
