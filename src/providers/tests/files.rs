//! Every provider file, walked: it loads, names a family that exists (the parse checks),
//! has the fields a user and `inlet trigger` need, and carries a valid and an invalid
//! vector, each of which verifies as the file says. Adding a provider is adding a file;
//! these tests are what hold it to the shape.

use std::collections::BTreeSet;

use super::*;

fn vector_result(spec: &SchemeSpec, v: &Vector) -> Result<(), ErrorKind> {
    let pairs: Vec<(&str, &str)> = v.headers.iter().map(|(k, val)| (k.as_str(), val.as_str())).collect();
    check(
        spec,
        &[v.secret.as_str()],
        &pairs,
        v.body.as_bytes(),
        v.url.as_deref(),
        v.now,
    )
}

#[test]
fn every_provider_file_loads_and_is_named_after_its_file() {
    let r = registry();
    assert!(r.errors.is_empty(), "provider files that do not load: {:?}", r.errors);
    let on_disk: BTreeSet<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/providers"))
        .expect("providers/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".toml").map(str::to_string))
        .collect();
    let built: BTreeSet<String> = r.providers.iter().map(|p| p.name.clone()).collect();
    assert_eq!(on_disk, built, "every file under providers/ is built in");
    assert!(built.len() >= 62, "{} providers", built.len());
}

#[test]
fn every_provider_says_who_it_is_and_where_its_docs_are() {
    for p in &registry().providers {
        assert!(!p.title.trim().is_empty(), "{}: title", p.name);
        assert!(p.docs.starts_with("https://"), "{}: docs must be an https URL", p.name);
        assert!(
            p.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "{}: a scheme name is lowercase letters and digits",
            p.name
        );
    }
}

#[test]
fn every_signed_provider_has_a_valid_and_an_invalid_vector_and_each_verifies_as_stated() {
    for p in &registry().providers {
        if matches!(p.verify, Family::None) {
            continue;
        }
        let spec = SchemeSpec::named(&p.name);
        let mut valid = 0;
        let mut invalid = 0;
        for v in &p.vectors {
            assert!(
                !v.source.trim().is_empty(),
                "{} / {}: cite the vector's source",
                p.name,
                v.name
            );
            let expected = if v.expect == "valid" {
                valid += 1;
                Ok(())
            } else {
                invalid += 1;
                Err(ErrorKind::parse(&v.expect)
                    .unwrap_or_else(|| panic!("{} / {}: unknown KIND {:?}", p.name, v.name, v.expect)))
            };
            assert_eq!(vector_result(&spec, v), expected, "{} / {}", p.name, v.name);
        }
        assert!(valid >= 1, "{}: no valid vector", p.name);
        assert!(invalid >= 1, "{}: no invalid vector", p.name);
    }
}

#[test]
fn every_signed_provider_has_a_sample_event_for_trigger() {
    for p in &registry().providers {
        if matches!(p.verify, Family::None) || p.configurable {
            continue;
        }
        assert!(!p.samples.is_empty(), "{}: no sample event", p.name);
        let mut names = BTreeSet::new();
        for s in &p.samples {
            assert!(names.insert(s.event.as_str()), "{}: sample {} twice", p.name, s.event);
        }
    }
}

#[test]
fn the_contracts_trigger_events_are_all_there() {
    let wanted: &[(&str, &[&str])] = &[
        (
            "stripe",
            &[
                "charge.succeeded",
                "payment_intent.succeeded",
                "invoice.paid",
                "checkout.session.completed",
                "customer.subscription.updated",
            ],
        ),
        ("shopify", &["orders/create", "orders/updated", "products/update"]),
        ("github", &["push", "pull_request.opened", "issues.opened", "ping"]),
        ("slack", &["app_mention", "message"]),
    ];
    for (name, events) in wanted {
        let p = find(name).expect("provider");
        for e in *events {
            assert!(p.samples.iter().any(|s| s.event == *e), "{name}: no sample {e}");
        }
    }
}
