//! URLs as they may be shown (`inlet check`, the admin API, config errors): a userinfo
//! password becomes `***`, and so does the value of every query parameter whose name looks
//! secret (`*key*`, `*token*`, `*secret*`, `*auth*`, `*signature*`, `*pass*`, `sig`, `code`…).
//! The one place that decides what of a URL is fit to print.

/// Parts of a query parameter's name that make its value a secret (lowercase).
const SECRET_PARTS: [&str; 8] = [
    "key",
    "token",
    "secret",
    "auth",
    "signature",
    "pass",
    "credential",
    "session",
];

/// Whole names that make a query parameter's value a secret (lowercase).
const SECRET_NAMES: [&str; 4] = ["sig", "code", "jwt", "hmac"];

/// Whether a query parameter named `name` carries a secret.
pub fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.contains(&name.as_str()) || SECRET_PARTS.iter().any(|part| name.contains(part))
}

/// `url` fit to print: `user:***@`, secret-looking query values as `***`, no fragment.
/// Text that is not a URL shows only its scheme (it may be a mistyped credential).
pub fn mask_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return match url.split_once("://") {
            Some((scheme, _)) if scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) => {
                format!("{scheme}://***")
            }
            _ => "***".to_string(),
        };
    };
    if parsed.password().is_some() {
        // Only fails for URLs that cannot have a userinfo, which then has no password.
        let _ = parsed.set_password(Some("***"));
    }
    parsed.set_fragment(None);
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if is_secret_param(&k) {
                "***".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if pairs.is_empty() {
        return parsed.to_string();
    }
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_and_secret_looking_query_values_are_masked() {
        assert_eq!(
            mask_url("https://user:PASSWORD@api.example.com/x?api_key=SECRET&limit=10&access_token=T&sig=S"),
            "https://user:***@api.example.com/x?api_key=***&limit=10&access_token=***&sig=***"
        );
    }

    #[test]
    fn a_url_without_credentials_is_unchanged() {
        assert_eq!(
            mask_url("https://api.example.com/v1/items"),
            "https://api.example.com/v1/items"
        );
        assert_eq!(
            mask_url("https://api.example.com/v1/items?page=2"),
            "https://api.example.com/v1/items?page=2"
        );
        assert_eq!(mask_url("nats://user@127.0.0.1:4222"), "nats://user@127.0.0.1:4222");
    }

    #[test]
    fn names_are_matched_without_case_and_by_part() {
        for name in [
            "API_KEY",
            "apikey",
            "X-Auth",
            "authorization",
            "Password",
            "client_secret",
            "code",
            "SIG",
        ] {
            assert!(is_secret_param(name), "{name}");
        }
        for name in ["page", "limit", "updated_after", "signal", "codec"] {
            assert!(!is_secret_param(name), "{name}");
        }
    }

    #[test]
    fn text_that_is_not_a_url_shows_only_its_scheme() {
        assert_eq!(mask_url("postgres://u:p@[bad"), "postgres://***");
        assert_eq!(mask_url("not a url with secret"), "***");
    }

    #[test]
    fn a_postgres_url_keeps_its_user_host_and_database() {
        assert_eq!(
            mask_url("postgres://inlet:hunter2@db.internal:5432/inlet"),
            "postgres://inlet:***@db.internal:5432/inlet"
        );
    }
}
