//! `cloudstart completions`: a shell's completion script, printed, or with `--install` written
//! where that shell looks for a user's completions today.

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionsArgs};
use crate::env_vars::{process_env, EnvVars};
use crate::error::Error;
use crate::output;

use super::place;

/// Prints the script, or installs it and prints where.
pub(super) fn run(args: &CompletionsArgs) -> Result<u8, Error> {
    // Generated into memory: clap_complete panics if its writer fails.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "cloudstart", &mut script);
    if !args.install {
        return output::write_stdout(&script).map(|()| 0);
    }
    let (dir, name) = user_location(args.shell, &process_env)?;
    let path = place::replace(&dir, name, &script)?;
    let mut said = format!("wrote {}\n", path.display());
    if args.shell == Shell::Zsh {
        said +=
            "unless ~/.zshrc has it already, add this line there, before any other compinit:\n  \
                 fpath+=~/.zfunc; autoload -Uz compinit; compinit\n";
    }
    output::write_stdout(said.as_bytes()).map(|()| 0)
}

/// The directory a shell loads a user's completions from, and the file name it looks for there:
/// bash-completion's `${BASH_COMPLETION_USER_DIR:-${XDG_DATA_HOME:-~/.local/share}/bash-completion}/completions/cloudstart`
/// (loaded on demand since bash-completion 2.8), `~/.zfunc/_cloudstart` (a directory the user
/// puts on zsh's `fpath`), fish's `${XDG_CONFIG_HOME:-~/.config}/fish/completions/cloudstart.fish`.
/// Each variable is read as the shell reads it; an empty one counts as unset.
fn user_location(
    shell: Shell,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(PathBuf, &'static str), Error> {
    let home = || {
        env(EnvVars::HOME).map(PathBuf::from).ok_or_else(|| {
            Error::usage("cannot find your home directory (HOME is unset): set HOME, or print the script and save it yourself")
        })
    };
    let var_or = |name: &str, default: &dyn Fn() -> Result<PathBuf, Error>| match env(name) {
        Some(value) => Ok(PathBuf::from(value)),
        None => default(),
    };
    match shell {
        Shell::Bash => {
            let data = || var_or(EnvVars::XDG_DATA_HOME, &|| Ok(home()?.join(".local/share")));
            let user = var_or(EnvVars::BASH_COMPLETION_USER_DIR, &|| {
                Ok(data()?.join("bash-completion"))
            })?;
            Ok((user.join("completions"), "cloudstart"))
        }
        Shell::Zsh => Ok((home()?.join(".zfunc"), "_cloudstart")),
        Shell::Fish => {
            let config = var_or(EnvVars::XDG_CONFIG_HOME, &|| Ok(home()?.join(".config")))?;
            Ok((config.join("fish").join("completions"), "cloudstart.fish"))
        }
        other => Err(Error::usage(format!(
            "--install knows where bash, zsh and fish look for completions, not {other}: print \
             the script (`cloudstart completions {other}`) and load it from your {other} profile"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(shell: Shell, vars: &[(&str, &str)]) -> Result<String, Error> {
        let env = |name: &str| {
            (vars.iter())
                .find(|(var, _)| *var == name)
                .map(|(_, value)| value.to_string())
        };
        user_location(shell, &env).map(|(dir, name)| dir.join(name).display().to_string())
    }

    #[test]
    fn each_shell_gets_the_directory_it_looks_in() {
        let home = [("HOME", "/home/u")];
        let path = |shell| at(shell, &home).unwrap();
        assert_eq!(
            path(Shell::Bash),
            "/home/u/.local/share/bash-completion/completions/cloudstart"
        );
        assert_eq!(path(Shell::Zsh), "/home/u/.zfunc/_cloudstart");
        assert_eq!(
            path(Shell::Fish),
            "/home/u/.config/fish/completions/cloudstart.fish"
        );
    }

    #[test]
    fn the_shells_own_variables_move_the_directory_as_they_move_the_shell() {
        let vars = [
            ("HOME", "/home/u"),
            ("XDG_DATA_HOME", "/data"),
            ("XDG_CONFIG_HOME", "/conf"),
        ];
        assert_eq!(
            at(Shell::Bash, &vars).unwrap(),
            "/data/bash-completion/completions/cloudstart"
        );
        assert_eq!(
            at(Shell::Fish, &vars).unwrap(),
            "/conf/fish/completions/cloudstart.fish"
        );
        let user = [
            ("BASH_COMPLETION_USER_DIR", "/bc"),
            ("XDG_DATA_HOME", "/data"),
        ];
        assert_eq!(
            at(Shell::Bash, &user).unwrap(),
            "/bc/completions/cloudstart"
        );
    }

    #[test]
    fn no_home_or_a_shell_without_a_user_directory_is_a_usage_error() {
        let err = at(Shell::Zsh, &[]).unwrap_err();
        assert!(err.to_string().contains("HOME is unset"), "{err}");
        let err = at(Shell::PowerShell, &[("HOME", "/home/u")]).unwrap_err();
        assert!(err.to_string().contains("not powershell"), "{err}");
        assert_eq!(err.kind(), crate::error::ErrorKind::Usage);
    }
}
