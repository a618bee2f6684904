// One error type for the whole package: the engine's stable `code` and a message naming what is
// wrong. Errors cross the worker boundary as plain objects and become TritoneErrors again here.
export class TritoneError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'TritoneError';
    this.code = code;
  }

  // Any thrown value (a wasm TritoneError, a DOMException, a string) as a TritoneError.
  static from(e) {
    if (e instanceof TritoneError) return e;
    if (e?.name === 'AbortError') return new TritoneError('cancelled', 'cancelled');
    return new TritoneError(e?.code ?? 'internal', e?.message ?? String(e));
  }
}

export function cancelled() {
  return new TritoneError('cancelled', 'cancelled');
}
