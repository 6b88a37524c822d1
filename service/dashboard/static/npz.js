// Enough of the .npz format to preview an upload in the browser: a zip (stored, or deflated as
// np.savez_compressed writes it) of .npy members, each a header (dtype, shape, order) then the
// raw cells. readNpzArrays(file) gives {X, y} as {shape, rows (the first ones), nan (per column,
// over the rows read), partial}, or throws with the reason there is no preview. Only the first
// NPY_PREVIEW_BYTES of a member are decompressed: a 1 GB X previews as fast as a small one.
"use strict";

const NPY_PREVIEW_BYTES = 4 << 20;
const NPY_PREVIEW_COLUMNS = 50; // NaN counts for at most these: a header may declare any width
const NPY_TYPES = { f8: Float64Array, f4: Float32Array, i8: BigInt64Array, i4: Int32Array, i2: Int16Array,
  i1: Int8Array, u8: BigUint64Array, u4: Uint32Array, u2: Uint16Array, u1: Uint8Array, b1: Uint8Array };

async function zipMembers(file) {
  // The end-of-central-directory record sits in the last 22 + 65535 bytes.
  const tailStart = Math.max(0, file.size - 65557);
  const tail = new DataView(await file.slice(tailStart).arrayBuffer());
  let end = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--) if (tail.getUint32(i, true) === 0x06054b50) { end = i; break; }
  if (end < 0) throw new Error("not a zip file");
  const count = tail.getUint16(end + 10, true);
  const dirSize = tail.getUint32(end + 12, true), dirStart = tail.getUint32(end + 16, true);
  if (dirStart === 0xffffffff) throw new Error("a zip64 archive (no preview)");
  const dir = new DataView(await file.slice(dirStart, dirStart + dirSize).arrayBuffer());
  const members = {};
  for (let i = 0, at = 0; i < count; i++) {
    const method = dir.getUint16(at + 10, true), size = dir.getUint32(at + 20, true);
    const nameLength = dir.getUint16(at + 28, true), extra = dir.getUint16(at + 30, true);
    const comment = dir.getUint16(at + 32, true), offset = dir.getUint32(at + 42, true);
    const name = new TextDecoder().decode(new Uint8Array(dir.buffer, at + 46, nameLength));
    members[name] = { method, size, offset };
    at += 46 + nameLength + extra + comment;
  }
  return members;
}

// The first `limit` bytes of a member, inflated when it is deflated.
async function memberHead(file, member, limit) {
  const local = new DataView(await file.slice(member.offset, member.offset + 30).arrayBuffer());
  const start = member.offset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
  let stream = file.slice(start, start + member.size).stream();
  if (member.method === 8) stream = stream.pipeThrough(new DecompressionStream("deflate-raw"));
  else if (member.method !== 0) throw new Error(`zip method ${member.method} (no preview)`);
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  while (total < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
  }
  reader.cancel().catch(() => {});
  const bytes = new Uint8Array(Math.min(total, limit));
  let at = 0;
  for (const c of chunks) { bytes.set(c.subarray(0, bytes.length - at), at); at += c.length; if (at >= bytes.length) break; }
  return bytes;
}

// A .npy head: {shape, rows, nan, partial}; rows are arrays of numbers or strings.
function parseNpy(bytes) {
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== "NUMPY") throw new Error("not a .npy member");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const long = bytes[6] >= 2;
  const headerLength = long ? view.getUint32(8, true) : view.getUint16(8, true);
  const headerStart = long ? 12 : 10;
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = (header.match(/'descr':\s*'([^']+)'/) || [])[1] || "";
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = ((header.match(/'shape':\s*\(([^)]*)\)/) || [])[1] || "").split(",").filter((s) => s.trim()).map(Number);
  if (fortran) throw new Error("a Fortran-ordered array (no preview)");
  if (descr[0] === ">") throw new Error("a big-endian array (no preview)");
  const width = shape.length > 1 ? shape[1] : 1;
  const data = bytes.slice(headerStart + headerLength); // a copy: typed arrays need aligned offsets
  let cells, itemSize;
  const unicode = descr.match(/^[<|]U(\d+)$/);
  if (unicode) {
    itemSize = 4 * Number(unicode[1]);
    const n = Math.floor(data.length / itemSize);
    cells = Array.from({ length: n }, (_, i) => {
      const codes = new Uint32Array(data.buffer, i * itemSize, itemSize / 4);
      return String.fromCodePoint(...codes.filter((c) => c !== 0));
    });
  } else {
    const Type = NPY_TYPES[descr.slice(1)];
    if (!Type) throw new Error(`dtype ${descr} (no preview)`);
    itemSize = Type.BYTES_PER_ELEMENT;
    const n = Math.floor(data.length / itemSize);
    cells = Array.from(new Type(data.buffer, 0, n), (v) => (typeof v === "bigint" ? Number(v) : v));
    if (descr.slice(1) === "b1") cells = cells.map(Boolean);
  }
  const rowsRead = Math.min(shape[0] || 0, Math.floor(cells.length / width));
  const rows = Array.from({ length: rowsRead }, (_, i) => cells.slice(i * width, (i + 1) * width));
  const nan = Array.from({ length: Math.min(width, NPY_PREVIEW_COLUMNS) }, (_, j) => rows.reduce((s, r) => s + (Number.isNaN(r[j]) ? 1 : 0), 0));
  return { shape, rows, nan, partial: rowsRead < (shape[0] || 0) };
}

async function readNpzArrays(file) {
  const members = await zipMembers(file);
  const arrays = {};
  for (const name of ["X", "y"]) {
    const member = members[`${name}.npy`];
    if (member) arrays[name] = parseNpy(await memberHead(file, member, NPY_PREVIEW_BYTES));
  }
  if (!arrays.X) throw new Error("no array X");
  return arrays;
}
