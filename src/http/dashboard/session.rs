//! Dashboard sessions: a random id per sign-in, kept in this process's memory with its own
//! random CSRF token, ended by logout or after [`LIFETIME`]. The cookie carries only the
//! id, so it says nothing about the admin token and dies with its session. A restart signs
//! everyone out. Checking the cookie on a request is `mod.rs`'s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a session lasts after sign-in.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Sessions held at most: past it the one that expires first is ended (only holders of the
/// admin token can sign in, so this bounds a script that signs in in a loop).
const MAX: usize = 10_000;

pub struct Sessions {
    open: Mutex<HashMap<String, Open>>,
    lifetime: Duration,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::with_lifetime(LIFETIME)
    }
}

struct Open {
    csrf: String,
    expires: Instant,
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

impl Sessions {
    pub fn with_lifetime(lifetime: Duration) -> Self {
        Sessions {
            open: Mutex::new(HashMap::new()),
            lifetime,
        }
    }

    /// Starts a session: its id (the cookie's value) and its CSRF token.
    pub fn start(&self) -> (String, String) {
        let now = Instant::now();
        let mut open = self.lock();
        open.retain(|_, s| s.expires > now);
        if open.len() >= MAX
            && let Some(first) = open.iter().min_by_key(|(_, s)| s.expires).map(|(id, _)| id.clone())
        {
            open.remove(&first);
        }
        let (id, csrf) = (random_hex(), random_hex());
        open.insert(
            id.clone(),
            Open {
                csrf: csrf.clone(),
                expires: now + self.lifetime,
            },
        );
        (id, csrf)
    }

    /// The CSRF token of the live session `id`.
    pub fn csrf(&self, id: &str) -> Option<String> {
        let mut open = self.lock();
        match open.get(id) {
            Some(s) if s.expires > Instant::now() => Some(s.csrf.clone()),
            Some(_) => {
                open.remove(id);
                None
            }
            None => None,
        }
    }

    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Open>> {
        self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_has_its_own_random_csrf_token_and_ends_at_logout() {
        let sessions = Sessions::default();
        let (a, csrf_a) = sessions.start();
        let (b, csrf_b) = sessions.start();
        assert_ne!(a, b);
        assert_ne!(csrf_a, csrf_b);
        assert_eq!(sessions.csrf(&a), Some(csrf_a));
        sessions.end(&a);
        assert_eq!(sessions.csrf(&a), None);
        assert_eq!(sessions.csrf(&b), Some(csrf_b));
        assert_eq!(sessions.csrf("not-a-session"), None);
    }

    #[test]
    fn an_expired_session_is_refused() {
        let sessions = Sessions::with_lifetime(Duration::ZERO);
        let (id, _) = sessions.start();
        assert_eq!(sessions.csrf(&id), None);
    }
}
