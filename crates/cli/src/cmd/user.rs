//! `accord user add|list|remove|passwd`: the web app's users. Passwords are typed at a prompt
//! that does not echo them, or read from the first line of standard input (`--password-stdin`).

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use accord_web::Role;
use accord_web::users::{self, UserError};
use anyhow::Context as _;

use super::Ctx;
use crate::UsageError;
use crate::output::table;

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a web user.
    Add {
        name: String,
        /// viewer (reads), operator (also retries, deactivates, syncs) or admin (also manages users).
        #[arg(long, default_value = "viewer", value_parser = parse_role)]
        role: Role,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the web users and their roles.
    List,
    /// Remove a web user (its sessions end).
    Remove { name: String },
    /// Set a web user's password (its sessions end).
    Passwd {
        name: String,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_code(s).ok_or_else(|| format!("{s:?} is not a role: use viewer, operator or admin"))
}

fn store(ctx: &Ctx) -> anyhow::Result<Arc<dyn accord_store::Store>> {
    let config = ctx.config()?;
    let url = config.store_url();
    accord_store::open_and_migrate(&url).with_context(|| format!("cannot open the store {}", super::redact_url(&url)))
}

fn password(stdin: bool, name: &str) -> anyhow::Result<String> {
    if stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let first = rpassword::prompt_password(format!("password for {name}: ")).context("cannot read the password")?;
    let again = rpassword::prompt_password("again: ").context("cannot read the password")?;
    if first != again {
        return Err(UsageError("the two passwords differ".into()).into());
    }
    Ok(first)
}

fn usage(e: UserError) -> anyhow::Error {
    match e {
        UserError::Store(s) => s.into(),
        other => UsageError(other.to_string()).into(),
    }
}

pub fn run(ctx: &Ctx, command: UserCommand) -> anyhow::Result<ExitCode> {
    let store = store(ctx)?;
    match command {
        UserCommand::Add { name, role, password_stdin } => {
            let pw = password(password_stdin, &name)?;
            let user = users::add(store.as_ref(), &name, role, &pw).map_err(usage)?;
            if ctx.json {
                super::print_json(&user)?;
            } else {
                println!(
                    "added {} ({}): sign in at http://{}/signin",
                    user.name,
                    user.role,
                    ctx.config()?.raw.server.listen
                );
            }
        }
        UserCommand::List => {
            let list = users::list(store.as_ref()).map_err(usage)?;
            if ctx.json {
                super::print_json(&list)?;
            } else {
                let mut t = table(&["name", "role", "added", "password changed"]);
                for u in &list {
                    t.add_row(vec![
                        u.name.clone(),
                        u.role.clone(),
                        u.created_at.format("%Y-%m-%d %H:%M").to_string(),
                        u.updated_at.format("%Y-%m-%d %H:%M").to_string(),
                    ]);
                }
                println!("{t}");
                if list.is_empty() {
                    println!("no web users yet: `accord user add NAME --role admin` adds one");
                }
            }
        }
        UserCommand::Remove { name } => {
            users::remove(store.as_ref(), &name).map_err(usage)?;
            if !ctx.json {
                println!("removed {name}");
            }
        }
        UserCommand::Passwd { name, password_stdin } => {
            let pw = password(password_stdin, &name)?;
            users::passwd(store.as_ref(), &name, &pw).map_err(usage)?;
            if !ctx.json {
                println!("password of {name} changed; its sessions were signed out");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
