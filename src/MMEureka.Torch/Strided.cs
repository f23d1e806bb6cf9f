namespace MMEureka.Torch;

/// <summary>
/// Walks the rows of one or more equally-shaped strided layouts (a tensor, or broadcast operands and their
/// output) in row-major order. Dimensions of size 1 are dropped and adjacent dimensions that are contiguous for
/// every operand are merged first, so that the inner row is as long as possible and kernels can run on spans.
/// </summary>
internal sealed class StridedLoop
{
    private readonly int[] _sizes;
    private readonly int[][] _strides;
    private readonly int[] _current;
    private readonly int[] _index;
    private long _rowsLeft;
    private bool _started;

    public StridedLoop(int[] sizes, int[][] strides, int[] offsets)
    {
        var keptSizes = new List<int>(sizes.Length);
        var keptStrides = new List<int>[strides.Length];
        for (int k = 0; k < strides.Length; k++) keptStrides[k] = new List<int>(sizes.Length);
        for (int d = 0; d < sizes.Length; d++)
        {
            if (sizes[d] == 1) continue;
            int last = keptSizes.Count - 1;
            bool merge = last >= 0;
            for (int k = 0; k < strides.Length && merge; k++)
                merge = keptStrides[k][last] == strides[k][d] * sizes[d];
            if (merge)
            {
                keptSizes[last] *= sizes[d];
                for (int k = 0; k < strides.Length; k++) keptStrides[k][last] = strides[k][d];
            }
            else
            {
                keptSizes.Add(sizes[d]);
                for (int k = 0; k < strides.Length; k++) keptStrides[k].Add(strides[k][d]);
            }
        }
        if (keptSizes.Count == 0)
        {
            keptSizes.Add(1);
            foreach (var l in keptStrides) l.Add(0);
        }
        _sizes = keptSizes.ToArray();
        _strides = new int[strides.Length][];
        for (int k = 0; k < strides.Length; k++) _strides[k] = keptStrides[k].ToArray();
        _current = (int[])offsets.Clone();
        _index = new int[_sizes.Length];
        InnerSize = _sizes[^1];
        _rowsLeft = NumelOrZero(sizes) == 0 ? 0 : NumelOrZero(sizes) / InnerSize;
    }

    private static long NumelOrZero(int[] sizes)
    {
        long n = 1;
        foreach (var s in sizes) n *= s;
        return n;
    }

    /// <summary>Length of each row.</summary>
    public int InnerSize { get; }

    /// <summary>Stride along the row for operand <paramref name="k"/> (0 for a broadcast operand).</summary>
    public int InnerStride(int k) => _strides[k][^1];

    /// <summary>Storage offset of the current row's first element for operand <paramref name="k"/>.</summary>
    public int Offset(int k) => _current[k];

    /// <summary>Moves to the next row; false when all rows were visited.</summary>
    public bool Next()
    {
        if (_rowsLeft == 0) return false;
        _rowsLeft--;
        if (!_started)
        {
            _started = true;
            return true;
        }
        for (int d = _sizes.Length - 2; d >= 0; d--)
        {
            _index[d]++;
            for (int k = 0; k < _current.Length; k++) _current[k] += _strides[k][d];
            if (_index[d] < _sizes[d]) break;
            for (int k = 0; k < _current.Length; k++) _current[k] -= _strides[k][d] * _sizes[d];
            _index[d] = 0;
        }
        return true;
    }
}

/// <summary>Broadcasting rules (numpy/PyTorch): align shapes at the right; sizes must match or be 1.</summary>
internal static class Broadcast
{
    public static int[] Shape(int[] a, int[] b)
    {
        int n = Math.Max(a.Length, b.Length);
        var r = new int[n];
        for (int i = 0; i < n; i++)
        {
            int da = i - (n - a.Length) >= 0 ? a[i - (n - a.Length)] : 1;
            int db = i - (n - b.Length) >= 0 ? b[i - (n - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"shapes {Tensor.ShapeString(a)} and {Tensor.ShapeString(b)} cannot be broadcast (dimension {i}: {da} vs {db})");
            r[i] = da == 1 ? db : da;
        }
        return r;
    }

    /// <summary>Strides that read tensor <paramref name="t"/> as if expanded to <paramref name="shape"/>.</summary>
    public static int[] Strides(Tensor t, int[] shape)
    {
        var r = new int[shape.Length];
        int lead = shape.Length - t.Sizes.Length;
        if (lead < 0) throw new ArgumentException($"cannot broadcast shape {Tensor.ShapeString(t.Sizes)} to {Tensor.ShapeString(shape)}");
        for (int i = 0; i < t.Sizes.Length; i++)
        {
            int s = t.Sizes[i];
            if (s == shape[lead + i]) r[lead + i] = s == 1 ? 0 : t.Strides[i];
            else if (s == 1) r[lead + i] = 0;
            else throw new ArgumentException($"cannot broadcast shape {Tensor.ShapeString(t.Sizes)} to {Tensor.ShapeString(shape)}");
        }
        return r;
    }
}
