// Trunk's initializer hooks (data-initializer in index.html): report the wasm
// download on the loading screen. `total` is the wasm's size at build time
// (uncompressed; the browser counts decompressed bytes too), 0 if unknown.
// The Rust side removes #loading when the app mounts (src/ui/mod.rs start()).
export default function queuelabLoader() {
  const bar = () => document.getElementById('loading-bar');
  const msg = () => document.getElementById('loading-msg');
  const mb = (n) => (n / 1048576).toFixed(1);
  return {
    onStart: () => { const m = msg(); if (m) m.textContent = 'Downloading the simulator…'; },
    onProgress: ({ current, total }) => {
      const m = msg();
      const b = bar();
      if (total > 0) {
        const pct = Math.min(100, Math.round((current * 100) / total));
        if (b) b.style.width = pct + '%';
        if (m) m.textContent = `Downloading the simulator… ${mb(current)} of ${mb(total)} MB (${pct}%)`;
      } else if (m) {
        m.textContent = `Downloading the simulator… ${mb(current)} MB`;
      }
    },
    onComplete: () => { const m = msg(); if (m) m.textContent = 'Starting…'; },
    onFailure: (error) => {
      const l = document.getElementById('loading');
      if (l) l.classList.add('failed');
      const m = msg();
      if (m) m.textContent = 'QueueLab could not start: ' + (error && error.message ? error.message : String(error)) +
        '. Reload the page; if it persists, the server may be serving .wasm with the wrong MIME type (it needs application/wasm).';
    },
  };
}
