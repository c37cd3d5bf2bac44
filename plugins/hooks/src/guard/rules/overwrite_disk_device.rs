//! `overwrite-disk-device`: `dd of=/dev/…`, and `mkfs…`, `mke2fs` or `wipefs` on a
//! `/dev/…` device (not the harmless ones: `/dev/null`, `/dev/zero`, …).

use crate::guard::{Denial, GuardSettings, Program, RuleId, Situation};

/// Blocks a command that would write over a disk device.
pub fn check(
    program: &Program<'_>,
    _settings: &GuardSettings,
    _situation: &Situation,
) -> Option<Denial> {
    let is_device = |path: &str| {
        path.strip_prefix("/dev/").is_some_and(|device| {
            !matches!(
                device,
                "null" | "zero" | "stdout" | "stderr" | "tty" | "full" | "random" | "urandom"
            ) && !device.starts_with("fd/")
        })
    };
    let name = program.name;
    let arguments = program.arguments;
    let device = match name {
        "dd" => arguments
            .iter()
            .filter_map(|word| word.text.strip_prefix("of="))
            .find(|path| is_device(path)),
        "wipefs" | "mke2fs" => arguments
            .iter()
            .map(|word| word.text.as_str())
            .find(|path| is_device(path)),
        _ if name.starts_with("mkfs") => arguments
            .iter()
            .map(|word| word.text.as_str())
            .find(|path| is_device(path)),
        _ => None,
    }?;
    Some(Denial::builtin(
        RuleId::OverwriteDiskDevice,
        format!("`{name}` would overwrite the device {device}"),
    ))
}

#[cfg(test)]
mod tests {
    use crate::guard::test_support::rule_of;
    use crate::guard::RuleId;

    #[test]
    fn blocks_writes_to_disk_devices() {
        assert_eq!(
            rule_of("dd if=x.img of=/dev/sda bs=4M").as_deref(),
            Some(RuleId::OverwriteDiskDevice.as_str())
        );
        assert_eq!(
            rule_of("sudo mkfs.ext4 /dev/nvme0n1p1").as_deref(),
            Some(RuleId::OverwriteDiskDevice.as_str())
        );
        assert_eq!(rule_of("dd if=/dev/zero of=/dev/null count=1"), None);
        assert_eq!(rule_of("mkfs.ext4 disk.img"), None);
    }
}
