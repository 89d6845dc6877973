//! A page's view, built once per request on the server however many times Leptos walks
//! it.
//!
//! A `<Suspense>` (or `<Transition>`) in Leptos 0.8.23 walks its children before it
//! renders them (`dry_resolve`): once on the way in, and once more when its resources
//! have arrived, to find resources read only inside what they show
//! (leptos-rs/leptos#4688). tachys calls a closure view anew on each walk, and a
//! `Suspend` whose data are already there builds its whole view on a walk, only for the
//! walk to drop it. So the render built a signed-in page up to twice: the header and
//! the page inside `header::SignedIn`'s `Suspend`, and each table again inside its own
//! `<Transition>` (docs/benchmarks.md, "Pages under load", session 26).
//!
//! [`suspend`] is `Suspend::new` whose body, on the server, waits one turn of the
//! executor before it starts. A walk polls a `Suspend` once (`now_or_never`), so it finds
//! the body pending and builds nothing; the render polls it to the end and builds the
//! view once. What the walk would have found is not needed here: every page reads its
//! data by awaiting it inside a `suspend` under a `<Suspense>` or `<Transition>` of its
//! own, which waits for it when it renders (signed-in pages render with
//! `SsrMode::Async`, so the whole page is awaited before it is sent). A resource read
//! with `.get()` in a view that is not under its own `<Suspense>` would not be waited for,
//! and would render empty: read resources with `.await` in a `suspend`.
//!
//! In the browser it is `Suspend::new`: hydration walks the view once. The Add credit
//! dialog's `Suspend`s stay `Suspend::new`: the dialog is closed when a page is served,
//! so its content is only ever drawn in the browser.

use leptos::prelude::*;
use std::future::Future;

/// `Suspend::new(body)`; on the server, `body` starts one executor turn later, so
/// `<Suspense>`'s walks do not build the view it returns.
pub fn suspend<V, F>(body: F) -> Suspend<V>
where
    F: Future<Output = V> + Send + 'static,
{
    #[cfg(feature = "ssr")]
    let body = async move {
        tokio::task::yield_now().await;
        body.await
    };
    Suspend::new(body)
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A view whose data are already there; counts how often it is built.
    fn body(built: &Arc<AtomicUsize>) -> impl Future<Output = String> + Send + 'static {
        let built = Arc::clone(built);
        async move {
            built.fetch_add(1, Ordering::SeqCst);
            "view".to_string()
        }
    }

    #[tokio::test]
    async fn a_walk_does_not_build_the_view_and_the_render_builds_it_once() {
        let owner = Owner::new();
        owner.set();

        // Leptos' own: a walk (`dry_resolve`) builds the view, and the render again.
        let built = Arc::new(AtomicUsize::new(0));
        Suspend::new(body(&built)).dry_resolve();
        assert_eq!(built.load(Ordering::SeqCst), 1);
        assert_eq!(
            Suspend::new(body(&built)).resolve().await.as_deref(),
            Some("view")
        );
        assert_eq!(built.load(Ordering::SeqCst), 2);

        let built = Arc::new(AtomicUsize::new(0));
        suspend(body(&built)).dry_resolve();
        suspend(body(&built)).dry_resolve();
        assert_eq!(built.load(Ordering::SeqCst), 0, "walks build nothing");
        assert_eq!(
            suspend(body(&built)).resolve().await.as_deref(),
            Some("view")
        );
        assert_eq!(built.load(Ordering::SeqCst), 1, "the render builds it once");
    }
}
