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
    REGISTRY.get_or_init(|| {
        let mut providers = Vec::new();
        let mut errors = Vec::new();
        for (stem, text) in files::FILES {
            match toml::from_str::<Provider>(text) {
                Ok(p) if p.name == *stem => providers.push(p),
                Ok(p) => errors.push((stem.to_string(), format!("its name is {:?}, not its file's", p.name))),
                Err(e) => errors.push((stem.to_string(), e.to_string())),
            }
        }
        providers.sort_by(|a, b| a.name.cmp(&b.name));
        Registry { providers, errors }
    })
}

/// The provider named `name`.
pub fn find(name: &str) -> Option<&'static Provider> {
    registry().providers.iter().find(|p| p.name == name)
}

/// The files named `stem` raw text (for `inlet providers show`).
pub fn file_text(stem: &str) -> Option<&'static str> {
    files::FILES.iter().find(|(s, _)| *s == stem).map(|(_, t)| *t)
}
