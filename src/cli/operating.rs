//! The operating commands, clients of a running gateway's admin API: `destinations` (with
//! `pause NAME` and `resume NAME`), `alerts`, and `rejected` (with `retry`). Tables for
//! people, `--json` for scripts; exit codes as the other admin commands.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

use super::admin::{aligned, block_on, client, text_of};
use super::{AlertsArgs, DestinationsAction, DestinationsArgs, RejectedAction, RejectedArgs};

/// Strings as a table row.
fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|h| h.to_string()).collect()
}

pub fn destinations(config: &Path, args: DestinationsArgs) -> ExitCode {
    let client = match client(config, &args.admin) {
        Ok(c) => c,
        Err(code) => return code,
    };
    block_on(async move {
        let (name, verb) = match &args.action {
            Some(DestinationsAction::Pause { name }) => (name, "pause"),
            Some(DestinationsAction::Resume { name }) => (name, "resume"),
            None => return list_destinations(&client, args.json).await,
        };
        let answer = client
            .post(&format!("/api/v1/destinations/{name}/{verb}"), Value::Null)
            .await?;
        if args.json {
            println!("{answer}");
        } else if answer["paused"] == true {
            println!("{name}: paused; new deliveries wait as pending until `inlet destinations resume {name}`");
        } else {
            println!("{name}: resumed");
        }
        Ok(())
    })
}

async fn list_destinations(client: &super::admin::AdminClient, json: bool) -> Result<(), String> {
    let answer = client.get("/api/v1/destinations").await?;
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    if json {
        println!("{}", Value::Array(items));
        return Ok(());
    }
    let mut rows = vec![header(&[
        "NAME",
        "KIND",
        "STATE",
        "CIRCUIT",
        "PENDING",
        "OLDEST",
        "DELIVERED",
        "DEAD",
        "STALE",
    ])];
    for d in &items {
        let n = |k: &str| text_of(&d["deliveries"][k]);
        let oldest = d["oldest_pending_seconds"]
            .as_f64()
            .map_or("-".to_string(), |s| format!("{s:.0}s"));
        let state = if d["paused"] == true { "paused" } else { "running" };
        rows.push(vec![
            text_of(&d["name"]),
            text_of(&d["kind"]),
            state.to_string(),
            text_of(&d["circuit"]),
            n("pending"),
            oldest,
            n("delivered"),
            n("dead"),
            n("skipped_stale"),
        ]);
    }
    print!("{}", aligned(&rows));
    Ok(())
}

pub fn alerts(config: &Path, args: AlertsArgs) -> ExitCode {
    let client = match client(config, &args.admin) {
        Ok(c) => c,
        Err(code) => return code,
    };
    block_on(async move {
        let path = match &args.state {
            Some(state) => format!("/api/v1/alerts?state={state}"),
            None => "/api/v1/alerts".to_string(),
        };
        let answer = client.get(&path).await?;
        let items = answer["items"].as_array().cloned().unwrap_or_default();
        if args.json {
            println!("{}", Value::Array(items));
            return Ok(());
        }
        let mut rows = vec![header(&["STATE", "KIND", "SUBJECT", "OPENED", "RESOLVED", "DETAIL"])];
        for a in &items {
            rows.push(
                ["state", "kind", "subject", "opened_at", "resolved_at", "detail"]
                    .iter()
                    .map(|k| text_of(&a[*k]))
                    .collect(),
            );
        }
        print!("{}", aligned(&rows));
        Ok(())
    })
}

pub fn rejected(config: &Path, args: RejectedArgs) -> ExitCode {
    let client = match client(config, &args.admin) {
        Ok(c) => c,
        Err(code) => return code,
    };
    block_on(async move {
        match &args.action {
            Some(RejectedAction::Retry { source, since }) => {
                let mut body = json!({});
                if let Some(s) = source {
                    body["source"] = json!(s);
                }
                if let Some(d) = since {
                    body["since"] = json!(d);
                }
                let answer = client.post("/api/v1/rejected/retry", body).await?;
                if args.json {
                    println!("{answer}");
                } else {
                    println!(
                        "retried {}: {} accepted, {} duplicates, {} still rejected",
                        text_of(&answer["retried"]),
                        text_of(&answer["accepted"]),
                        text_of(&answer["duplicates"]),
                        text_of(&answer["still_rejected"])
                    );
                }
                Ok(())
            }
            None => {
                let answer = client.get("/api/v1/rejected").await?;
                let items = answer["items"].as_array().cloned().unwrap_or_default();
                if args.json {
                    println!("{}", Value::Array(items));
                    return Ok(());
                }
                let mut rows = vec![header(&["AT", "SOURCE", "ERROR", "BODY BYTES"])];
                for r in &items {
                    rows.push(
                        ["at", "source", "error", "body_size"]
                            .iter()
                            .map(|k| text_of(&r[*k]))
                            .collect(),
                    );
                }
                print!("{}", aligned(&rows));
                Ok(())
            }
        }
    })
}
