//! `cloudstart man`: one page per subcommand through the real binary, every required section,
//! true environment and exit-status content, and the usage error for a page that does not exist.

use crate::support::{cloudstart, stderr, stdout};

/// Every page: the subcommand words given to `man`, and the page's `.TH` name.
const PAGES: &[(&[&str], &str)] = &[
    (&[], "CLOUDSTART"),
    (&["start"], "CLOUDSTART-START"),
    (&["stop"], "CLOUDSTART-STOP"),
    (&["wait"], "CLOUDSTART-WAIT"),
    (&["status"], "CLOUDSTART-STATUS"),
    (&["config"], "CLOUDSTART-CONFIG"),
    (&["config", "check"], "CLOUDSTART-CONFIG-CHECK"),
    (&["config", "init"], "CLOUDSTART-CONFIG-INIT"),
    (&["config", "set"], "CLOUDSTART-CONFIG-SET"),
    (&["config", "get"], "CLOUDSTART-CONFIG-GET"),
    (&["sim"], "CLOUDSTART-SIM"),
    (&["demo"], "CLOUDSTART-DEMO"),
    (&["completions"], "CLOUDSTART-COMPLETIONS"),
    (&["man"], "CLOUDSTART-MAN"),
];

const SECTIONS: &[&str] = &[
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "OPTIONS",
    "ENVIRONMENT",
    "FILES",
    "\"EXIT STATUS\"",
    "EXAMPLES",
    "\"SEE ALSO\"",
];

fn page(words: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .arg("man")
        .args(words)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{words:?}: {}",
        stderr(&output)
    );
    stdout(&output)
}

#[test]
fn every_subcommand_has_a_titled_page_with_every_section() {
    for (words, title) in PAGES {
        let text = page(words);
        assert!(text.contains(&format!("\n.TH {title} 1 ")), "{words:?}");
        for section in SECTIONS {
            assert!(
                text.contains(&format!("\n.SH {section}\n")),
                "{title}: no {section}"
            );
        }
    }
}

#[test]
fn the_tool_page_lists_and_names_every_subcommand_page() {
    let text = page(&[]);
    for (_, title) in &PAGES[1..] {
        let name = title.to_lowercase().replace('-', "\\-");
        assert!(text.contains(&format!("{name}(1)")), "{name}");
    }
    assert!(!text.contains("cloudstart\\-help"), "{text}");
}

#[test]
fn start_page_names_real_variables_files_and_exit_codes() {
    let text = page(&["start"]);
    for var in [
        "TENCENTCLOUD_SECRET_ID",
        "QY_ACCESS_KEY_ID",
        "CLOUDSTART_HEARTBEAT",
        "HTTPS_PROXY",
    ] {
        assert!(text.contains(&format!("\\fB{var}\\fR")), "{var}");
    }
    assert!(
        text.contains("\\fB3\\fR\ncredentials missing or rejected"),
        "{text}"
    );
    assert!(text.contains("\\fB130\\fR\ninterrupted"), "{text}");
    assert!(text.contains("~/.tccli/<profile>.credential"), "{text}");
    assert!(text.contains("cloudstart/config.toml"), "{text}");
    assert!(text.contains("cloudstart start \\-\\-dry\\-run"), "{text}");
}

#[test]
fn pages_list_only_what_their_subcommand_reads() {
    let completions = page(&["completions"]);
    assert!(!completions.contains("TENCENTCLOUD_SECRET_ID"));
    assert!(completions.contains("RUST_LOG"));
    assert!(!completions.contains("\\fB3\\fR"));
    let check = page(&["config", "check"]);
    assert!(check.contains("TENCENTCLOUD_SECRET_ID"));
    assert!(!check.contains("CLOUDSTART_HEARTBEAT"));
    assert!(check.contains("\\fB3\\fR\ncredentials missing"));
    assert!(
        check.contains("cloudstart\\-config(1)"),
        "SEE ALSO names the parent"
    );
}

#[test]
fn a_nested_page_answers_to_its_words_or_its_name() {
    assert_eq!(page(&["config", "check"]), page(&["config-check"]));
}

#[test]
fn unknown_page_is_a_usage_error_naming_the_pages() {
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .args(["man", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    let err = stderr(&output);
    assert!(err.contains("no man page for `nosuch`"), "{err}");
    assert!(
        err.contains("start, stop, wait, status, config, config check"),
        "{err}"
    );
}

#[test]
fn out_dir_gets_every_page_and_nothing_is_printed() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("man1");
    let output = cloudstart(home.path())
        .args(["man", "--out-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    let mut written: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut expected: Vec<String> = PAGES
        .iter()
        .map(|(_, title)| format!("{}.1", title.to_lowercase()))
        .collect();
    expected.sort();
    assert_eq!(written, expected);
    let start = std::fs::read_to_string(dir.join("cloudstart-start.1")).unwrap();
    assert_eq!(start, page(&["start"]));
    let conflict = cloudstart(home.path())
        .args(["man", "start", "--out-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(conflict.status.code(), Some(2));
}

#[test]
fn out_dir_replaces_a_planted_symlink_and_leaves_its_target_alone() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("man1");
    std::fs::create_dir(&dir).unwrap();
    let target = home.path().join("precious");
    std::fs::write(&target, "keep me\n").unwrap();
    std::os::unix::fs::symlink(&target, dir.join("cloudstart-start.1")).unwrap();
    let output = cloudstart(home.path())
        .args(["man", "--out-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    let placed = std::fs::symlink_metadata(dir.join("cloudstart-start.1")).unwrap();
    assert!(placed.is_file(), "the link was not replaced by the page");
    let start = std::fs::read_to_string(dir.join("cloudstart-start.1")).unwrap();
    assert_eq!(start, page(&["start"]));
    // No temporary file is left behind.
    let count = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(count, PAGES.len());
}

#[test]
fn out_dir_refuses_a_fifo_or_a_directory_at_a_page_path_without_blocking() {
    for planted in ["fifo", "directory"] {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("man1");
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("cloudstart-stop.1");
        if planted == "fifo" {
            let made = std::process::Command::new("mkfifo")
                .arg(&path)
                .status()
                .unwrap();
            assert!(made.success());
        } else {
            std::fs::create_dir(&path).unwrap();
        }
        // A writer that opened the FIFO would wait for a reader forever: the timeout kills it.
        let output = cloudstart(home.path())
            .args(["man", "--out-dir"])
            .arg(&dir)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{planted}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("cloudstart-stop.1"),
            "{planted}: {}",
            stderr(&output)
        );
        // Refused before anything was written: only what was planted is there.
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "{planted}: {left:?}");
    }
}

/// Where groff is installed, every page formats without a warning.
#[test]
fn pages_format_cleanly_under_groff() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    if Command::new("groff").arg("--version").output().is_err() {
        return;
    }
    for (words, title) in PAGES {
        let mut groff = Command::new("groff")
            .args(["-man", "-Tascii", "-z"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        groff
            .stdin
            .take()
            .unwrap()
            .write_all(page(words).as_bytes())
            .unwrap();
        let output = groff.wait_with_output().unwrap();
        assert!(output.status.success(), "{title}");
        assert_eq!(stderr(&output), "", "{title}");
    }
}
