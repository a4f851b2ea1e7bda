//! `inlet events list/show`, `inlet replay` and `inlet tail`: the admin API for people
//! (aligned tables, a progress bar) and for scripts (`--json`, exit codes).

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use super::admin::{aligned, block_on, client, text_of};
use super::{EventsAction, EventsArgs, ReplayArgs, TailArgs};

/// How many deliveries one bulk-replay request re-queues.
const REPLAY_CHUNK: usize = 500;

fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

pub fn events(config: &Path, args: EventsArgs) -> ExitCode {
    let client = match client(config, &args.admin) {
        Ok(c) => c,
        Err(code) => return code,
    };
    block_on(async move {
        match args.action {
            EventsAction::List(l) => {
                let mut items: Vec<Value> = Vec::new();
                let mut cursor: Option<String> = None;
                while items.len() < l.limit {
                    let page = (l.limit - items.len()).min(1000).to_string();
                    let q = query(&[
                        ("source", l.source.as_deref()),
                        ("type", l.event_type.as_deref()),
                        ("status", l.status.as_deref()),
                        ("since", l.since.as_deref()),
                        ("limit", Some(&page)),
                        ("cursor", cursor.as_deref()),
                    ]);
                    let answer = client.get(&format!("/api/v1/events?{q}")).await?;
                    items.extend(answer["items"].as_array().cloned().unwrap_or_default());
                    cursor = answer["next_cursor"].as_str().map(str::to_string);
                    if cursor.is_none() {
                        break;
                    }
                }
                if args.json {
                    println!("{}", Value::Array(items));
                } else {
                    let mut rows = vec![
                        ["ID", "SOURCE", "TYPE", "STATUS", "VIA", "RECEIVED"]
                            .map(String::from)
                            .to_vec(),
                    ];
                    rows.extend(items.iter().map(|e| {
                        ["id", "source", "type", "status", "via", "received_at"]
                            .iter()
                            .map(|k| text_of(&e[*k]))
                            .collect()
                    }));
                    print!("{}", aligned(&rows));
                }
                Ok(())
            }
            EventsAction::Show { id } => {
                let e = client.get(&format!("/api/v1/events/{id}")).await?;
                if args.json {
                    println!("{e}");
                    return Ok(());
                }
                for k in crate::http::admin::events::FACTS {
                    println!("{k:<12} {}", text_of(&e[k]));
                }
                let payload = e
                    .get("payload")
                    .or_else(|| e.get("payload_base64"))
                    .cloned()
                    .unwrap_or(Value::Null);
                println!(
                    "payload:\n{}",
                    serde_json::to_string_pretty(&payload).unwrap_or_default()
                );
                for d in e["deliveries"].as_array().cloned().unwrap_or_default() {
                    println!("delivery {} → {}", text_of(&d["destination"]), text_of(&d["status"]));
                    for a in d["attempts"].as_array().cloned().unwrap_or_default() {
                        println!(
                            "  {}  status {}  {} ms  {}",
                            text_of(&a["at"]),
                            text_of(&a["status_code"]),
                            text_of(&a["latency_ms"]),
                            text_of(&a["error"])
                        );
                    }
                }
                Ok(())
            }
        }
    })
}

pub fn replay(config: &Path, args: ReplayArgs) -> ExitCode {
    if args.ids.is_empty() == args.status.is_none() {
        eprintln!("error: give event ids, or --status (e.g. --status dead) for a bulk replay");
        return ExitCode::from(2);
    }
    let client = match client(config, &args.admin) {
        Ok(c) => c,
        Err(code) => return code,
    };
    block_on(async move {
        let mut total = 0u64;
        for id in &args.ids {
            let body = match &args.destination {
                Some(d) => serde_json::json!({ "destination": d }),
                None => serde_json::json!({}),
            };
            let answer = client.post(&format!("/api/v1/events/{id}/replay"), body).await?;
            total += answer["replayed"].as_u64().unwrap_or(0);
        }
        if let Some(status) = &args.status {
            let mut body = serde_json::json!({ "delivery_status": status });
            if let Some(d) = &args.destination {
                body["destination"] = Value::String(d.clone());
            }
            if let Some(s) = &args.since {
                body["since"] = Value::String(s.clone());
            }
            let mut counting = body.clone();
            counting["count"] = Value::Bool(true);
            let matching = client.post("/api/v1/replay", counting).await?["matching"]
                .as_u64()
                .unwrap_or(0);
            let bar = std::io::stderr().is_terminal();
            body["limit"] = Value::from(REPLAY_CHUNK);
            // Bounded by the count taken first: deliveries that die again meanwhile wait.
            while total < matching {
                let n = client.post("/api/v1/replay", body.clone()).await?["replayed"]
                    .as_u64()
                    .unwrap_or(0);
                if n == 0 {
                    break;
                }
                total += n;
                if bar {
                    let done = (total * 30 / matching.max(1)).min(30) as usize;
                    eprint!("\r[{}{}] {total}/{matching}", "#".repeat(done), ".".repeat(30 - done));
                }
            }
            if bar {
                eprintln!();
            }
        }
        println!("replayed {total} deliveries");
        Ok(())
    })
}

pub fn tail(config: &Path, args: TailArgs) -> ExitCode {
    let client = match client(config, &args.admin) {
        Ok(c) => c,
        Err(code) => return code,
    };
    block_on(async move {
        let q = query(&[("source", args.source.as_deref()), ("type", args.event_type.as_deref())]);
        let mut wait = Duration::from_secs(1);
        loop {
            let mut kind = String::new();
            let outcome = client
                .stream(&format!("/api/v1/stream?{q}"), |line| {
                    if let Some(k) = line.strip_prefix("event:") {
                        kind = k.trim().to_string();
                    } else if let Some(data) = line.strip_prefix("data:") {
                        print_item(&kind, data.trim());
                    }
                })
                .await;
            match outcome {
                // Unauthorized or refused: retrying will not help.
                Err(e) if e.contains("(401)") => return Err(e),
                Err(e) => eprintln!("tail: {e}; reconnecting in {}s", wait.as_secs()),
                Ok(()) => eprintln!("tail: the stream ended; reconnecting in {}s", wait.as_secs()),
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(10));
        }
    })
}

fn print_item(kind: &str, data: &str) {
    let Ok(v) = serde_json::from_str::<Value>(data) else {
        return;
    };
    match kind {
        "event" => println!(
            "{}  event     {:<16} {:<28} {}  via {}",
            text_of(&v["received_at"]),
            text_of(&v["source"]),
            text_of(&v["type"]),
            text_of(&v["id"]),
            text_of(&v["via"])
        ),
        "delivery" => println!(
            "{:<24}  delivery  {:<16} {:<28} {}  {} {} ms {}",
            "",
            text_of(&v["destination"]),
            text_of(&v["outcome"]),
            text_of(&v["event"]),
            text_of(&v["status_code"]),
            text_of(&v["latency_ms"]),
            v["error"].as_str().unwrap_or("")
        ),
        "lagged" => eprintln!("tail: {data} items were missed (the terminal was too slow)"),
        _ => {}
    }
}
