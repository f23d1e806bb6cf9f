using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MMEureka.Twin;

/// <summary>Keys and values of one attention layer, [B, H, T_max, head_dim] each, filled up to <see cref="Length"/>.</summary>
public sealed class TwinCacheLayer : IDisposable
{
    /// <summary>Keys [B, H, T_max, hd].</summary>
    public Tensor K { get; private set; }
    /// <summary>Values [B, H, T_max, hd].</summary>
    public Tensor V { get; private set; }
    /// <summary>Positions written so far.</summary>
    public long Length { get; set; }

    /// <summary>An empty cache on <paramref name="device"/>.</summary>
    public TwinCacheLayer(long batch, long heads, long maxLength, long headDim, Device device)
    {
        K = zeros([batch, heads, maxLength, headDim], device: device);
        V = zeros([batch, heads, maxLength, headDim], device: device);
    }

    /// <summary>Keeps only the batch rows <paramref name="rows"/> (rows that finished leave the batch).</summary>
    public void KeepRows(Tensor rows)
    {
        var (k, v) = (K.index_select(0, rows), V.index_select(0, rows));
        K.Dispose(); V.Dispose();
        (K, V) = (k.DetachFromDisposeScope(), v.DetachFromDisposeScope());
    }

    /// <inheritdoc/>
    public void Dispose() { K.Dispose(); V.Dispose(); }
}

/// <summary>Multi-head self-attention with PyTorch's layout: qkv Linear(D -> 3D, q, k, v in that order, heads split
/// as [B, T, H, D/H]), softmax(q k^T / sqrt(D/H)), proj Linear(D -> D).</summary>
public sealed class TwinAttention : Module
{
    /// <summary>Joint projection to queries, keys and values.</summary>
    public readonly Linear qkv;
    /// <summary>Output projection.</summary>
    public readonly Linear proj;
    private readonly long _heads;

    /// <summary>Builds the layer.</summary>
    public TwinAttention(long dim, long heads) : base(nameof(TwinAttention))
    {
        if (dim % heads != 0) throw new ArgumentException($"dim {dim} is not divisible by heads {heads}");
        _heads = heads;
        qkv = Linear(dim, 3 * dim);
        proj = Linear(dim, dim);
        RegisterComponents();
    }

    /// <summary>x [B, T, D] -> [B, T, D]. <paramref name="causal"/>: query i (at cache offset c + i) sees keys 0..c + i;
    /// <paramref name="keyMask"/> [B, Tk] bool, true where a key is real; with <paramref name="cache"/> the new keys
    /// and values are written at its current length and the queries attend over everything cached.</summary>
    public Tensor forward(Tensor x, bool causal, Tensor? keyMask = null, TwinCacheLayer? cache = null)
    {
        long b = x.shape[0], t = x.shape[1], d = x.shape[2], hd = d / _heads;
        var parts = qkv.forward(x).view(b, t, 3, _heads, hd).permute(2, 0, 3, 1, 4); // 3, B, H, T, hd
        Tensor q = parts[0], k = parts[1], v = parts[2];
        long offset = 0;
        if (cache != null)
        {
            offset = cache.Length;
            cache.K.narrow(2, offset, t).copy_(k);
            cache.V.narrow(2, offset, t).copy_(v);
            cache.Length = offset + t;
            k = cache.K.narrow(2, 0, offset + t);
            v = cache.V.narrow(2, 0, offset + t);
        }
        Tensor? mask = null; // [B or 1, 1, T, Tk] bool, true = may attend
        if (causal && t > 1)
            mask = ones([t, offset + t], dtype: ScalarType.Bool, device: x.device).tril(offset).view(1, 1, t, offset + t);
        if (keyMask is not null)
        {
            var keys = keyMask.view(b, 1, 1, offset + t);
            mask = mask is null ? keys : mask.logical_and(keys);
        }
        var y = functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        return proj.forward(y.transpose(1, 2).reshape(b, t, d));
    }
}

/// <summary>fc1 (D -> ratio * D), exact (erf) GELU, fc2 (ratio * D -> D).</summary>
public sealed class TwinMlp : Module<Tensor, Tensor>
{
    /// <summary>First layer.</summary>
    public readonly Linear fc1;
    /// <summary>Second layer.</summary>
    public readonly Linear fc2;

    /// <summary>Builds the MLP.</summary>
    public TwinMlp(long dim, long ratio) : base(nameof(TwinMlp))
    {
        fc1 = Linear(dim, ratio * dim);
        fc2 = Linear(ratio * dim, dim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => fc2.forward(functional.gelu(fc1.forward(x)));
}

/// <summary>Pre-LN block: x + attn(ln1(x)), then x + mlp(ln2(x)). Names: ln1, attn, ln2, mlp.</summary>
public sealed class TwinBlock : Module
{
    /// <summary>Norm before attention.</summary>
    public readonly LayerNorm ln1;
    /// <summary>Self-attention.</summary>
    public readonly TwinAttention attn;
    /// <summary>Norm before the MLP.</summary>
    public readonly LayerNorm ln2;
    /// <summary>Feed-forward.</summary>
    public readonly TwinMlp mlp;

    /// <summary>Builds the block.</summary>
    public TwinBlock(long dim, long heads, long mlpRatio = 4, double eps = 1e-5) : base(nameof(TwinBlock))
    {
        ln1 = LayerNorm(dim, eps);
        attn = new TwinAttention(dim, heads);
        ln2 = LayerNorm(dim, eps);
        mlp = new TwinMlp(dim, mlpRatio);
        RegisterComponents();
    }

    /// <summary>x [B, T, D] -> [B, T, D] (see <see cref="TwinAttention.forward"/>).</summary>
    public Tensor forward(Tensor x, bool causal, Tensor? keyMask = null, TwinCacheLayer? cache = null)
    {
        x = x + attn.forward(ln1.forward(x), causal, keyMask, cache);
        return x + mlp.forward(ln2.forward(x));
    }
}
