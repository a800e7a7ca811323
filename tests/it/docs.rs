//! README.md and the man pages say the same thing where they show the same example: the list of
//! every man page's EXAMPLES in README must be the pages' own (each page's commands, in order),
//! and every `cloudstart` command in the pages and in README's `sh` blocks must parse with the
//! real command line ([`Cli`]), so neither side can change, or drift from the flags, alone.

use std::collections::BTreeMap;
use std::path::Path;

use clap::Parser;
use cloudstart::cli::Cli;

use crate::support::{cloudstart, stderr};

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The man pages as the binary writes them: page name (`cloudstart-start`) → its roff.
fn pages() -> BTreeMap<String, String> {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("man1");
    let output = cloudstart(home.path())
        .args(["man", "--out-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    (std::fs::read_dir(&dir).unwrap())
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// The commands of a page's EXAMPLES (its bold lines), roff escapes undone.
fn examples(roff: &str) -> Vec<String> {
    let section = roff
        .split_once("\n.SH EXAMPLES\n")
        .map(|(_, rest)| rest.split("\n.SH ").next().unwrap())
        .expect("an EXAMPLES section");
    (section.lines())
        .filter_map(|line| line.strip_prefix("\\fB")?.strip_suffix("\\fR"))
        .map(|command| {
            (command.replace("\\-", "-"))
                .replace("\\*(Aq", "'")
                .replace("\\(aq", "'")
                .replace("\\\\", "\\")
        })
        .collect()
}

/// The fenced ```sh blocks of `text`, each as its lines.
fn sh_blocks(text: &str) -> Vec<Vec<&str>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    blocks
}

/// README's list of the man pages' examples: page name → its commands, in order. A heading
/// line names the page or pages (`# cloudstart-config(1), cloudstart-config-check(1)`) whose
/// EXAMPLES the commands below it are.
fn readme_examples(readme: &str) -> BTreeMap<String, Vec<String>> {
    let marker = "Every man page's EXAMPLES, page by page";
    let after = &readme[readme
        .find(marker)
        .expect("README's list of the man pages' examples")..];
    let block = sh_blocks(after).into_iter().next().expect("a sh block");
    let mut listed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut heading: Vec<String> = Vec::new();
    for line in block {
        if let Some(names) = line.strip_prefix("# ") {
            heading = (names.split(", "))
                .map(|name| name.trim().trim_end_matches("(1)").to_string())
                .collect();
            for name in &heading {
                listed.entry(name.clone()).or_default();
            }
        } else if !line.trim().is_empty() {
            assert!(
                !heading.is_empty(),
                "`{line}` comes before any `# page(1)` heading"
            );
            for name in &heading {
                listed.get_mut(name).unwrap().push(line.to_string());
            }
        }
    }
    listed
}

#[test]
fn readmes_list_of_man_page_examples_is_the_pages_own() {
    let listed = readme_examples(&readme());
    let mut problems = Vec::new();
    let pages = pages();
    for (name, roff) in &pages {
        let shown = examples(roff);
        assert!(!shown.is_empty(), "{name}(1) has no example");
        let Some(in_readme) = listed.get(name) else {
            problems.push(format!(
                "{name}(1) is missing from README's list (`# {name}(1)`)"
            ));
            continue;
        };
        for command in &shown {
            if !in_readme.contains(command) {
                problems.push(format!(
                    "{name}(1) shows `{command}`, README's list does not"
                ));
            }
        }
        for command in in_readme {
            if !shown.contains(command) {
                problems.push(format!(
                    "README's list has `{command}` for {name}(1), the page does not"
                ));
            }
        }
        if problems.is_empty() && &shown != in_readme {
            problems.push(format!(
                "{name}(1): README lists its examples in another order: {shown:?}"
            ));
        }
    }
    for name in listed.keys().filter(|name| !pages.contains_key(*name)) {
        problems.push(format!("README's list names {name}(1), which is no page"));
    }
    assert!(
        problems.is_empty(),
        "README's list of the man pages' examples (after \"Every man page's EXAMPLES\") and the \
         pages (src/commands/man.rs, `extras`) differ; change both together:\n  {}",
        problems.join("\n  ")
    );
}

/// `line` as shell words up to the first operator (`|`, `&`, `;`, a redirection, a comment):
/// quotes and backslashes undone, nothing expanded.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '\'' => word
                .get_or_insert_with(String::new)
                .extend(chars.by_ref().take_while(|&c| c != '\'')),
            '"' => {
                let word = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            '|' | '&' | ';' | '<' | '>' => {
                // `2>/dev/null`: the descriptor is part of the redirection, not a word.
                if !word
                    .as_ref()
                    .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
                {
                    words.extend(word.take());
                }
                return words;
            }
            '#' if word.is_none() => return words,
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// The cloudstart command a shell line runs, as arguments after the program name: leading
/// `NAME=value` assignments and a crontab line's five schedule fields are skipped, the program
/// is `cloudstart` or a path ending in `/cloudstart`, and a pipeline's first command that runs
/// it counts (`pass show key | cloudstart config set KEY -`). `None` for other lines.
fn cloudstart_args(line: &str) -> Option<Vec<String>> {
    line.split('|').find_map(command_args)
}

/// [`cloudstart_args`] for one command of a pipeline.
fn command_args(line: &str) -> Option<Vec<String>> {
    let mut words = words(line);
    let schedule = |w: &String| w.chars().all(|c| c.is_ascii_digit() || "*,/-".contains(c));
    if words.len() > 5 && words[..5].iter().all(schedule) {
        words.drain(..5);
    }
    let assignment = |w: &String| {
        w.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    let program = words.iter().position(|w| !assignment(w))?;
    let is_cloudstart = words[program] == "cloudstart" || words[program].ends_with("/cloudstart");
    is_cloudstart.then(|| words.split_off(program + 1))
}

/// Whether clap takes `args`, or its error (help and version requests count as taken).
fn parses(args: &[String]) -> Result<(), String> {
    let argv = std::iter::once("cloudstart".to_string()).chain(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(err.render().to_string()),
    }
}

#[test]
fn every_example_command_in_the_man_pages_and_readme_parses() {
    let mut checked = 0;
    let mut problems = Vec::new();
    for (name, roff) in pages() {
        for command in examples(&roff) {
            let args = cloudstart_args(&command)
                .unwrap_or_else(|| panic!("{name}(1): `{command}` does not run cloudstart"));
            checked += 1;
            if let Err(err) = parses(&args) {
                problems.push(format!("{name}(1) EXAMPLES: `{command}`: {err}"));
            }
        }
    }
    let readme = readme();
    for block in sh_blocks(&readme) {
        // A line ending in a backslash continues on the next.
        let joined = block.join("\n").replace("\\\n", " ");
        for line in joined.lines() {
            if let Some(args) = cloudstart_args(line) {
                checked += 1;
                if let Err(err) = parses(&args) {
                    problems.push(format!("README.md: `{}`: {err}", line.trim()));
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} commands found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn shell_words_stop_at_operators_and_skip_assignments_and_schedules() {
    let args = |line: &str| cloudstart_args(line).map(|args| args.join(" "));
    assert_eq!(
        args("0 7 * * 1-5  $HOME/.cargo/bin/cloudstart start -q -o json >> $HOME/x.jsonl"),
        Some("start -q -o json".to_string())
    );
    assert_eq!(
        args("A=1 B='two words' cloudstart wait --for stopped t:x && echo \"safe\""),
        Some("wait --for stopped t:x".to_string())
    );
    assert_eq!(
        args("cloudstart man start | man -l -"),
        Some("man start".to_string())
    );
    assert_eq!(args("cloudstart sim 2>/dev/null"), Some("sim".to_string()));
    assert_eq!(args("docker run --rm cloudstart demo"), None);
    assert_eq!(args("# cloudstart start"), None);
}
