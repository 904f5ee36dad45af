//! Repository hygiene, checked with the tests: every Rust file says what it is for, no
//! leftover debugging or stubs outside tests, migrations numbered without gaps.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("target") {
                rust_files(&path, found);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_comment() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates"), &mut files);
    assert!(files.len() > 20, "found the sources");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} must start with a //! comment", file.display());
    }
}

#[test]
fn no_stubs_or_debug_output_outside_tests() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates"), &mut files);
    let banned = [concat!("todo", "!("), concat!("unimplemented", "!("), concat!("dbg", "!(")];
    for file in files.iter().filter(|f| !f.components().any(|c| c.as_os_str() == "tests")) {
        let text = std::fs::read_to_string(file).unwrap();
        for word in banned {
            assert!(!text.contains(word), "{} contains {word}", file.display());
        }
    }
}

#[test]
fn migrations_are_numbered_without_gaps() {
    for dialect in ["sqlite", "postgres"] {
        let dir = workspace().join("crates/ebb-store/migrations").join(dialect);
        let mut numbers: Vec<u32> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .map(|name| name.split('_').next().unwrap().parse().unwrap_or_else(|_| panic!("{name} is not numbered")))
            .collect();
        numbers.sort();
        assert_eq!(numbers, (1..=numbers.len() as u32).collect::<Vec<_>>(), "{dialect}");
    }
}
