//! Exports the target triple the host is built for as `MOSAIC_TARGET`, so plugin
//! distribution can pick the release of a plugin built for this platform.

fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=MOSAIC_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
