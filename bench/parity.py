#!/usr/bin/env python3
"""PyTorch parity for the C# engine and the MiniVlm policy.

    parity.py block DIR                                       one transformer block: output and gradients
    parity.py vlm --checkpoint DIR --input IN.json --logits OUT.json   MiniVlm logits
    parity.py prm --checkpoint DIR --scores SCORES.json       PRM step scores (mmeureka prm score --json)
    parity.py selftest                                        fixtures written by PyTorch itself, end to end

Exit codes: 0 parity holds, 1 a difference exceeds its tolerance, 2 bad or missing input.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tensor_files import FileFormatError, read_png, read_safetensors, write_png, write_safetensors  # noqa: E402
from torch_models import VLM_CONFIG_KEYS, Block, Gpt, KVCache, MiniVlm, patchify  # noqa: E402

BLOCK_TOL_REL = 1e-4   # block: max|engine - torch64| / max|torch64|, per tensor
VLM_TOL_ABS = 1e-4     # vlm: max|engine - torch64| over all logits
BLOCK_PARAMS = ("ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
                "attn.proj.bias", "ln2.weight", "ln2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                "mlp.fc2.weight", "mlp.fc2.bias")


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileFormatError(f"{path}: file not found") from None
    except json.JSONDecodeError as e:
        raise FileFormatError(f"{path}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None


def require_keys(path, obj, keys):
    if not isinstance(obj, dict):
        raise FileFormatError(f"{path}: expected a JSON object")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise FileFormatError(f"{path}: missing field(s) {', '.join(missing)}")


def load_state(module, tensors, path, dtype, prefix="", aliases=None):
    """Copies tensors[prefix + name] into module's parameters; every parameter must be present with its shape
    and every tensor must be used. aliases maps a parameter name to another accepted file name."""
    aliases = aliases or {}
    params = dict(module.named_parameters())
    used = set()
    with torch.no_grad():
        for name, p in params.items():
            key = prefix + name if prefix + name in tensors else aliases.get(name)
            if key not in tensors:
                raise FileFormatError(f"{path}: tensor {prefix + name} is missing")
            arr = tensors[key]
            if tuple(arr.shape) != tuple(p.shape):
                raise FileFormatError(f"{path}: tensor {key} has shape {list(arr.shape)}, expected {list(p.shape)}")
            p.copy_(torch.from_numpy(np.asarray(arr, dtype=np.float64)).to(dtype))
            used.add(key)
    extra = sorted(set(tensors) - used)
    if extra:
        raise FileFormatError(f"{path}: unexpected tensor(s) {', '.join(extra)}")


def diff(a, b):
    """(max abs diff, max abs diff / max|b|) with b the reference."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    abs_diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return abs_diff, (abs_diff / scale if scale > 0 else abs_diff)


# ---------------------------------------------------------------------------------------------- block

def block_results(cfg, params, st_path, x, upstream, dtype):
    """Forward and backward of loss = sum(block(x) * upstream) in dtype; returns {name: numpy}."""
    block = Block(cfg["dim"], cfg["heads"], cfg["mlp_ratio"], cfg["eps"], cfg["causal"]).to(dtype)
    load_state(block, params, st_path, dtype, prefix="param.")
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    out = block(xt)
    (out * torch.tensor(upstream, dtype=dtype)).sum().backward()
    res = {"output": out.detach().numpy(), "grad.input": xt.grad.numpy()}
    res.update({f"grad.{n}": p.grad.numpy() for n, p in block.named_parameters()})
    return res


def read_block_fixture(folder):
    cfg_path, st_path = os.path.join(folder, "config.json"), os.path.join(folder, "block.safetensors")
    cfg = read_json(cfg_path)
    require_keys(cfg_path, cfg, ("dim", "heads", "mlp_ratio", "eps", "causal"))
    if not os.path.exists(st_path):
        raise FileFormatError(f"{st_path}: file not found")
    tensors = read_safetensors(st_path)
    wanted = ([f"param.{n}" for n in BLOCK_PARAMS] + ["input", "upstream", "output", "grad.input"]
              + [f"grad.{n}" for n in BLOCK_PARAMS])
    missing = [w for w in wanted if w not in tensors]
    if missing:
        raise FileFormatError(f"{st_path}: missing tensor(s) {', '.join(missing)}")
    d = cfg["dim"]
    for name in ("input", "upstream", "output", "grad.input"):
        if tensors[name].ndim != 3 or tensors[name].shape[2] != d:
            raise FileFormatError(f"{st_path}: tensor {name} has shape {list(tensors[name].shape)}, expected [B, T, {d}]")
    params = {k: v for k, v in tensors.items() if k.startswith("param.")}
    return cfg, params, st_path, tensors


def check_block(folder, log=print):
    """Compares the engine's block output and gradients in folder with PyTorch; True when all within tolerance."""
    cfg, params, st_path, t = read_block_fixture(folder)
    ref64 = block_results(cfg, params, st_path, t["input"], t["upstream"], torch.float64)
    ref32 = block_results(cfg, params, st_path, t["input"], t["upstream"], torch.float32)
    log(f"block dim={cfg['dim']} heads={cfg['heads']} causal={cfg['causal']} input {list(t['input'].shape)}; "
        f"reference: PyTorch float64")
    log(f"{'tensor':<26}{'engine abs':>12}{'engine rel':>12}{'torch32 rel':>13}")
    ok = True
    for name in ["output", "grad.input"] + [f"grad.{n}" for n in BLOCK_PARAMS]:
        engine = t[name]
        if engine.shape != ref64[name].shape:
            raise FileFormatError(f"{st_path}: tensor {name} has shape {list(engine.shape)}, "
                                  f"expected {list(ref64[name].shape)}")
        a, r = diff(engine, ref64[name])
        _, r32 = diff(ref32[name], ref64[name])
        bad = not r <= BLOCK_TOL_REL  # NaN counts as bad
        ok &= not bad
        log(f"{name:<26}{a:>12.2e}{r:>12.2e}{r32:>13.2e}{'  FAIL' if bad else ''}")
    log(f"block parity {'OK' if ok else 'FAILED'} (tolerance: relative {BLOCK_TOL_REL:g})")
    return ok


# ------------------------------------------------------------------------------------------------ vlm

def read_vlm_config(folder):
    path = os.path.join(folder, "config.json")
    cfg = read_json(path)
    require_keys(path, cfg, VLM_CONFIG_KEYS)
    if cfg["channels"] != 3:
        raise FileFormatError(f"{path}: channels {cfg['channels']}: only RGB (3) images are supported")
    return cfg


def vlm_aliases(model):
    # The learned position tables are bare parameters; a writer may also have named them "<name>.weight".
    return {n: n + ".weight" for n, _ in model.named_parameters() if n.endswith("pos_embed")}


def load_vlm(folder, cfg, dtype):
    model = MiniVlm(cfg).to(dtype)
    path = os.path.join(folder, "model.safetensors")
    if not os.path.exists(path):
        raise FileFormatError(f"{path}: file not found")
    load_state(model, read_safetensors(path), path, dtype, aliases=vlm_aliases(model))
    return model.eval()


def read_vlm_input(path, cfg):
    """IN.json -> (pixels [C, S, S] float64 in [0, 1], tokens list)."""
    obj = read_json(path)
    require_keys(path, obj, ("tokens",))
    c, s = cfg["channels"], cfg["image_size"]
    if "image" in obj:
        img_path = os.path.join(os.path.dirname(os.path.abspath(path)), obj["image"])
        img = read_png(img_path)
        if img.shape[:2] != (s, s):
            raise FileFormatError(f"{img_path}: image is {img.shape[1]}x{img.shape[0]}, the model takes {s}x{s}")
        rgb = img[:, :, :3] if img.shape[2] >= 3 else np.repeat(img[:, :, :1], 3, axis=2)  # alpha is ignored
        pixels = rgb.transpose(2, 0, 1).astype(np.float64) / 255.0
    elif "pixels" in obj:
        pixels = np.asarray(obj["pixels"], dtype=np.float64)
        if pixels.shape != (c * s * s,):
            raise FileFormatError(f"{path}: field pixels has {pixels.size} values, expected {c}*{s}*{s} = {c * s * s}")
        if not np.all((pixels >= 0) & (pixels <= 1)):
            raise FileFormatError(f"{path}: field pixels has values outside [0, 1]")
        pixels = pixels.reshape(c, s, s)  # index c*S*S + y*S + x
    else:
        raise FileFormatError(f"{path}: needs a field image (PNG path) or pixels ({c}*{s}*{s} floats)")
    tokens = obj["tokens"]
    if not isinstance(tokens, list) or not all(isinstance(t, int) for t in tokens):
        raise FileFormatError(f"{path}: field tokens must be a list of integers")
    for i, t in enumerate(tokens):
        if not 0 <= t < cfg["vocab_size"]:
            raise FileFormatError(f"{path}: tokens[{i}] = {t} is outside the vocabulary [0, {cfg['vocab_size']})")
    if len(tokens) > cfg["max_text_len"]:
        raise FileFormatError(f"{path}: {len(tokens)} tokens, max_text_len is {cfg['max_text_len']}")
    return pixels, tokens


def vlm_logits(model, pixels, tokens, dtype):
    with torch.no_grad():
        px = torch.tensor(pixels, dtype=dtype).unsqueeze(0)
        tok = torch.tensor(tokens, dtype=torch.long).reshape(1, -1)
        return model(px, tok)[0].numpy()


def check_vlm(checkpoint, in_path, out_path, log=print):
    cfg = read_vlm_config(checkpoint)
    pixels, tokens = read_vlm_input(in_path, cfg)
    obj = read_json(out_path)
    require_keys(out_path, obj, ("logits",))
    try:
        engine = np.asarray(obj["logits"], dtype=np.float64)
    except (TypeError, ValueError):
        raise FileFormatError(f"{out_path}: field logits must be a rectangular list of lists of numbers") from None
    ref64 = vlm_logits(load_vlm(checkpoint, cfg, torch.float64), pixels, tokens, torch.float64)
    ref32 = vlm_logits(load_vlm(checkpoint, cfg, torch.float32), pixels, tokens, torch.float32)
    if engine.shape != ref64.shape:
        raise FileFormatError(f"{out_path}: logits have shape {list(engine.shape)}, expected {list(ref64.shape)} "
                              f"({ref64.shape[0] - len(tokens)} image positions + {len(tokens)} tokens, vocab {cfg['vocab_size']})")
    a, r = diff(engine, ref64)
    a32, _ = diff(ref32, ref64)
    worst = np.unravel_index(np.argmax(np.abs(engine - ref64)), engine.shape) if engine.size else (0, 0)
    ok = a <= VLM_TOL_ABS
    log(f"vlm logits {list(engine.shape)}: max abs diff {a:.2e} at position {worst[0]}, token {worst[1]} "
        f"(relative {r:.2e}); PyTorch float32 vs float64: {a32:.2e}")
    log(f"vlm parity {'OK' if ok else 'FAILED'} (tolerance: absolute {VLM_TOL_ABS:g})")
    return ok



# ------------------------------------------------------------------------------------------------ prm

PRM_TOL_ABS = 1e-4     # prm: max|engine - torch64| over the step scores p(yes)
PRM_YES, PRM_NO, PRM_TAG = 8, 9, 7  # token ids of <yes>, <no>, <prm>


def prm_scores(model, pixels, tokens, tags, dtype):
    """Step scores: softmax over the (<yes>, <no>) logits output at each <prm> position, taking yes."""
    logits = vlm_logits(model, pixels, tokens, dtype)
    image = logits.shape[0] - len(tokens)
    two = torch.tensor(np.stack([logits[image + t, [PRM_YES, PRM_NO]] for t in tags]) if tags else np.zeros((0, 2)),
                       dtype=torch.float64)
    return torch.softmax(two, dim=-1)[:, 0].numpy()


def check_prm(checkpoint, scores_path, log=print):
    """SCORES.json (from `mmeureka prm score --json`): pixels, tokens, tags (text positions of the <prm> tags)
    and the engine's scores; PyTorch recomputes the scores from the checkpoint's weights."""
    cfg = read_vlm_config(checkpoint)
    obj = read_json(scores_path)
    require_keys(scores_path, obj, ("pixels", "tokens", "tags", "scores"))
    tmp_in = {"pixels": obj["pixels"], "tokens": obj["tokens"]}
    with tempfile.TemporaryDirectory() as tmp:
        in_path = os.path.join(tmp, "in.json")
        with open(in_path, "w") as f:
            json.dump(tmp_in, f)
        pixels, tokens = read_vlm_input(in_path, cfg)
    tags = obj["tags"]
    if not isinstance(tags, list) or not all(isinstance(t, int) and 0 <= t < len(tokens) for t in tags):
        raise FileFormatError(f"{scores_path}: field tags must be a list of token positions in [0, {len(tokens)})")
    bad = [t for t in tags if tokens[t] != PRM_TAG]
    if bad:
        raise FileFormatError(f"{scores_path}: tags {bad} do not point at <prm> tokens (id {PRM_TAG})")
    engine = np.asarray(obj["scores"], dtype=np.float64)
    if engine.shape != (len(tags),):
        raise FileFormatError(f"{scores_path}: {engine.size} scores for {len(tags)} tags")
    ref64 = prm_scores(load_vlm(checkpoint, cfg, torch.float64), pixels, tokens, tags, torch.float64)
    ref32 = prm_scores(load_vlm(checkpoint, cfg, torch.float32), pixels, tokens, tags, torch.float32)
    a, _ = diff(engine, ref64)
    a32, _ = diff(ref32, ref64)
    ok = a <= PRM_TOL_ABS
    log(f"prm step scores ({len(tags)} steps): engine {np.round(engine, 5).tolist()}")
    log(f"                          PyTorch {np.round(ref64, 5).tolist()}")
    log(f"max abs diff {a:.2e}; PyTorch float32 vs float64: {a32:.2e}")
    log(f"prm parity {'OK' if ok else 'FAILED'} (tolerance: absolute {PRM_TOL_ABS:g})")
    return ok


# ------------------------------------------------------------------------------------------- selftest

def write_block_fixture(folder, cfg, seed, perturb=None, engine_causal=None):
    """A fixture whose 'engine' numbers come from PyTorch float32 (optionally with the other mask, or with
    one gradient nudged) so the checker can be exercised before the C# side exists."""
    g = torch.Generator().manual_seed(seed)
    engine_cfg = dict(cfg, causal=cfg["causal"] if engine_causal is None else engine_causal)
    block = Block(cfg["dim"], cfg["heads"], cfg["mlp_ratio"], cfg["eps"], engine_cfg["causal"])
    with torch.no_grad():  # LayerNorm starts at (1, 0); move it so its gradients are exercised
        for ln in (block.ln1, block.ln2):
            ln.weight.copy_(1 + 0.3 * torch.randn(cfg["dim"], generator=g))
            ln.bias.copy_(0.1 * torch.randn(cfg["dim"], generator=g))
    x = torch.randn(2, 7, cfg["dim"], generator=g, requires_grad=True)
    upstream = torch.randn(2, 7, cfg["dim"], generator=g)
    out = block(x)
    (out * upstream).sum().backward()
    t = {"input": x.detach().numpy(), "upstream": upstream.numpy(), "output": out.detach().numpy(),
         "grad.input": x.grad.numpy()}
    for n, p in block.named_parameters():
        t[f"param.{n}"] = p.detach().numpy()
        t[f"grad.{n}"] = p.grad.numpy().copy()
    if perturb:
        g_ = t[perturb]
        g_.flat[0] += 1e-3 * np.max(np.abs(g_))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f)
    write_safetensors(os.path.join(folder, "block.safetensors"), t)


def default_vlm_config(vocab=106):
    return {"image_size": 48, "channels": 3, "patch_size": 8, "vision_dim": 96, "vision_layers": 2,
            "vision_heads": 4, "text_dim": 128, "text_layers": 4, "text_heads": 4, "mlp_ratio": 4,
            "layer_norm_eps": 1e-5, "max_text_len": 192, "vocab_size": vocab}


def selftest_patchify():
    """patchify against the definition, element by element: patch row*6+col, feature c*64 + py*8 + px."""
    rng = np.random.default_rng(0)
    img = rng.random((3, 48, 48))
    got = patchify(torch.tensor(img).unsqueeze(0), 8)[0].numpy()
    want = np.zeros((36, 192))
    for row in range(6):
        for col in range(6):
            for c in range(3):
                for py in range(8):
                    for px in range(8):
                        want[row * 6 + col, c * 64 + py * 8 + px] = (img[c, row * 8 + py, col * 8 + px] - 0.5) / 0.5
    return np.array_equal(got, want)


def selftest(log=print):
    results = []

    def check(label, ok):
        results.append(ok)
        log(f"[{'pass' if ok else 'FAIL'}] {label}")

    quiet = lambda *_: None  # noqa: E731  (negative cases print only their verdict)
    check("patchify follows patch = row*6+col, feature = c*64+py*8+px", selftest_patchify())
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        # safetensors round trip
        arrays = {"a": rng.standard_normal((3, 5)).astype(np.float32), "b": np.arange(7, dtype=np.int64),
                  "c.d": rng.standard_normal((2, 2, 2))}
        st = os.path.join(tmp, "t.safetensors")
        write_safetensors(st, arrays)
        back = read_safetensors(st)
        check("safetensors write/read round trip (F32, I64, F64)",
              back.keys() == arrays.keys() and all(np.array_equal(back[k], arrays[k]) and back[k].dtype == arrays[k].dtype
                                                    for k in arrays))
        # PNG: every filter type, RGB and RGBA
        for channels in (1, 2, 3, 4):
            img = rng.integers(0, 256, (48, 48, channels), dtype=np.uint8)
            png = os.path.join(tmp, f"img{channels}.png")
            write_png(png, img, filters=(0, 1, 2, 3, 4))
            check(f"PNG decode, {channels} channels, filters None/Sub/Up/Average/Paeth",
                  np.array_equal(read_png(png), img))
        try:  # an independent encoder, when Pillow happens to be installed (it is not required)
            from PIL import Image
        except ImportError:
            log("[skip] PNG written by Pillow (Pillow not installed)")
        else:
            img = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
            img[:, :24] //= 4  # smooth regions make the encoder's adaptive filter choose more than one type
            png = os.path.join(tmp, "pil.png")
            Image.fromarray(img, "RGB").save(png)
            check("PNG written by Pillow decodes to the same pixels", np.array_equal(read_png(png), img))

        # block fixtures
        for causal in (True, False):
            cfg = {"dim": 32, "heads": 4, "mlp_ratio": 4, "eps": 1e-5, "causal": causal}
            folder = os.path.join(tmp, f"block_{causal}")
            write_block_fixture(folder, cfg, seed=3)
            check(f"block fixture (causal={causal}) from PyTorch float32 passes", check_block(folder, log))
        cfg = {"dim": 32, "heads": 4, "mlp_ratio": 4, "eps": 1e-5, "causal": True}
        for name in ("grad.mlp.fc1.weight", "grad.ln1.bias", "grad.input", "output"):
            folder = os.path.join(tmp, "block_bad_" + name)
            write_block_fixture(folder, cfg, seed=3, perturb=name)
            check(f"block fixture with {name} nudged by 1e-3 relative fails", not check_block(folder, quiet))
        folder = os.path.join(tmp, "block_nomask")
        write_block_fixture(folder, cfg, seed=3, engine_causal=False)
        check("block fixture computed without the causal mask fails", not check_block(folder, quiet))

        # the speed reference's KV-cached decoding must give the logits of the full forward
        torch.manual_seed(5)
        gpt = Gpt(vocab=20, dim=32, layers=2, heads=4, max_len=24).eval()
        seq = torch.randint(0, 20, (3, 12))
        caches = [KVCache(3, 4, 12, 8) for _ in gpt.blocks]
        with torch.no_grad():
            full = gpt(seq)
            steps = [gpt(seq[:, :5], caches, 0)] + [gpt(seq[:, i:i + 1], caches, i) for i in range(5, 12)]
        check("GPT with KV cache (prefill 5, then 1 token at a time) matches the full forward",
              torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5))

        # vlm fixture: a random MiniVlm saved as a checkpoint, inputs as PNG and as pixels
        vcfg = default_vlm_config()
        ckpt = os.path.join(tmp, "ckpt")
        os.makedirs(ckpt)
        torch.manual_seed(4)
        model = MiniVlm(vcfg)
        with open(os.path.join(ckpt, "config.json"), "w") as f:
            json.dump(vcfg, f)
        state = {n: p.detach().numpy() for n, p in model.named_parameters()}
        write_safetensors(os.path.join(ckpt, "model.safetensors"), state)
        img = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
        os.makedirs(os.path.join(tmp, "inputs", "img"))
        write_png(os.path.join(tmp, "inputs", "img", "x.png"), img, filters=(4, 3, 1, 2, 0))
        tokens = [1, 3] + [int(t) for t in rng.integers(10, 106, 20)] + [4, 2]
        pixels = img.transpose(2, 0, 1).astype(np.float64) / 255.0
        with torch.no_grad():
            logits = model(torch.tensor(pixels, dtype=torch.float32).unsqueeze(0),
                           torch.tensor([tokens]))[0].numpy()
        in_png, in_px = os.path.join(tmp, "inputs", "in_png.json"), os.path.join(tmp, "in_px.json")
        out, out_bad = os.path.join(tmp, "out.json"), os.path.join(tmp, "out_bad.json")
        with open(in_png, "w") as f:
            json.dump({"image": "img/x.png", "tokens": tokens}, f)
        with open(in_px, "w") as f:
            json.dump({"pixels": pixels.reshape(-1).tolist(), "tokens": tokens}, f)
        with open(out, "w") as f:
            json.dump({"logits": logits.tolist()}, f)
        bad = logits.copy()
        bad[40, 7] += 5e-4
        with open(out_bad, "w") as f:
            json.dump({"logits": bad.tolist()}, f)
        check("vlm checkpoint + PNG input (path relative to IN.json) passes", check_vlm(ckpt, in_png, out, log))
        check("vlm checkpoint + pixels input passes", check_vlm(ckpt, in_px, out, log))
        check("vlm logits off by 5e-4 at one entry fail", not check_vlm(ckpt, in_px, out_bad, quiet))
        # a second token sequence shifted by one position must not match (positions 36+t are used)
        with open(os.path.join(tmp, "in_shift.json"), "w") as f:
            json.dump({"pixels": pixels.reshape(-1).tolist(), "tokens": [tokens[0]] + tokens[:-1]}, f)
        check("vlm logits of other tokens fail", not check_vlm(ckpt, os.path.join(tmp, "in_shift.json"), out, quiet))
        # ".weight"-suffixed position tables load too
        alias = {(n + ".weight" if n.endswith("pos_embed") else n): a for n, a in state.items()}
        write_safetensors(os.path.join(ckpt, "model.safetensors"), alias)
        check("vlm checkpoint naming pos_embed as pos_embed.weight passes", check_vlm(ckpt, in_px, out, quiet))
        # error paths name the file and tensor
        del alias["text.blocks.2.mlp.fc2.bias"]
        write_safetensors(os.path.join(ckpt, "model.safetensors"), alias)
        try:
            check_vlm(ckpt, in_px, out, quiet)
            check("missing tensor is reported", False)
        except FileFormatError as e:
            check(f"missing tensor is reported: {e}", "text.blocks.2.mlp.fc2.bias" in str(e))
    log(f"selftest: {sum(results)}/{len(results)} checks passed")
    return all(results)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("block", help="compare one transformer block's output and gradients")
    b.add_argument("dir")
    v = sub.add_parser("vlm", help="compare MiniVlm logits")
    v.add_argument("--checkpoint", required=True)
    v.add_argument("--input", required=True)
    v.add_argument("--logits", required=True)
    r = sub.add_parser("prm", help="compare PRM step scores (mmeureka prm score --json)")
    r.add_argument("--checkpoint", required=True)
    r.add_argument("--scores", required=True)
    sub.add_parser("selftest", help="check this script on fixtures written by PyTorch")
    args = ap.parse_args()
    try:
        if args.cmd == "block":
            ok = check_block(args.dir)
        elif args.cmd == "vlm":
            ok = check_vlm(args.checkpoint, args.input, args.logits)
        elif args.cmd == "prm":
            ok = check_prm(args.checkpoint, args.scores)
        else:
            ok = selftest()
    except FileFormatError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
