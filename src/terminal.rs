//! Text for a terminal: data from an export (a column name, an event name, a rule id in an outcomes
//! file) can hold escape sequences that recolour, retitle or rewrite the terminal that prints them,
//! or bidirectional overrides that show text in another order than it is. Every line the CLI prints
//! goes through `clean`, which shows such characters as escapes (`\u{1b}`) instead of sending them.

use std::borrow::Cow;

/// Would this character act on the terminal (or on the order text is shown in) when printed?
fn acts(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The text with every character that acts on a terminal shown as its escape; line breaks and tabs
/// stay (the CLI's own layout uses them).
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(acts) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if acts(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// One line of data in a message (a name): `clean`, and line breaks escaped too.
pub fn clean_line(s: &str) -> String {
    clean(s).replace('\n', "\\n").replace('\t', "\\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_sent() {
        assert_eq!(clean("page_view"), "page_view");
        assert_eq!(clean("a\nb\tc"), "a\nb\tc");
        assert_eq!(clean("ev\x1b[31mname"), "ev\\u{1b}[31mname");
        assert_eq!(clean("x\x07\r"), "x\\u{7}\\u{d}");
        assert_eq!(clean("abc\u{202E}fed"), "abc\\u{202e}fed");
        assert_eq!(clean_line("a\nb"), "a\\nb");
    }
}
