//! Credentials masked in free text — command lines, URLs, messages — before the text
//! is kept where others may read it (an audit log, `mosaic config show`).
//!
//! [`redact_secrets`] replaces with [`MASK`], keeping everything else byte for byte:
//!
//! - the password of a URL: `scheme://user:pw@host` → `scheme://user:***@host`;
//! - the credential of an `Authorization:` (or `Proxy-Authorization:`) header, after
//!   its scheme word, and the token after `Bearer`;
//! - the password of `-u`/`--user`/`--proxy-user user:pass` (not under `docker` and
//!   the like, whose `--user` is `uid:gid`);
//! - the value of `--password X`, `--password=X` and options like it (`--token`,
//!   `--api-key`, `--client-secret`, …);
//! - `-p<password>` of MySQL's clients, and `sshpass -p X`;
//! - the value of `NAME=value` where NAME ends in `_KEY`, `_TOKEN`, `_SECRET`,
//!   `PASSWORD`, `_PASSWD` or `_PWD`, or is `TOKEN` or `SECRET` (any case), as in
//!   `export API_KEY=…`, `PGPASSWORD=… psql` or `?access_token=…`.
//!
//! It is a safety net for text that must be kept, not a guarantee: a secret in a form
//! it does not know (a JSON body, a positional argument) passes through. It errs on
//! the side of masking a harmless value.

use std::ops::Range;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// `text` with every credential listed in the module documentation masked.
pub fn redact_secrets(text: &str) -> String {
    let mut ranges = url_password_ranges(text);
    ranges.extend(authorization_ranges(text));
    ranges.extend(bearer_ranges(text));
    ranges.extend(assignment_ranges(text));
    option_ranges(text, 0..text.len(), 0, &mut ranges);
    mask(text, ranges)
}

/// `postgres://user:***@host/db`: only the password of every URL in `text` masked.
pub fn redact_url_credentials(text: &str) -> String {
    mask(text, url_password_ranges(text))
}

/// Replaces each (non-empty) range of `text` with [`MASK`]; overlapping ranges become
/// one mask.
fn mask(text: &str, mut ranges: Vec<Range<usize>>) -> String {
    ranges.retain(|range| !range.is_empty());
    if ranges.is_empty() {
        return text.to_string();
    }
    ranges.sort_by_key(|range| (range.start, range.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    let mut result = String::with_capacity(text.len());
    let mut copied = 0;
    for range in merged {
        result.push_str(&text[copied..range.start]);
        result.push_str(MASK);
        copied = range.end;
    }
    result.push_str(&text[copied..]);
    result
}

/// Characters that end a credential written without quotes on a command line.
fn ends_unquoted_value(character: char) -> bool {
    character.is_whitespace() || "\"'`;|&()<>,".contains(character)
}

/// The password of every `scheme://user:password@host` in `text`.
fn url_password_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut searched = 0;
    while let Some(found) = text[searched..].find("://") {
        let authority_start = searched + found + 3;
        let authority_end = text[authority_start..]
            .find(|character: char| {
                matches!(character, '/' | '?' | '#' | '"' | '\'' | '`' | '<' | '>')
                    || character.is_whitespace()
            })
            .map_or(text.len(), |offset| authority_start + offset);
        let authority = &text[authority_start..authority_end];
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority[..at].find(':') {
                ranges.push(authority_start + colon + 1..authority_start + at);
            }
        }
        searched = authority_end.max(authority_start);
    }
    ranges
}

/// Authorization schemes whose name is kept before the masked credential.
const AUTHORIZATION_SCHEMES: &[&str] = &[
    "basic",
    "bearer",
    "digest",
    "token",
    "bot",
    "negotiate",
    "ntlm",
    "apikey",
    "aws4-hmac-sha256",
];

/// The credential of every `Authorization: [scheme] credential` header: up to the
/// end of the line or a quote.
fn authorization_ranges(text: &str) -> Vec<Range<usize>> {
    const HEADER: &str = "authorization";
    let lower = text.to_ascii_lowercase();
    let mut ranges = Vec::new();
    let mut searched = 0;
    while let Some(found) = lower[searched..].find(HEADER) {
        let start = searched + found;
        searched = start + HEADER.len();
        if starts_mid_word(text, start) {
            continue;
        }
        let after_name = skip_blanks(text, searched);
        if !text[after_name..].starts_with(':') {
            continue;
        }
        let mut value_start = skip_blanks(text, after_name + 1);
        let scheme_end = text[value_start..]
            .find(|character: char| !(character.is_ascii_alphanumeric() || character == '-'))
            .map_or(text.len(), |offset| value_start + offset);
        let scheme = &lower[value_start..scheme_end];
        if AUTHORIZATION_SCHEMES.contains(&scheme) && text[scheme_end..].starts_with([' ', '\t']) {
            value_start = skip_blanks(text, scheme_end);
        }
        let value_end = text[value_start..]
            .find(['\n', '\r', '"', '\'', '`'])
            .map_or(text.len(), |offset| value_start + offset);
        ranges.push(value_start..value_end.max(value_start));
    }
    ranges
}

/// The token after every `Bearer ` (the word as HTTP writes it).
fn bearer_ranges(text: &str) -> Vec<Range<usize>> {
    const WORD: &str = "Bearer";
    let mut ranges = Vec::new();
    let mut searched = 0;
    while let Some(found) = text[searched..].find(WORD) {
        let start = searched + found;
        searched = start + WORD.len();
        if starts_mid_word(text, start) || !text[searched..].starts_with([' ', '\t']) {
            continue;
        }
        let value_start = skip_blanks(text, searched);
        let value_end = text[value_start..]
            .find(ends_unquoted_value)
            .map_or(text.len(), |offset| value_start + offset);
        ranges.push(value_start..value_end);
    }
    ranges
}

/// Whether an environment or parameter name holds a secret.
fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["_KEY", "_TOKEN", "_SECRET", "PASSWORD", "_PASSWD", "_PWD"]
        .iter()
        .any(|suffix| upper.ends_with(suffix))
        || upper == "TOKEN"
        || upper == "SECRET"
}

/// The value of every `NAME=value` whose NAME holds a secret.
fn assignment_ranges(text: &str) -> Vec<Range<usize>> {
    let is_name_character = |character: char| character.is_ascii_alphanumeric() || character == '_';
    let mut ranges = Vec::new();
    for (equals, _) in text.match_indices('=') {
        let name_start = text[..equals]
            .char_indices()
            .rev()
            .find(|(_, character)| !is_name_character(*character))
            .map_or(0, |(index, character)| index + character.len_utf8());
        let name = &text[name_start..equals];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        if !is_secret_name(name) {
            continue;
        }
        ranges.push(value_range(text, equals + 1));
    }
    ranges
}

/// The value starting at `start`: inside its quotes if quoted, else up to the first
/// character that ends an unquoted value (`&` included, for URL queries).
fn value_range(text: &str, start: usize) -> Range<usize> {
    let rest = &text[start..];
    match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let inner = start + 1;
            let end = text[inner..]
                .find(quote)
                .map_or(text.len(), |offset| inner + offset);
            inner..end
        }
        _ => {
            let end = rest
                .find(ends_unquoted_value)
                .map_or(text.len(), |offset| start + offset);
            start..end
        }
    }
}

/// Whether the letter at `index` continues a word (so `index` starts no name there).
fn starts_mid_word(text: &str, index: usize) -> bool {
    text[..index]
        .chars()
        .next_back()
        .is_some_and(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// The index of the first character at or after `index` that is not a space or tab.
fn skip_blanks(text: &str, index: usize) -> usize {
    text[index..]
        .find(|character: char| character != ' ' && character != '\t')
        .map_or(text.len(), |offset| index + offset)
}

/// Long options whose value is a secret (`--password X`, `--password=X`).
fn is_secret_option(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.ends_with("password")
        || name.ends_with("passwd")
        || [
            "token",
            "access-token",
            "auth-token",
            "api-key",
            "apikey",
            "secret",
            "client-secret",
            "oauth2-bearer",
        ]
        .contains(&name.as_str())
}

/// Options whose value is `user:password`.
const USER_OPTIONS: &[&str] = &["-u", "--user", "--proxy-user", "-U"];

/// Programs whose `-u`/`--user` is `uid:gid`, not a credential.
const USER_ID_PROGRAMS: &[&str] = &["docker", "podman", "nerdctl", "buildah", "runc", "crun"];

/// Programs whose `-p<password>` (attached) is a password.
const MYSQL_CLIENTS: &[&str] = &[
    "mysql",
    "mysqldump",
    "mysqladmin",
    "mysqlcheck",
    "mysqlimport",
    "mysqlshow",
    "mysqlslap",
    "mariadb",
    "mariadb-dump",
    "mariadb-admin",
];

/// How deep quoted text is searched for more command lines (`sh -c "…"`).
const MAX_QUOTE_DEPTH: usize = 3;

/// One whitespace-separated word of a command line, quotes included.
struct Word {
    span: Range<usize>,
    /// The insides of its quoted parts.
    quoted: Vec<Range<usize>>,
}

/// Splits `text[span]` into words the way a shell would, without expanding anything.
fn split_words(text: &str, span: Range<usize>) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut quote: Option<(char, usize)> = None;
    let mut escaped = false;
    for (offset, character) in text[span.clone()].char_indices() {
        let index = span.start + offset;
        if escaped {
            escaped = false;
            continue;
        }
        match quote {
            Some((open, start)) => {
                if character == open {
                    if let Some(word) = current.as_mut() {
                        word.quoted.push(start..index);
                    }
                    quote = None;
                } else if character == '\\' && open == '"' {
                    escaped = true;
                }
            }
            None if character.is_whitespace() => {
                if let Some(mut word) = current.take() {
                    word.span.end = index;
                    words.push(word);
                }
            }
            None => {
                // A word's end is set where whitespace or the text ends it.
                current.get_or_insert_with(|| Word {
                    span: index..index,
                    quoted: Vec::new(),
                });
                match character {
                    '\\' => escaped = true,
                    '"' | '\'' => quote = Some((character, index + 1)),
                    _ => {}
                }
            }
        }
    }
    if let Some(mut word) = current {
        if let Some((_, start)) = quote {
            // An unterminated quote runs to the end of the text.
            word.quoted.push(start..span.end);
        }
        word.span.end = span.end;
        words.push(word);
    }
    words
}

/// The word's text with one pair of surrounding quotes removed, as a range.
fn unquoted(text: &str, span: &Range<usize>) -> Range<usize> {
    let word = &text[span.clone()];
    let quoted = word.len() >= 2
        && ((word.starts_with('"') && word.ends_with('"'))
            || (word.starts_with('\'') && word.ends_with('\'')));
    if quoted {
        span.start + 1..span.end - 1
    } else {
        span.clone()
    }
}

/// The password part of a `user:password` value.
fn after_colon(text: &str, value: Range<usize>) -> Option<Range<usize>> {
    let colon = text[value.clone()].find(':')?;
    Some(value.start + colon + 1..value.end)
}

/// Whether the word ends a simple command (`;`, `|`, `&`, `&&`, `||`).
fn ends_command(word: &str) -> bool {
    word.ends_with([';', '|', '&'])
}

/// The masks that need words: option values, found in `text[span]` and (to
/// [`MAX_QUOTE_DEPTH`]) in the quoted text of its words.
fn option_ranges(text: &str, span: Range<usize>, depth: usize, ranges: &mut Vec<Range<usize>>) {
    let words = split_words(text, span);
    let mut programs: Vec<&str> = Vec::new();
    let mut index = 0;
    while index < words.len() {
        let word = &words[index];
        let raw = &text[word.span.clone()];
        let next = words.get(index + 1);
        let next_value = next
            .map(|next| unquoted(text, &next.span))
            .filter(|value| !text[value.clone()].starts_with('-'));
        let (name, attached) = match raw.split_once('=') {
            Some((name, _)) if name.starts_with("--") => {
                let equals = word.span.start + name.len();
                (name, Some(unquoted(text, &(equals + 1..word.span.end))))
            }
            _ => (raw, None),
        };
        if USER_OPTIONS.contains(&name)
            && !programs
                .iter()
                .any(|program| USER_ID_PROGRAMS.contains(program))
        {
            if let Some(password) = attached
                .or(next_value)
                .and_then(|value| after_colon(text, value))
            {
                ranges.push(password);
            }
        } else if name.strip_prefix("--").is_some_and(is_secret_option) {
            if let Some(value) = attached.or(next_value) {
                ranges.push(value);
            }
        } else if let Some(password) = raw.strip_prefix("-p").filter(|p| !p.is_empty()) {
            if programs
                .iter()
                .any(|program| MYSQL_CLIENTS.contains(program))
            {
                ranges.push(word.span.end - password.len()..word.span.end);
            }
        } else if raw == "-p" && programs.last() == Some(&"sshpass") {
            if let Some(value) = next_value {
                ranges.push(value);
            }
        }
        if ends_command(raw) {
            programs.clear();
        } else if !raw.starts_with('-') {
            programs.push(raw.rsplit('/').next().unwrap_or(raw));
        }
        if depth < MAX_QUOTE_DEPTH {
            for inner in &word.quoted {
                option_ranges(text, inner.clone(), depth + 1, ranges);
            }
        }
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expected: &str) {
        assert_eq!(redact_secrets(input), expected, "input: {input}");
    }

    #[test]
    fn url_passwords_are_masked() {
        assert_eq!(
            redact_url_credentials("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url_credentials("redis://:pw@h"), "redis://:***@h");
        assert_eq!(
            redact_url_credentials("http://localhost:3000"),
            "http://localhost:3000"
        );
        assert_eq!(
            redact_url_credentials("https://user@host/a@b"),
            "https://user@host/a@b"
        );
        check(
            "git clone 'https://ada:p@ss@github.com/x.git' && curl http://b:c@d",
            "git clone 'https://ada:***@github.com/x.git' && curl http://b:***@d",
        );
    }

    #[test]
    fn authorization_headers_and_bearer_tokens_are_masked() {
        check(
            "curl -H \"Authorization: Bearer abc.def\" https://api",
            "curl -H \"Authorization: Bearer ***\" https://api",
        );
        check(
            "curl -H 'authorization:token ghp_x' -H 'Accept: y'",
            "curl -H 'authorization:token ***' -H 'Accept: y'",
        );
        check(
            "curl -H 'Proxy-Authorization: c2VjcmV0' x",
            "curl -H 'Proxy-Authorization: ***' x",
        );
        check(
            "http GET api Bearer tok123 --print",
            "http GET api Bearer *** --print",
        );
        check(
            "echo reauthorization: fine; grep Authorization file",
            "echo reauthorization: fine; grep Authorization file",
        );
    }

    #[test]
    fn user_and_password_options_are_masked() {
        check("curl -u ada:s3cret https://x", "curl -u ada:*** https://x");
        check("curl --user 'ada:two words' x", "curl --user 'ada:***' x");
        check("curl --user=ada:pw x", "curl --user=ada:*** x");
        check("sudo -u postgres psql", "sudo -u postgres psql");
        check(
            "docker run -u 1000:1000 --user 0:0 img",
            "docker run -u 1000:1000 --user 0:0 img",
        );
        check(
            "tool --password hunter2 --db-password=x y",
            "tool --password *** --db-password=*** y",
        );
        check(
            "docker login --password-stdin && gh --token=abc",
            "docker login --password-stdin && gh --token=***",
        );
        check("mysql --password -h db", "mysql --password -h db");
    }

    #[test]
    fn mysql_attached_passwords_and_sshpass_are_masked() {
        check("mysql -u root -phunter2 db", "mysql -u root -p*** db");
        check("ls -pa; mysqldump -px db", "ls -pa; mysqldump -p*** db");
        check("ssh -p2222 host", "ssh -p2222 host");
        check("sshpass -p pw ssh host", "sshpass -p *** ssh host");
    }

    #[test]
    fn secret_assignments_are_masked() {
        check(
            "OPENAI_API_KEY=sk-1 GH_TOKEN='a b' cmd",
            "OPENAI_API_KEY=*** GH_TOKEN='***' cmd",
        );
        check(
            "export db_password=\"x y\"; PGPASSWORD=p psql",
            "export db_password=\"***\"; PGPASSWORD=*** psql",
        );
        check(
            "docker run -e AWS_SECRET=s --env=APP_KEY=k img",
            "docker run -e AWS_SECRET=*** --env=APP_KEY=*** img",
        );
        check(
            "curl 'https://x/cb?access_token=abc&page=2'",
            "curl 'https://x/cb?access_token=***&page=2'",
        );
        check(
            "KEYBOARD=us PATH=/bin MONKEY=1 make",
            "KEYBOARD=us PATH=/bin MONKEY=1 make",
        );
    }

    #[test]
    fn secrets_inside_quoted_scripts_are_masked() {
        check(
            "bash -c \"curl -u a:b x && mysql -pz\"",
            "bash -c \"curl -u a:*** x && mysql -p***\"",
        );
    }

    #[test]
    fn odd_text_is_handled_without_panics() {
        let pieces = [
            "é",
            "=",
            "://",
            "@",
            ":",
            "'",
            "\"",
            "\\",
            " ",
            "-p",
            "-u",
            "--password",
            "Bearer ",
            "Authorization:",
            "mysql",
            "A_KEY",
            "\n",
            "😀",
            "docker",
        ];
        // Every string of up to three pieces.
        for first in pieces {
            for second in pieces {
                for third in pieces {
                    let text = format!("{first}{second}{third}");
                    let _ = redact_secrets(&text);
                    let spaced = format!("{first} {second} {third}");
                    let _ = redact_secrets(&spaced);
                }
            }
        }
    }

    #[test]
    fn text_without_secrets_is_unchanged() {
        for text in [
            "",
            "cargo test -p mosaic-hooks -- --nocapture",
            "git push origin main",
            "echo 'unterminated",
            "printf 'é=ü' | grep -u x",
        ] {
            check(text, text);
        }
    }
}
