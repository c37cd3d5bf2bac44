#!/usr/bin/env bash
# Build and install mosaic and its plugins.
#
#   scripts/install.sh [--prefix DIR] [--plugins a,b,...|all] [--debug]
#
# Installs PREFIX/bin/mosaic, PREFIX/lib/mosaic/plugins/libmosaic_<name>.so
# (default prefix ~/.local, default all plugins under plugins/) and the plugin SDK
# for `mosaic plugins new`, PREFIX/share/mosaic/sdk/mosaic-plugin-api. Re-running upgrades
# in place: every file is copied to a temporary name in the target directory and
# renamed over the old one, so running mosaic processes (e.g. a gateway) keep their
# mapped copy and never see a half-written library.
set -euo pipefail
# Plugin directories must not be group- or world-writable, or mosaic refuses them.
umask 022

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${HOME}/.local"
plugins_arg="all"
profile="release"

usage() {
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
    echo "install.sh: error: $*" >&2
    exit 1
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) [[ $# -ge 2 ]] || die "--prefix needs a directory"; prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --plugins) [[ $# -ge 2 ]] || die "--plugins needs a list, e.g. --plugins hooks,fleet (or all)"; plugins_arg="$2"; shift 2 ;;
        --plugins=*) plugins_arg="${1#--plugins=}"; shift ;;
        --debug) profile="debug"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (https://rustup.rs) and retry"

# The plugins this checkout provides: every crate directory under plugins/.
available=()
for dir in "$repo_root"/plugins/*/; do
    [[ -f "$dir/Cargo.toml" ]] && available+=("$(basename "$dir")")
done

selected=()
if [[ "$plugins_arg" == "all" ]]; then
    selected=("${available[@]+"${available[@]}"}")
elif [[ -n "$plugins_arg" ]]; then
    IFS=',' read -r -a requested <<< "$plugins_arg"
    for name in "${requested[@]}"; do
        name="${name// /}"
        [[ -z "$name" ]] && continue
        found=0
        for candidate in "${available[@]+"${available[@]}"}"; do
            [[ "$candidate" == "$name" ]] && found=1
        done
        [[ $found -eq 1 ]] || die "unknown plugin '$name' (available: ${available[*]:-none})"
        selected+=("$name")
    done
fi

cargo_args=(build --manifest-path "$repo_root/Cargo.toml" -p mosaic)
for name in "${selected[@]+"${selected[@]}"}"; do
    cargo_args+=(-p "mosaic-$name")
done
[[ "$profile" == "release" ]] && cargo_args+=(--release)

echo "Building mosaic${selected:+ with plugins: ${selected[*]}} ($profile)..." >&2
cargo "${cargo_args[@]}"

target_dir="${CARGO_TARGET_DIR:-$repo_root/target}/$profile"
bin_dir="$prefix/bin"
plugin_dir="$prefix/lib/mosaic/plugins"
mkdir -p "$bin_dir" "$plugin_dir"

# Copy to a temp name in the destination directory, then rename over the target.
install_atomically() {
    local source="$1" destination="$2"
    local temp
    temp="$(mktemp "$(dirname "$destination")/.$(basename "$destination").XXXXXX")"
    cp "$source" "$temp"
    chmod 0755 "$temp"
    sync "$temp" 2>/dev/null || true
    mv -f "$temp" "$destination"
}

install_atomically "$target_dir/mosaic" "$bin_dir/mosaic"
echo "installed $bin_dir/mosaic"
for name in "${selected[@]+"${selected[@]}"}"; do
    library="libmosaic_${name//-/_}.so"
    [[ -f "$target_dir/$library" ]] || die "build produced no $target_dir/$library"
    install_atomically "$target_dir/$library" "$plugin_dir/$library"
    echo "installed $plugin_dir/$library"
done
if [[ ${#selected[@]} -eq 0 ]]; then
    echo "no plugins selected: mosaic has only its built-in commands" >&2
fi

# The plugin SDK, for `mosaic plugins new`: the mosaic-plugin-api crate exactly as
# it would be published (`cargo package`: its own files, workspace settings
# resolved), extracted to PREFIX/share/mosaic/sdk/mosaic-plugin-api. It is
# extracted beside its place and renamed into it, so a plugin build never sees a
# half-extracted SDK. `--touch`: cargo packages files with a fixed old mtime, and a
# plugin's build would then not notice an upgraded SDK.
sdk_root="$prefix/share/mosaic/sdk"
sdk_dir="$sdk_root/mosaic-plugin-api"
api_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo_root/plugin-api/Cargo.toml" | head -1)"
[[ -n "$api_version" ]] || die "cannot read the version of plugin-api/Cargo.toml"
cargo package --manifest-path "$repo_root/Cargo.toml" -p mosaic-plugin-api \
    --allow-dirty --no-verify --quiet
crate_file="${CARGO_TARGET_DIR:-$repo_root/target}/package/mosaic-plugin-api-$api_version.crate"
[[ -f "$crate_file" ]] || die "cargo package produced no $crate_file"
mkdir -p "$sdk_root"
sdk_staging="$(mktemp -d "$sdk_root/.mosaic-plugin-api.new.XXXXXX")"
tar -xzf "$crate_file" -C "$sdk_staging" --strip-components=1 --no-same-owner --touch
chmod 0755 "$sdk_staging"
sdk_old=""
if [[ -e "$sdk_dir" ]]; then
    sdk_old="$(mktemp -d "$sdk_root/.mosaic-plugin-api.old.XXXXXX")"
    mv -T "$sdk_dir" "$sdk_old"
fi
mv -T "$sdk_staging" "$sdk_dir"
[[ -n "$sdk_old" ]] && rm -rf "$sdk_old"
echo "installed $sdk_dir (mosaic-plugin-api $api_version, for mosaic plugins new)"

case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) echo "warning: $bin_dir is not on your PATH; add it, e.g. export PATH=\"$bin_dir:\$PATH\"" >&2 ;;
esac
