// The sweep panel's web worker (src/ui/sweep_worker.rs, src/ui/app/sweep.rs).
// The page posts {glue, module, job}: the URL of its wasm-bindgen glue, its
// compiled WebAssembly.Module and the job as JSON. The worker instantiates
// the same module (a second instance with its own memory; the app's start
// function sees no window and mounts nothing), runs the grid, and posts
// {progress: [done, total]} after each run and {done: answer JSON} at the end.
self.onmessage = async (event) => {
  const { glue, module, job } = event.data;
  try {
    const m = await import(glue);
    m.initSync({ module });
    const answer = m.queuelab_sweep(job, (done, total) => self.postMessage({ progress: [done, total] }));
    self.postMessage({ done: answer });
  } catch (err) {
    const why = err && err.message ? err.message : String(err);
    self.postMessage({ done: JSON.stringify({ error: 'the sweep worker failed: ' + why }) });
  }
};
