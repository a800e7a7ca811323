//! `cloudstart config init`, `config set` and `config get`: the config file from the command
//! line, as `aws configure set`/`get` and `gh config` do. The key grammar, the checks and the
//! file's writing are [`crate::settings::edit`]'s; this file reads the arguments and says what
//! happened.

use std::io::BufRead;

use tracing::info;

use crate::cli::{ConfigGetArgs, ConfigSetArgs};
use crate::env_vars::process_env;
use crate::error::Error;
use crate::output;
use crate::settings::edit::{self, Key};

/// `config init`: the starter file at the config path.
pub(super) fn init() -> Result<u8, Error> {
    let path = edit::config_path(&process_env)?;
    edit::init(&path)?;
    info!(
        "wrote {}: a commented profile per cloud; fill it in with `cloudstart config set`",
        path.display()
    );
    Ok(0)
}

/// `config set KEY VALUE`.
pub(super) fn set(args: &ConfigSetArgs) -> Result<u8, Error> {
    let key = Key::parse(&args.key)?;
    let value = match args.value.as_str() {
        "-" => read_value_from_stdin()?,
        value => value.to_string(),
    };
    key.check(&value)?;
    let path = edit::config_path(&process_env)?;
    edit::set(&path, &key, &value)?;
    info!("set {} in {}", key.dotted(), path.display());
    Ok(0)
}

/// `config get KEY`: the value on stdout; a secret only with `--show-secret`.
pub(super) fn get(args: &ConfigGetArgs) -> Result<u8, Error> {
    let key = Key::parse(&args.key)?;
    let path = edit::config_path(&process_env)?;
    let Some(value) = edit::get(&path, &key)? else {
        return Err(Error::usage(format!(
            "{} is not set in {}",
            key.dotted(),
            path.display()
        )));
    };
    if key.is_secret() && !args.show_secret {
        return Err(Error::usage(format!(
            "{} is set in {}, but it is a secret: add --show-secret to print it",
            key.dotted(),
            path.display()
        )));
    }
    output::write_stdout(format!("{value}\n").as_bytes()).map(|()| 0)
}

/// The first line of standard input, without its line ending.
fn read_value_from_stdin() -> Result<String, Error> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| Error::usage(format!("cannot read the value from standard input: {err}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
