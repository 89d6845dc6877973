// Preloads a lazy island's piece of the split bundle: each file (`pkg/<file>.wasm`,
// fetched as the split loader will fetch it) and the loader itself. `ui::preload_piece`
// writes this into the document's head with the piece's files, so the browser fetches
// them beside the main module.
((pkg, loader, files) => {
  const add = (rel, href, wasm) => {
    const link = document.createElement("link");
    link.rel = rel;
    link.href = href;
    if (wasm) {
      link.as = "fetch";
      link.type = "application/wasm";
      link.crossOrigin = "anonymous";
    }
    document.head.appendChild(link);
  };
  for (const file of files) add("preload", `${pkg}/${file}.wasm`, true);
  add("modulepreload", `${pkg}/${loader}`, false);
})
