//! Property test of the settings.json merge, through the functions the commands run
//! (`install`, `set_enabled`, `uninstall` on a real Claude home in a temp dir):
//! whatever the user's settings.json holds, any sequence of install / enable /
//! disable / uninstall keeps every user key and user hook exactly as it was, and
//! after uninstall the file is exactly the user's original.

use std::path::Path;

use mosaic_hooks::commands::install::{install, InstallOptions};
use mosaic_hooks::commands::switch::{set_enabled, Selection, SwitchOptions};
use mosaic_hooks::commands::uninstall::uninstall;
use mosaic_hooks::hook_command::parse_hook_command;
use mosaic_hooks::hooks_config::default_events;
use mosaic_hooks::paths::ClaudePaths;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone)]
enum Operation {
    Install { force: bool },
    Enable(Option<Vec<String>>),
    Disable(Option<Vec<String>>),
    Uninstall,
}

fn event_name() -> impl Strategy<Value = String> {
    let known: Vec<String> = default_events().into_iter().map(str::to_string).collect();
    prop_oneof![
        3 => prop::sample::select(known),
        1 => prop::sample::select(vec!["Notification", "PreCompact", "SubagentStop"])
            .prop_map(str::to_string),
        1 => "[A-Za-z]{1,8}",
    ]
}

fn operation() -> impl Strategy<Value = Operation> {
    let selection = prop::option::of(prop::collection::vec(event_name(), 1..3)).boxed();
    prop_oneof![
        any::<bool>().prop_map(|force| Operation::Install { force }),
        selection.clone().prop_map(Operation::Enable),
        selection.prop_map(Operation::Disable),
        Just(Operation::Uninstall),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-z /.:|-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z_]{1,6}", inner), 0..3)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// A hook of the user's own (never one Mosaic would recognise as its own).
fn user_hook() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            "[a-z/._-]{1,12}( [a-z-]{1,6}){0,3}",
            Just("mosaic config hooks list".to_string()),
            Just("/usr/bin/mosaic fleet ps".to_string()),
            Just("~/bin/mine.sh || exit 1".to_string()),
        ],
        prop::option::of(1u32..600),
        prop::option::of(any_json()),
    )
        .prop_map(|(command, timeout, extra)| {
            let mut hook = json!({"type": "command", "command": command});
            if let Some(timeout) = timeout {
                hook["timeout"] = json!(timeout);
            }
            if let Some(extra) = extra {
                hook["x_user"] = extra;
            }
            hook
        })
}

fn user_group() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (
            prop::option::of(prop::sample::select(vec!["Bash", "Edit|Write", "*", ""])),
            prop::collection::vec(user_hook(), 0..3),
        )
            .prop_map(|(matcher, hooks)| {
                let mut group = Map::new();
                if let Some(matcher) = matcher {
                    group.insert("matcher".into(), json!(matcher));
                }
                group.insert("hooks".into(), Value::Array(hooks));
                Value::Object(group)
            }),
        1 => any_json(),
    ]
}

/// A user's settings.json: other keys anywhere, maybe a `hooks` object with the
/// user's own groups under known and unknown events.
fn user_settings() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::collection::vec(("[a-zA-Z_]{1,10}", any_json()), 0..4),
        prop::option::of(prop::collection::vec(
            (event_name(), prop::collection::vec(user_group(), 0..3)),
            0..4,
        )),
        prop::collection::vec(("[a-zA-Z_]{1,10}", any_json()), 0..2),
    )
        .prop_map(|(before, hooks, after)| {
            let mut settings = Map::new();
            for (key, value) in before {
                settings.insert(key, value);
            }
            if let Some(events) = hooks {
                let events: Map<String, Value> = events
                    .into_iter()
                    .map(|(event, groups)| (event, Value::Array(groups)))
                    .collect();
                settings.insert("hooks".into(), Value::Object(events));
            }
            for (key, value) in after {
                settings.entry(key).or_insert(value);
            }
            settings
        })
}

fn is_mosaic_hook(hook: &Value) -> bool {
    hook.get("command")
        .and_then(Value::as_str)
        .and_then(parse_hook_command)
        .is_some()
}

/// `settings` without Mosaic's groups, and without the event arrays and `hooks`
/// object that held nothing but them (those Mosaic added).
fn user_part(settings: &Map<String, Value>, original: &Map<String, Value>) -> Map<String, Value> {
    let mut user = settings.clone();
    if let Some(hooks) = user.get_mut("hooks").and_then(Value::as_object_mut) {
        let original_events = original.get("hooks").and_then(Value::as_object);
        hooks.retain(|event, groups| {
            if let Some(groups) = groups.as_array_mut() {
                groups.retain(|group| {
                    let hooks = group.get("hooks").and_then(Value::as_array);
                    !hooks
                        .is_some_and(|hooks| !hooks.is_empty() && hooks.iter().all(is_mosaic_hook))
                });
                !groups.is_empty()
                    || original_events.is_some_and(|events| events.contains_key(event))
            } else {
                true
            }
        });
        if hooks.is_empty() && !original.contains_key("hooks") {
            user.shift_remove("hooks");
        }
    }
    user
}

/// The keys of `map` in order, as JSON text (so that key order counts).
///
/// An empty event array or `hooks` object counts as absent: Mosaic's removal drops
/// the containers it emptied and cannot tell one the user had left empty before
/// Mosaic's entries went in (Claude Code reads both the same way).
fn ordered(map: &Map<String, Value>) -> String {
    let mut map = map.clone();
    if let Some(hooks) = map.get_mut("hooks").and_then(Value::as_object_mut) {
        hooks.retain(|_, groups| groups.as_array().is_none_or(|groups| !groups.is_empty()));
        if hooks.is_empty() {
            map.shift_remove("hooks");
        }
    }
    serde_json::to_string(&map).unwrap()
}

fn run(paths: &ClaudePaths, operation: &Operation) -> bool {
    let selection = |events: &Option<Vec<String>>| match events {
        Some(events) => Selection::Events(events.clone()),
        None => Selection::All,
    };
    let outcome = match operation {
        Operation::Install { force } => install(
            paths,
            &InstallOptions {
                force: *force,
                binary: Path::new("/opt/mosaic/bin/mosaic").to_path_buf(),
            },
        )
        .map(drop),
        Operation::Enable(events) => set_enabled(
            paths,
            &SwitchOptions {
                selection: selection(events),
                enabled: true,
            },
        )
        .map(drop),
        Operation::Disable(events) => set_enabled(
            paths,
            &SwitchOptions {
                selection: selection(events),
                enabled: false,
            },
        )
        .map(drop),
        Operation::Uninstall => uninstall(paths).map(drop),
    };
    outcome.is_ok()
}

fn read_settings(paths: &ClaudePaths) -> Map<String, Value> {
    let text = std::fs::read_to_string(&paths.settings).unwrap();
    serde_json::from_str(&text).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn user_keys_and_hooks_survive_every_sequence(
        original in user_settings(),
        operations in prop::collection::vec(operation(), 1..7),
    ) {
        let home = tempfile::tempdir().unwrap();
        let paths = ClaudePaths::new(home.path());
        std::fs::write(&paths.settings, serde_json::to_string_pretty(&original).unwrap()).unwrap();
        let mut installed = false;
        for operation in &operations {
            let before = std::fs::read_to_string(&paths.settings).unwrap();
            let ok = run(&paths, operation);
            let settings = read_settings(&paths);
            if !ok {
                // A refused command changes nothing.
                prop_assert_eq!(std::fs::read_to_string(&paths.settings).unwrap(), before);
            }
            prop_assert_eq!(
                ordered(&user_part(&settings, &original)),
                ordered(&original),
                "after {:?}", operation
            );
            match operation {
                Operation::Install { .. } if ok => installed = true,
                Operation::Uninstall if ok => {
                    installed = false;
                    prop_assert_eq!(ordered(&settings), ordered(&original), "after uninstall");
                    prop_assert!(!paths.hooks_config.exists());
                }
                _ => {}
            }
        }
        if installed {
            prop_assert!(run(&paths, &Operation::Uninstall));
            prop_assert_eq!(ordered(&read_settings(&paths)), ordered(&original), "final uninstall");
        }
    }
}
