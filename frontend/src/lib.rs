//! The wasm entry point: hydrates the HTML the server rendered, so the same
//! components become interactive in the browser. Nothing else lives here.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
