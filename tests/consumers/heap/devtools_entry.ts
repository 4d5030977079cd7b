// DevTools' own heap snapshot worker code, bundled for Node by esbuild: load a file the way
// the Memory panel does and expose what the Summary and Retainers views show.
import {HeapSnapshotLoader} from 'chrome-devtools-frontend/front_end/entrypoints/heap_snapshot_worker/HeapSnapshotLoader.ts';
import {SecondaryInitManager} from 'chrome-devtools-frontend/front_end/entrypoints/heap_snapshot_worker/HeapSnapshot.ts';

// Node 20 has no Promise.withResolvers, which the worker uses.
if (!(Promise as any).withResolvers) {
  (Promise as any).withResolvers = function() {
    let resolve: any, reject: any;
    const promise = new Promise((a, b) => { resolve = a; reject = b; });
    return {promise, resolve, reject};
  };
}

export async function loadDevTools(text: string): Promise<any> {
  const dispatcher = {sendEvent() {}};
  const loader = new HeapSnapshotLoader(dispatcher as any);
  for (let i = 0; i < text.length; i += 1 << 20) loader.write(text.slice(i, i + (1 << 20)));
  loader.close();
  const channel = new MessageChannel();
  new SecondaryInitManager(channel.port2 as any);
  const snapshot = await loader.buildSnapshot(channel.port1 as any);
  channel.port1.close();
  channel.port2.close();
  return snapshot;
}
