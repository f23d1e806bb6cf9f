namespace MMEureka.Torch;

/// <summary>
/// Keys and values of past positions for incremental decoding: one preallocated [B, H, Tmax, D] buffer pair per
/// layer. Each layer's attention appends its new keys/values and attends over the returned views; positions are
/// the caller's business (the next token's position is <see cref="length"/>). Used under <c>torch.no_grad()</c>.
/// </summary>
public sealed class KVCache
{
    private KVCacheLayer[] _layers;

    /// <summary>Allocates buffers for <paramref name="layers"/> layers.</summary>
    public KVCache(int layers, int batch, int heads, int maxLength, int headDim)
    {
        _layers = new KVCacheLayer[layers];
        for (int i = 0; i < layers; i++) _layers[i] = new KVCacheLayer(batch, heads, maxLength, headDim);
    }

    /// <summary>The cache of one layer.</summary>
    public KVCacheLayer this[int layer] => _layers[layer];

    /// <summary>Number of layers.</summary>
    public int layers => _layers.Length;

    /// <summary>Positions stored so far (of the first layer; all layers advance together).</summary>
    public int length => _layers.Length == 0 ? 0 : _layers[0].length;

    /// <summary>Capacity in positions.</summary>
    public int max_length => _layers.Length == 0 ? 0 : _layers[0].max_length;

    /// <summary>Rows of the batch.</summary>
    public int batch_size => _layers.Length == 0 ? 0 : _layers[0].batch_size;

    /// <summary>Forgets all positions (buffers are kept for reuse).</summary>
    public void reset()
    {
        foreach (var l in _layers) l.reset();
    }

    /// <summary>Keeps batch rows <paramref name="rows"/> in that order (repeats allowed, e.g. to expand a prompt
    /// to several samples or to drop finished sequences); the batch size becomes rows.Length.</summary>
    public void index_select(int[] rows)
    {
        foreach (var l in _layers) l.index_select(rows);
    }
}

/// <summary>One layer's key and value buffers, [B, H, Tmax, D] each.</summary>
public sealed class KVCacheLayer
{
    private Tensor _keys, _values;

    internal KVCacheLayer(int batch, int heads, int maxLength, int headDim)
    {
        _keys = new Tensor(new float[batch * heads * maxLength * headDim], [batch, heads, maxLength, headDim]);
        _values = new Tensor(new float[batch * heads * maxLength * headDim], [batch, heads, maxLength, headDim]);
    }

    /// <summary>Positions stored so far.</summary>
    public int length { get; private set; }

    /// <summary>Capacity in positions.</summary>
    public int max_length => _keys.Sizes[2];

    /// <summary>Rows of the batch.</summary>
    public int batch_size => _keys.Sizes[0];

    /// <summary>Copies k, v [B, H, Tnew, D] after the stored positions and returns views [B, H, length, D] of all
    /// keys and values so far (no copy).</summary>
    public (Tensor keys, Tensor values) append(Tensor k, Tensor v)
    {
        int tNew = k.Sizes[2];
        if (k.Sizes.Length != 4 || k.Sizes[0] != _keys.Sizes[0] || k.Sizes[1] != _keys.Sizes[1] || k.Sizes[3] != _keys.Sizes[3] || !k.SameShape(v))
            throw new ArgumentException($"KV cache append: k {Tensor.ShapeString(k.Sizes)} / v {Tensor.ShapeString(v.Sizes)} do not fit buffers {Tensor.ShapeString(_keys.Sizes)}");
        if (length + tNew > max_length)
            throw new InvalidOperationException($"KV cache is full: {length} + {tNew} positions exceed the capacity {max_length}");
        using (torch.no_grad())
        {
            _keys.narrow(2, length, tNew).copy_(k);
            _values.narrow(2, length, tNew).copy_(v);
        }
        length += tNew;
        return (_keys.narrow(2, 0, length), _values.narrow(2, 0, length));
    }

    /// <summary>Forgets all positions.</summary>
    public void reset() => length = 0;

    /// <summary>Keeps batch rows <paramref name="rows"/> in that order.</summary>
    public void index_select(int[] rows)
    {
        using (torch.no_grad())
        {
            _keys = _keys.index_select(0, rows);
            _values = _values.index_select(0, rows);
        }
    }
}
