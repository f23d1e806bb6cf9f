"""safetensors and PNG, read and written with the standard library and numpy only (no safetensors or PIL
package on the machine). Errors name the file and the tensor or chunk at fault."""
import json
import os
import struct
import zlib

import numpy as np

# safetensors dtype names -> numpy little-endian dtypes (BF16 is widened by hand below)
_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
              "U8": "u1", "BOOL": "?"}
_NP_TO_ST = {np.dtype("<f8"): "F64", np.dtype("<f4"): "F32", np.dtype("<i8"): "I64", np.dtype("<i4"): "I32"}


class FileFormatError(ValueError):
    """A fixture, checkpoint or image that does not follow its format."""


def read_safetensors(path):
    """Returns {name: numpy array}. Layout: u64 little-endian header size, JSON header
    {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the byte buffer."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise FileFormatError(f"{path}: too short for a safetensors file ({len(raw)} bytes)")
    (header_len,) = struct.unpack("<Q", raw[:8])
    if 8 + header_len > len(raw):
        raise FileFormatError(f"{path}: header length {header_len} runs past the end of the file")
    try:
        header = json.loads(raw[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FileFormatError(f"{path}: header is not valid JSON ({e})") from e
    buffer = memoryview(raw)[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError) as e:
            raise FileFormatError(f"{path}: tensor {name}: malformed header entry {info!r}") from e
        if not 0 <= begin <= end <= len(buffer):
            raise FileFormatError(f"{path}: tensor {name}: data_offsets [{begin}, {end}] outside the "
                                  f"{len(buffer)}-byte buffer")
        chunk = buffer[begin:end]
        if dtype == "BF16":
            arr = (np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in _ST_DTYPES:
            arr = np.frombuffer(chunk, dtype=_ST_DTYPES[dtype])
        else:
            raise FileFormatError(f"{path}: tensor {name}: unsupported dtype {dtype}")
        count = int(np.prod(shape)) if shape else 1
        if arr.size != count:
            raise FileFormatError(f"{path}: tensor {name}: shape {shape} needs {count} values, "
                                  f"data_offsets hold {arr.size}")
        tensors[name] = arr.reshape(shape).copy()
    return tensors


def write_safetensors(path, tensors):
    """Writes {name: numpy array} (float32/float64/int32/int64) through a temporary file and a rename."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        if arr.dtype not in _NP_TO_ST:
            raise ValueError(f"tensor {name}: dtype {arr.dtype} is not supported")
        data = arr.tobytes()
        header[name] = {"dtype": _NP_TO_ST[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)  # the format pads the header so the buffer starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path):
    """8-bit grey, grey+alpha, RGB or RGBA, non-interlaced PNG -> uint8 array [H, W, C] (C = 1, 2, 3 or 4)."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_PNG_SIGNATURE):
        raise FileFormatError(f"{path}: not a PNG file (bad signature)")
    pos, ihdr, idat = 8, None, []
    while pos < len(raw):
        if pos + 8 > len(raw):
            raise FileFormatError(f"{path}: truncated chunk header at byte {pos}")
        length, kind = struct.unpack(">I4s", raw[pos:pos + 8])
        data = raw[pos + 8:pos + 8 + length]
        crc_bytes = raw[pos + 8 + length:pos + 12 + length]
        if len(data) != length or len(crc_bytes) != 4:
            raise FileFormatError(f"{path}: chunk {kind!r} at byte {pos} is truncated")
        if zlib.crc32(kind + data) != struct.unpack(">I", crc_bytes)[0]:
            raise FileFormatError(f"{path}: chunk {kind!r} at byte {pos} has a bad CRC")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat.append(data)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if ihdr is None:
        raise FileFormatError(f"{path}: no IHDR chunk")
    width, height, depth, colour, _, _, interlace = ihdr
    channels = {0: 1, 4: 2, 2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace != 0:
        raise FileFormatError(f"{path}: only 8-bit grey/RGB(A) non-interlaced PNGs are supported "
                              f"(bit depth {depth}, colour type {colour}, interlace {interlace})")
    try:
        stream = zlib.decompress(b"".join(idat))
    except zlib.error as e:
        raise FileFormatError(f"{path}: IDAT data does not inflate ({e})") from e
    stride = width * channels
    if len(stream) != height * (stride + 1):
        raise FileFormatError(f"{path}: image data has {len(stream)} bytes, expected {height * (stride + 1)}")
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = [0] * stride
    for y in range(height):
        row_start = y * (stride + 1)
        ftype = stream[row_start]
        cur = list(stream[row_start + 1:row_start + 1 + stride])
        for i in range(stride):
            left = cur[i - channels] if i >= channels else 0
            up = prev[i]
            up_left = prev[i - channels] if i >= channels else 0
            if ftype == 0:
                pred = 0
            elif ftype == 1:
                pred = left
            elif ftype == 2:
                pred = up
            elif ftype == 3:
                pred = (left + up) // 2
            elif ftype == 4:
                pred = _paeth(left, up, up_left)
            else:
                raise FileFormatError(f"{path}: row {y} has unknown filter type {ftype}")
            cur[i] = (cur[i] + pred) & 0xFF
        out[y] = cur
        prev = cur
    return out.reshape(height, width, channels)


def write_png(path, image, filters=(0,)):
    """uint8 [H, W, 1..4] -> PNG; row y uses filter filters[y % len(filters)] (so tests can cover all five)."""
    height, width, channels = image.shape
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    stride = width * channels
    rows, prev = [], [0] * stride
    for y in range(height):
        cur = [int(v) for v in image[y].reshape(-1)]
        ftype = filters[y % len(filters)]
        enc = [ftype]
        for i in range(stride):
            left = cur[i - channels] if i >= channels else 0
            up_left = prev[i - channels] if i >= channels else 0
            pred = [0, left, prev[i], (left + prev[i]) // 2, _paeth(left, prev[i], up_left)][ftype]
            enc.append((cur[i] - pred) & 0xFF)
        rows.append(bytes(enc))
        prev = cur

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (_PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(png)
    os.replace(tmp, path)
