namespace MMEureka.Torch;

/// <summary>
/// Keys and values of past positions for incremental decoding: one preallocated [slots, H, Tmax, D] buffer pair per
/// layer. Each layer's attention appends its new keys/values and attends over everything stored; positions are the
/// caller's business (the next token's position is <see cref="length"/>). Used under <c>torch.no_grad()</c>.
/// Batch row b lives in a slot of the buffers, so that dropping finished rows (<see cref="index_select"/> with
/// distinct rows) only renumbers them, and <see cref="select_rows"/> gives several threads their own rows of one
/// cache to decode into at once. Each slot may also carry one range of padding keys (<see cref="mask_keys"/>) that
/// the attention gives no weight, instead of a dense [B, Tk] mask rebuilt at every step.
/// </summary>
public sealed class KVCache
{
    private readonly KVCacheLayer[] _layers;

    /// <summary>Allocates buffers for <paramref name="layers"/> layers.</summary>
    public KVCache(int layers, int batch, int heads, int maxLength, int headDim)
    {
        _layers = new KVCacheLayer[layers];
        for (int i = 0; i < layers; i++) _layers[i] = new KVCacheLayer(batch, heads, maxLength, headDim);
    }

    private KVCache(KVCacheLayer[] layers) => _layers = layers;

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

    /// <summary>Forgets all positions and padding ranges (buffers are kept for reuse).</summary>
    public void reset()
    {
        foreach (var l in _layers) l.reset();
    }

    /// <summary>Keeps batch rows <paramref name="rows"/> in that order (repeats allowed, e.g. to expand a prompt
    /// to several samples or to drop finished sequences); the batch size becomes rows.Length. Distinct rows only
    /// renumber the slots (no copy); repeats copy the stored positions into fresh buffers.</summary>
    public void index_select(int[] rows)
    {
        foreach (var l in _layers) l.index_select(rows);
    }

    /// <summary>A cache over batch rows <paramref name="rows"/> (distinct) of this one that shares its buffers:
    /// what is appended through it is what this cache holds for those rows. Lets shards of a batch decode into one
    /// cache at the same time, each through its own view of disjoint rows.</summary>
    public KVCache select_rows(int[] rows) => new(_layers.Select(l => l.select_rows(rows)).ToArray());

    /// <summary>Copies batch row <paramref name="sourceRow"/> of <paramref name="source"/> (same layers, heads and head
    /// size; any capacity that holds its positions) into batch row <paramref name="row"/> of this cache, in every
    /// layer: its stored positions, their count and its padding range. The rows of a cache may then hold different
    /// numbers of positions: appending one position per row (decoding) puts each row's after its own, and each row
    /// attends over its own positions; appending several at once still needs rows of one length (and in a cache no
    /// row of which was started by copy_row, rows of different lengths remain an error, as a sign of views that
    /// went out of step). Lets a sampler start a
    /// row in a slot that a finished row left, while the other rows go on decoding.</summary>
    public void copy_row(KVCache source, int sourceRow, int row)
    {
        if (source.layers != layers) throw new ArgumentException($"KV cache copy_row: the source has {source.layers} layers, this cache {layers}");
        for (int i = 0; i < _layers.Length; i++) _layers[i].copy_row(source._layers[i], sourceRow, row);
    }

    /// <summary>Marks keys [<paramref name="start"/>, start + <paramref name="count"/>) of batch row
    /// <paramref name="row"/> as padding in every layer: the fused attention (<see cref="Modules.SelfAttention"/>)
    /// gives them no weight, for the queries of the next appends and all later ones. One range per row (a new call
    /// replaces it); <see cref="reset"/> clears it.</summary>
    public void mask_keys(int row, int start, int count)
    {
        foreach (var l in _layers) l.mask_keys(row, start, count);
    }
}

/// <summary>Which stored row of the keys and values each batch row reads (null: row b reads row b), which of
/// its keys are padding and how many keys it holds (both indexed by stored row; null: no padding, and every row
/// holds all the attention's keys), as the fused attention reads a <see cref="KVCache"/>.</summary>
internal readonly record struct KeyRows(int[]? Slots, int[]? PadStart, int[]? PadEnd, int[]? Lengths = null)
{
    public int Slot(int b) => Slots == null ? b : Slots[b];
}

/// <summary>One layer's key and value buffers, [slots, H, Tmax, D] each; batch row b is stored in one slot.</summary>
public sealed class KVCacheLayer
{
    /// <summary>Per-slot bookkeeping, shared by a layer and its <see cref="select_rows"/> views.</summary>
    private sealed class SlotState(int slots)
    {
        public readonly int[] Length = new int[slots];
        public readonly int[] PadStart = new int[slots], PadEnd = new int[slots];
        public bool AnyPadding;
        /// <summary>Set by <see cref="copy_row"/>: the rows may hold different numbers of positions on purpose.</summary>
        public bool OwnLengths;
    }

    private Tensor _keys, _values;
    private SlotState _state;
    private int[] _rows; // batch row -> slot
    private bool _identity; // _rows[b] == b for every slot of the buffers

    internal KVCacheLayer(int batch, int heads, int maxLength, int headDim)
    {
        _keys = new Tensor(Unwritten(batch * heads * maxLength * headDim), [batch, heads, maxLength, headDim]);
        _values = new Tensor(Unwritten(batch * heads * maxLength * headDim), [batch, heads, maxLength, headDim]);
        _state = new SlotState(batch);
        _rows = Enumerable.Range(0, batch).ToArray();
        _identity = true;
    }

    private KVCacheLayer(Tensor keys, Tensor values, SlotState state, int[] rows)
    {
        (_keys, _values, _state, _rows) = (keys, values, state, rows);
        _identity = IsIdentity(rows, keys.Sizes[0]);
    }

    /// <summary>A buffer left unzeroed: only the stored positions [0, length) of a slot are ever read. A sampler's
    /// cache is sized for the longest response (a batch of 64 at 213 positions: 56 MB over 4 layers) while most rows
    /// stop far earlier; zeroing it all took 16-37 ms a call against 10-15 ms for writing what is used.</summary>
    private static float[] Unwritten(int length) => GC.AllocateUninitializedArray<float>(length);

    private static bool IsIdentity(int[] rows, int slots)
    {
        if (rows.Length != slots) return false;
        for (int b = 0; b < rows.Length; b++) if (rows[b] != b) return false;
        return true;
    }

    /// <summary>Positions stored so far.</summary>
    public int length => _rows.Length == 0 ? 0 : _state.Length[_rows[0]];

    /// <summary>Capacity in positions.</summary>
    public int max_length => _keys.Sizes[2];

    /// <summary>Rows of the batch.</summary>
    public int batch_size => _rows.Length;

    /// <summary>The stored length shared by every row (they advance together); throws if a view left them apart.</summary>
    private int CommonLength()
    {
        int len = length;
        foreach (int s in _rows)
            if (_state.Length[s] != len)
                throw new InvalidOperationException($"KV cache rows hold different lengths ({len} and {_state.Length[s]}): every view of a cache must append the same positions");
        return len;
    }

    private void Advance(int tNew)
    {
        foreach (int s in _rows) _state.Length[s] += tNew;
    }

    /// <summary>Copies k, v [B, H, Tnew, D] after the stored positions and returns [B, H, length, D] tensors of all
    /// keys and values so far: views of the buffers when batch row b is stored in slot b, else gathered copies.
    /// Padding ranges (<see cref="KVCache.mask_keys"/>) are not applied here; pass a key_padding_mask to the attention.</summary>
    public (Tensor keys, Tensor values) append(Tensor k, Tensor v)
    {
        if (k.Sizes.Length != 4)
            throw new ArgumentException($"KV cache append: k {Tensor.ShapeString(k.Sizes)} must be [B, H, T, D]");
        int tNew = k.Sizes[2];
        if (k.Sizes[0] != batch_size || k.Sizes[1] != _keys.Sizes[1] || k.Sizes[3] != _keys.Sizes[3] || !k.SameShape(v))
            throw new ArgumentException($"KV cache append: k {Tensor.ShapeString(k.Sizes)} / v {Tensor.ShapeString(v.Sizes)} do not fit {batch_size} rows of buffers {Tensor.ShapeString(_keys.Sizes)}");
        int len = CommonLength();
        if (len + tNew > max_length)
            throw new InvalidOperationException($"KV cache is full: {len} + {tNew} positions exceed the capacity {max_length}");
        using (torch.no_grad())
        {
            if (_identity)
            {
                _keys.narrow(2, len, tNew).copy_(k);
                _values.narrow(2, len, tNew).copy_(v);
            }
            else
                for (int b = 0; b < _rows.Length; b++)
                {
                    _keys.select(0, _rows[b]).narrow(1, len, tNew).copy_(k.select(0, b));
                    _values.select(0, _rows[b]).narrow(1, len, tNew).copy_(v.select(0, b));
                }
        }
        Advance(tNew);
        len += tNew;
        if (_identity) return (_keys.narrow(2, 0, len), _values.narrow(2, 0, len));
        using (torch.no_grad())
            return (_keys.narrow(2, 0, len).index_select(0, _rows), _values.narrow(2, 0, len).index_select(0, _rows));
    }

    /// <summary>Appends the k and v head slices of a contiguous qkv projection output [B, T, 3 * H * hd] (see
    /// <see cref="FusedAttention.SelfAttention(Tensor, int, bool, Tensor?, KVCacheLayer?)"/>) and returns the layouts of the stored keys and values, the length
    /// so far and where each batch row is stored (with its padding range).</summary>
    internal (HeadLayout keys, HeadLayout values, int length, KeyRows rows) AppendPacked(float[] qkv, int offset, int batch, int tNew, int heads, int headDim)
    {
        int B = _rows.Length, H = _keys.Sizes[1], Tmax = _keys.Sizes[2], hd = _keys.Sizes[3];
        // A batch that differs from the cache's (e.g. rows dropped by a sampler without index_select on the cache)
        // would otherwise read neighbouring rows or run past the array.
        if (batch != B)
            throw new ArgumentException($"KV cache append: the qkv batch has {batch} rows, the cache {B}");
        if (heads != H || headDim != hd)
            throw new ArgumentException($"KV cache append: {heads} heads of {headDim} do not fit buffers {Tensor.ShapeString(_keys.Sizes)}");
        if (qkv.Length - offset < B * tNew * 3 * H * hd)
            throw new ArgumentException($"KV cache append: the qkv batch does not have {B} rows of {tNew} positions");
        // One new position per row (decoding) goes after each row's own stored positions, so rows that
        // copy_row started at different times decode together; several positions need rows of one length.
        int len = tNew == 1 && _state.OwnLengths ? length : CommonLength(), longest = len;
        bool ragged = false;
        foreach (int slot in _rows)
        {
            int stored = _state.Length[slot];
            if (stored + tNew > max_length)
                throw new InvalidOperationException($"KV cache is full: {stored} + {tNew} positions exceed the capacity {max_length}");
            ragged |= stored != len;
            longest = Math.Max(longest, stored);
        }
        int width = 3 * H * hd;
        for (int b = 0; b < B; b++)
        {
            int slot = _rows[b];
            len = _state.Length[slot];
            for (int t = 0; t < tNew; t++)
                for (int h = 0; h < H; h++)
                {
                    int src = offset + (b * tNew + t) * width + h * hd;
                    int dst = _keys.Offset + ((slot * H + h) * Tmax + len + t) * hd;
                    Array.Copy(qkv, src + H * hd, _keys.Storage, dst, hd);
                    Array.Copy(qkv, src + 2 * H * hd, _values.Storage, dst, hd);
                }
        }
        Advance(tNew);
        var rows = new KeyRows(_identity ? null : _rows, _state.AnyPadding ? _state.PadStart : null, _state.AnyPadding ? _state.PadEnd : null,
            ragged ? _state.Length : null);
        return (new HeadLayout(_keys.Storage, _keys.Offset, H * Tmax * hd, Tmax * hd, hd),
            new HeadLayout(_values.Storage, _values.Offset, H * Tmax * hd, Tmax * hd, hd), longest + tNew, rows);
    }

    /// <summary>Forgets all positions and padding ranges of this layer's rows.</summary>
    public void reset()
    {
        foreach (int s in _rows) _state.Length[s] = _state.PadStart[s] = _state.PadEnd[s] = 0;
    }

    private void CheckRows(int[] rows)
    {
        foreach (int r in rows)
            if (r < 0 || r >= _rows.Length)
                throw new ArgumentOutOfRangeException(nameof(rows), $"KV cache row {r} is outside [0, {_rows.Length})");
    }

    private static bool Distinct(int[] rows) => new HashSet<int>(rows).Count == rows.Length;

    /// <summary>Keeps batch rows <paramref name="rows"/> in that order (see <see cref="KVCache.index_select"/>).</summary>
    public void index_select(int[] rows)
    {
        CheckRows(rows);
        if (Distinct(rows))
        {
            _rows = rows.Select(r => _rows[r]).ToArray();
            _identity = IsIdentity(_rows, _keys.Sizes[0]);
            return;
        }
        // Repeats: each new row gets a slot of its own, with the stored positions (only those) copied over.
        int H = _keys.Sizes[1], Tmax = _keys.Sizes[2], hd = _keys.Sizes[3], n = rows.Length;
        var keys = Unwritten(n * H * Tmax * hd);
        var values = Unwritten(n * H * Tmax * hd);
        var state = new SlotState(n) { AnyPadding = _state.AnyPadding };
        for (int i = 0; i < n; i++)
        {
            int from = _rows[rows[i]], len = _state.Length[from];
            for (int h = 0; h < H; h++)
            {
                Array.Copy(_keys.Storage, _keys.Offset + (from * H + h) * Tmax * hd, keys, (i * H + h) * Tmax * hd, len * hd);
                Array.Copy(_values.Storage, _values.Offset + (from * H + h) * Tmax * hd, values, (i * H + h) * Tmax * hd, len * hd);
            }
            state.Length[i] = len;
            state.PadStart[i] = _state.PadStart[from];
            state.PadEnd[i] = _state.PadEnd[from];
        }
        _keys = new Tensor(keys, [n, H, Tmax, hd]);
        _values = new Tensor(values, [n, H, Tmax, hd]);
        _state = state;
        _rows = Enumerable.Range(0, n).ToArray();
        _identity = true;
    }

    /// <summary>Copies the stored positions and padding range of <paramref name="source"/>'s batch row
    /// <paramref name="sourceRow"/> into batch row <paramref name="row"/> (see <see cref="KVCache.copy_row"/>).</summary>
    public void copy_row(KVCacheLayer source, int sourceRow, int row)
    {
        if (row < 0 || row >= _rows.Length) throw new ArgumentOutOfRangeException(nameof(row), $"KV cache row {row} is outside [0, {_rows.Length})");
        if (sourceRow < 0 || sourceRow >= source._rows.Length)
            throw new ArgumentOutOfRangeException(nameof(sourceRow), $"KV cache source row {sourceRow} is outside [0, {source._rows.Length})");
        int H = _keys.Sizes[1], Tmax = _keys.Sizes[2], hd = _keys.Sizes[3];
        int sH = source._keys.Sizes[1], sTmax = source._keys.Sizes[2];
        if (sH != H || source._keys.Sizes[3] != hd)
            throw new ArgumentException($"KV cache copy_row: source buffers {Tensor.ShapeString(source._keys.Sizes)} do not fit {Tensor.ShapeString(_keys.Sizes)}");
        int from = source._rows[sourceRow], to = _rows[row], len = source._state.Length[from];
        if (len > Tmax) throw new InvalidOperationException($"KV cache copy_row: {len} stored positions exceed the capacity {Tmax}");
        for (int h = 0; h < H; h++)
        {
            Array.Copy(source._keys.Storage, source._keys.Offset + (from * H + h) * sTmax * hd, _keys.Storage, _keys.Offset + (to * H + h) * Tmax * hd, len * hd);
            Array.Copy(source._values.Storage, source._values.Offset + (from * H + h) * sTmax * hd, _values.Storage, _values.Offset + (to * H + h) * Tmax * hd, len * hd);
        }
        _state.Length[to] = len;
        _state.OwnLengths = true;
        _state.PadStart[to] = source._state.PadStart[from];
        _state.PadEnd[to] = source._state.PadEnd[from];
        if (_state.PadEnd[to] > _state.PadStart[to]) _state.AnyPadding = true;
    }

    /// <summary>A view over batch rows <paramref name="rows"/> (distinct) sharing the buffers (see <see cref="KVCache.select_rows"/>).</summary>
    public KVCacheLayer select_rows(int[] rows)
    {
        CheckRows(rows);
        if (!Distinct(rows)) throw new ArgumentException("KV cache select_rows: rows must be distinct (two views of one row would write the same slot)");
        return new KVCacheLayer(_keys, _values, _state, rows.Select(r => _rows[r]).ToArray());
    }

    /// <summary>Marks keys [start, start + count) of batch row <paramref name="row"/> as padding (see <see cref="KVCache.mask_keys"/>).</summary>
    public void mask_keys(int row, int start, int count)
    {
        if (row < 0 || row >= _rows.Length) throw new ArgumentOutOfRangeException(nameof(row), $"KV cache row {row} is outside [0, {_rows.Length})");
        if (start < 0 || count < 0 || start + count > max_length)
            throw new ArgumentOutOfRangeException(nameof(count), $"KV cache padding [{start}, {start + count}) is outside the capacity {max_length}");
        int slot = _rows[row];
        _state.PadStart[slot] = start;
        _state.PadEnd[slot] = start + count;
        if (count > 0) _state.AnyPadding = true;
    }
}
