//! A page's data, read once per request on the server however many times the page is
//! drawn.
//!
//! Leptos 0.8.23's `<Suspense>` walks its children again when its tasks drain
//! (`dry_resolve`, leptos-rs/leptos#4688), and tachys calls a closure view anew on each
//! walk. Every page sits inside the closure of `header::SignedIn` that awaits the viewer,
//! so a page could be drawn two or three times in one request, each time making its
//! resources anew: its server functions read the database again and each reply was
//! written into the HTML again (a history page's 26 KB grew to 38 KB). It happened in 2%
//! of the history page's requests on one machine and a third on a busier one: the busier
//! the server, the more often, so under load, where it costs most (docs/benchmarks.md,
//! "Pages under load").
//!
//! [`page_resource`] keeps the first drawing's resource for the rest of the request, so
//! the later drawings read the same data under the same hydration id. The browser
//! hydrates once and makes each resource once, as before.
//!
//! Since [`super::suspend`] the walks no longer build a page at all, so a request draws
//! each page once. This stays as the guard on the reads: a view drawn again anyway (a
//! `Suspend::new` written without `suspend`, a change in Leptos) still reads its data
//! once and writes them into the page once.

use leptos::prelude::*;

/// The resource made by `make`, or, on the server, the one this line made earlier in
/// this request. Only for a page's own data: one resource per line of code per
/// request, so not in a component drawn more than once on a page (a table's rows).
#[track_caller]
pub fn page_resource<T, Ser>(make: impl FnOnce() -> Resource<T, Ser>) -> Resource<T, Ser>
where
    T: Send + Sync + 'static,
    Ser: Send + Sync + 'static,
{
    #[cfg(feature = "ssr")]
    if let Some(PageResources(made)) = use_context::<PageResources>() {
        use std::sync::PoisonError;
        let line = std::panic::Location::caller();
        let earlier = made
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(line)
            .and_then(|earlier| earlier.downcast_ref::<ArcResource<T, Ser>>())
            .cloned();
        if let Some(earlier) = earlier {
            return earlier.into();
        }
        let resource = make();
        made.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(line, Box::new(ArcResource::from(resource)));
        return resource;
    }
    make()
}

/// The resources this request's pages made, by the line that made them (see
/// [`page_resource`]). Provided by `ui::App`, once per request.
#[cfg(feature = "ssr")]
#[derive(Clone, Default)]
pub struct PageResources(std::sync::Arc<std::sync::Mutex<ByLine>>);

#[cfg(feature = "ssr")]
type ByLine = std::collections::HashMap<
    &'static std::panic::Location<'static>,
    Box<dyn std::any::Any + Send + Sync>,
>;

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use any_spawner::Executor;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// One request that draws its page `drawings` times; returns how many resources it
    /// made and what each drawing's resource held.
    async fn request(drawings: usize, reads: &Arc<AtomicUsize>) -> (usize, Vec<usize>) {
        let owner = Owner::new();
        let mut made = 0;
        let resources: Vec<ArcResource<usize>> = owner.with(|| {
            provide_context(PageResources::default());
            (0..drawings)
                .map(|_| {
                    let reads = Arc::clone(reads);
                    let resource = page_resource(|| {
                        made += 1;
                        Resource::new(
                            || (),
                            move |_| {
                                let read = reads.fetch_add(1, Ordering::SeqCst) + 1;
                                async move { read }
                            },
                        )
                    });
                    ArcResource::from(resource)
                })
                .collect()
        });
        let mut held = Vec::new();
        for resource in resources {
            held.push(resource.await);
        }
        (made, held)
    }

    #[tokio::test]
    async fn a_page_drawn_three_times_in_one_request_reads_its_data_once() {
        let _ = Executor::init_tokio();
        let reads = Arc::new(AtomicUsize::new(0));
        let (made, held) = request(3, &reads).await;
        assert_eq!(made, 1);
        assert_eq!(held, [1, 1, 1], "every drawing reads the first read's data");
        assert_eq!(reads.load(Ordering::SeqCst), 1);

        // The next request reads afresh.
        let (made, held) = request(2, &reads).await;
        assert_eq!(made, 1);
        assert_eq!(held, [2, 2]);
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn without_a_request_each_call_makes_its_own() {
        let _ = Executor::init_tokio();
        let owner = Owner::new();
        let made = owner.with(|| {
            let mut made = 0;
            for _ in 0..2 {
                let _ = page_resource(|| {
                    made += 1;
                    Resource::new(|| (), |_| async { 0_u8 })
                });
            }
            made
        });
        assert_eq!(made, 2);
    }
}
