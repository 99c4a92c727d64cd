//! The wasm entry point: hydrates the HTML the server rendered, so the same
//! components become interactive in the browser. Nothing else lives here.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // `hydrate_lazy`, not `hydrate_body`: a page behind a lazy route
    // (`app::app::lazy`) hydrates once its wasm chunks have loaded.
    leptos::mount::hydrate_lazy(app::App);
}
