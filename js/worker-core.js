// The engine in a module Web Worker: the page's main thread only posts messages and receives
// audio chunks (their buffers transferred, not copied). worker.js runs it on the plain build,
// worker-threads.js on the threaded one; each imports its build statically, so a bundler makes
// each worker one file.
import { Session } from './session.js';
import { modelBytes } from './model-source.js';
import { TritoneError } from './errors.js';

let session = null;
const cancelled = new Set();

// `startWasm(data)`: the initialized wasm-bindgen module for the 'init' request.
export function serveEngine(startWasm) {
  self.onmessage = async ({ data }) => {
    const { id, op } = data;
    const reply = (message, transfer = []) => self.postMessage({ id, ...message }, transfer);
    try {
      switch (op) {
        case 'init':
          session = new Session(await startWasm(data), data.threadsReason);
          reply({ type: 'result', value: null });
          break;
        case 'load': {
          const progress = (p) => reply({ type: 'progress', progress: p });
          const model = await modelBytes(data.source, { ...data.options, progress });
          progress({ phase: 'load', loaded: model.bytes.length, total: model.bytes.length });
          const info = await session.load(model.bytes, data.options.backend, data.options.int8);
          await model.commit();
          reply({ type: 'result', value: info });
          break;
        }
        case 'stream':
          for await (const chunk of session.stream(data.input, data.options, () => cancelled.has(id))) {
            reply({ type: 'chunk', chunk }, [chunk.samples.buffer]);
          }
          reply({ type: 'done' });
          break;
        case 'cancel':
          cancelled.add(data.target);
          break;
        case 'dispose':
          session?.dispose();
          self.close();
          break;
        default:
          throw new TritoneError('bad_option', `unknown worker request ${op}`);
      }
    } catch (e) {
      const error = TritoneError.from(e);
      reply({ type: 'error', error: { code: error.code, message: error.message } });
    } finally {
      if (op === 'stream') cancelled.delete(id);
    }
  };
}
