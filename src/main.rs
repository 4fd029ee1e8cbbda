//! The `duplex` binary: parses the command line and hands over to the library.

fn main() {
    let cli = duplex::cli::parse();
    let json = cli.command.common().is_some_and(|common| common.json);
    // One thread does the UI and the network: a message crosses no thread
    // boundary on its way, which keeps latency low (rendering a frame takes
    // about a millisecond, so nothing waits long behind it).
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            // Run as a task rather than as the `block_on` future: waking a
            // task from another task just queues it, while waking the
            // `block_on` future costs the runtime an extra poll of the
            // event loop.
            let outcome = runtime
                .block_on(runtime.spawn(duplex::cli::run(cli)))
                .unwrap_or_else(|err| Err(anyhow::anyhow!("the program failed: {err}")));
            // A read of standard input may still be blocked in a thread of
            // the runtime; do not wait for it on the way out.
            runtime.shutdown_background();
            outcome
        });
    match outcome {
        Ok(exit) => {
            if let Some(message) = exit.message {
                if json {
                    // Scripts read standard output: the reason goes there too.
                    let event = if exit.code == 0 { "info" } else { "error" };
                    println!(
                        "{}",
                        serde_json::json!({"event": event, "message": message})
                    );
                } else {
                    eprintln!("duplex: {message}");
                }
            }
            std::process::exit(exit.code);
        }
        Err(err) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"event": "error", "message": format!("{err:#}")})
                );
            }
            eprintln!("duplex: {err:#}");
            // A config file that cannot be used is a usage error, as a bad
            // flag is for clap.
            let usage = err.downcast_ref::<duplex::config::ConfigError>().is_some();
            std::process::exit(if usage { 2 } else { 1 });
        }
    }
}
