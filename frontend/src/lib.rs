//! The wasm entry point: hydrates the HTML the server rendered, so the same
//! components become interactive in the browser. Nothing else lives here.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // What `leptos::mount::hydrate_lazy` does (not `hydrate_body`: a page
    // behind a lazy route, `app::app::lazy`, hydrates once its wasm chunks
    // have loaded), then marks <body> `data-hydrated` when the whole page
    // is hydrated, for people debugging and for the browser tests to wait
    // on. (Marked from an effect in `App`, it came before the chunks.)
    _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let body = leptos::prelude::document().body().expect("the page has a <body>");
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
