//! `inlet backup` while the gateway takes webhooks: the copy, opened by a fresh gateway,
//! holds every event acked before the backup began; ingest goes on during the backup; a
//! backup never overwrites a file, and a PostgreSQL store is sent to its own tools.

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{Child, eventually, standard_post, write_config};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn source() -> String {
    format!("[sources.shop]\nscheme = \"standard\"\nsecrets = [\"{SECRET}\"]\n")
}

async fn backup(config: &std::path::Path, file: &std::path::Path) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_inlet"));
    cmd.arg("-c").arg(config).arg("backup").arg(file);
    tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("joins")
}

/// Every event id the gateway at `admin` stores, oldest first.
async fn stored_ids(admin: &str) -> Vec<String> {
    let client = reqwest::Client::new();
    let (mut ids, mut after) = (Vec::new(), "0".to_string());
    loop {
        let page: serde_json::Value = client
            .get(format!("{admin}/api/v1/events?after={after}&limit=1000"))
            .send()
            .await
            .expect("answered")
            .json()
            .await
            .expect("JSON");
        for item in page["items"].as_array().expect("items") {
            ids.push(item["id"].as_str().expect("id").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => after = next.to_string(),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn a_backup_under_continuous_ingest_opens_in_a_fresh_gateway_with_every_event_acked_before_it() {
    crate::support::init();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &source());
    let gateway = Child::serve(&config, &[]);
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let ingest = {
        let (acked, stop, base) = (acked.clone(), stop.clone(), gateway.ingest.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let body = format!("{{\"n\":{n}}}");
                let resp = standard_post(&client, &base, "shop", SECRET, body.as_bytes(), &format!("msg_{n}"))
                    .send()
                    .await
                    .expect("answered");
                assert_eq!(resp.status().as_u16(), 200);
                let id = resp.json::<serde_json::Value>().await.expect("JSON")["id"]
                    .as_str()
                    .expect("id")
                    .to_string();
                acked.lock().expect("acked").push(id);
                n += 1;
            }
        })
    };
    eventually("200 acked events", Duration::from_secs(30), async || {
        (acked.lock().expect("acked").len() >= 200).then_some(())
    })
    .await;
    let before: Vec<String> = acked.lock().expect("acked").clone();
    let copy_dir = tempfile::tempdir().expect("tempdir");
    let copy = copy_dir.path().join("inlet.db");
    let out = backup(&config, &copy).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("backed up "));
    let during = acked.lock().expect("acked").len();
    eventually(
        "ingest going on after the backup",
        Duration::from_secs(10),
        async || (acked.lock().expect("acked").len() > during + 20).then_some(()),
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    ingest.await.expect("ingest ran");
    drop(gateway);

    let again = backup(&config, &copy).await;
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let fresh = Child::serve(&write_config(copy_dir.path(), &source()), &[]);
    let stored: HashSet<String> = stored_ids(&fresh.admin).await.into_iter().collect();
    let missing: Vec<&String> = before.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(missing.is_empty(), "acked before the backup, not in it: {missing:?}");
    assert!(stored.len() >= before.len());
}

#[tokio::test]
async fn backup_of_a_postgresql_store_points_to_its_own_tools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("inlet.toml");
    std::fs::write(
        &config,
        "[storage]\nurl = \"postgres://inlet:hunter2@127.0.0.1:1/inlet\"\n",
    )
    .expect("written");
    let out = backup(&config, &dir.path().join("copy.db")).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password stays hidden: {stderr}");
}
