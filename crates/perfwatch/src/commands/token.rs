//! `perfwatch token create|list|revoke`: the API tokens of `perfwatch serve`.

use perfwatch_model::exit_codes;
use perfwatch_store::TokenScope;

use crate::cli::TokenCommand;

/// Manages API tokens in the store given by --db / PERFWATCH_DB.
pub fn run(cmd: TokenCommand) -> anyhow::Result<i32> {
    match cmd {
        TokenCommand::Create { name, read_only, store } => {
            let mut s = super::open_store(&store)?;
            let scope = if read_only { TokenScope::Read } else { TokenScope::Write };
            let secret = perfwatch_server::auth::generate_token()?;
            s.create_token(&name, scope, &perfwatch_server::auth::hash_token(&secret))?;
            // The secret on stdout (for scripts), the advice on stderr.
            println!("{secret}");
            eprintln!(
                "created {} token {name}: store it now, it is not shown again (the store keeps only \
                 its hash). Runners use it as PERFWATCH_TOKEN.",
                scope.as_str()
            );
        }
        TokenCommand::List { store } => {
            let mut s = super::open_store(&store)?;
            let tokens = s.list_tokens()?;
            if tokens.is_empty() {
                eprintln!("no tokens yet (`perfwatch token create NAME`)");
            }
            for t in tokens {
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => "active".to_string(),
                };
                println!("{}\t{}\tcreated {}\t{state}", t.name, t.scope.as_str(), t.created_at);
            }
        }
        TokenCommand::Revoke { name, store } => {
            let mut s = super::open_store(&store)?;
            if !s.revoke_token(&name)? {
                anyhow::bail!("no active token named {name}");
            }
            eprintln!("revoked token {name}");
        }
    }
    Ok(exit_codes::SUCCESS)
}
