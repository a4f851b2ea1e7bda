//! The admin-client commands (`inlet sources`, …): they talk to a running gateway's admin
//! API. The address and token come from `--admin-url` / `--token` (or their environment
//! variables), else from the config file. Exit codes: 0 ok, 1 the API failed, could not be
//! reached or refused the token (the message says which).

use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use super::{AdminArgs, SourcesAction, SourcesArgs};
use crate::config::Settings;

/// A client of one gateway's admin API.
pub struct AdminClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl AdminClient {
    pub fn new(config: &Path, args: &AdminArgs) -> Result<AdminClient, String> {
        let settings = Settings::load(config).ok();
        let base = match (&args.admin_url, &settings) {
            (Some(url), _) => url.clone(),
            (None, Some(s)) => s.admin.listen.to_string(),
            (None, None) => "127.0.0.1:8081".to_string(),
        };
        let base = if base.starts_with("http://") || base.starts_with("https://") {
            base.trim_end_matches('/').to_string()
        } else {
            format!("http://{}", base.trim_end_matches('/'))
        };
        let token = args
            .token
            .clone()
            .or_else(|| settings.and_then(|s| s.admin.token.map(|t| t.expose().to_string())));
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(AdminClient { base, token, http })
    }

    /// The admin API's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A request to `path` carrying the token.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, String> {
        self.send(self.http.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        self.send(request).await
    }

    /// Reads a server-sent-events stream at `path`, calling `line` for each line, until
    /// the server ends it.
    pub async fn stream(&self, path: &str, mut line: impl FnMut(&str)) -> Result<(), String> {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            request = request.bearer_auth(t);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| format!("cannot reach the admin API at {}: {}", self.base, e.without_url()))?;
        if response.status().as_u16() == 401 {
            return Err("the admin API refused the token (401); pass --token or set INLET_ADMIN_TOKEN".into());
        }
        if !response.status().is_success() {
            return Err(format!("the admin API answered {}", response.status().as_u16()));
        }
        let mut pending = String::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.without_url().to_string())? {
            pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = pending.find('\n') {
                let text: String = pending.drain(..=end).collect();
                line(text.trim_end_matches(['\r', '\n']));
            }
        }
        Ok(())
    }

    async fn send(&self, mut request: reqwest::RequestBuilder) -> Result<Value, String> {
        if let Some(t) = &self.token {
            request = request.bearer_auth(t);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("cannot reach the admin API at {}: {}", self.base, e.without_url()))?;
        let status = response.status();
        let bytes = response.bytes().await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let detail = body["detail"].as_str().unwrap_or("").to_string();
        Err(match status.as_u16() {
            401 => format!("the admin API refused the token (401): {detail}; pass --token or set INLET_ADMIN_TOKEN"),
            code => format!("the admin API answered {code}: {detail}"),
        })
    }
}

/// The admin client the config points at, or the exit code after saying why not.
pub fn client(config: &Path, admin: &AdminArgs) -> Result<AdminClient, ExitCode> {
    AdminClient::new(config, admin).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })
}

/// Runs `f` on a small runtime and maps its outcome to an exit code.
pub fn block_on(f: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn sources(config: &Path, args: SourcesArgs) -> ExitCode {
    let client = match client(config, &args.admin) {
        Ok(c) => c,
        Err(code) => return code,
    };
    block_on(async move {
        match args.action {
            Some(SourcesAction::ResetCursor { name }) => {
                let answer = client
                    .post(&format!("/api/v1/sources/{name}/reset-cursor"), Value::Null)
                    .await?;
                if args.json {
                    println!("{answer}");
                } else {
                    println!("{name}: cursor reset; the next run starts from the initial cursor");
                }
                Ok(())
            }
            None => {
                let answer = client.get("/api/v1/sources").await?;
                let items = answer["items"].as_array().cloned().unwrap_or_default();
                if args.json {
                    println!("{}", Value::Array(items));
                } else {
                    print!("{}", sources_table(&items));
                }
                Ok(())
            }
        }
    })
}

/// The sources as an aligned table for people.
pub fn sources_table(items: &[Value]) -> String {
    let header = [
        "NAME",
        "KIND",
        "GROUP",
        "STATUS",
        "CURSOR",
        "REQUESTS",
        "EMPTY",
        "ITEMS",
        "NEW",
        "DUPES",
        "LIMITED",
        "REQ/NEW",
        "RECOVERED",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for s in items {
        let text = |v: &Value| match v {
            Value::Null => "-".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let stat = |k: &str| text(&s["stats"][k]);
        let mut row = vec![text(&s["name"]), text(&s["kind"]), text(&s["dedupe_group"])];
        if s["kind"] == "poll" {
            let ratio = s["stats"]["requests_per_new_event"]
                .as_f64()
                .map_or("-".to_string(), |r| format!("{r:.2}"));
            row.extend([
                text(&s["status"]),
                text(&s["cursor"]),
                stat("requests"),
                stat("empty_polls"),
                stat("items"),
                stat("new_events"),
                stat("duplicates"),
                stat("rate_limited"),
                ratio,
                stat("recovered"),
            ]);
        } else {
            row.extend(std::iter::repeat_n("-".to_string(), header.len() - 3));
        }
        rows.push(row);
    }
    let mut out = aligned(&rows);
    for s in items.iter().filter(|s| !s["last_error"].is_null()) {
        out.push_str(&format!(
            "{}: last error: {}\n",
            text_of(&s["name"]),
            text_of(&s["last_error"])
        ));
    }
    out
}

/// Rows as columns padded to their widest cell, two spaces apart.
pub fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A JSON value as table text: strings as they are, null as "-".
pub fn text_of(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
