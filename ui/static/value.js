// KV values travel as base64. A value is shown as text when it is valid
// UTF-8 without control characters (other than tab and newlines), else as
// base64, and saved back the same way.

export function decodeValue(b64) {
  if (!b64) return { text: '', binary: false };
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return { text, binary: false };
  } catch {
    // not UTF-8: binary
  }
  return { text: b64, binary: true };
}

// encodeValue is the request body for text, or the bytes base64 names.
export function encodeValue(text, isBase64) {
  if (!isBase64) return text;
  const clean = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) {
    throw new Error('The value is not valid base64.');
  }
  return Uint8Array.from(atob(clean), (c) => c.charCodeAt(0));
}
