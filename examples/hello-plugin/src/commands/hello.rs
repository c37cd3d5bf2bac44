//! `mosaic hello [NAME] [--greeting WORD] [--shout] [--times N] [--wait-ms MS]`.

use std::io::Write;
use std::time::Duration;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::serde::Deserialize;
use mosaic_plugin_api::serde_json::json;
use mosaic_plugin_api::{tracing, ArgSpec, Command, CommandSpec, Context, Example, ValueType};

use crate::GREETING_KEY;

/// The `hello` command.
pub struct Greet;

/// The options of `hello`: one field per argument of the spec, by its name.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "mosaic_plugin_api::serde")]
pub struct HelloOptions {
    /// Who to greet (the positional has a default, so it is always there).
    pub name: String,
    /// `--greeting WORD`, if given; it wins over the config key.
    pub greeting: Option<String>,
    /// `--shout`.
    pub shout: bool,
    /// `--times N`: how many times to greet (checked as a number by the host).
    pub times: u64,
    /// `--wait-ms MS`: how long to think before greeting.
    pub wait_ms: u64,
}

impl Command for Greet {
    type Options = HelloOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("hello", "Greet someone")
            .long_about(
                "Greet someone. The greeting comes from --greeting, else \
                 MOSAIC_HELLO_GREETING, else hello.greeting in config.json, else \"Hello\".",
            )
            .arg(ArgSpec::positional("name", "Who to greet").default_value("world"))
            .arg(
                ArgSpec::option("greeting", "The word to greet with")
                    .short('g')
                    .value_name("WORD"),
            )
            .arg(ArgSpec::flag("shout", "Greet in capitals").short('s'))
            .arg(
                ArgSpec::option("times", "How many times to greet")
                    .short('n')
                    .value_name("N")
                    .value_type(ValueType::Unsigned)
                    .default_value("1"),
            )
            .arg(
                ArgSpec::option("wait_ms", "Milliseconds to think before greeting")
                    .value_name("MS")
                    .value_type(ValueType::Unsigned)
                    .default_value("0"),
            )
            .with_example(
                Example::new("hello", "Greet the world").expect_stdout_contains("Hello, world!"),
            )
            .with_example(
                Example::new("hello Ada --greeting Hi --shout", "Shout a custom greeting")
                    .expect_stdout_contains("HI, ADA!"),
            )
            .with_example(
                Example::new(
                    "hello Ada -n 3 --wait-ms 500",
                    "Think, then greet three times",
                )
                .expect_stdout_contains("Hello, Ada!\nHello, Ada!\nHello, Ada!\n"),
            )
            .with_example(
                Example::new("hello Ada --json", "As JSON")
                    .expect_stdout_contains("\"greeting\": \"Hello, Ada!\""),
            )
    }

    fn run(context: &Context<'_>, options: HelloOptions) -> Result<i32> {
        greet(context, options)
    }
}

/// The greeting: the word resolves flag > env > config > default.
pub fn greeting_text(context: &Context<'_>, options: &HelloOptions) -> Result<String> {
    let word: String = context.config_with_flag(GREETING_KEY, options.greeting.clone())?;
    let text = format!("{word}, {}!", options.name);
    Ok(if options.shout {
        text.to_uppercase()
    } else {
        text
    })
}

/// Prints the greeting `times` times (or once as JSON with `--json`).
pub fn greet(context: &Context<'_>, options: HelloOptions) -> Result<i32> {
    let text = greeting_text(context, &options)?;
    if context.json() {
        context.print_json(&json!({ "greeting": text, "times": options.times }))?;
        return Ok(0);
    }
    if options.wait_ms > 0 {
        // A wait that may exceed ~300 ms shows the host's spinner on stderr (only on
        // a terminal, not with -q or --json). Finish it before printing: output
        // written while it is drawn would share its line.
        let thinking = context.progress(&format!("Thinking of a greeting for {}", options.name));
        std::thread::sleep(Duration::from_millis(options.wait_ms));
        thinking.finish();
    }
    for _ in 0..options.times {
        writeln!(context.out(), "{text}")?;
    }
    // Plugin tracing events go through the host's subscriber (`mosaic -v hello`).
    tracing::info!("greeted {} {} time(s)", options.name, options.times);
    Ok(0)
}
