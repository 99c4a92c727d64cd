//! Text people type: free text (a product description, a note) may hold
//! line breaks and tabs; a one-line value (a reason, a search) holds no
//! control character at all. Every other control character (NUL among
//! them, which PostgreSQL refuses in text) is refused at the edge, so the
//! pages and the REST API accept the same and no database sees it.

/// Whether `s` holds no control character but line breaks and tabs.
pub fn is_free_text(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// Whether `s` holds no control character at all (one line).
pub fn is_one_line(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// A CSV field of an export: quoted when needed; a leading `= + - @` (or
/// tab/CR) gets a `'` so a spreadsheet shows it as text instead of running
/// it as a formula (user agents and names come from outside).
pub fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}") } else { v.to_owned() };
    if v.contains([',', '"', '\n', '\r']) || v.starts_with(' ') || v.ends_with(' ') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_and_defused() {
        use super::csv_field;
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-1+2"), "'-1+2");
        assert_eq!(csv_field(" padded"), "\" padded\"");
    }

    #[test]
    fn line_breaks_and_tabs_are_text_other_controls_are_not() {
        assert!(super::is_free_text("two\nlines\r\nand\ta tab"));
        assert!(!super::is_free_text("a\0b"));
        assert!(!super::is_free_text("bell\u{7}"));
        assert!(!super::is_free_text("escape\u{1b}[31m"));
        assert!(super::is_one_line("a reason\u{a0}with a no-break space"));
        assert!(!super::is_one_line("two\nlines"));
    }
}
