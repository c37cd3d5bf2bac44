//! The merge logic: mirroring Mosaic's hook records into Claude Code's
//! `settings.json`, and finding what drifted.
//!
//! Everything here is pure (JSON in, JSON out) so it is unit-tested without files.
//! The rules:
//!
//! - Each enabled record is one matcher group of its own under its event:
//!   `{"matcher": …, "hooks": [{"type": "command", "command": …, "timeout": …}]}`.
//! - Mosaic's entries are recognised by their command
//!   ([`crate::hook_command::parse_hook_command`]); everything else — other hooks,
//!   other events, other keys — is never touched, and key order is kept.
//! - Removing a disabled record's entry stores where it was (event key index and
//!   group index) in the record, and enabling puts it back there, so disable →
//!   enable is the identity on `settings.json`. An event array or key that only
//!   held Mosaic's entries goes away with them; the `hooks` object itself stays
//!   (only `uninstall` drops it, and only when Mosaic's removal emptied it).

use serde_json::{json, Map, Value};

use crate::hook_command::{parse_hook_command, MosaicCommand};
use crate::hooks_config::{HookRecord, SettingsPosition};

/// What a [`mirror`] call may change.
#[derive(Debug, Clone, Copy, Default)]
pub struct MirrorOptions<'a> {
    /// Only entries under these events are touched; `None` means every event.
    pub events: Option<&'a [String]>,
    /// Rewrite Mosaic entries that differ from their record, and drop duplicates.
    pub update_existing: bool,
    /// Remove Mosaic entries that no record accounts for.
    pub remove_orphans: bool,
}

/// The `hooks` entry Claude Code runs for `record`.
pub fn expected_hook(record: &HookRecord) -> Value {
    let mut hook = Map::new();
    hook.insert("type".into(), json!("command"));
    hook.insert("command".into(), json!(record.command));
    if let Some(timeout) = record.timeout {
        hook.insert("timeout".into(), json!(timeout));
    }
    Value::Object(hook)
}

/// The matcher group Mosaic writes for `record`.
pub fn expected_group(record: &HookRecord) -> Value {
    let mut group = Map::new();
    if let Some(matcher) = &record.matcher {
        group.insert("matcher".into(), json!(matcher));
    }
    group.insert("hooks".into(), json!([expected_hook(record)]));
    Value::Object(group)
}

/// One Mosaic hook entry found in an event's array.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundEntry {
    /// Index of its matcher group in the event's array.
    pub group_index: usize,
    /// Index of the entry in the group's `hooks`.
    pub hook_index: usize,
    /// What the command calls.
    pub command: MosaicCommand,
}

/// Mosaic's entries in one event's array, in order.
pub fn mosaic_entries(groups: &[Value]) -> Vec<FoundEntry> {
    let mut found = Vec::new();
    for (group_index, group) in groups.iter().enumerate() {
        let Some(hooks) = group.get("hooks").and_then(Value::as_array) else {
            continue;
        };
        for (hook_index, hook) in hooks.iter().enumerate() {
            let command = hook
                .get("command")
                .and_then(Value::as_str)
                .and_then(parse_hook_command);
            if let Some(command) = command {
                found.push(FoundEntry {
                    group_index,
                    hook_index,
                    command,
                });
            }
        }
    }
    found
}

fn event_groups<'a>(settings: &'a Map<String, Value>, event: &str) -> &'a [Value] {
    settings
        .get("hooks")
        .and_then(|hooks| hooks.get(event))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn record_index(records: &[HookRecord], event: &str, hook: &str) -> Option<usize> {
    records
        .iter()
        .position(|record| record.event == event && record.name == hook)
}

/// Makes the entries of Mosaic's hooks in `settings` agree with `records`: enabled
/// records present, disabled ones absent (their place remembered in the record).
pub fn mirror(
    settings: &mut Map<String, Value>,
    records: &mut [HookRecord],
    options: &MirrorOptions<'_>,
) {
    let events: Vec<String> = match options.events {
        Some(events) => events.to_vec(),
        None => {
            let mut events: Vec<String> = Vec::new();
            let from_records = records.iter().map(|record| record.event.clone());
            let from_settings = settings
                .get("hooks")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|hooks| hooks.iter())
                .filter(|(_, groups)| {
                    groups
                        .as_array()
                        .is_some_and(|groups| !mosaic_entries(groups).is_empty())
                })
                .map(|(event, _)| event.clone());
            for event in from_records.chain(from_settings) {
                if !events.contains(&event) {
                    events.push(event);
                }
            }
            events
        }
    };
    // Remove from the last event key to the first, so every remembered key index is
    // the original one, and put back from the first remembered place to the last:
    // then disable -> enable of the same events restores the exact order.
    let key_index = |settings: &Map<String, Value>, event: &str| {
        settings
            .get("hooks")
            .and_then(Value::as_object)
            .and_then(|hooks| hooks.keys().position(|key| key == event))
    };
    let mut removal_order: Vec<(usize, &String)> = events
        .iter()
        .filter_map(|event| key_index(settings, event).map(|index| (index, event)))
        .collect();
    removal_order.sort_by_key(|(index, _)| std::cmp::Reverse(*index));
    for (_, event) in removal_order {
        remove_and_update(settings, records, event, options);
    }
    let mut insertion_order: Vec<(usize, &String)> = events
        .iter()
        .map(|event| {
            let first_place = records
                .iter()
                .filter(|record| record.event == *event && record.enabled)
                .filter_map(|record| record.settings_position)
                .map(|position| position.event_index)
                .min()
                .unwrap_or(usize::MAX);
            (first_place, event)
        })
        .collect();
    insertion_order.sort_by_key(|(place, _)| *place);
    for (_, event) in insertion_order {
        insert_missing(settings, records, event);
    }
}

/// Removes entries of disabled records (remembering their place), duplicates and
/// orphans as `options` allow, and rewrites differing entries when asked.
fn remove_and_update(
    settings: &mut Map<String, Value>,
    records: &mut [HookRecord],
    event: &str,
    options: &MirrorOptions<'_>,
) {
    let Some(hooks) = settings.get_mut("hooks").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(event_index) = hooks.keys().position(|key| key == event) else {
        return;
    };
    let Some(groups) = hooks.get_mut(event).and_then(Value::as_array_mut) else {
        return;
    };
    let mut removals: Vec<(usize, usize)> = Vec::new();
    let mut present: Vec<usize> = Vec::new();
    let mut placed: Vec<usize> = Vec::new();
    for entry in mosaic_entries(groups) {
        let Some(index) = record_index(records, event, &entry.command.hook) else {
            if options.remove_orphans {
                removals.push((entry.group_index, entry.hook_index));
            }
            continue;
        };
        let record = &mut records[index];
        if !record.enabled {
            // Remember the place of the first entry (duplicates are dropped).
            if !placed.contains(&index) {
                placed.push(index);
                record.settings_position = Some(SettingsPosition {
                    event_index,
                    group_index: entry.group_index,
                });
            }
            removals.push((entry.group_index, entry.hook_index));
        } else if present.contains(&index) {
            if options.update_existing {
                removals.push((entry.group_index, entry.hook_index));
            }
        } else {
            present.push(index);
            record.settings_position = None;
            if options.update_existing {
                let group = &mut groups[entry.group_index];
                let alone = group
                    .get("hooks")
                    .and_then(Value::as_array)
                    .is_some_and(|hooks| hooks.len() == 1);
                if alone {
                    *group = expected_group(record);
                } else if let Some(hooks) = group.get_mut("hooks").and_then(Value::as_array_mut) {
                    hooks[entry.hook_index] = expected_hook(record);
                }
            }
        }
    }
    if removals.is_empty() {
        return;
    }
    remove_entries(groups, removals);
    if groups.is_empty() {
        hooks.shift_remove(event);
    }
}

/// Removes the given (group, hook) entries, and groups left without hooks.
fn remove_entries(groups: &mut Vec<Value>, mut removals: Vec<(usize, usize)>) {
    removals.sort_unstable();
    for (group_index, hook_index) in removals.into_iter().rev() {
        let Some(hooks) = groups[group_index]
            .get_mut("hooks")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        hooks.remove(hook_index);
        if hooks.is_empty() {
            groups.remove(group_index);
        }
    }
}

/// Adds the groups of enabled records that have no entry, where they were before
/// they were disabled (or at the end).
fn insert_missing(settings: &mut Map<String, Value>, records: &mut [HookRecord], event: &str) {
    let present: Vec<String> = mosaic_entries(event_groups(settings, event))
        .into_iter()
        .map(|entry| entry.command.hook)
        .collect();
    let mut missing: Vec<usize> = (0..records.len())
        .filter(|&index| {
            let record = &records[index];
            record.event == event && record.enabled && !present.contains(&record.name)
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    // Put back in ascending original order, so earlier insertions do not shift
    // the recorded places of later ones.
    missing.sort_by_key(|&index| {
        records[index]
            .settings_position
            .map_or(usize::MAX, |position| position.group_index)
    });
    let hooks = match settings.get_mut("hooks") {
        Some(Value::Object(hooks)) => hooks,
        Some(other) => {
            // `null` (the only other shape `settings::parse` lets through).
            *other = Value::Object(Map::new());
            other.as_object_mut().expect("just set to an object")
        }
        None => {
            settings.insert("hooks".into(), Value::Object(Map::new()));
            settings["hooks"].as_object_mut().expect("just inserted")
        }
    };
    for index in missing {
        let record = &mut records[index];
        let position = record.settings_position.take();
        if !hooks.contains_key(event) {
            let at = position.map_or(hooks.len(), |position| {
                position.event_index.min(hooks.len())
            });
            hooks.shift_insert(at, event.to_string(), Value::Array(Vec::new()));
        }
        let Some(groups) = hooks.get_mut(event).and_then(Value::as_array_mut) else {
            continue;
        };
        let at = position.map_or(groups.len(), |position| {
            position.group_index.min(groups.len())
        });
        groups.insert(at, expected_group(record));
    }
}

/// Removes every Mosaic entry (recognised by its command) from `settings`, and
/// event arrays and the `hooks` object that this removal left empty.
pub fn remove_all(settings: &mut Map<String, Value>) {
    let Some(hooks) = settings.get_mut("hooks").and_then(Value::as_object_mut) else {
        return;
    };
    let mut emptied: Vec<String> = Vec::new();
    for (event, groups) in hooks.iter_mut() {
        let Some(groups) = groups.as_array_mut() else {
            continue;
        };
        let removals: Vec<(usize, usize)> = mosaic_entries(groups)
            .into_iter()
            .map(|entry| (entry.group_index, entry.hook_index))
            .collect();
        if removals.is_empty() {
            continue;
        }
        remove_entries(groups, removals);
        if groups.is_empty() {
            emptied.push(event.clone());
        }
    }
    if emptied.is_empty() {
        return;
    }
    for event in &emptied {
        hooks.shift_remove(event);
    }
    if hooks.is_empty() {
        settings.shift_remove("hooks");
    }
}

/// How a record's entry in `settings.json` differs from what the record says.
pub fn drift(settings: &Map<String, Value>, record: &HookRecord) -> Vec<String> {
    let groups = event_groups(settings, &record.event);
    let entries: Vec<FoundEntry> = mosaic_entries(groups)
        .into_iter()
        .filter(|entry| entry.command.hook == record.name)
        .collect();
    let mut problems = Vec::new();
    if !record.enabled {
        if !entries.is_empty() {
            problems.push("disabled, but still in settings.json".to_string());
        }
        return problems;
    }
    let Some(entry) = entries.first() else {
        problems.push("enabled, but missing from settings.json (removed by hand?)".to_string());
        return problems;
    };
    if entries.len() > 1 {
        problems.push(format!("in settings.json {} times", entries.len()));
    }
    let group = &groups[entry.group_index];
    let hook = &group["hooks"][entry.hook_index];
    let command = hook
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if command != record.command {
        problems.push(format!("settings.json runs `{command}`"));
    }
    if group.get("matcher").and_then(Value::as_str) != record.matcher.as_deref() {
        problems.push("matcher changed in settings.json".to_string());
    }
    if hook.get("timeout").and_then(Value::as_u64) != record.timeout {
        problems.push("timeout changed in settings.json".to_string());
    }
    if group["hooks"]
        .as_array()
        .is_some_and(|hooks| hooks.len() > 1)
    {
        problems.push("shares a matcher group with other hooks".to_string());
    }
    problems
}

/// Mosaic entries in `settings` that no record accounts for: `(event, command)`.
pub fn orphans(
    settings: &Map<String, Value>,
    records: &[HookRecord],
) -> Vec<(String, MosaicCommand)> {
    let Some(hooks) = settings.get("hooks").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (event, groups) in hooks {
        let Some(groups) = groups.as_array() else {
            continue;
        };
        for entry in mosaic_entries(groups) {
            if record_index(records, event, &entry.command.hook).is_none() {
                found.push((event.clone(), entry.command));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::hooks_config::{default_events, default_hooks};

    fn parse(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    fn text(settings: &Map<String, Value>) -> String {
        serde_json::to_string_pretty(settings).unwrap()
    }

    const FOREIGN: &str = r#"{
        "model": "opus",
        "hooks": {
            "PreToolUse": [
                {"matcher": "Edit", "hooks": [{"type": "command", "command": "lint.sh"}]}
            ],
            "Stop": [
                {"hooks": [{"type": "command", "command": "notify-send done", "timeout": 5}]}
            ],
            "PreCompact": [{"hooks": [{"type": "command", "command": "backup.sh"}]}]
        },
        "permissions": {"allow": ["Bash(ls:*)"]},
        "env": {"B": "2", "A": "1"}
    }"#;

    fn install(settings: &mut Map<String, Value>, records: &mut [HookRecord]) {
        mirror(
            settings,
            records,
            &MirrorOptions {
                events: None,
                update_existing: true,
                remove_orphans: true,
            },
        );
    }

    fn set_enabled(
        settings: &mut Map<String, Value>,
        records: &mut [HookRecord],
        events: &[&str],
        enabled: bool,
    ) {
        let events: Vec<String> = events.iter().map(|event| event.to_string()).collect();
        for record in records.iter_mut() {
            if events.contains(&record.event) {
                record.enabled = enabled;
            }
        }
        mirror(
            settings,
            records,
            &MirrorOptions {
                events: Some(&events),
                ..MirrorOptions::default()
            },
        );
    }

    fn without_mosaic(settings: &Map<String, Value>) -> Map<String, Value> {
        let mut copy = settings.clone();
        remove_all(&mut copy);
        copy
    }

    #[test]
    fn install_keeps_foreign_hooks_keys_and_order() {
        let mut settings = parse(FOREIGN);
        let mut records = default_hooks(Path::new("/opt/bin/mosaic"));
        install(&mut settings, &mut records);
        let keys: Vec<&String> = settings.keys().collect();
        assert_eq!(keys, ["model", "hooks", "permissions", "env"]);
        let env_keys: Vec<&String> = settings["env"].as_object().unwrap().keys().collect();
        assert_eq!(env_keys, ["B", "A"]);
        // The user's hooks stay first in their events; Mosaic's follow.
        let pre = settings["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre[0]["hooks"][0]["command"], "lint.sh");
        assert_eq!(pre[1]["matcher"], "Bash");
        assert_eq!(
            pre[1]["hooks"][0]["command"],
            "/opt/bin/mosaic config hooks run bash-guard || exit 1"
        );
        assert_eq!(
            settings["hooks"]["Stop"][0]["hooks"][0]["command"],
            "notify-send done"
        );
        assert_eq!(
            settings["hooks"]["PreCompact"],
            parse(FOREIGN)["hooks"]["PreCompact"]
        );
        // Taking Mosaic's entries out again gives back exactly the user's file.
        assert_eq!(text(&without_mosaic(&settings)), text(&parse(FOREIGN)));
    }

    #[test]
    fn install_twice_is_the_identity() {
        let mut settings = parse(FOREIGN);
        let mut records = default_hooks(Path::new("/opt/bin/mosaic"));
        install(&mut settings, &mut records);
        let (once, records_once) = (text(&settings), records.clone());
        install(&mut settings, &mut records);
        assert_eq!(text(&settings), once);
        assert_eq!(records, records_once);
    }

    #[test]
    fn disable_then_enable_is_the_identity() {
        for events in [
            vec!["PreToolUse"],
            vec!["SessionStart"],
            vec!["Stop", "PostToolUse"],
            default_events(),
        ] {
            let mut settings = parse(FOREIGN);
            let mut records = default_hooks(Path::new("/opt/bin/mosaic"));
            install(&mut settings, &mut records);
            // A hook the user added after installing, behind Mosaic's in the same event.
            settings["hooks"]["Stop"]
                .as_array_mut()
                .unwrap()
                .push(json!({"hooks": [{"type": "command", "command": "late.sh"}]}));
            let before = text(&settings);
            set_enabled(&mut settings, &mut records, &events, false);
            assert_ne!(text(&settings), before, "{events:?}");
            for event in &events {
                let groups = event_groups(&settings, event);
                assert!(
                    mosaic_entries(groups).is_empty(),
                    "{event} still has Mosaic's entry"
                );
            }
            set_enabled(&mut settings, &mut records, &events, true);
            assert_eq!(text(&settings), before, "{events:?}");
            assert!(records
                .iter()
                .all(|record| record.settings_position.is_none()));
        }
    }

    #[test]
    fn disabling_an_event_only_mosaic_used_removes_its_key_and_enable_restores_its_place() {
        let mut settings = parse(r#"{"hooks": {"A": [], "Z": []}}"#);
        let mut records = default_hooks(Path::new("/m/mosaic"));
        install(&mut settings, &mut records);
        // Move SessionStart between A and Z, as if the user had sorted the file.
        let hooks = settings["hooks"].as_object_mut().unwrap();
        let session = hooks.shift_remove("SessionStart").unwrap();
        hooks.shift_insert(1, "SessionStart".into(), session);
        let before = text(&settings);
        set_enabled(&mut settings, &mut records, &["SessionStart"], false);
        assert!(settings["hooks"].get("SessionStart").is_none());
        set_enabled(&mut settings, &mut records, &["SessionStart"], true);
        assert_eq!(text(&settings), before);
    }

    #[test]
    fn disabling_everything_keeps_an_empty_hooks_object() {
        let mut settings = parse(r#"{"a": 1}"#);
        let mut records = default_hooks(Path::new("/m/mosaic"));
        install(&mut settings, &mut records);
        let before = text(&settings);
        let events: Vec<String> = records.iter().map(|record| record.event.clone()).collect();
        let events: Vec<&str> = events.iter().map(String::as_str).collect();
        set_enabled(&mut settings, &mut records, &events, false);
        assert_eq!(
            Value::Object(settings.clone()),
            json!({"a": 1, "hooks": {}})
        );
        set_enabled(&mut settings, &mut records, &events, true);
        assert_eq!(text(&settings), before);
    }

    #[test]
    fn install_updates_a_moved_binary_in_place_and_drops_orphans_and_duplicates() {
        let mut settings = parse(FOREIGN);
        let mut records = default_hooks(Path::new("/old/mosaic"));
        install(&mut settings, &mut records);
        // A second copy of the guard, and an entry of a hook that no longer exists.
        let pre = settings["hooks"]["PreToolUse"].as_array_mut().unwrap();
        pre.push(pre[1].clone());
        settings["hooks"]["Stop"].as_array_mut().unwrap().push(
            json!({"hooks": [{"type": "command", "command": "/old/mosaic config hooks run retired"}]}),
        );
        let mut records = default_hooks(Path::new("/new/mosaic"));
        install(&mut settings, &mut records);
        let pre = settings["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre.len(), 2);
        assert_eq!(
            pre[1]["hooks"][0]["command"],
            "/new/mosaic config hooks run bash-guard || exit 1"
        );
        assert!(orphans(&settings, &records).is_empty());
        for record in &records {
            assert!(drift(&settings, record).is_empty(), "{record:?}");
        }
    }

    #[test]
    fn remove_all_keeps_foreign_hooks_in_shared_groups() {
        let mut settings = parse(
            r#"{"hooks": {"Stop": [{"hooks": [
                {"type": "command", "command": "/m/mosaic config hooks run activity || exit 1"},
                {"type": "command", "command": "mine.sh"}
            ]}]}}"#,
        );
        remove_all(&mut settings);
        assert_eq!(
            Value::Object(settings),
            json!({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "mine.sh"}]}]}})
        );
    }

    #[test]
    fn remove_all_drops_a_hooks_object_only_mosaic_used() {
        let mut settings = parse(r#"{"a": 1}"#);
        let mut records = default_hooks(Path::new("/m/mosaic"));
        install(&mut settings, &mut records);
        remove_all(&mut settings);
        assert_eq!(Value::Object(settings), json!({"a": 1}));
    }

    #[test]
    fn drift_reports_hand_edits_and_missing_entries() {
        let mut settings = parse("{}");
        let mut records = default_hooks(Path::new("/m/mosaic"));
        install(&mut settings, &mut records);
        let guard = records
            .iter()
            .find(|record| record.name == "bash-guard")
            .unwrap()
            .clone();
        assert!(drift(&settings, &guard).is_empty());
        settings["hooks"]["PreToolUse"][0]["matcher"] = json!("Bash|Edit");
        assert_eq!(
            drift(&settings, &guard),
            ["matcher changed in settings.json"]
        );
        settings["hooks"]
            .as_object_mut()
            .unwrap()
            .shift_remove("PreToolUse");
        assert!(drift(&settings, &guard)[0].contains("missing from settings.json"));
        let mut disabled = guard.clone();
        disabled.enabled = false;
        assert!(drift(&settings, &disabled).is_empty());
    }

    #[test]
    fn foreign_groups_of_unexpected_shape_are_left_alone() {
        let mut settings =
            parse(r#"{"hooks": {"Stop": ["odd", {"hooks": "odd"}, {"hooks": [{"command": 3}]}]}}"#);
        let original = text(&settings);
        let mut records = default_hooks(Path::new("/m/mosaic"));
        install(&mut settings, &mut records);
        remove_all(&mut settings);
        assert_eq!(text(&settings), original);
    }
}
