//! What every layer's settings share: [`ConfigError`] (the dotted key path and a message
//! that never quotes the value), [`typed`] (serde with that path), and [`check_url`]. Each
//! destination kind parses its own table with these; `config` dispatches and adds the
//! file-level checks.

/// A config error, with the dotted key path it concerns (empty for whole-file errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Deserializes `value`, naming the key path (under `prefix`) and never the value.
pub fn typed<T: serde::de::DeserializeOwned>(value: toml::Value, prefix: &str) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (prefix.is_empty(), inner == ".") {
            (true, _) => inner,
            (false, true) => prefix.to_string(),
            (false, false) => format!("{prefix}.{inner}"),
        };
        let message = e.into_inner().message().to_string();
        // serde names a missing key on its table: name the key itself.
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            let at = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
            return ConfigError::at(at, "is required");
        }
        ConfigError::at(path, without_value(&message))
    })
}

/// What serde calls the kinds of values it did not expect, as they start its message.
const VALUE_KINDS: [&str; 18] = [
    "boolean",
    "integer",
    "floating point",
    "character",
    "string",
    "byte array",
    "unit value",
    "unit variant",
    "newtype struct",
    "newtype variant",
    "tuple variant",
    "struct variant",
    "Option value",
    "sequence",
    "map",
    "enum",
    "date",
    "datetime",
];

/// A serde message without the value it is about: `invalid type: string "hunter2",
/// expected a table` becomes `invalid type: string, expected a table`. Any key may hold a
/// secret (`secrets`, `token`, `headers`, `url`, `env`, `query`), and a misplaced one
/// would otherwise be printed by `inlet check`; the key path says where to look.
pub(crate) fn without_value(message: &str) -> String {
    for lead in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(lead) {
            let expected = rest.rfind(", expected ").map(|i| &rest[i..]).unwrap_or_default();
            let kind = VALUE_KINDS
                .iter()
                .find(|k| rest.starts_with(*k))
                .copied()
                .unwrap_or("value");
            return format!("{lead}{kind}{expected}");
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let expected = rest.rfind(", expected ").map(|i| &rest[i + 2..]).unwrap_or_default();
        return format!("unknown variant; {expected}");
    }
    message.to_string()
}

/// An http(s) URL without its trailing slash.
pub fn check_url(url: &str, path: &str) -> Result<String, ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url.trim_end_matches('/').to_string())
    } else {
        Err(not_http(url, path))
    }
}

/// "not an http:// URL", showing the URL masked (it may carry a password or a key).
pub fn not_http(url: &str, path: &str) -> ConfigError {
    ConfigError::at(
        path,
        format!("{:?} is not an http:// or https:// URL", crate::domain::mask_url(url)),
    )
}
