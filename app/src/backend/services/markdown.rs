//! Product descriptions: Markdown rendered to HTML, then sanitised with
//! ammonia's allow-list (no scripts, styles, event handlers or `javascript:`
//! links; links get `rel="noopener noreferrer nofollow"`).

use pulldown_cmark::{html, Options, Parser};

pub fn render(markdown: &str) -> String {
    let mut raw = String::with_capacity(markdown.len() * 2);
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    html::push_html(&mut raw, Parser::new_ext(markdown, opts));
    ammonia::Builder::default().link_rel(Some("noopener noreferrer nofollow")).clean(&raw).to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_markdown() {
        let html = render("# Title\n\n**bold** and [a link](https://example.com)\n\n- one\n- two");
        assert!(html.contains("<h1>Title</h1>"));
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains("<li>one</li>"));
        assert!(html.contains("rel=\"noopener noreferrer nofollow\""));
    }

    #[test]
    fn no_script_gets_through() {
        for evil in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<svg onload=alert(1)>",
            "<style>body{display:none}</style>",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
        ] {
            let html = render(evil).to_lowercase();
            for bad in ["<script", "onerror", "javascript:", "<iframe", "onload", "<style", "style="] {
                assert!(!html.contains(bad), "{evil} -> {html}");
            }
        }
    }
}
