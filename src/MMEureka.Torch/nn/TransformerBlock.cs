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
        if (InferenceMode.Current != null && !Autograd.Enabled && x.is_contiguous()) return InferenceForward(x, causal, keyPaddingMask, cache);
        x = x + attn.forward(ln1.forward(x), causal, keyPaddingMask, cache);
        return x + mlp.forward(ln2.forward(x));
    }

    /// <summary>
    /// Appends the keys and values of all T positions of x [B, T, D] to <paramref name="cache"/> and returns the
    /// block's output at the last position only, [B, 1, D] (causal, no gradient): forward(x)[:, -1:] up to float
    /// rounding, without the other positions' attention output, projection and MLP, which nothing reads when the
    /// block is a decoder's last and only the next token's logits are wanted (a sampler's prefill).
    /// </summary>
    public Tensor forward_last(Tensor x, KVCacheLayer cache)
    {
        int t = x.Sizes[1];
        var a = attn.forward_last(ln1.forward(x), cache);
        var last = x.narrow(1, t - 1, 1).contiguous();
        if (InferenceMode.Current != null && !Autograd.Enabled && ResidualNorm.Writable(a) && a.SameShape(last))
        {
            var h = ResidualNorm.AddThenNorm(a, last, ln2);
            var m = mlp.forward(h);
            if (!ResidualNorm.Writable(m)) m = m.contiguous().clone();
            return ResidualNorm.AddInto(m, a);
        }
        var x1 = last + a;
        return x1 + mlp.forward(ln2.forward(x1));
    }

    /// <summary>The same sums and norms under <see cref="torch.inference_mode"/>, the residual adds written into the
    /// sublayers' fresh outputs and the second add fused with ln2 (<see cref="ResidualNorm"/>): the same bits.</summary>
    private Tensor InferenceForward(Tensor x, bool causal, Tensor? keyPaddingMask, KVCacheLayer? cache)
    {
        var a = attn.forward(ln1.forward(x), causal, keyPaddingMask, cache);
        if (!a.SameShape(x)) throw new InvalidOperationException($"attention output {Tensor.ShapeString(a.Sizes)} does not match its input {Tensor.ShapeString(x.Sizes)}");
        if (!ResidualNorm.Writable(a)) a = a.contiguous().clone();
        var h = ResidualNorm.AddThenNorm(a, x, ln2); // a is now x + attn
        var m = mlp.forward(h);
        if (!ResidualNorm.Writable(m)) m = m.contiguous().clone();
        return ResidualNorm.AddInto(m, a);
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
        // q, k, v are read in place from the [B, T, 3, H, hd] projection and the heads are written straight into
        // [B, T, H, hd]: no split, transpose or merge copies (FusedAttention.SelfAttention).
        return proj.forward(FusedAttention.SelfAttention(qkv.forward(x), _heads, causal, keyPaddingMask, cache));
    }

    /// <summary>x [B, T, D] -> [B, 1, D]: appends all T positions' keys and values to <paramref name="cache"/>, and
    /// only the last position attends (see <see cref="TransformerBlock.forward_last"/>).</summary>
    public Tensor forward_last(Tensor x, KVCacheLayer cache) =>
        proj.forward(FusedAttention.SelfAttention(qkv.forward(x), _heads, causal: true, null, cache, lastQueryOnly: true));
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

    /// <summary>fc2(gelu(fc1(x))), with fc1 and the GELU as one op (<see cref="nn.functional.linear_gelu"/>).</summary>
    public override Tensor forward(Tensor x) => fc2.forward(nn.functional.linear_gelu(x, fc1.weight, fc1.bias));
}
