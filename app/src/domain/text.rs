//! Free text people type (a product description, a note, a reason): line
//! breaks and tabs are text; every other control character (NUL among
//! them, which PostgreSQL refuses in text) is refused at the edge, so UI
//! and REST accept the same and no database sees it.

/// Whether `s` holds no control character but line breaks and tabs.
pub fn is_free_text(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn line_breaks_and_tabs_are_text_other_controls_are_not() {
        assert!(super::is_free_text("two\nlines\r\nand\ta tab"));
        assert!(!super::is_free_text("a\0b"));
        assert!(!super::is_free_text("bell\u{7}"));
        assert!(!super::is_free_text("escape\u{1b}[31m"));
    }
}
