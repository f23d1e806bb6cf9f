using static MMEureka.Torch.torch;

namespace MMEureka.Torch.Modules;

/// <summary>
/// A pre-LN transformer block (GPT-2 style): x + attn(ln1(x)), then x + mlp(ln2(x)), with exact GELU.
/// Submodule names match the PyTorch reference model: ln1, attn.qkv, attn.proj, ln2, mlp.fc1, mlp.fc2.
/// </summary>
public sealed class TransformerBlock : nn.Module
{
    public readonly LayerNorm ln1;
    public readonly SelfAttention attn;
    public readonly LayerNorm ln2;
    public readonly Mlp mlp;

    public TransformerBlock(long dim, long heads, long mlpRatio = 4, double eps = 1e-5)
    {
        ln1 = new LayerNorm([dim], eps);
        attn = new SelfAttention(dim, heads);
        ln2 = new LayerNorm([dim], eps);
        mlp = new Mlp(dim, dim * mlpRatio);
        RegisterComponents();
    }

    /// <summary>x [B, T, D] -> [B, T, D]. <paramref name="causal"/>: each position attends to itself and earlier ones;
    /// <paramref name="keyPaddingMask"/> [B, Tk]: non-zero where a key is real; with <paramref name="cache"/> the new
    /// keys/values are appended and the queries (the last T positions) attend over everything cached.</summary>
    public Tensor forward(Tensor x, bool causal, Tensor? keyPaddingMask = null, KVCacheLayer? cache = null)
    {
        x = x + attn.forward(ln1.forward(x), causal, keyPaddingMask, cache);
        return x + mlp.forward(ln2.forward(x));
    }
}

/// <summary>Multi-head self-attention: one qkv projection D -> 3D (q, k, v in that order, heads split as
/// [B, T, H, D/H]), fused scaled dot-product attention, output projection D -> D.</summary>
public sealed class SelfAttention : nn.Module
{
    public readonly Linear qkv;
    public readonly Linear proj;
    private readonly int _heads;

    public SelfAttention(long dim, long heads)
    {
        if (dim % heads != 0) throw new ArgumentException($"dim {dim} is not divisible by heads {heads}");
        _heads = (int)heads;
        qkv = new Linear(dim, 3 * dim);
        proj = new Linear(dim, dim);
        RegisterComponents();
    }

    /// <summary>x [B, T, D] -> [B, T, D] (see <see cref="TransformerBlock.forward"/>).</summary>
    public Tensor forward(Tensor x, bool causal, Tensor? keyPaddingMask = null, KVCacheLayer? cache = null)
    {
        long B = x.size(0), T = x.size(1), D = x.size(2), hd = D / _heads;
        // [B, T, 3, H, hd] -> three [B, H, T, hd] views (no copies; sdpa reads the strided layout).
        var heads = qkv.forward(x).view(B, T, 3, _heads, hd);
        var q = heads.select(2, 0).transpose(1, 2);
        var k = heads.select(2, 1).transpose(1, 2);
        var v = heads.select(2, 2).transpose(1, 2);
        if (cache != null) (k, v) = cache.append(k, v);
        var y = nn.functional.scaled_dot_product_attention(q, k, v, causal, keyPaddingMask);
        return proj.forward(y.transpose(1, 2).reshape(B, T, D));
    }
}

/// <summary>Position-wise feed-forward: fc1 (D -> hidden), exact GELU, fc2 (hidden -> D).</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    public readonly Linear fc1;
    public readonly Linear fc2;

    public Mlp(long dim, long hidden)
    {
        fc1 = new Linear(dim, hidden);
        fc2 = new Linear(hidden, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.forward(fc1.forward(x).gelu());
}
