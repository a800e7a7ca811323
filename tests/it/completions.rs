//! `cloudstart completions SHELL --install`: the script lands where each shell looks for a
//! user's completions (HOME and the XDG variables pointed at a temporary directory), is the
//! script `completions SHELL` prints, and never goes through what was planted at its path.

use std::path::Path;

use crate::support::{cloudstart, stderr, stdout};

/// `cloudstart completions <args>` with HOME at `home` and `vars`.
fn completions(home: &Path, args: &[&str], vars: &[(&str, &Path)]) -> std::process::Output {
    let mut cmd = cloudstart(home);
    cmd.arg("completions").args(args);
    for (var, value) in vars {
        cmd.env(var, value);
    }
    cmd.output().unwrap()
}

fn script(home: &Path, shell: &str) -> String {
    stdout(&completions(home, &[shell], &[]))
}

/// A shell, the variables set besides HOME, and where the script must land.
type Case<'a> = (&'a str, Vec<(&'a str, &'a Path)>, std::path::PathBuf);

#[test]
fn install_writes_where_each_shell_looks_and_says_where() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let data = home.join("data");
    let config = home.join("conf");
    let cases: [Case; 5] = [
        (
            "bash",
            vec![],
            home.join(".local/share/bash-completion/completions/cloudstart"),
        ),
        (
            "bash",
            vec![("XDG_DATA_HOME", &data)],
            data.join("bash-completion/completions/cloudstart"),
        ),
        ("zsh", vec![], home.join(".zfunc/_cloudstart")),
        (
            "fish",
            vec![],
            home.join(".config/fish/completions/cloudstart.fish"),
        ),
        (
            "fish",
            vec![("XDG_CONFIG_HOME", &config)],
            config.join("fish/completions/cloudstart.fish"),
        ),
    ];
    for (shell, vars, expected) in cases {
        let output = completions(home, &[shell, "--install"], &vars);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{shell}: {}",
            stderr(&output)
        );
        let said = stdout(&output);
        assert!(
            said.starts_with(&format!("wrote {}\n", expected.display())),
            "{shell} {vars:?}: {said}"
        );
        let written = std::fs::read_to_string(&expected).unwrap();
        assert_eq!(written, script(home, shell), "{shell}: the printed script");
        if shell == "zsh" {
            assert!(
                said.contains("fpath+=~/.zfunc; autoload -Uz compinit; compinit"),
                "{said}"
            );
        }
    }
}

#[test]
fn install_replaces_a_planted_symlink_and_refuses_a_directory() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let dir = home.join(".zfunc");
    std::fs::create_dir(&dir).unwrap();
    let precious = home.join("precious");
    std::fs::write(&precious, "keep me\n").unwrap();
    std::os::unix::fs::symlink(&precious, dir.join("_cloudstart")).unwrap();
    let output = completions(home, &["zsh", "--install"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me\n");
    let placed = std::fs::symlink_metadata(dir.join("_cloudstart")).unwrap();
    assert!(placed.is_file(), "the link was not replaced by the script");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file left"
    );

    let fish = home.join(".config/fish/completions");
    std::fs::create_dir_all(fish.join("cloudstart.fish")).unwrap();
    let output = completions(home, &["fish", "--install"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    let err = stderr(&output);
    assert!(
        err.contains("cloudstart.fish: something other than a file"),
        "{err}"
    );
}

#[test]
fn install_for_a_shell_without_a_user_directory_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let output = completions(home.path(), &["powershell", "--install"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
    let err = stderr(&output);
    assert!(err.contains("not powershell"), "{err}");
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
}

/// Where bash-completion is installed, a new shell finds the installed script on demand.
#[test]
fn bash_completion_loads_the_installed_script() {
    let framework = Path::new("/usr/share/bash-completion/bash_completion");
    if !framework.exists() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let output = completions(home.path(), &["bash", "--install"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let bin = assert_cmd::cargo::cargo_bin("cloudstart");
    let path = format!("{}:/usr/bin:/bin", bin.parent().unwrap().display());
    let loaded = std::process::Command::new("bash")
        .args([
            "-c",
            "source \"$1\"; __load_completion cloudstart; complete -p cloudstart",
        ])
        .arg("bash")
        .arg(framework)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        stdout(&loaded).contains("-F _cloudstart cloudstart"),
        "{}{}",
        stdout(&loaded),
        stderr(&loaded)
    );
}
