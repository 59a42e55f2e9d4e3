//! `schema`, `completions` and `man`: perfwatch describing itself.

use clap::CommandFactory;
use perfwatch_app::{AppError, Outcome, Result};

use crate::cli::{Cli, CompletionsArgs, SchemaArgs};
use crate::output::print;

/// Prints one of the committed JSON Schemas (the same the tests check against the model).
pub fn schema(args: SchemaArgs) -> Result<Outcome> {
    let all = perfwatch_report::schema::all();
    let names: Vec<&str> = all.iter().map(|(file, _)| file.trim_end_matches(".schema.json")).collect();
    if args.list {
        print(format!("{}\n", names.join("\n")).as_bytes())?;
        return Ok(Outcome::default());
    }
    let name = args.name.unwrap_or_default();
    let want = name.trim_end_matches(".schema.json").trim_end_matches(".json");
    match all.iter().find(|(file, _)| file.trim_end_matches(".schema.json") == want) {
        Some((_, schema)) => {
            print(format!("{}\n", serde_json::to_string_pretty(schema).unwrap_or_default()).as_bytes())?;
            Ok(Outcome::default())
        }
        None => {
            Err(AppError::usage(format!("no schema named {name:?}; the schemas are: {}", names.join(", "))))
        }
    }
}

/// Prints the completion script of `args.shell`.
pub fn completions(args: CompletionsArgs) -> Result<Outcome> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "perfwatch", &mut script);
    print(&script)?;
    Ok(Outcome::default())
}

/// Prints the manual page.
pub fn man() -> Result<Outcome> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| AppError::io("rendering the manual page", e))?;
    print(&page)?;
    Ok(Outcome::default())
}
