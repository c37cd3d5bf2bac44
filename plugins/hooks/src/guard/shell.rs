//! A small, forgiving reader of shell command lines, enough for the Bash guard to
//! see which programs a command runs and with which arguments.
//!
//! It splits a line into pipelines (`;`, `&&`, `||`, `&`, newlines, parentheses)
//! and commands (`|`), removes quotes, drops redirections (`2>/dev/null`), skips
//! comments, and keeps the text of command substitutions (`$(…)`, backticks),
//! process substitutions (`<(…)`) and here-documents so the guard can read those
//! too. It never fails: text it does not understand becomes ordinary words. It is
//! not a shell parser and does not expand anything (`$HOME` stays `$HOME`).

/// One word after quote removal, with the scripts of the substitutions inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Word {
    /// The word without quotes; substitutions are kept as written (`$(pwd)`).
    pub text: String,
    /// The inner text of each `$(…)`, `` `…` ``, `<(…)` or `>(…)` in the word.
    pub substitutions: Vec<String>,
}

/// One simple command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    /// Its words, the program first (after any `VAR=value` prefixes).
    pub words: Vec<Word>,
    /// The bodies of its here-documents (`<<EOF … EOF`).
    pub here_documents: Vec<String>,
}

/// Commands joined by `|`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pipeline {
    /// The commands, left to right.
    pub commands: Vec<Command>,
}

/// Reads `script` into pipelines.
pub fn parse(script: &str) -> Vec<Pipeline> {
    let chars: Vec<char> = script.chars().collect();
    let mut reader = Reader::default();
    let mut index = 0;
    while index < chars.len() {
        index = reader.step(&chars, index);
    }
    reader.end_pipeline();
    reader.pipelines
}

#[derive(Default)]
struct Reader {
    pipelines: Vec<Pipeline>,
    pipeline: Pipeline,
    command: Command,
    word: Word,
    /// Whether the current word has started (so `''` is a word).
    in_word: bool,
    /// The next word is a redirection target, not an argument.
    redirect_target: bool,
    /// The next word is a here-document delimiter (`<<-` strips tabs).
    delimiter_pending: Option<bool>,
    /// Here-documents whose bodies start after the next newline.
    pending_documents: Vec<(String, bool)>,
}

impl Reader {
    /// Reads one token starting at `index`; returns the index after it.
    fn step(&mut self, chars: &[char], index: usize) -> usize {
        let next = chars.get(index + 1).copied();
        match chars[index] {
            ' ' | '\t' | '\r' => {
                self.end_word();
                index + 1
            }
            '\n' => {
                self.end_pipeline();
                self.read_here_documents(chars, index + 1)
            }
            '(' if next == Some('(') => {
                // `(( … ))` is arithmetic (`<<` in it is a shift, not a here-document);
                // what it runs through `$(…)` is read like a substitution.
                self.end_pipeline();
                let end = closing_arithmetic(chars, index + 2);
                self.add_substitution(chars, index, index + 1, end);
                self.end_pipeline();
                end + 1
            }
            ';' | '(' | ')' => {
                self.end_pipeline();
                index + 1
            }
            '&' if next == Some('>') => {
                self.start_redirect();
                if chars.get(index + 2) == Some(&'>') {
                    index + 3
                } else {
                    index + 2
                }
            }
            '&' => {
                self.end_pipeline();
                if next == Some('&') {
                    index + 2
                } else {
                    index + 1
                }
            }
            '|' if next == Some('|') => {
                self.end_pipeline();
                index + 2
            }
            '|' => {
                self.end_command();
                if next == Some('&') {
                    index + 2
                } else {
                    index + 1
                }
            }
            '<' | '>' if next == Some('(') => {
                let end = closing_paren(chars, index + 2);
                self.add_substitution(chars, index, index + 2, end);
                end + 1
            }
            '<' if next == Some('<') && chars.get(index + 2) != Some(&'<') => {
                self.end_word();
                let strip_tabs = chars.get(index + 2) == Some(&'-');
                self.delimiter_pending = Some(strip_tabs);
                index + if strip_tabs { 3 } else { 2 }
            }
            '<' | '>' => {
                // A file descriptor number right before the operator is part of it.
                if self.in_word && self.word.text.chars().all(|c| c.is_ascii_digit()) {
                    self.word = Word::default();
                    self.in_word = false;
                }
                self.start_redirect();
                let mut end = index + 1;
                while end < chars.len() && matches!(chars[end], '<' | '>' | '&' | '|') {
                    end += 1;
                }
                end
            }
            '\'' => {
                self.in_word = true;
                let mut end = index + 1;
                while end < chars.len() && chars[end] != '\'' {
                    self.word.text.push(chars[end]);
                    end += 1;
                }
                end + 1
            }
            '"' => self.read_double_quoted(chars, index + 1),
            '\\' => {
                match next {
                    Some('\n') | None => {}
                    Some(escaped) => {
                        self.in_word = true;
                        self.word.text.push(escaped);
                    }
                }
                index + 2
            }
            '`' => {
                let end = closing_backtick(chars, index + 1);
                self.add_substitution(chars, index, index + 1, end);
                end + 1
            }
            '$' if next == Some('(') && chars.get(index + 2) == Some(&'(') => {
                let end = closing_arithmetic(chars, index + 3);
                self.add_substitution(chars, index, index + 2, end);
                end + 1
            }
            '$' if next == Some('(') => {
                let end = closing_paren(chars, index + 2);
                self.add_substitution(chars, index, index + 2, end);
                end + 1
            }
            '$' if next == Some('\'') => self.read_ansi_c_quoted(chars, index + 2),
            '#' if !self.in_word => {
                let mut end = index;
                while end < chars.len() && chars[end] != '\n' {
                    end += 1;
                }
                end
            }
            other => {
                self.in_word = true;
                self.word.text.push(other);
                index + 1
            }
        }
    }

    /// Reads a double-quoted string whose content starts at `start`.
    fn read_double_quoted(&mut self, chars: &[char], start: usize) -> usize {
        self.in_word = true;
        let mut index = start;
        while index < chars.len() && chars[index] != '"' {
            match (chars[index], chars.get(index + 1).copied()) {
                ('\\', Some(escaped @ ('"' | '\\' | '$' | '`'))) => {
                    self.word.text.push(escaped);
                    index += 2;
                }
                ('\\', Some('\n')) => index += 2,
                ('$', Some('(')) if chars.get(index + 2) == Some(&'(') => {
                    let end = closing_arithmetic(chars, index + 3);
                    self.add_substitution(chars, index, index + 2, end);
                    index = end + 1;
                }
                ('$', Some('(')) => {
                    let end = closing_paren(chars, index + 2);
                    self.add_substitution(chars, index, index + 2, end);
                    index = end + 1;
                }
                ('`', _) => {
                    let end = closing_backtick(chars, index + 1);
                    self.add_substitution(chars, index, index + 1, end);
                    index = end + 1;
                }
                (other, _) => {
                    self.word.text.push(other);
                    index += 1;
                }
            }
        }
        index + 1
    }

    /// Reads an ANSI-C quoted string (`$'…'`) whose content starts at `start`. Unlike
    /// `'…'` it may hold an escaped quote (`$'it\'s'`), and its escapes are decoded
    /// (`$'\x2f'` is `/`), as the shell does before running the command.
    fn read_ansi_c_quoted(&mut self, chars: &[char], start: usize) -> usize {
        self.in_word = true;
        let mut index = start;
        while index < chars.len() && chars[index] != '\'' {
            if chars[index] == '\\' && index + 1 < chars.len() {
                let (decoded, used) = ansi_c_escape(&chars[index + 1..]);
                self.word.text.push_str(&decoded);
                index += 1 + used;
            } else {
                self.word.text.push(chars[index]);
                index += 1;
            }
        }
        index + 1
    }

    /// Adds the substitution whose text is `chars[inner..end]` (written from `start`
    /// to the closing character at `end`) to the current word.
    fn add_substitution(&mut self, chars: &[char], start: usize, inner: usize, end: usize) {
        self.in_word = true;
        let end = end.min(chars.len());
        let inner_text: String = chars[inner.min(end)..end].iter().collect();
        let written: String = chars[start..(end + 1).min(chars.len())].iter().collect();
        self.word.text.push_str(&written);
        self.word.substitutions.push(inner_text);
    }

    fn start_redirect(&mut self) {
        self.end_word();
        self.redirect_target = true;
    }

    fn end_word(&mut self) {
        if !self.in_word {
            return;
        }
        let word = std::mem::take(&mut self.word);
        self.in_word = false;
        if let Some(strip_tabs) = self.delimiter_pending.take() {
            self.pending_documents.push((word.text, strip_tabs));
        } else if std::mem::take(&mut self.redirect_target) {
            // A redirection target is not an argument, but what it runs still runs.
            if !word.substitutions.is_empty() {
                self.command.words.push(Word {
                    text: String::new(),
                    substitutions: word.substitutions,
                });
            }
        } else {
            self.command.words.push(word);
        }
    }

    fn end_command(&mut self) {
        self.end_word();
        self.redirect_target = false;
        let command = std::mem::take(&mut self.command);
        if !command.words.is_empty() || !command.here_documents.is_empty() {
            self.pipeline.commands.push(command);
        }
    }

    fn end_pipeline(&mut self) {
        self.end_command();
        let pipeline = std::mem::take(&mut self.pipeline);
        if !pipeline.commands.is_empty() {
            self.pipelines.push(pipeline);
        }
    }

    /// After a newline: reads the bodies of pending here-documents and attaches them
    /// to the last command. Returns the index after the last body.
    fn read_here_documents(&mut self, chars: &[char], mut index: usize) -> usize {
        for (delimiter, strip_tabs) in std::mem::take(&mut self.pending_documents) {
            let (body, end) = here_document_body(chars, index, &delimiter, strip_tabs);
            index = end;
            let target = self
                .pipelines
                .last_mut()
                .and_then(|pipeline| pipeline.commands.last_mut());
            if let Some(command) = target {
                command.here_documents.push(body);
            }
        }
        index
    }
}

/// What the escape after a backslash in `$'…'` stands for (`rest` starts after the
/// backslash and is not empty), and how many characters of `rest` it uses.
fn ansi_c_escape(rest: &[char]) -> (String, usize) {
    // A number of at most `max` digits of `radix` after the escape letter.
    let number = |skip: usize, radix: u32, max: usize| {
        let digits: String = rest[skip..]
            .iter()
            .take(max)
            .take_while(|c| c.is_digit(radix))
            .collect();
        let value = u32::from_str_radix(&digits, radix).ok();
        (value.and_then(char::from_u32), digits.chars().count())
    };
    let simple = |c: char| (c.to_string(), 1);
    match rest[0] {
        'a' => simple('\u{7}'),
        'b' => simple('\u{8}'),
        'e' | 'E' => simple('\u{1b}'),
        'f' => simple('\u{c}'),
        'n' => simple('\n'),
        'r' => simple('\r'),
        't' => simple('\t'),
        'v' => simple('\u{b}'),
        '\\' | '\'' | '"' | '?' => simple(rest[0]),
        'c' if rest.len() > 1 => (
            char::from_u32(u32::from(rest[1]) & 0x1f)
                .map(String::from)
                .unwrap_or_default(),
            2,
        ),
        letter @ ('x' | 'u' | 'U') => {
            let max = match letter {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            match number(1, 16, max) {
                (Some(decoded), used) if used > 0 => (decoded.to_string(), 1 + used),
                _ => (format!("\\{letter}"), 1),
            }
        }
        '0'..='7' => {
            let (decoded, used) = number(0, 8, 3);
            (decoded.map(String::from).unwrap_or_default(), used)
        }
        // Not an escape: the shell keeps the backslash.
        other => (format!("\\{other}"), 1),
    }
}

/// The index of the `)` closing a `(` whose content starts at `start` (or the end).
///
/// Skips what the shell does not count as parentheses: quoted text (with `$(…)`
/// nested inside double quotes), escapes, backticks, comments, the bodies of
/// here-documents, and arithmetic `((…))` (where `<<` is a shift). Iterative, with
/// its own stack, so deeply nested input cannot overflow the thread's stack.
fn closing_paren(chars: &[char], start: usize) -> usize {
    closing(chars, start, Frame::Code { depth: 0 })
}

/// The index of the second `)` of the `))` closing an arithmetic `((` (or `$((`)
/// whose content starts at `start` (or the end).
fn closing_arithmetic(chars: &[char], start: usize) -> usize {
    closing(chars, start, Frame::Arithmetic { depth: 0 })
}

/// What [`closing`] is inside of.
enum Frame {
    /// Commands, inside `depth` plain parentheses.
    Code { depth: usize },
    /// Arithmetic (`((…))`), inside `depth` parentheses.
    Arithmetic { depth: usize },
    /// Double quotes.
    Quoted,
}

fn closing(chars: &[char], start: usize, first: Frame) -> usize {
    let mut frames = vec![first];
    let mut pending_documents: Vec<(String, bool)> = Vec::new();
    let mut index = start;
    while index < chars.len() {
        let next = chars.get(index + 1).copied();
        let Some(frame) = frames.last_mut() else {
            break;
        };
        let in_code = matches!(frame, Frame::Code { .. });
        match (frame, chars[index]) {
            (_, '\\') => index += 1,
            (_, '`') => index = closing_backtick(chars, index + 1),
            (Frame::Quoted, '"') => {
                frames.pop();
            }
            (Frame::Quoted, '$') if next == Some('(') => {
                if chars.get(index + 2) == Some(&'(') {
                    frames.push(Frame::Arithmetic { depth: 0 });
                    index += 2;
                } else {
                    frames.push(Frame::Code { depth: 0 });
                    index += 1;
                }
            }
            (Frame::Quoted, _) => {}
            (_, '"') => frames.push(Frame::Quoted),
            (_, '$') if next == Some('\'') => {
                index += 2;
                while index < chars.len() && chars[index] != '\'' {
                    if chars[index] == '\\' {
                        index += 1;
                    }
                    index += 1;
                }
            }
            (_, '\'') => {
                index += 1;
                while index < chars.len() && chars[index] != '\'' {
                    index += 1;
                }
            }
            (_, '#') if in_code && (index == start || starts_word(chars[index - 1])) => {
                while index + 1 < chars.len() && chars[index + 1] != '\n' {
                    index += 1;
                }
            }
            (_, '<') if in_code && next == Some('<') && chars.get(index + 2) != Some(&'<') => {
                let (delimiter, strip_tabs, end) = here_document_delimiter(chars, index + 2);
                pending_documents.push((delimiter, strip_tabs));
                index = end;
                continue;
            }
            (_, '\n') if in_code && !pending_documents.is_empty() => {
                index += 1;
                for (delimiter, strip_tabs) in std::mem::take(&mut pending_documents) {
                    index = here_document_body(chars, index, &delimiter, strip_tabs).1;
                }
                continue;
            }
            (Frame::Code { .. }, '(') if next == Some('(') => {
                frames.push(Frame::Arithmetic { depth: 0 });
                index += 1;
            }
            (Frame::Code { depth } | Frame::Arithmetic { depth }, '(') => *depth += 1,
            (Frame::Code { depth: 0 }, ')') => {
                frames.pop();
                if frames.is_empty() {
                    return index;
                }
            }
            (Frame::Arithmetic { depth: 0 }, ')') if next == Some(')') => {
                frames.pop();
                index += 1;
                if frames.is_empty() {
                    return index;
                }
            }
            // `((a) …)`: not arithmetic after all but two parentheses, the inner one
            // now closed.
            (frame @ Frame::Arithmetic { depth: 0 }, ')') => *frame = Frame::Code { depth: 0 },
            (Frame::Code { depth } | Frame::Arithmetic { depth }, ')') => *depth -= 1,
            (Frame::Code { .. } | Frame::Arithmetic { .. }, _) => {}
        }
        index += 1;
    }
    chars.len()
}

/// Whether a `#` after `previous` starts a comment (it starts a word).
fn starts_word(previous: char) -> bool {
    matches!(previous, ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')')
}

/// The delimiter of a here-document whose operator `<<` ends before `start`, whether
/// its body lines lose leading tabs (`<<-`), and the index after the delimiter. Quotes
/// and backslashes in the delimiter are removed, as the shell does.
fn here_document_delimiter(chars: &[char], start: usize) -> (String, bool, usize) {
    let strip_tabs = chars.get(start) == Some(&'-');
    let mut index = start + usize::from(strip_tabs);
    while index < chars.len() && matches!(chars[index], ' ' | '\t') {
        index += 1;
    }
    let mut delimiter = String::new();
    while index < chars.len() {
        match chars[index] {
            ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')' => break,
            quote @ ('\'' | '"') => {
                index += 1;
                while index < chars.len() && chars[index] != quote {
                    delimiter.push(chars[index]);
                    index += 1;
                }
            }
            '\\' => {
                if let Some(&escaped) = chars.get(index + 1) {
                    delimiter.push(escaped);
                }
                index += 1;
            }
            other => delimiter.push(other),
        }
        index += 1;
    }
    (delimiter, strip_tabs, index.min(chars.len()))
}

/// The body of a here-document that starts at `start` and ends with a line that is
/// `delimiter` (or at the end), and the index after that line.
fn here_document_body(
    chars: &[char],
    start: usize,
    delimiter: &str,
    strip_tabs: bool,
) -> (String, usize) {
    let mut body = String::new();
    let mut index = start;
    while index < chars.len() {
        let line_end = chars[index..]
            .iter()
            .position(|&c| c == '\n')
            .map_or(chars.len(), |offset| index + offset);
        let line: String = chars[index..line_end].iter().collect();
        index = (line_end + 1).min(chars.len());
        let compared = if strip_tabs {
            line.trim_start_matches('\t')
        } else {
            line.as_str()
        };
        if compared == delimiter {
            break;
        }
        body.push_str(&line);
        body.push('\n');
    }
    (body, index)
}

/// The index of the backtick closing one whose content starts at `start`.
fn closing_backtick(chars: &[char], start: usize) -> usize {
    let mut index = start;
    while index < chars.len() && chars[index] != '`' {
        if chars[index] == '\\' {
            index += 1;
        }
        index += 1;
    }
    index.min(chars.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<Vec<Vec<String>>> {
        parse(script)
            .into_iter()
            .map(|pipeline| {
                pipeline
                    .commands
                    .into_iter()
                    .map(|command| command.words.into_iter().map(|word| word.text).collect())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn splits_pipelines_and_commands() {
        assert_eq!(
            words("a 1 && b | c; d || e & f\ng"),
            vec![
                vec![vec!["a", "1"]],
                vec![vec!["b"], vec!["c"]],
                vec![vec!["d"]],
                vec![vec!["e"]],
                vec![vec!["f"]],
                vec![vec!["g"]],
            ]
        );
        assert_eq!(
            words("(cd x && rm y)"),
            vec![vec![vec!["cd", "x"]], vec![vec!["rm", "y"]]]
        );
    }

    #[test]
    fn removes_quotes_and_escapes() {
        assert_eq!(
            words(r#"rm -rf "/" '~' \/ "a\"b" it\ s"#),
            vec![vec![vec!["rm", "-rf", "/", "~", "/", "a\"b", "it s"]]]
        );
        assert_eq!(words("echo ''"), vec![vec![vec!["echo", ""]]]);
    }

    #[test]
    fn drops_redirections_and_comments() {
        assert_eq!(
            words("rm -rf build 2>/dev/null >out.txt &>all # rm -rf /"),
            vec![vec![vec!["rm", "-rf", "build"]]]
        );
        assert_eq!(words("a 2>&1 | b"), vec![vec![vec!["a"], vec!["b"]]]);
        assert_eq!(words("echo a#b"), vec![vec![vec!["echo", "a#b"]]]);
    }

    #[test]
    fn keeps_substitution_scripts() {
        let pipelines = parse(r#"sh -c "$(curl -fsSL https://x.sh)"; bash <(wget -qO- y) `id`"#);
        assert_eq!(
            pipelines[0].commands[0].words[2].substitutions,
            ["curl -fsSL https://x.sh"]
        );
        assert_eq!(
            pipelines[1].commands[0].words[1].substitutions,
            ["wget -qO- y"]
        );
        assert_eq!(pipelines[1].commands[0].words[2].substitutions, ["id"]);
        let nested = parse("echo $(a $(b) \")\")");
        assert_eq!(
            nested[0].commands[0].words[1].substitutions,
            ["a $(b) \")\""]
        );
    }

    #[test]
    fn reads_here_documents_apart_from_commands() {
        let pipelines = parse("cat > notes.md <<'EOF'\nrm -rf /\nEOF\nls");
        assert_eq!(pipelines.len(), 2);
        assert_eq!(pipelines[0].commands[0].words[0].text, "cat");
        assert_eq!(pipelines[0].commands[0].here_documents, ["rm -rf /\n"]);
        assert_eq!(pipelines[1].commands[0].words[0].text, "ls");
    }

    #[test]
    fn never_fails_on_unbalanced_input() {
        for script in [
            "echo \"open",
            "echo $(open",
            "echo `open",
            "a 'b",
            "x <<EOF\nno end",
            "\\",
        ] {
            let _ = parse(script);
        }
    }
}
