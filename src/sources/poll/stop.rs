//! When a run stops before the API says it is done: at a page that brings no key new to the
//! run (an API that ignores the page parameter and answers page 1 forever), or after the
//! source's `max_pages`. Such a stop completes the run: the pages were read and stored, the
//! API only repeated itself or went on too long (the poller refuses to commit past
//! `max_pages` when the listing is newest first).

use std::collections::HashSet;

/// Why a run ended before its last page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStop {
    /// Every item's dedupe key on this page was already seen earlier in the run.
    Repeated { page: u32 },
    /// The run read `max_pages` pages and the API still had a next one.
    MaxPages { max_pages: u32 },
}

impl std::fmt::Display for RunStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunStop::Repeated { page } => write!(
                f,
                "page {page} brought no item new to the run (does the API ignore the pagination parameter?)"
            ),
            RunStop::MaxPages { max_pages } => {
                write!(f, "the run read max_pages = {max_pages} pages and the API had more")
            }
        }
    }
}

/// The keys a run has seen and the pages it has read.
pub struct RunGuard {
    keys: HashSet<String>,
    pages: u32,
    max_pages: u32,
}

impl RunGuard {
    pub fn new(max_pages: u32) -> RunGuard {
        RunGuard {
            keys: HashSet::new(),
            pages: 0,
            max_pages,
        }
    }

    /// Takes one page's dedupe keys; `has_next` says whether the API named a next page.
    /// `Some` when the run must end at this page although the API has more.
    pub fn page<'a>(&mut self, keys: impl IntoIterator<Item = &'a str>, has_next: bool) -> Option<RunStop> {
        self.pages += 1;
        let mut brought_new = false;
        for key in keys {
            if !self.keys.contains(key) {
                self.keys.insert(key.to_string());
                brought_new = true;
            }
        }
        match (has_next, brought_new) {
            (false, _) => None,
            (true, false) => Some(RunStop::Repeated { page: self.pages }),
            (true, true) if self.pages >= self.max_pages => Some(RunStop::MaxPages {
                max_pages: self.max_pages,
            }),
            (true, true) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_keys_already_seen_stops_the_run_when_the_api_names_another() {
        let mut guard = RunGuard::new(1000);
        assert_eq!(guard.page(["a", "b"], true), None);
        assert_eq!(guard.page(["c", "a"], true), None, "one new key is enough");
        assert_eq!(guard.page(["b", "a"], true), Some(RunStop::Repeated { page: 3 }));
    }

    #[test]
    fn the_last_page_never_stops_the_run_early() {
        let mut guard = RunGuard::new(2);
        assert_eq!(guard.page(["a"], true), None);
        assert_eq!(guard.page(["a"], false), None);
    }

    #[test]
    fn an_empty_page_with_a_next_page_brings_nothing_new() {
        let mut guard = RunGuard::new(1000);
        assert_eq!(guard.page([], true), Some(RunStop::Repeated { page: 1 }));
    }

    #[test]
    fn the_page_at_max_pages_ends_the_run() {
        let mut guard = RunGuard::new(2);
        assert_eq!(guard.page(["a"], true), None);
        assert_eq!(guard.page(["b"], true), Some(RunStop::MaxPages { max_pages: 2 }));
    }
}
