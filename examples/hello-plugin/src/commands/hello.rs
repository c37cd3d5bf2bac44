//! `mosaic hello [NAME] [--greeting WORD] [--shout]`.

use std::io::Write;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::serde_json::json;
use mosaic_plugin_api::{tracing, ArgSpec, CommandSpec, Context, Example, Invocation};

use super::dirs;

/// The command's declaration.
pub fn spec() -> CommandSpec {
    let mut spec = CommandSpec::new("hello", "Greet someone")
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
        .subcommand(dirs::spec());
    spec.examples = vec![
        Example {
            command: "hello".into(),
            description: "Greet the world".into(),
            expect_stdout_contains: Some("Hello, world!".into()),
            ..Example::default()
        },
        Example {
            command: "hello Ada --greeting Hi --shout".into(),
            description: "Shout a custom greeting".into(),
            expect_stdout_contains: Some("HI, ADA!".into()),
            ..Example::default()
        },
    ];
    spec
}

/// What the command needs, decoded from the invocation.
pub struct HelloOptions {
    /// Who to greet.
    pub name: String,
    /// `--greeting`, if given.
    pub greeting: Option<String>,
    /// `--shout`.
    pub shout: bool,
}

/// Builds the greeting; the greeting word resolves flag > env > config > default.
pub fn greeting_text(context: &Context<'_>, options: &HelloOptions) -> Result<String> {
    let manifest = mosaic_plugin_api::Plugin::manifest(&crate::Hello);
    let key = &manifest.config[0];
    let file = config::load(&context.config_dir())?;
    let (word, _) = config::resolve(
        key,
        options.greeting.as_deref(),
        |name| context.env(name),
        &file,
    )
    .unwrap_or(("Hello".into(), config::ValueSource::Default));
    let word = word.as_str().unwrap_or("Hello").to_string();
    let text = format!("{word}, {}!", options.name);
    Ok(if options.shout {
        text.to_uppercase()
    } else {
        text
    })
}

/// Runs the command.
pub fn run(context: &Context<'_>, invocation: &Invocation) -> Result<i32> {
    let options = HelloOptions {
        name: invocation.value("name").unwrap_or("world").to_string(),
        greeting: invocation.value("greeting").map(str::to_string),
        shout: invocation.flag("shout"),
    };
    let text = greeting_text(context, &options)?;
    if context.json() {
        context.print_json(&json!({ "greeting": text }))?;
    } else {
        writeln!(context.out(), "{text}")?;
    }
    // Plugin tracing events go through the host's subscriber (`mosaic -v hello`).
    tracing::info!("greeted {}", options.name);
    Ok(0)
}
