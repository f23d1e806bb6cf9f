"""PyTorch twins of the engine's models: the pre-LN transformer block, a small GPT (for the speed
reference) and MiniVlm (for parity), laid out exactly as /work/shared/design/ARCHITECTURE.md says so
that a safetensors file written by the C# side loads here name for name."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class KVCache:
    """Preallocated keys and values of one attention layer, [B, H, T_max, head_dim] each."""

    def __init__(self, batch, heads, max_len, head_dim, dtype=torch.float32):
        self.k = torch.zeros(batch, heads, max_len, head_dim, dtype=dtype)
        self.v = torch.zeros(batch, heads, max_len, head_dim, dtype=dtype)


class Attention(nn.Module):
    """Multi-head self-attention written out (torch 1.13 has no scaled_dot_product_attention)."""

    def __init__(self, dim, heads, causal):
        super().__init__()
        assert dim % heads == 0, f"dim {dim} is not divisible by heads {heads}"
        self.heads, self.head_dim, self.causal = heads, dim // heads, causal
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, cache=None, pos=0, key_mask=None):
        """key_mask [B, pos + T] bool (optional): False where a key is padding."""
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        # [B, T, H, hd] -> [B, H, T, hd]
        q, k, v = (z.view(b, t, self.heads, self.head_dim).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            cache.k[:, :, pos:pos + t] = k
            cache.v[:, :, pos:pos + t] = v
            k, v = cache.k[:, :, :pos + t], cache.v[:, :, :pos + t]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        if self.causal and t > 1:
            # query i sits at absolute position pos + i and may see keys 0..pos + i
            allowed = torch.ones(t, pos + t, dtype=torch.bool).tril(diagonal=pos)
            att = att.masked_fill(~allowed, float("-inf"))
        if key_mask is not None:
            att = att.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(y)


class Mlp(nn.Module):
    def __init__(self, dim, ratio):
        super().__init__()
        self.fc1 = nn.Linear(dim, ratio * dim)
        self.fc2 = nn.Linear(ratio * dim, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU, PyTorch's default


class Block(nn.Module):
    """Pre-LN block: x + attn(ln1(x)), then + mlp(ln2(x))."""

    def __init__(self, dim, heads, mlp_ratio=4, eps=1e-5, causal=True):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, causal)
        self.ln2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(self, x, cache=None, pos=0, key_mask=None):
        x = x + self.attn(self.ln1(x), cache, pos, key_mask)
        return x + self.mlp(self.ln2(x))


class Gpt(nn.Module):
    """Token + learned position embeddings, causal blocks, final LayerNorm, bias-free lm_head."""

    def __init__(self, vocab=96, dim=128, layers=4, heads=4, max_len=96):
        super().__init__()
        self.heads, self.max_len = heads, max_len
        self.tok_embed = nn.Embedding(vocab, dim)
        self.pos_embed = nn.Parameter(torch.randn(max_len, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)

    def forward(self, tokens, caches=None, pos=0):
        t = tokens.shape[1]
        x = self.tok_embed(tokens) + self.pos_embed[pos:pos + t]
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i], pos)
        return self.lm_head(self.norm(x))

    @torch.no_grad()
    def generate(self, prompt, new_tokens, temperature=1.0, generator=None):
        """Samples new_tokens per row with a KV cache; returns [B, new_tokens]."""
        b, t0 = prompt.shape
        dim = self.tok_embed.embedding_dim
        caches = [KVCache(b, self.heads, t0 + new_tokens, dim // self.heads) for _ in self.blocks]
        logits = self(prompt, caches, 0)[:, -1]
        out = torch.empty(b, new_tokens, dtype=torch.long)
        for i in range(new_tokens):
            probs = F.softmax(logits / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)
            out[:, i] = nxt[:, 0]
            if i + 1 < new_tokens:
                logits = self(nxt, caches, t0 + i)[:, -1]
        return out


VLM_CONFIG_KEYS = ("image_size", "channels", "patch_size", "vision_dim", "vision_layers", "vision_heads",
                   "text_dim", "text_layers", "text_heads", "mlp_ratio", "layer_norm_eps", "max_text_len",
                   "vocab_size")


def patchify(pixels, patch):
    """[B, C, S, S] pixels in [0,1] -> [B, P, C*patch*patch] normalised patches; patch p = row * cols + col,
    feature c * patch^2 + py * patch + px (ARCHITECTURE.md)."""
    b, c, s, _ = pixels.shape
    n = s // patch
    x = (pixels - 0.5) / 0.5
    x = x.reshape(b, c, n, patch, n, patch)          # b, c, row, py, col, px
    x = x.permute(0, 2, 4, 1, 3, 5)                  # b, row, col, c, py, px
    return x.reshape(b, n * n, c * patch * patch)


class VisionEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, p = cfg["vision_dim"], cfg["patch_size"]
        self.patch = p
        patches = (cfg["image_size"] // p) ** 2
        self.patch_embed = nn.Linear(cfg["channels"] * p * p, d)
        self.pos_embed = nn.Parameter(torch.randn(patches, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, cfg["vision_heads"], cfg["mlp_ratio"], cfg["layer_norm_eps"], causal=False)
                                    for _ in range(cfg["vision_layers"]))
        self.norm = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])

    def forward(self, pixels):
        x = self.patch_embed(patchify(pixels, self.patch)) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class Projector(nn.Module):
    def __init__(self, vision_dim, text_dim):
        super().__init__()
        self.fc1 = nn.Linear(vision_dim, text_dim)
        self.fc2 = nn.Linear(text_dim, text_dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class TextDecoder(nn.Module):
    def __init__(self, cfg, image_tokens):
        super().__init__()
        d = cfg["text_dim"]
        self.tok_embed = nn.Embedding(cfg["vocab_size"], d)
        self.pos_embed = nn.Parameter(torch.randn(image_tokens + cfg["max_text_len"], d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, cfg["text_heads"], cfg["mlp_ratio"], cfg["layer_norm_eps"], causal=True)
                                    for _ in range(cfg["text_layers"]))
        self.norm = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])


class MiniVlm(nn.Module):
    """The policy: image patches -> vision encoder -> projector, prepended to the tokens of a causal decoder."""

    def __init__(self, cfg):
        super().__init__()
        missing = [k for k in VLM_CONFIG_KEYS if k not in cfg]
        if missing:
            raise ValueError(f"config is missing {', '.join(missing)}")
        if cfg["image_size"] % cfg["patch_size"]:
            raise ValueError(f"image_size {cfg['image_size']} is not a multiple of patch_size {cfg['patch_size']}")
        self.cfg = cfg
        self.image_tokens = (cfg["image_size"] // cfg["patch_size"]) ** 2
        self.vision = VisionEncoder(cfg)
        self.projector = Projector(cfg["vision_dim"], cfg["text_dim"])
        self.text = TextDecoder(cfg, self.image_tokens)
        self.lm_head = nn.Linear(cfg["text_dim"], cfg["vocab_size"], bias=False)

    def forward(self, pixels, tokens):
        """pixels [B, C, S, S] in [0,1], tokens [B, T] -> logits [B, image_tokens + T, V]."""
        img = self.projector(self.vision(pixels))
        x = torch.cat([img, self.text.tok_embed(tokens)], dim=1)
        x = x + self.text.pos_embed[: x.shape[1]]
        for block in self.text.blocks:
            x = block(x)
        return self.lm_head(self.text.norm(x))

    @torch.no_grad()
    def generate(self, pixels, prompts, max_new_tokens, temperature=1.0, generator=None, stop=(6, 2)):
        """KV-cache sampling as the engine's Sampler does it (src/MMEureka/Models/Sampler.cs): the batch is
        [image ; left pads ; prompt] with the pads masked out as keys and every real token at the position it would
        have alone; a row stops at a stop token (</answer> = 6, <eos> = 2) or after min(max_new_tokens,
        max_text_len - prompt length) tokens, and leaves the batch (the used part of its cache rows compacted).
        pixels [B, C, S, S] in [0, 1]; prompts: one list of token ids per row. Returns one list of ids per row."""
        b, p = len(prompts), self.image_tokens
        lens = [len(x) for x in prompts]
        t0 = max(lens)
        limit = [min(max_new_tokens, self.cfg["max_text_len"] - n) for n in lens]
        total = p + t0 + max(limit)
        ids = torch.zeros(b, t0, dtype=torch.long)  # <pad> = 0
        key_mask = torch.ones(b, total, dtype=torch.bool)
        positions = torch.zeros(b, p + t0, dtype=torch.long)
        positions[:, :p] = torch.arange(p)
        for r, prompt in enumerate(prompts):
            pad = t0 - len(prompt)
            ids[r, pad:] = torch.tensor(prompt)
            key_mask[r, p:p + pad] = False
            positions[r, p + pad:] = torch.arange(p, p + len(prompt))
        heads, dim = self.cfg["text_heads"], self.cfg["text_dim"]
        caches = [KVCache(b, heads, total, dim // heads) for _ in self.text.blocks]
        x = torch.cat([self.projector(self.vision(pixels)), self.text.tok_embed(ids)], dim=1) + self.text.pos_embed[positions]
        for block, cache in zip(self.text.blocks, caches):
            x = block(x, cache, 0, key_mask[:, :p + t0])
        logits = self.lm_head(self.text.norm(x[:, -1]))
        out = [[] for _ in range(b)]
        active = list(range(b))
        next_pos = torch.tensor([p + n for n in lens])
        length = p + t0
        while True:
            if temperature > 0:
                nxt = torch.multinomial(F.softmax(logits / temperature, dim=-1), 1, generator=generator)[:, 0]
            else:  # greedy, for checking that both sides decode the same tokens
                nxt = logits.argmax(dim=-1)
            keep = []
            for a, tok in enumerate(nxt.tolist()):
                r = active[a]
                out[r].append(tok)
                if tok not in stop and len(out[r]) < limit[r]:
                    keep.append(a)
            if not keep:
                return out
            if len(keep) < len(active):
                idx = torch.tensor(keep)
                for cache in caches:  # compact the rows that go on, copying only the positions stored so far
                    cache.k[:len(keep), :, :length] = cache.k[idx, :, :length]
                    cache.v[:len(keep), :, :length] = cache.v[idx, :, :length]
                    cache.k, cache.v = cache.k[:len(keep)], cache.v[:len(keep)]
                active = [active[a] for a in keep]
                key_mask, nxt, next_pos = key_mask[idx], nxt[idx], next_pos[idx]
            x = self.text.tok_embed(nxt[:, None]) + self.text.pos_embed[next_pos][:, None]
            for block, cache in zip(self.text.blocks, caches):
                x = block(x, cache, length, key_mask[:, :length + 1])
            logits = self.lm_head(self.text.norm(x[:, -1]))
            length += 1
            next_pos = next_pos + 1
