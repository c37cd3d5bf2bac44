//! Property test of `sdk::config`: any sequence of set/unset/get operations on
//! arbitrary keys and values, through `config::update` and `config::update_sections`
//! on a real file, keeps the file valid JSON; every operation either succeeds or
//! fails leaving the file byte for byte as it was; the readable content always equals
//! a simple model of the successful operations; a section too deep to parse is kept
//! byte for byte; and nothing panics, whatever the key.

use std::path::Path;

use mosaic_plugin_api::sdk::config;
use proptest::prelude::*;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

/// One operation of a sequence.
#[derive(Debug, Clone)]
enum Operation {
    /// `set KEY VALUE`, through `update` (all sections) or `update_sections` (KEY's).
    Set {
        key: String,
        value: Value,
        whole_file: bool,
    },
    /// `unset KEY`, likewise.
    Unset { key: String, whole_file: bool },
    /// `get KEY` from what `load_sections` returns.
    Get { key: String },
}

fn key_strategy() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("gateway".to_string()),
        Just("port".to_string()),
        Just("x-1".to_string()),
        Just("keep".to_string()),
    ];
    prop_oneof![
        // Plausible keys that collide with each other (and with the seed).
        6 => prop::collection::vec(word, 1..5).prop_map(|parts| parts.join(".")),
        // Anything at all.
        2 => any::<String>(),
        1 => "[a-z.]{0,12}",
        // Too many parts, or too long.
        1 => (9usize..140).prop_map(|parts| vec!["a"; parts].join(".")),
        1 => (100usize..200).prop_map(|length| format!("a.{}", "b".repeat(length))),
    ]
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,8}".prop_map(Value::from),
    ];
    let nested = leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    });
    prop_oneof![
        8 => nested,
        // Deeper than `set` accepts, up to deeper than the parser reads.
        1 => (33usize..200).prop_map(|depth| {
            (0..depth).fold(json!(1), |inner, _| Value::Array(vec![inner]))
        }),
    ]
}

fn operation_strategy() -> impl Strategy<Value = Operation> {
    prop_oneof![
        5 => (key_strategy(), value_strategy(), any::<bool>())
            .prop_map(|(key, value, whole_file)| Operation::Set { key, value, whole_file }),
        3 => (key_strategy(), any::<bool>())
            .prop_map(|(key, whole_file)| Operation::Unset { key, whole_file }),
        2 => key_strategy().prop_map(|key| Operation::Get { key }),
    ]
}

/// The model's set: walk the dotted parts, creating objects; `false` (and no
/// change) where a part on the way is not an object.
fn model_set(root: &mut Value, key: &str, value: Value) -> bool {
    let parts: Vec<&str> = key.split('.').collect();
    let mut probe = &*root;
    for part in &parts[..parts.len() - 1] {
        match probe.get(*part) {
            Some(next @ Value::Object(_)) => probe = next,
            Some(_) => return false,
            None => break,
        }
    }
    let mut current = root;
    for part in &parts[..parts.len() - 1] {
        current = current
            .as_object_mut()
            .unwrap()
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    current
        .as_object_mut()
        .unwrap()
        .insert(parts[parts.len() - 1].to_string(), value);
    true
}

fn model_unset(root: &mut Value, key: &str) {
    let parts: Vec<&str> = key.split('.').collect();
    let mut current = root;
    for part in &parts[..parts.len() - 1] {
        match current.get_mut(*part) {
            Some(next) => current = next,
            None => return,
        }
    }
    if let Some(map) = current.as_object_mut() {
        map.remove(parts[parts.len() - 1]);
    }
}

fn model_get<'a>(root: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.')
        .try_fold(root, |value, part| value.as_object()?.get(part))
}

/// The section a key writes (its first dotted part).
fn section_of(key: &str) -> &str {
    key.split('.').next().unwrap_or(key)
}

/// 200 levels of arrays: valid JSON no parser with a recursion limit reads.
fn deep_junk() -> String {
    format!("{}{}", "[".repeat(200), "]".repeat(200))
}

fn read(dir: &Path) -> String {
    std::fs::read_to_string(config::config_path(dir)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_keeps_the_file_valid_and_untouched_keys_intact(
        seed in prop::collection::btree_map("[a-c]", value_strategy(), 0..3),
        operations in prop::collection::vec(operation_strategy(), 1..16),
    ) {
        let dir = tempfile::tempdir().unwrap();
        // The seed: a `keep` section the operations may touch, and a `junk` section
        // too deep to parse that they never name.
        let keep = Value::Object(seed.into_iter().collect());
        let keep = if config::value_depth(&keep) > config::MAX_VALUE_DEPTH {
            json!({})
        } else {
            keep
        };
        let junk = deep_junk();
        std::fs::write(
            config::config_path(dir.path()),
            format!("{{\"keep\": {keep}, \"junk\": {junk}}}"),
        )
        .unwrap();
        let mut model = json!({ "keep": keep.clone() });
        let mut touched: Vec<String> = Vec::new();

        for operation in &operations {
            let before = read(dir.path());
            let outcome = match operation {
                Operation::Set { key, value, whole_file } => {
                    let change = |root: &mut Value| config::set(root, key, value.clone());
                    let result = if *whole_file {
                        config::update(dir.path(), change)
                    } else {
                        config::update_sections(dir.path(), &[section_of(key)], change)
                    };
                    if result.is_ok() {
                        touched.push(key.clone());
                        prop_assert!(
                            model_set(&mut model, key, value.clone()),
                            "set {key} succeeded where the model refuses it"
                        );
                    }
                    result.map(|_| ())
                }
                Operation::Unset { key, whole_file } => {
                    let change = |root: &mut Value| config::unset(root, key);
                    let result = if *whole_file {
                        config::update(dir.path(), change)
                    } else {
                        config::update_sections(dir.path(), &[section_of(key)], change)
                    };
                    if let Ok(was_there) = &result {
                        touched.push(key.clone());
                        prop_assert_eq!(*was_there, model_get(&model, key).is_some());
                        model_unset(&mut model, key);
                    }
                    result.map(|_| ())
                }
                Operation::Get { key } => {
                    let root = config::load_sections(dir.path(), &[section_of(key)]).unwrap();
                    prop_assert_eq!(config::get(&root, key), model_get(&model, key));
                    Ok(())
                }
            };
            let after = read(dir.path());
            if outcome.is_err() {
                prop_assert_eq!(&after, &before, "a failed {:?} changed the file", operation);
            }
            // Valid JSON (syntax; the junk section is too deep for a full parse).
            prop_assert!(serde_json::from_str::<Box<RawValue>>(&after).is_ok(), "{}", after);
            let (readable, unreadable) = config::load_readable(dir.path()).unwrap();
            prop_assert_eq!(&readable, &model);
            prop_assert_eq!(unreadable.len(), 1);
            prop_assert_eq!(&unreadable[0].name, "junk");
            prop_assert!(after.contains(&format!("\"junk\": {junk}")), "junk was rewritten");
        }

        // Every leaf of the seed whose path no operation touched keeps its value.
        let (readable, _) = config::load_readable(dir.path()).unwrap();
        if let Value::Object(seeded) = &keep {
            for (name, value) in seeded {
                let path = format!("keep.{name}");
                let related = touched.iter().any(|key| {
                    key == "keep"
                        || key.starts_with(&format!("{path}."))
                        || *key == path
                });
                if !related {
                    prop_assert_eq!(config::get(&readable, &path), Some(value));
                }
            }
        }
    }
}
