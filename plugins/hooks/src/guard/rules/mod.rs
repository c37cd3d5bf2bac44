//! The guard's rules, one module each, and the ids of the built-in ones.
//!
//! A built-in rule is a function that looks at one command's [`Program`] (and
//! `download-into-shell` also at a whole pipeline); [`crate::guard`] runs the enabled
//! ones. The ids are what `hooks.bash_guard.disabled_rules` names and what the
//! denial reason and the audit log show, so they never change.
//!
//! [`Program`]: crate::guard::Program

pub mod delete_root_or_home;
pub mod download_into_shell;
pub mod extra_rules;
pub mod force_push_protected_branch;
pub mod overwrite_disk_device;

use std::fmt;
use std::str::FromStr;

/// A built-in rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleId {
    /// `delete-root-or-home`: a recursive `rm` of `/`, `~`, `$HOME` (or `*` while
    /// there).
    DeleteRootOrHome,
    /// `force-push-protected-branch`: `git push --force` (or a deletion) of a
    /// protected branch.
    ForcePushProtectedBranch,
    /// `download-into-shell`: a download (`curl`, `wget`, …) piped into or run by
    /// a shell.
    DownloadIntoShell,
    /// `overwrite-disk-device`: `dd`, `mkfs` or `wipefs` writing to a `/dev` device.
    OverwriteDiskDevice,
}

impl RuleId {
    /// Every built-in rule, in the order they are documented.
    pub const ALL: [RuleId; 4] = [
        RuleId::DeleteRootOrHome,
        RuleId::ForcePushProtectedBranch,
        RuleId::DownloadIntoShell,
        RuleId::OverwriteDiskDevice,
    ];

    /// The id as written in `config.json` and shown in denials.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::DeleteRootOrHome => "delete-root-or-home",
            RuleId::ForcePushProtectedBranch => "force-push-protected-branch",
            RuleId::DownloadIntoShell => "download-into-shell",
            RuleId::OverwriteDiskDevice => "overwrite-disk-device",
        }
    }

    /// Every id, comma-separated, for messages.
    pub fn list() -> String {
        RuleId::ALL.map(RuleId::as_str).join(", ")
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A name that is not the id of a built-in rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRule(pub String);

impl fmt::Display for UnknownRule {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "unknown rule `{}` (rules: {})",
            self.0,
            RuleId::list()
        )
    }
}

impl std::error::Error for UnknownRule {}

impl FromStr for RuleId {
    type Err = UnknownRule;

    fn from_str(id: &str) -> Result<Self, UnknownRule> {
        RuleId::ALL
            .into_iter()
            .find(|rule| rule.as_str() == id)
            .ok_or_else(|| UnknownRule(id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_config_names() {
        let names: Vec<&str> = RuleId::ALL.map(RuleId::as_str).to_vec();
        assert_eq!(
            names,
            [
                "delete-root-or-home",
                "force-push-protected-branch",
                "download-into-shell",
                "overwrite-disk-device"
            ]
        );
        for rule in RuleId::ALL {
            assert_eq!(rule.as_str().parse::<RuleId>(), Ok(rule));
        }
        let unknown = "no-such-rule".parse::<RuleId>().unwrap_err().to_string();
        assert_eq!(
            unknown,
            "unknown rule `no-such-rule` (rules: delete-root-or-home, \
             force-push-protected-branch, download-into-shell, overwrite-disk-device)"
        );
    }
}
