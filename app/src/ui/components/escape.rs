//! Text that Leptos 0.8 writes raw on the server, escaped here: the page
//! title (leptos_meta 0.8.7 puts the formatted title into `<title>` as it
//! is) and a textarea's content (tachys 0.2 does not escape `<textarea>`
//! children; 0.3 will). Both are RCDATA to the HTML parser: only `&` and a
//! closing tag mean anything there, so `&`, `<` and `>` as character
//! references keep them text. In the browser the same text goes through the
//! DOM (`document.title`, a text node) and must stay raw, or people would
//! read `&lt;`; so the escaping happens under `ssr` only.

use leptos::prelude::*;

/// `&`, `<` and `>` as character references (text content, not attributes).
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The document title for a page's `<Title text=…>`: "Products · Portcullis",
/// or "Portcullis" alone. The app's one `<Title formatter>`; every title
/// passes through it, so this is where the server's title is escaped.
pub fn page_title(text: String) -> String {
    let title = if text.is_empty() { "Portcullis".to_owned() } else { format!("{text} · Portcullis") };
    if cfg!(feature = "ssr") {
        escape_text(&title)
    } else {
        title
    }
}

/// What a textarea's child must be for its value to be `text`. On the
/// server: escaped, after one newline, because the parser drops a newline
/// right after `<textarea>` (text that starts with one keeps it). In the
/// browser: the text itself, as a text node. Hydration never compares the
/// two: tachys leaves a textarea's children alone when hydrating.
pub fn textarea_content(text: String) -> String {
    if cfg!(feature = "ssr") {
        format!("\n{}", escape_text(&text))
    } else {
        text
    }
}

/// A `<textarea>` holding `text` (its value as the form submits it). The
/// only way pages write a textarea; other attributes go on as `attr:name=…`.
#[component]
pub fn TextArea(#[prop(into)] text: String) -> impl IntoView {
    view! { <textarea>{textarea_content(text)}</textarea> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_text() {
        assert_eq!(escape_text(r#"</title><a href="x">&amp;'"#), r#"&lt;/title&gt;&lt;a href="x"&gt;&amp;amp;'"#);
        assert_eq!(escape_text("plain · text"), "plain · text");
    }

    #[test]
    fn titles_are_escaped_on_the_server() {
        assert_eq!(page_title(String::new()), "Portcullis");
        // Unit tests run with `ssr` (the server's side).
        assert_eq!(page_title("</title><meta>".into()), "&lt;/title&gt;&lt;meta&gt; · Portcullis");
    }

    #[test]
    fn textarea_content_survives_the_parser() {
        assert_eq!(textarea_content("\nfirst line\n</textarea>&amp;".into()), "\n\nfirst line\n&lt;/textarea&gt;&amp;amp;");
        assert_eq!(textarea_content(String::new()), "\n");
    }

    /// Pages write no `<textarea>` of their own (its content would be raw)
    /// and no `style` (the CSP allows no inline styles: use classes).
    #[test]
    fn no_raw_textarea_and_no_inline_style() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut pending = vec![root.join("ui"), root.join("app.rs")];
        let mut found = Vec::new();
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if path.ends_with("components/escape.rs") || path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for (n, line) in source.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if ["<textarea", " style=", " style:", "attr:style"].iter().any(|bad| code.contains(bad)) {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
        assert!(found.is_empty(), "use ui::components::escape::TextArea and classes:\n{}", found.join("\n"));
    }
}
